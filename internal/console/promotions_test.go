package console

import (
	"reflect"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/promotion"
)

// Changing a promotion in the console keeps every field the owner did not
// touch: a promotion shown in the form and read back from it is itself.
func TestPromotionFormRoundTrip(t *testing.T) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []promotion.Promotion{
		{ID: "welcome10", Name: "10% off your first order", Description: "for new customers", Active: true, Kind: promotion.PercentOffOrder,
			Percent: 10, Code: "WELCOME10", FirstOrderOnly: true, MaxRedemptionsPerEmail: 1, Priority: 3, StartsAt: day, EndsAt: day.Add(30*24*time.Hour - time.Second),
			Amount: money.New(0, "USD"), MinSubtotal: money.New(2500, "USD")},
		{ID: "pens", Name: "$5 off pens", Active: true, Kind: promotion.AmountOffItems, Amount: money.New(500, "USD"), SKUs: []string{"PEN-SET-6"},
			Products: []string{"pen-set", "bookmark"}, Emails: []string{"reader@example.com", "b@example.com"}, MaxRedemptions: 100, Exclusive: true,
			MinSubtotal: money.New(0, "USD")},
	} {
		got, field, err := formOf(p).promotion()
		if err != nil {
			t.Fatalf("%s: %v (%s)", p.ID, err, field)
		}
		if !reflect.DeepEqual(norm(got), norm(p)) {
			t.Errorf("%s through the form:\n got %+v\nwant %+v", p.ID, got, p)
		}
	}
}

// norm makes empty lists nil (the engine reads both alike).
func norm(p promotion.Promotion) promotion.Promotion {
	for _, l := range []*[]string{&p.SKUs, &p.Products, &p.Emails} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return p
}
