package catalog

import (
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// The owner's pricing is checked by the rules the checkout prices by:
// each refusal names its field.
func TestCheckPricing(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sale := func(p int64, cur string, from, to time.Time) *Sale {
		return &Sale{Price: money.New(p, cur), StartsAt: from, EndsAt: to}
	}
	for _, c := range []struct {
		name  string
		sku   SKU
		field string
	}{
		{"a price", SKU{Price: money.New(900, "USD")}, ""},
		{"free", SKU{Price: money.New(0, "USD")}, "price"},
		{"no currency", SKU{Price: money.New(900, "")}, "price"},
		{"too dear", SKU{Price: money.New(MaxAmount+1, "USD")}, "price"},
		{"a sale", SKU{Price: money.New(900, "USD"), Sale: sale(650, "USD", at, at.Add(time.Hour))}, ""},
		{"a sale in euros", SKU{Price: money.New(900, "USD"), Sale: sale(650, "EUR", at, at.Add(time.Hour))}, "sale.price"},
		{"a sale at the price", SKU{Price: money.New(900, "USD"), Sale: sale(900, "USD", at, at.Add(time.Hour))}, "sale.price"},
		{"a sale that ends first", SKU{Price: money.New(900, "USD"), Sale: sale(650, "USD", at, at)}, "sale.endsAt"},
		{"a sale without a window", SKU{Price: money.New(900, "USD"), Sale: sale(650, "USD", time.Time{}, at)}, "sale.endsAt"},
	} {
		err := CheckPricing(c.sku)
		got := ""
		if e := apperr.As(err); e != nil {
			got = e.Field
			if e.Reason != ReasonPricingInvalid {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		if got != c.field {
			t.Errorf("%s: refused on %q, want %q (%v)", c.name, got, c.field, err)
		}
	}
}
