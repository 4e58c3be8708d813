package firestoredb

import (
	"testing"
	"time"
)

func TestDecodeSKUSaleWindows(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	c := &Checkouts{tz: ny}
	price := map[string]any{"amount": int64(900), "currency": "USD"}
	sale := func(from, to any) map[string]any {
		return map[string]any{"name": "Stickers", "active": true, "price": price, "fulfillment": "stock",
			"sale": map[string]any{"price": map[string]any{"amount": int64(650), "currency": "USD"}, "startsAt": from, "endsAt": to}}
	}
	// An owner writes local midnight; in November New York is UTC-5.
	s, err := c.decodeSKU("STK", sale("2026-11-27 00:00:00", "2026-11-30T00:00:00"))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC); !s.Sale.StartsAt.Equal(want) {
		t.Errorf("starts %v, want %v", s.Sale.StartsAt, want)
	}
	if p, on := s.PriceAt(time.Date(2026, 11, 27, 4, 59, 59, 0, time.UTC)); on || p.Amount != 900 {
		t.Error("the sale began a second early")
	}
	if p, on := s.PriceAt(time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)); !on || p.Amount != 650 {
		t.Error("the sale did not begin on time")
	}
	ts := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if s, err := c.decodeSKU("STK", sale(ts, ts.Add(time.Hour))); err != nil || !s.Sale.StartsAt.Equal(ts) {
		t.Errorf("timestamps: %v %v", s.Sale, err)
	}
	for name, d := range map[string]map[string]any{
		"bad date":          sale("next friday", "2026-11-30 00:00:00"),
		"bad fulfilment":    {"price": price, "fulfillment": "dropship"},
		"no price":          {"fulfillment": "stock"},
		"negative price":    {"price": map[string]any{"amount": int64(-1), "currency": "USD"}, "fulfillment": "stock"},
		"sale in other cur": {"price": price, "fulfillment": "stock", "sale": map[string]any{"price": map[string]any{"amount": int64(1), "currency": "EUR"}, "startsAt": ts, "endsAt": ts}},
	} {
		if _, err := c.decodeSKU("X", d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
