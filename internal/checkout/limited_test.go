package checkout

import (
	"reflect"
	"slices"
	"testing"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/promotion"
)

// A change reads the usage of the limited promotions only, and asks
// whether the customer paid before only when a promotion is for a first
// order: pricing with what it reads is pricing with everything.
func TestLimitedReadsWhatPricingConsults(t *testing.T) {
	open := promotion.Promotion{ID: "open", Name: "Open", Active: true, Kind: promotion.PercentOffOrder, Percent: 5}
	capped := promotion.Promotion{ID: "capped", Name: "Capped", Active: true, Kind: promotion.AmountOffOrder, Amount: money.New(300, "USD"), MaxRedemptions: 2}
	perEmail := promotion.Promotion{ID: "per-email", Name: "Per email", Active: true, Kind: promotion.FreeShipping, MaxRedemptionsPerEmail: 1}
	first := promotion.Promotion{ID: "first", Name: "First", Active: true, Kind: promotion.PercentOffOrder, Percent: 10, FirstOrderOnly: true, Code: "HELLO"}
	promos := []promotion.Promotion{open, capped, perEmail, first}

	ids, firstOnly := limited(promos)
	if !slices.Equal(ids, []string{"capped", "per-email"}) || !firstOnly {
		t.Fatalf("limited = %v, %v; want [capped per-email], true", ids, firstOnly)
	}
	if ids, firstOnly := limited([]promotion.Promotion{open}); ids != nil || firstOnly {
		t.Errorf("an unlimited promotion for everyone: %v, %v; want nothing to read", ids, firstOnly)
	}

	// Every promotion used (the limited ones up to their limits, or not):
	// the price from the usage of the limited ones alone is the same.
	for _, full := range []map[string]promotion.Usage{
		{"open": {Total: 1000, ByEmail: 9}, "capped": {Total: 2}, "per-email": {ByEmail: 1}, "first": {Total: 7, ByEmail: 1}},
		{"open": {Total: 1000, ByEmail: 9}, "capped": {Total: 1}, "per-email": {}, "first": {Total: 7, ByEmail: 1}},
	} {
		read := map[string]promotion.Usage{}
		for _, id := range ids {
			read[id] = full[id]
		}
		for _, paid := range []bool{false, true} {
			in := promotion.Input{Currency: "USD", Email: "ann@example.com", Code: "HELLO", FirstOrder: !paid, Promotions: promos,
				Lines: []promotion.Line{{SKU: "PLN", ProductID: "planner", Quantity: 2, Total: money.New(6000, "USD")}}, Shipping: money.New(800, "USD"), Now: now}
			in.Usage = full
			want := promotion.Apply(in)
			in.Usage = read
			if got := promotion.Apply(in); !reflect.DeepEqual(got, want) {
				t.Errorf("usage %v, paid %v: priced %+v from the limited promotions' usage, %+v from all", full, paid, got, want)
			}
		}
	}
}
