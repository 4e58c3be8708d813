package promotion

import (
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
)

var (
	now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	usd = func(c int64) money.Money { return money.New(c, "USD") }
)

func lines() []Line {
	return []Line{
		{SKU: "PLN", ProductID: "planner", Quantity: 1, Total: usd(3800)},
		{SKU: "PEN", ProductID: "pens", Quantity: 2, Total: usd(3600)},
		{SKU: "STK", ProductID: "stickers", Quantity: 3, Total: usd(1950)},
	}
}

func in(promos ...Promotion) Input {
	return Input{Currency: "USD", Lines: lines(), Shipping: usd(795), Email: "Ann@Example.com", Now: now, FirstOrder: true, Promotions: promos}
}

func p(id string, kind Kind, f func(*Promotion)) Promotion {
	pr := Promotion{ID: id, Name: id, Description: "desc " + id, Active: true, Kind: kind}
	if f != nil {
		f(&pr)
	}
	return pr
}

func ids(r Result) []string {
	var out []string
	for _, a := range r.Applied {
		out = append(out, a.ID)
	}
	return out
}

func TestKinds(t *testing.T) {
	tests := []struct {
		name  string
		promo Promotion
		lines []int64 // discount per line
		ship  int64
	}{
		// 10% of 93.50 = 9.35: 3.80, 3.60, 1.95.
		{"percent off order", p("a", PercentOffOrder, func(p *Promotion) { p.Percent = 10 }), []int64{380, 360, 195}, 0},
		// 10.00 over 38.00/36.00/19.50: 4.064, 3.850, 2.086 → 406 + 385 + 208 = 999; the largest remainder (STK) gets the last cent.
		{"amount off order", p("a", AmountOffOrder, func(p *Promotion) { p.Amount = usd(1000) }), []int64{406, 385, 209}, 0},
		{"amount off order capped at the lines", p("a", AmountOffOrder, func(p *Promotion) { p.Amount = usd(999999) }), []int64{3800, 3600, 1950}, 0},
		{"percent off a product", p("a", PercentOffItems, func(p *Promotion) { p.Percent = 25; p.Products = []string{"pens"} }), []int64{0, 900, 0}, 0},
		{"amount off each unit of a SKU", p("a", AmountOffItems, func(p *Promotion) { p.Amount = usd(500); p.SKUs = []string{"PEN", "STK"} }), []int64{0, 1000, 1500}, 0},
		{"amount per unit capped at the line", p("a", AmountOffItems, func(p *Promotion) { p.Amount = usd(5000); p.SKUs = []string{"STK"} }), []int64{0, 0, 1950}, 0},
		{"free shipping", p("a", FreeShipping, nil), []int64{0, 0, 0}, 795},
	}
	for _, tt := range tests {
		r := Apply(in(tt.promo))
		var got []int64
		for _, d := range r.LineDiscounts {
			got = append(got, d.Amount)
		}
		if !reflect.DeepEqual(got, tt.lines) || r.ShippingDiscount.Amount != tt.ship {
			t.Errorf("%s: lines %v ship %d, want %v %d", tt.name, got, r.ShippingDiscount.Amount, tt.lines, tt.ship)
		}
	}
}

func TestEligibility(t *testing.T) {
	tests := []struct {
		name    string
		promo   Promotion
		input   func(*Input)
		applies bool
		code    CodeStatus
	}{
		{"email list, normalised", p("f", PercentOffOrder, func(p *Promotion) { p.Percent = 20; p.Emails = []string{" ann@example.COM "} }), nil, true, ""},
		{"email not on the list", p("f", PercentOffOrder, func(p *Promotion) { p.Percent = 20; p.Emails = []string{"bob@example.com"} }), nil, false, ""},
		{"plus address, not configured", p("f", PercentOffOrder, func(p *Promotion) { p.Percent = 20; p.Emails = []string{"ann@example.com"} }),
			func(i *Input) { i.Email = "ann+shop@example.com" }, false, ""},
		{"plus address, configured", p("f", PercentOffOrder, func(p *Promotion) { p.Percent = 20; p.Emails = []string{"ann@example.com"} }),
			func(i *Input) { i.Email = "ann+shop@example.com"; i.PlusAddressing = true }, true, ""},
		{"code, any case", p("w", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "WELCOME10" }), func(i *Input) { i.Code = " welcome10 " }, true, CodeApplied},
		{"code not typed", p("w", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "WELCOME10" }), nil, false, ""},
		{"unknown code", p("w", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "WELCOME10" }), func(i *Input) { i.Code = "NOPE" }, false, CodeUnknown},
		{"expired code", p("w", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "OLD"; p.EndsAt = now }), func(i *Input) { i.Code = "old" }, false, CodeExpired},
		{"inactive code", p("w", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "OFF"; p.Active = false }), func(i *Input) { i.Code = "off" }, false, CodeExpired},
		{"not started", p("w", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "SOON"; p.StartsAt = now.Add(time.Second) }), func(i *Input) { i.Code = "soon" }, false, CodeNotEligible},
		{"starts exactly now", p("w", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.StartsAt = now }), nil, true, ""},
		{"first order only", p("w", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "FIRST"; p.FirstOrderOnly = true }),
			func(i *Input) { i.Code = "first"; i.FirstOrder = false }, false, CodeNotEligible},
		{"minimum subtotal met", p("s", FreeShipping, func(p *Promotion) { p.MinSubtotal = usd(9350) }), nil, true, ""},
		{"minimum subtotal missed by a cent", p("s", FreeShipping, func(p *Promotion) { p.MinSubtotal = usd(9351); p.Code = "SHIP" }), func(i *Input) { i.Code = "SHIP" }, false, CodeNotEligible},
		{"total limit", p("l", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "FIVE"; p.MaxRedemptions = 5 }),
			func(i *Input) { i.Code = "five"; i.Usage = map[string]Usage{"l": {Total: 5}} }, false, CodeLimitReached},
		{"per-email limit", p("l", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Code = "ONCE"; p.MaxRedemptionsPerEmail = 1 }),
			func(i *Input) { i.Code = "once"; i.Usage = map[string]Usage{"l": {Total: 1, ByEmail: 1}} }, false, CodeLimitReached},
		{"under the limit", p("l", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.MaxRedemptions = 5 }),
			func(i *Input) { i.Usage = map[string]Usage{"l": {Total: 4}} }, true, ""},
	}
	for _, tt := range tests {
		input := in(tt.promo)
		if tt.input != nil {
			tt.input(&input)
		}
		r := Apply(input)
		if got := len(r.Applied) == 1; got != tt.applies {
			t.Errorf("%s: applied %v, want %v", tt.name, ids(r), tt.applies)
		}
		if r.Code != tt.code {
			t.Errorf("%s: code %q (%s), want %q", tt.name, r.Code, r.CodeReason, tt.code)
		}
		if r.Code != "" && r.Code != CodeApplied && r.CodeReason == "" {
			t.Errorf("%s: no reason for %s", tt.name, r.Code)
		}
	}
}

func TestStacking(t *testing.T) {
	ten := p("ten", PercentOffOrder, func(p *Promotion) { p.Percent = 10; p.Priority = 20 })
	five := p("five", AmountOffOrder, func(p *Promotion) { p.Amount = usd(500); p.Priority = 10 })
	ship := p("ship", FreeShipping, func(p *Promotion) { p.Priority = 30 })
	ff := p("ff", PercentOffOrder, func(p *Promotion) { p.Percent = 20; p.Exclusive = true })
	big := p("big", PercentOffOrder, func(p *Promotion) { p.Percent = 30; p.Exclusive = true })

	// Stack in priority order: 5.00 first, then 10% of the remaining 88.50 = 8.85, then shipping 7.95.
	r := Apply(in(ten, five, ship))
	if !reflect.DeepEqual(ids(r), []string{"five", "ten", "ship"}) || r.Discount.Amount != 500+885+795 {
		t.Errorf("stack: %v %d", ids(r), r.Discount.Amount)
	}
	// 20% alone (18.70) loses to the stack (21.80).
	if r := Apply(in(ten, five, ship, ff)); !reflect.DeepEqual(ids(r), []string{"five", "ten", "ship"}) {
		t.Errorf("stack should win: %v", ids(r))
	}
	// 30% alone (28.05) beats the stack, and the best exclusive wins.
	if r := Apply(in(ten, five, ship, ff, big)); !reflect.DeepEqual(ids(r), []string{"big"}) || r.Discount.Amount != 2805 {
		t.Errorf("best exclusive should win: %v %d", ids(r), r.Discount.Amount)
	}
	// A code whose promotion loses to a better offer says so.
	code := p("code", PercentOffOrder, func(p *Promotion) { p.Percent = 5; p.Code = "FIVE"; p.Exclusive = true })
	input := in(big, code)
	input.Code = "five"
	if r := Apply(input); r.Code != CodeNotEligible || r.CodeReason != "A better offer already applies to this order." {
		t.Errorf("losing code: %s %q", r.Code, r.CodeReason)
	}
}

func randomInput(r *rand.Rand) Input {
	n := 1 + r.Intn(5)
	var ls []Line
	skus := []string{"A", "B", "C", "D", "E"}
	for i := 0; i < n; i++ {
		q := int64(1 + r.Intn(4))
		ls = append(ls, Line{SKU: skus[i], ProductID: "p" + skus[i%3], Quantity: q, Total: usd(q * int64(1+r.Intn(5000)))})
	}
	kinds := []Kind{PercentOffOrder, AmountOffOrder, PercentOffItems, AmountOffItems, FreeShipping}
	var ps []Promotion
	for i := 0; i < r.Intn(6); i++ {
		pr := Promotion{ID: string(rune('a' + i)), Active: true, Kind: kinds[r.Intn(len(kinds))], Percent: int64(1 + r.Intn(100)),
			Amount: usd(int64(r.Intn(20000))), SKUs: []string{skus[r.Intn(5)]}, Products: []string{"p" + skus[r.Intn(3)]},
			Exclusive: r.Intn(3) == 0, Priority: int64(r.Intn(3))}
		ps = append(ps, pr)
	}
	return Input{Currency: "USD", Lines: ls, Shipping: usd(int64(r.Intn(2000))), Email: "x@example.com", Now: now, Promotions: ps}
}

func TestProperties(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 5000; iter++ {
		input := randomInput(r)
		res := Apply(input)
		var sum int64
		for i, d := range res.LineDiscounts {
			if d.Amount < 0 || d.Amount > input.Lines[i].Total.Amount {
				t.Fatalf("line %d discount %d of %d: %+v", i, d.Amount, input.Lines[i].Total.Amount, input)
			}
			sum += d.Amount
		}
		if res.ShippingDiscount.Amount < 0 || res.ShippingDiscount.Amount > input.Shipping.Amount {
			t.Fatalf("shipping discount %d of %d", res.ShippingDiscount.Amount, input.Shipping.Amount)
		}
		if sum+res.ShippingDiscount.Amount != res.Discount.Amount {
			t.Fatalf("allocation %d + %d != total %d", sum, res.ShippingDiscount.Amount, res.Discount.Amount)
		}
		var applied int64
		for _, a := range res.Applied {
			applied += a.Discount.Amount
		}
		if applied != res.Discount.Amount {
			t.Fatalf("applied promotions sum to %d, total %d", applied, res.Discount.Amount)
		}
		// The order of the promotions in storage changes nothing.
		shuffled := input
		shuffled.Promotions = append([]Promotion(nil), input.Promotions...)
		r.Shuffle(len(shuffled.Promotions), func(i, j int) {
			shuffled.Promotions[i], shuffled.Promotions[j] = shuffled.Promotions[j], shuffled.Promotions[i]
		})
		if again := Apply(shuffled); !reflect.DeepEqual(again, res) {
			t.Fatalf("order-dependent result:\n%+v\n%+v", res, again)
		}
	}
}

func TestNormalize(t *testing.T) {
	if got := NormalizeEmail("  Ann+News@Example.COM ", true); got != "ann@example.com" {
		t.Error(got)
	}
	if got := NormalizeEmail("+x@example.com", true); got != "+x@example.com" {
		t.Error(got)
	}
	if got := NormalizeCode(" welcome10 "); got != "WELCOME10" {
		t.Error(got)
	}
}
