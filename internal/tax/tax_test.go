package tax

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// The tax of a sale is the tax of its sum, rounded half up, split over
// its lines (and shipping, where taxed) so that the figures add up.
func TestApply(t *testing.T) {
	for _, c := range []struct {
		name     string
		rate     int64
		lines    []int64
		shipping int64
		taxShip  bool
		want     Figures
	}{
		// 8.25% of 34.20 + 16.20 + 6.90 = 57.30 is 4.72725: 4.73.
		{"Austin, shipping taxed", 82_500, []int64{3420, 1620}, 690, true, Figures{Lines: []int64{282, 134}, Shipping: 57, Total: 473, Rate: 82_500}},
		{"shipping not taxed", 82_500, []int64{3420, 1620}, 690, false, Figures{Lines: []int64{282, 134}, Shipping: 0, Total: 416, Rate: 82_500}},
		// 6.25% of 2.00 is 12.5 cents: half up, 13.
		{"half up", 62_500, []int64{200}, 0, true, Figures{Lines: []int64{13}, Total: 13, Rate: 62_500}},
		{"no rate", 0, []int64{200}, 100, true, Figures{Lines: []int64{0}, Rate: 0}},
		{"nothing to tax", 82_500, []int64{0, 0}, 0, true, Figures{Lines: []int64{0, 0}, Rate: 82_500}},
		{"a rate above 100% counts as 100%", 3 * PPM, []int64{200}, 0, false, Figures{Lines: []int64{200}, Total: 200, Rate: 3 * PPM}},
	} {
		if got := Apply(c.rate, c.lines, c.shipping, c.taxShip); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// Refunds give the tax back in proportion, cumulatively: a part refund
// gives back the tax of what it refunds; refunding the whole total, in
// one or many parts, gives back exactly the tax.
func TestRefundShare(t *testing.T) {
	const total, tax = 6203, 473 // 57.30 + 4.73
	if got := RefundShare(total, 0, total, tax, 0); got != tax {
		t.Errorf("a full refund: %d, want %d", got, tax)
	}
	// $5.00 of $62.03 carries 38.13 cents of tax: 38; then $10.00 more:
	// the tax of $15.00 is 114.38: 114, so 76; then the rest: 473 − 114.
	shares := []int64{RefundShare(500, 0, total, tax, 0)}
	shares = append(shares, RefundShare(1000, 500, total, tax, shares[0]))
	shares = append(shares, RefundShare(total-1500, 1500, total, tax, shares[0]+shares[1]))
	if !reflect.DeepEqual(shares, []int64{38, 76, 359}) {
		t.Errorf("three refunds: %v", shares)
	}
	for _, c := range []struct {
		name                                 string
		amount, before, tot, tx, taxedBefore int64
		want                                 int64
	}{
		{"nothing refunded", 0, 0, total, tax, 0, 0},
		{"no tax", 500, 0, total, 0, 0, 0},
		{"more than the total", total + 100, 0, total, tax, 0, tax},
		{"the tax already given back", 100, total - 100, total, tax, tax, 0},
		{"more tax given back than there was", 100, 0, total, tax, tax + 10, 0},
	} {
		if got := RefundShare(c.amount, c.before, c.tot, c.tx, c.taxedBefore); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// Any split of any total into refunds gives back exactly the tax, never
// a negative share, and never more than the tax so far.
func TestRefundSharesAddUp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total := rapid.Int64Range(1, 10_000_000).Draw(t, "total")
		tax := rapid.Int64Range(0, total/4).Draw(t, "tax")
		var refunded, given int64
		for refunded < total {
			amount := rapid.Int64Range(1, total-refunded).Draw(t, "refund")
			share := RefundShare(amount, refunded, total, tax, given)
			if share < 0 || given+share > tax {
				t.Fatalf("share %d after %d of %d given back", share, given, tax)
			}
			refunded, given = refunded+amount, given+share
		}
		if given != tax {
			t.Fatalf("refunding %d in parts gave back %d of tax %d", total, given, tax)
		}
	})
}

// The figures of any sale add up to its total.
func TestApplyAddsUp(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		lines := rapid.SliceOfN(rapid.Int64Range(0, 1_000_000), 1, 20).Draw(t, "lines")
		shipping := rapid.Int64Range(0, 100_000).Draw(t, "shipping")
		rate := rapid.Int64Range(0, MaxRate).Draw(t, "rate")
		f := Apply(rate, lines, shipping, rapid.Bool().Draw(t, "taxShipping"))
		if !f.AddsUp() || len(f.Lines) != len(lines) {
			t.Fatalf("figures %+v do not add up", f)
		}
	})
}

const texas = `{"sourcing": "destination", "rules": [
  {"country": "US", "state": "TX", "rate": "6.25", "shipping": true, "name": "Texas"},
  {"country": "US", "state": "TX", "postalPrefixes": ["787", "7870"], "rate": "8.25", "shipping": true, "name": "Austin, TX"},
  {"country": "US", "state": "NJ", "rate": "6.625", "name": "New Jersey"},
  {"country": "CA", "rate": "5", "shipping": true, "name": "Canada (GST)"}]}`

// The most specific rule of the place taxes a sale: the longest postal
// prefix, then the state, then the country; a place without a rule owes
// none. Origin sourcing taxes a sale within the state by the origin.
func TestTableRule(t *testing.T) {
	tbl, err := ParseTable([]byte(texas))
	if err != nil {
		t.Fatal(err)
	}
	austin := Address{Country: "US", State: "TX", PostalCode: "78701-1234"}
	for _, c := range []struct {
		dest Address
		want string
	}{
		{austin, "Austin, TX"},
		{Address{Country: "us", State: "tx", PostalCode: "787 05"}, "Austin, TX"},
		{Address{Country: "US", State: "TX", PostalCode: "77002"}, "Texas"},
		{Address{Country: "US", State: "NJ", PostalCode: "07030"}, "New Jersey"},
		{Address{Country: "CA", State: "ON", PostalCode: "M5V 2T6"}, "Canada (GST)"},
		{Address{Country: "US", State: "CA", PostalCode: "94103"}, ""},
	} {
		r, ok := tbl.Rule(c.dest, austin)
		if ok != (c.want != "") || r.Name != c.want {
			t.Errorf("%+v: %q %v, want %q", c.dest, r.Name, ok, c.want)
		}
	}
	if r, _ := tbl.Rule(Address{Country: "US", State: "NJ", PostalCode: "07030"}, austin); r.Rate != 66_250 || r.Shipping {
		t.Errorf("New Jersey's rule: %+v", r)
	}
	// Rules that compete: the longer prefix wins whatever names the state;
	// at the same length, the rule that names the state.
	compete, err := ParseTable([]byte(`{"rules": [
  {"country": "US", "postalPrefixes": ["787"], "rate": "1", "name": "country, 787"},
  {"country": "US", "state": "TX", "postalPrefixes": ["787"], "rate": "2", "name": "TX, 787"},
  {"country": "US", "postalPrefixes": ["78701"], "rate": "3", "name": "country, 78701"},
  {"country": "US", "state": "TX", "rate": "4", "name": "TX"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for postal, want := range map[string]string{"78701": "country, 78701", "78705": "TX, 787", "77002": "TX"} {
		if r, _ := compete.Rule(Address{Country: "US", State: "TX", PostalCode: postal}, austin); r.Name != want {
			t.Errorf("competing rules for %s: %q, want %q", postal, r.Name, want)
		}
	}
	if r, _ := compete.Rule(Address{Country: "US", State: "NM", PostalCode: "78705"}, austin); r.Name != "country, 787" {
		t.Errorf("a prefix rule without a state, in another state: %q", r.Name)
	}
	tbl.Sourcing = Origin
	if r, _ := tbl.Rule(Address{Country: "US", State: "TX", PostalCode: "77002"}, austin); r.Name != "Austin, TX" {
		t.Errorf("an in-state sale, origin sourced: %q", r.Name)
	}
	if r, _ := tbl.Rule(Address{Country: "US", State: "NJ", PostalCode: "07030"}, austin); r.Name != "New Jersey" {
		t.Errorf("an out-of-state sale, origin sourced: %q", r.Name)
	}
	f := tbl.Compute([]int64{3420, 1620}, 690, Address{Country: "US", State: "TX", PostalCode: "78701"}, austin)
	if f.Total != 473 || f.Jurisdiction != "Austin, TX" || f.Rate != 82_500 {
		t.Errorf("Austin's tax: %+v", f)
	}
	if f := tbl.Compute([]int64{3420}, 690, Address{Country: "US", State: "OR"}, austin); f.Total != 0 || len(f.Lines) != 1 || f.Jurisdiction != "" {
		t.Errorf("Oregon's tax: %+v", f)
	}
}

// A table with mistakes is refused at start-up with every mistake named
// by its place.
func TestParseTableRefusals(t *testing.T) {
	_, err := ParseTable([]byte(`{"sourcing": "both", "rules": [
  {"country": "USA", "state": "Texas", "rate": "8.25%", "name": "Texas"},
  {"country": "US", "state": "TX", "rate": "30", "name": ""},
  {"country": "US", "state": "TX", "rate": "6.25", "name": "Texas again"},
  {"country": "US", "state": "TX", "postalPrefixes": ["78-7", "787", "787"], "rate": "0", "name": "Austin"}]}`))
	if err == nil {
		t.Fatal("a table with mistakes was taken")
	}
	for _, want := range []string{
		`sourcing: "both"`, `rules[0].rate: "8.25%"`, `rules[0].country: "USA"`, `rules[0].state: "TEXAS"`, "rules[1].rate: 30.0000%",
		"rules[1].name", "rules[2] covers what rules[1] covers (US/TX)", "rules[3].rate", "rules[3] covers what rules[3] covers (US/TX/787)",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q:\n%v", want, err)
		}
	}
	if strings.Count(err.Error(), "rules[0].rate") != 1 {
		t.Errorf("an unreadable rate is said more than once:\n%v", err)
	}
	if _, err := ParseTable([]byte(`{"rules": [], "rates": []}`)); err == nil || !strings.Contains(err.Error(), `unknown field "rates"`) {
		t.Errorf("an unknown field: %v", err)
	}
	if tbl, err := ParseTable([]byte(`{"rules": []}`)); err != nil || tbl.Sourcing != Destination {
		t.Errorf("an empty table: %+v %v", tbl, err)
	}
}

// Figures that do not add up, or carry a negative figure, are not believed.
func TestFiguresAddUp(t *testing.T) {
	for _, c := range []struct {
		f    Figures
		want bool
	}{
		{Figures{Lines: []int64{282, 134}, Shipping: 57, Total: 473}, true},
		{Figures{Lines: []int64{0, 0}, Total: 0}, true},
		{Figures{Lines: []int64{282, 134}, Shipping: 57, Total: 148}, false},
		{Figures{Lines: []int64{-1, 1}, Total: 0}, false},
	} {
		if got := c.f.AddsUp(); got != c.want {
			t.Errorf("%+v: %v", c.f, got)
		}
	}
}

// The example table in docs/tax.md is a valid table, and taxes as the
// page says: Austin at 8.25%, elsewhere in Texas 6.25%, shipping taxed.
func TestTheDocumentedTableParses(t *testing.T) {
	b, err := os.ReadFile("../../docs/tax.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/tax.md has no ```json example")
	}
	table, err := ParseTable([]byte(example))
	if err != nil {
		t.Fatalf("the documented table: %v", err)
	}
	for _, c := range []struct {
		zip  string
		want int64
	}{{"78701", 82_500}, {"75201", 62_500}} {
		f := table.Compute([]int64{10_000}, 1_000, Address{Country: "US", State: "TX", PostalCode: c.zip}, Address{Country: "US", State: "OR"})
		if f.Rate != c.want || f.Total != (11_000*c.want+500_000)/1_000_000 {
			t.Errorf("%s: %+v", c.zip, f)
		}
	}
}
