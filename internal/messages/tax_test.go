package messages

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/shipping"
	"github.com/readyplanner/oms/internal/tax"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// golden compares got with testdata/golden/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from its golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var (
	placedAt = time.Date(2026, 12, 3, 15, 4, 0, 0, time.UTC)
	paidAt   = time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)
	testShop = Store{Name: "ReadyPlanner", Address: "1 Main St, Springfield, IL 62701", SupportEmail: "help@readyplanner.example", URL: "https://readyplanner.example",
		BrandColor: "#335566", From: "ReadyPlanner <orders@readyplanner.example>"}
)

func usd(a int64) money.Money { return money.New(a, "USD") }

// illinois is the table's tax of the test order: 6.25% of its lines after
// their discount (5310 and 650), shipping untaxed.
func illinois() *order.Tax {
	return &order.Tax{Provider: order.TaxByTable, Basis: "b1", ComputedAt: placedAt,
		Figures: tax.Figures{Lines: []int64{332, 41}, Total: 373, Rate: 62_500, Jurisdiction: "Illinois"}}
}

// paidOrder is an order charged at paidAt with id, tax tx (nil: none),
// and refunds: two lines, a 10% promotion, shipping.
func paidOrder(t testing.TB, id string, tx *order.Tax, refunds ...order.Refund) *order.Order {
	t.Helper()
	return paidOrderAt(t, paidAt, id, tx, refunds...)
}

// paidOrderAt is paidOrder charged at paid.
func paidOrderAt(t testing.TB, paid time.Time, id string, tx *order.Tax, refunds ...order.Refund) *order.Order {
	t.Helper()
	o := order.Order{ID: id, UID: "u-" + id, Currency: "USD", CreatedAt: placedAt, UpdatedAt: paid, StateSince: paid,
		Customer: &order.Customer{Name: "Ann Lee", Email: "ann@example.com"},
		Lines: []pricing.Line{
			{SKU: "PLANNER-A5", Name: "Weekly Planner A5", Quantity: 2, UnitPrice: usd(2950), ListPrice: usd(2950), Total: usd(5900)},
			{SKU: "STICKERS", Name: "Sticker Pack", Quantity: 1, UnitPrice: usd(650), ListPrice: usd(650), Total: usd(650)}},
		Subtotal: usd(6550),
		Pricing: order.Pricing{Promotions: []order.AppliedPromotion{{ID: "welcome10", Name: "Welcome 10%", Discount: usd(590)}},
			LineDiscounts: []money.Money{usd(590), usd(0)}, ShippingDiscount: usd(0)},
		Shipping: &order.ShippingChoice{Rate: shipping.Rate{RateID: "se-1", Carrier: "USPS", Service: "USPS Ground Advantage", Amount: usd(795)},
			Address: shipping.Address{Name: "Ann Lee", AddressLine1: "12 Elm Street", CityLocality: "Springfield", StateProvince: "IL", PostalCode: "62704", CountryCode: "US"}},
		Tax: tx,
	}
	o.Payment = &order.Payment{IntentID: "pi_" + id, AmountCaptured: o.Total().Amount, CardBrand: "visa", CardLast4: "4242", Refunds: refunds}
	for _, r := range refunds {
		if r.Made() {
			o.Payment.AmountRefunded += r.Amount
		}
	}
	got, err := order.Restore(o, order.Paid, []order.Change{
		{At: placedAt, To: order.Pending, Actor: "customer"},
		{At: placedAt, From: order.Pending, To: order.Authorized, Actor: "stripe"},
		{At: placedAt, From: order.Authorized, To: order.Invoiced, Actor: "trigger"},
		{At: paid.Add(-time.Minute), From: order.Invoiced, To: order.Approved, Actor: "quickbooks"},
		{At: paid, From: order.Approved, To: order.Paid, Actor: "trigger", Reason: "payment captured"}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// fakeOutbox records the mail queued.
type fakeOutbox struct{ mail []Mail }

func (f *fakeOutbox) Queue(_ context.Context, m Mail, _ time.Time) (bool, error) {
	for _, x := range f.mail {
		if x.ID == m.ID {
			return false, nil
		}
	}
	f.mail = append(f.mail, m)
	return true, nil
}

// The emails of an order without tax are what they were before sales tax
// existed (their golden files were written by the code of that time).
func TestEmailsWithoutTaxUnchanged(t *testing.T) {
	o := paidOrder(t, "K7Q2M9XH4TBA", nil)
	for _, name := range []string{"received", "receipt", "canceled"} {
		r, err := Render(name, View{Store: testShop, Order: OrderViewOf(o)})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name+"-untaxed.txt", r.Text)
		golden(t, name+"-untaxed.html", r.HTML)
		if strings.Contains(r.Text+r.HTML, "tax") {
			t.Errorf("%s of an untaxed order mentions tax:\n%s", name, r.Text)
		}
	}
	refund := order.Refund{N: 1, Amount: 1000, Reason: "the cover arrived scuffed", ProviderID: "re_1", RefundedAt: paidAt.Add(time.Hour)}
	out := &fakeOutbox{}
	c := &Customers{Outbox: out, Store: testShop, Now: func() time.Time { return paidAt }}
	if err := c.refunds(context.Background(), orderTransition(paidOrder(t, "K7Q2M9XH4TBA", nil, refund))); err != nil {
		t.Fatal(err)
	}
	if len(out.mail) != 1 {
		t.Fatalf("queued %d refund emails, want 1", len(out.mail))
	}
	golden(t, "refunded-untaxed.txt", out.mail[0].Text)
	golden(t, "refunded-untaxed.html", out.mail[0].HTML)
}

// orderTransition is the transition an OnAny step sees for o.
func orderTransition(o *order.Order) orderflow.Transition {
	return orderflow.Transition{Order: o, From: o.State(), To: o.State()}
}

// fakeStale answers the summary's lists: the orders in each state.
type fakeStale map[order.State][]*order.Order

func (f fakeStale) Stale(_ context.Context, states []order.State, _ time.Time, limit int) ([]*order.Order, error) {
	var out []*order.Order
	for _, s := range states {
		out = append(out, f[s]...)
	}
	return out[:min(len(out), limit)], nil
}

// summaryAt runs s at now and answers the mail it queued.
func summaryAt(t *testing.T, s *Summary, now time.Time) Mail {
	t.Helper()
	out := &fakeOutbox{}
	s.Outbox = out
	if _, err := s.run(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	if len(out.mail) != 1 {
		t.Fatalf("queued %d summaries, want 1", len(out.mail))
	}
	return out.mail[0]
}

// A store that collects no sales tax gets the summary it always got.
func TestSummaryWithoutTaxUnchanged(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	s := &Summary{Orders: fakeStale{order.Paid: {paidOrder(t, "K7Q2M9XH4TBA", nil)}}, OwnerEmail: "owner@readyplanner.example", Hour: 7,
		Location: chicago, Store: testShop}
	m := summaryAt(t, s, time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC))
	golden(t, "summary-untaxed.txt", m.Text)
	golden(t, "summary-untaxed.html", m.HTML)
}

// cents reads an amount as an email shows it ("$1,234.56", "" for none).
func cents(t *testing.T, s string) int64 {
	t.Helper()
	if s == "" {
		return 0
	}
	m, err := money.ParseDecimal(strings.NewReplacer("$", "", ",", "").Replace(s), "USD")
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return m.Amount
}

// addsUp fails unless v's amount lines add up to its total: subtotal −
// discounts + shipping − shipping discount + sales tax.
func addsUp(t *testing.T, v OrderView) {
	t.Helper()
	sum := cents(t, v.Subtotal) - cents(t, v.Discount) + cents(t, v.Shipping) - cents(t, v.ShippingDiscount) + cents(t, v.Tax)
	if sum != cents(t, v.Total) {
		t.Errorf("the lines add up to %d, the total says %s: %+v", sum, v.Total, v)
	}
}

// An order charged tax shows it as its own line, where it is due, between
// the shipping and the total, and the lines add up to the total charged.
func TestEmailsShowSalesTax(t *testing.T) {
	o := paidOrder(t, "K7Q2M9XH4TBA", illinois())
	v := OrderViewOf(o)
	if v.Tax != "$3.73" || v.TaxName != "Illinois" || v.Total != "$71.28" {
		t.Fatalf("the order's view: tax %q (%q), total %q", v.Tax, v.TaxName, v.Total)
	}
	addsUp(t, v)
	addsUp(t, OrderViewOf(paidOrder(t, "K7Q2M9XH4TBA", nil)))
	addsUp(t, Sample(testShop).Order) // the previews' made-up order too
	for _, name := range []string{"received", "receipt"} {
		r, err := Render(name, View{Store: testShop, Order: v})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name+"-taxed.txt", r.Text)
		golden(t, name+"-taxed.html", r.HTML)
		if !strings.Contains(r.Text, "  Shipping (USPS Ground Advantage)    $7.95\n  Sales tax (Illinois)    $3.73\n  Total    $71.28\n") {
			t.Errorf("%s: no sales tax line before the total:\n%s", name, r.Text)
		}
		if !strings.Contains(r.HTML, `<td style="padding:2px 0">Sales tax (Illinois)</td><td align="right">$3.73</td>`) {
			t.Errorf("%s: no sales tax row in the HTML:\n%s", name, r.HTML)
		}
	}
	// Figures without a jurisdiction (a provider that names none): the
	// line says only what it is.
	unnamed := illinois()
	unnamed.Figures.Jurisdiction = ""
	r, err := Render("receipt", View{Store: testShop, Order: OrderViewOf(paidOrder(t, "K7Q2M9XH4TBA", unnamed))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "  Sales tax    $3.73\n") {
		t.Errorf("receipt without a jurisdiction:\n%s", r.Text)
	}
}

// A refund of an order charged tax is told once its share of the tax is
// settled, with that share; until then nothing is queued for it (the step
// runs again when the share is settled), and a refund told is not told
// again.
func TestRefundEmailShowsItsTax(t *testing.T) {
	made := paidAt.Add(time.Hour)
	settled := order.Refund{N: 1, Amount: 1000, Reason: "the cover arrived scuffed", ProviderID: "re_1", RefundedAt: made, Tax: 52}
	due := order.Refund{N: 2, Amount: 2000, Reason: "a sticker pack was missing", ProviderID: "re_2", RefundedAt: made, TaxDue: true}
	asked := order.Refund{N: 3, Amount: 500, Reason: "not yet made", TaxDue: true}
	o := paidOrder(t, "K7Q2M9XH4TBA", illinois(), settled, due, asked)
	out := &fakeOutbox{}
	c := &Customers{Outbox: out, Store: testShop, Now: func() time.Time { return made }}
	if err := c.refunds(context.Background(), orderTransition(o)); err != nil {
		t.Fatal(err)
	}
	if len(out.mail) != 1 || out.mail[0].ID != "K7Q2M9XH4TBA-refunded-1" {
		t.Fatalf("queued %+v, want refund 1's email only", out.mail)
	}
	golden(t, "refunded-taxed.txt", out.mail[0].Text)
	golden(t, "refunded-taxed.html", out.mail[0].HTML)
	if !strings.Contains(out.mail[0].Text, "we refunded $10.00 (including $0.52 of sales tax) of your order") {
		t.Errorf("refund 1's email:\n%s", out.mail[0].Text)
	}
	if !o.RefundTaxSettled(2, o.RefundTaxShare(2), "", "") {
		t.Fatal("refund 2's tax did not settle")
	}
	if err := c.refunds(context.Background(), orderTransition(o)); err != nil {
		t.Fatal(err)
	}
	if len(out.mail) != 2 || out.mail[1].ID != "K7Q2M9XH4TBA-refunded-2" {
		t.Fatalf("queued %+v, want refund 2's email next", out.mail)
	}
	share := Format(usd(o.Payment.Refunds[1].Tax))
	if want := "we refunded $20.00 (including " + share + " of sales tax) of your order"; !strings.Contains(out.mail[1].Text, want) ||
		!strings.Contains(out.mail[1].Text, "Refunded so far: $30.00 of $71.28.") {
		t.Errorf("refund 2's email, want %q:\n%s", want, out.mail[1].Text)
	}
}

// fakeTaxOrders answers every order it has to both questions: the count
// must pick out the window's charges and refunds itself.
type fakeTaxOrders []*order.Order

func (f fakeTaxOrders) ChargedBetween(_ context.Context, _, _ time.Time, limit int) ([]*order.Order, error) {
	return f[:min(len(f), limit)], nil
}

func (f fakeTaxOrders) RefundedSince(_ context.Context, _ time.Time, limit int) ([]*order.Order, error) {
	return f[:min(len(f), limit)], nil
}

func TestTaxCollectedIn(t *testing.T) {
	from := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	in, before, after := from.Add(3*time.Hour), from.Add(-time.Minute), to
	refund := func(n int, amount, tx int64, at time.Time, due bool) order.Refund {
		return order.Refund{N: n, Amount: amount, ProviderID: "re", RefundedAt: at, Tax: tx, TaxDue: due}
	}
	failed := refund(3, 100, 5, in, false)
	failed.PaymentFailure = "card closed"
	untaxed := paidOrderAt(t, in, "UNTAXED00001", nil, refund(1, 500, 0, in, false))
	canceledInFlight, err := order.Restore(order.Order{ID: "CANCELED0001", Currency: "USD", Tax: illinois(),
		Payment: &order.Payment{AmountCaptured: 7128, Refunds: []order.Refund{refund(1, 7128, 373, in, false)}}},
		order.Canceled, []order.Change{{At: placedAt, To: order.Pending}, {At: in, From: order.Pending, To: order.Canceled}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name              string
		charged, refunded []*order.Order
		want              TaxCollected
	}{
		{"nothing", nil, nil, TaxCollected{}},
		{"a charge in the window", []*order.Order{paidOrderAt(t, in, "A", illinois())}, nil, TaxCollected{Charged: 373, Orders: 1}},
		{"the window's first instant counts, its end does not",
			[]*order.Order{paidOrderAt(t, from, "A", illinois()), paidOrderAt(t, after, "B", illinois())}, nil, TaxCollected{Charged: 373, Orders: 1}},
		{"a charge before the window", []*order.Order{paidOrderAt(t, before, "A", illinois())}, nil, TaxCollected{}},
		{"an order given twice counts once", []*order.Order{paidOrderAt(t, in, "A", illinois()), paidOrderAt(t, in, "A", illinois())}, nil,
			TaxCollected{Charged: 373, Orders: 1}},
		{"an untaxed charge counts as an order, without tax", []*order.Order{untaxed}, []*order.Order{untaxed}, TaxCollected{Orders: 1}},
		{"refunds: settled in the window, before it, after it, still to settle, failed, not made", nil,
			[]*order.Order{paidOrderAt(t, before, "A", illinois(), refund(1, 1000, 52, in, false), refund(2, 1000, 52, before, false),
				refund(4, 1000, 53, after, false), refund(5, 1000, 0, in, true), failed, order.Refund{N: 6, Amount: 100, TaxDue: true}),
				paidOrderAt(t, before, "A", illinois(), refund(1, 1000, 52, in, false))},
			TaxCollected{Refunded: 52, Refunds: 1, Unsettled: 1}},
		{"charged and refunded in full the same day", []*order.Order{paidOrderAt(t, in, "A", illinois(), refund(1, 7128, 373, in, false))},
			[]*order.Order{paidOrderAt(t, in, "A", illinois(), refund(1, 7128, 373, in, false))}, TaxCollected{Charged: 373, Orders: 1, Refunded: 373, Refunds: 1}},
		{"a capture found after the cancel counts neither way", []*order.Order{canceledInFlight}, []*order.Order{canceledInFlight}, TaxCollected{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := TaxCollectedIn(c.charged, c.refunded, from, to)
			c.want.From, c.want.To, c.want.Currency = from, to, "USD"
			if got != c.want {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
			if got.Net() != c.want.Charged-c.want.Refunded {
				t.Errorf("Net = %d", got.Net())
			}
		})
	}
}

// The summary says how much sales tax the day before collected: the tax
// of its charges less what its refunds gave back, in the store's day.
func TestSummaryShowsTaxCollected(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	// The summary of Saturday, December 5 (07:00 in Chicago) counts
	// Friday, December 4: 06:00 UTC to 06:00 UTC the next day.
	now := time.Date(2026, 12, 5, 13, 0, 0, 0, time.UTC)
	friday := time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	thursdayNight := time.Date(2026, 12, 4, 5, 59, 0, 0, time.UTC)
	orders := fakeTaxOrders{
		paidOrderAt(t, friday, "FRIDAY000001", illinois()),
		paidOrderAt(t, friday, "FRIDAY000002", illinois(), order.Refund{N: 1, Amount: 1000, ProviderID: "re_1", RefundedAt: friday.Add(time.Hour), TaxDue: true}),
		paidOrderAt(t, thursdayNight, "THURSDAY0001", illinois(), order.Refund{N: 1, Amount: 1000, ProviderID: "re_1", RefundedAt: friday, Tax: 52}),
		paidOrderAt(t, now, "SATURDAY0001", illinois()),
	}
	s := &Summary{Orders: fakeStale{}, Tax: orders, OwnerEmail: "owner@readyplanner.example", Hour: 7, Location: chicago, Store: testShop}
	m := summaryAt(t, s, now)
	golden(t, "summary-taxed.txt", m.Text)
	golden(t, "summary-taxed.html", m.HTML)
	want := "Sales tax collected on Friday, December 4: $6.94 ($7.46 on 2 orders charged, less $0.52 given back by 1 refund).\n" +
		"  Note: the tax of 1 refund made that day is still to settle: not counted.\n"
	if !strings.Contains(m.Text, want) {
		t.Errorf("the summary, want %q:\n%s", want, m.Text)
	}
	if !strings.Contains(m.HTML, "Sales tax collected on Friday, December 4: <b>$6.94</b>") {
		t.Errorf("the summary's HTML:\n%s", m.HTML)
	}

	// A day without charges or refunds says so.
	s.Tax = fakeTaxOrders{}
	if m := summaryAt(t, s, now); !strings.Contains(m.Text, "Sales tax collected on Friday, December 4: $0.00.\n") {
		t.Errorf("an empty day's summary:\n%s", m.Text)
	}
}
