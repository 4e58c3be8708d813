package promotion

import (
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// The owner's promotion is checked by the rules the engine relies on:
// each refusal names its field.
func TestCheck(t *testing.T) {
	ok := Promotion{ID: "ten-off", Name: "Ten off", Active: true, Kind: PercentOffOrder, Percent: 10}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		edit  func(*Promotion)
		field string
	}{
		{"as is", func(*Promotion) {}, ""},
		{"no id", func(p *Promotion) { p.ID = "" }, "id"},
		{"a path for an id", func(p *Promotion) { p.ID = "a/b" }, "id"},
		{"no name", func(p *Promotion) { p.Name = " " }, "name"},
		{"0%", func(p *Promotion) { p.Percent = 0 }, "percent"},
		{"101%", func(p *Promotion) { p.Percent = 101 }, "percent"},
		{"an amount of nothing", func(p *Promotion) { p.Kind, p.Amount = AmountOffOrder, money.New(0, "USD") }, "amount"},
		{"an amount", func(p *Promotion) { p.Kind, p.Amount = AmountOffOrder, money.New(500, "USD") }, ""},
		{"an unknown kind", func(p *Promotion) { p.Kind = "half_off" }, "kind"},
		{"items without targets", func(p *Promotion) { p.Kind = PercentOffItems }, "skus"},
		{"items of a SKU", func(p *Promotion) { p.Kind, p.SKUs = PercentOffItems, []string{"SKU-1"} }, ""},
		{"ends before it starts", func(p *Promotion) { p.StartsAt, p.EndsAt = at, at.Add(-time.Hour) }, "endsAt"},
		{"a window", func(p *Promotion) { p.StartsAt, p.EndsAt = at, at.Add(time.Hour) }, ""},
		{"a negative limit", func(p *Promotion) { p.MaxRedemptions = -1 }, "maxRedemptions"},
		{"a code with a space", func(p *Promotion) { p.Code = "TEN OFF" }, "code"},
		{"a code", func(p *Promotion) { p.Code = "ten-off" }, ""},
		{"not an email", func(p *Promotion) { p.Emails = []string{"ann"} }, "emails"},
	} {
		p := ok
		c.edit(&p)
		err := Check(p)
		if got := ""; err != nil {
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid || e.Reason != ReasonInvalid {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			got = e.Field
			if got != c.field {
				t.Errorf("%s: refused on %q, want %q", c.name, got, c.field)
			}
		} else if c.field != "" {
			t.Errorf("%s: accepted, want refused on %s", c.name, c.field)
		}
	}
}
