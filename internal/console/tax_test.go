package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/shipping"
	"github.com/readyplanner/oms/internal/tax"
)

const testClaim = "storeOwner"

// ownerSessions takes any cookie for the owner's session.
type ownerSessions struct{}

func (ownerSessions) VerifyIDTokenAndCheckRevoked(context.Context, string) (*identity.Identity, error) {
	return nil, apperr.New(apperr.Unauthenticated, "not in this test")
}

func (ownerSessions) SessionCookie(context.Context, string, time.Duration) (string, error) {
	return "", apperr.New(apperr.Unauthenticated, "not in this test")
}

func (ownerSessions) VerifySessionCookieAndCheckRevoked(context.Context, string) (*identity.Identity, error) {
	return &identity.Identity{UID: "owner", Email: "owner@readyplanner.example", Claims: map[string]any{testClaim: true}}, nil
}

// fakeOrders are the orders the owner's reads find, by id; every list is
// empty but the day's charges, which are all of them.
type fakeOrders map[string]*order.Order

func (f fakeOrders) Get(_ context.Context, id string) (*order.Order, error) {
	if o, ok := f[id]; ok {
		return o, nil
	}
	return nil, apperr.New(apperr.NotFound, "no order %s", id)
}

func (fakeOrders) InState(context.Context, order.State, string, int) ([]*order.Order, string, error) {
	return nil, "", nil
}
func (fakeOrders) CountInState(context.Context, order.State) (int64, error) { return 0, nil }
func (fakeOrders) ToShip(context.Context, int) ([]*order.Order, error)      { return nil, nil }
func (f fakeOrders) PlacedSince(context.Context, time.Time) (int64, int64, error) {
	var total int64
	for _, o := range f {
		total += o.Total().Amount
	}
	return int64(len(f)), total, nil
}
func (fakeOrders) ByMailbox(context.Context, string, int) ([]*order.Order, error)    { return nil, nil }
func (fakeOrders) ByNamePrefix(context.Context, string, int) ([]*order.Order, error) { return nil, nil }

func (f fakeOrders) all() []*order.Order {
	var out []*order.Order
	for _, o := range f {
		out = append(out, o)
	}
	return out
}

func (f fakeOrders) ChargedBetween(context.Context, time.Time, time.Time, int) ([]*order.Order, error) {
	return f.all(), nil
}

func (f fakeOrders) RefundedSince(context.Context, time.Time, int) ([]*order.Order, error) {
	return f.all(), nil
}

type noMail struct{}

func (noMail) OfOrder(context.Context, string) ([]owner.MailRecord, error)     { return nil, nil }
func (noMail) Outbox(context.Context, string, int) ([]owner.MailRecord, error) { return nil, nil }

type noAlerts struct{}

func (noAlerts) Page(context.Context, bool, string, int) ([]owner.AlertRecord, string, error) {
	return nil, "", nil
}
func (noAlerts) ResolveOne(context.Context, string, time.Time) (owner.AlertRecord, error) {
	return owner.AlertRecord{}, nil
}

var (
	_ owner.OrderReader  = fakeOrders{}
	_ messages.TaxOrders = fakeOrders{}
	_ owner.MailReader   = noMail{}
	_ owner.AlertInbox   = noAlerts{}
)

var (
	paidAt = time.Date(2026, 12, 4, 15, 30, 0, 0, time.UTC)
	usd    = func(a int64) money.Money { return money.New(a, "USD") }
)

// charged is an order charged at paidAt: two lines, a promotion of $5.90,
// shipping $7.95, tax tx (nil: none), and refunds.
func charged(t *testing.T, id string, tx *order.Tax, refunds ...order.Refund) *order.Order {
	t.Helper()
	o := order.Order{ID: id, UID: "u-" + id, Currency: "USD", CreatedAt: paidAt.Add(-time.Hour),
		Customer: &order.Customer{Name: "Ann Lee", Email: "ann@example.com"},
		Lines: []pricing.Line{{SKU: "PLANNER-A5", Name: "Weekly Planner A5", Quantity: 2, UnitPrice: usd(2950), Total: usd(5900)},
			{SKU: "STICKERS", Name: "Sticker Pack", Quantity: 1, UnitPrice: usd(650), Total: usd(650)}},
		Subtotal: usd(6550),
		Pricing: order.Pricing{Promotions: []order.AppliedPromotion{{ID: "welcome10", Name: "Welcome 10%", Discount: usd(590)}},
			LineDiscounts: []money.Money{usd(590), usd(0)}, ShippingDiscount: usd(0)},
		Shipping: &order.ShippingChoice{Rate: shipping.Rate{Carrier: "USPS", Service: "USPS Ground Advantage", Amount: usd(795)},
			Address: shipping.Address{Name: "Ann Lee", AddressLine1: "12 Elm Street", CityLocality: "Springfield", StateProvince: "IL", PostalCode: "62704", CountryCode: "US"}},
		Tax: tx}
	o.Payment = &order.Payment{IntentID: "pi_" + id, AmountCaptured: o.Total().Amount, CardBrand: "visa", CardLast4: "4242", Refunds: refunds}
	got, err := order.Restore(o, order.Paid, []order.Change{{At: o.CreatedAt, To: order.Pending},
		{At: paidAt, From: order.Approved, To: order.Paid, Actor: "trigger", Reason: "payment captured"}})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// illinois is 6.25% of the lines after their discount, shipping untaxed.
func illinois() *order.Tax {
	return &order.Tax{Provider: order.TaxByTable, Basis: "b1",
		Figures: tax.Figures{Lines: []int64{332, 41}, Total: 373, Rate: 62_500, Jurisdiction: "Illinois"}}
}

// consoleOf serves the console over orders, signed in as the owner.
func consoleOf(t *testing.T, orders fakeOrders, taxed bool) func(path string) string {
	t.Helper()
	reads := &owner.Reads{Orders: orders, Inbox: noAlerts{}, Mail: noMail{}, AdminClaim: testClaim, Location: time.UTC,
		Now: func() time.Time { return paidAt.Add(time.Hour) }}
	if taxed {
		reads.Tax = orders
	}
	u, _ := url.Parse("http://127.0.0.1/owner/")
	c := &Console{App: owner.Application{Queries: reads}, Sessions: ownerSessions{}, AdminClaim: testClaim, URL: u, Now: time.Now}
	h := c.Handler()
	return func(path string) string {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: CookieName, Value: "session"})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, body)
		}
		return string(body)
	}
}

// amountCell is an amount of the order page's lines table, by its label.
var amountCell = regexp.MustCompile(`data-label="(total|discount|shipping|sales tax)">(?:<b>)?(−?)\$([0-9,]+\.[0-9]{2})`)

// linesAddUp fails unless the lines table of an order's page adds up:
// the lines' totals − the discounts + shipping + sales tax = the total
// (the table's last row).
func linesAddUp(t *testing.T, page string) {
	t.Helper()
	i := strings.Index(page, "<h2>Lines</h2>")
	table := page[i : i+strings.Index(page[i:], "</table>")]
	cells := amountCell.FindAllStringSubmatch(table, -1)
	if len(cells) < 2 || cells[len(cells)-1][1] != "total" {
		t.Fatalf("the lines table has no total:\n%s", table)
	}
	var sum int64
	for _, c := range cells[:len(cells)-1] {
		m, err := money.ParseDecimal(strings.ReplaceAll(c[3], ",", ""), "USD")
		if err != nil {
			t.Fatal(err)
		}
		if c[2] == "−" {
			m.Amount = -m.Amount
		}
		sum += m.Amount
	}
	total, _ := money.ParseDecimal(cells[len(cells)-1][3], "USD")
	if sum != total.Amount {
		t.Errorf("the lines add up to %d, the total says %d:\n%s", sum, total.Amount, table)
	}
}

// An order charged tax shows it on its page as its own line — where it is
// due, at what rate, by whom — so that the lines add up to the total; and
// each refund shows its share of the tax, or that it is still to settle.
// An order without tax shows none of it.
func TestOrderPageShowsSalesTax(t *testing.T) {
	made := paidAt.Add(30 * time.Minute)
	taxed := charged(t, "K7Q2M9XH4TBA", illinois(),
		order.Refund{N: 1, Amount: 1000, Reason: "scuffed cover", ProviderID: "re_1", RefundedAt: made, Tax: 52},
		order.Refund{N: 2, Amount: 2000, Reason: "missing stickers", ProviderID: "re_2", RefundedAt: made, TaxDue: true},
		order.Refund{N: 3, Amount: 500, Reason: "asked", TaxDue: true})
	shipped := illinois()
	shipped.Provider, shipped.Figures = order.TaxByStripe, tax.Figures{Lines: []int64{332, 41}, Shipping: 50, Total: 423}
	untaxed := charged(t, "M4R8T2QX9PLA", nil)
	get := consoleOf(t, fakeOrders{taxed.ID: taxed, untaxed.ID: untaxed, "Q9W3E7R2T5YW": charged(t, "Q9W3E7R2T5YW", shipped)}, true)

	page := get("/orders/K7Q2M9XH4TBA")
	for _, want := range []string{
		`<tr><td colspan="3">Sales tax <small>Illinois · 6.25% · your rate table</small></td><td data-label="sales tax">$3.73</td></tr>`,
		`<td data-label="total"><b>$71.28</b>`,
		`refunded $30.00, tax given back $0.52`, // refund 2's share is still to settle
		`<th>of it tax</th>`,
		`<td>1</td><td>$10.00</td><td data-label="of it tax">$0.52</td>`,
		`<td>2</td><td>$20.00</td><td data-label="of it tax">being settled</td>`,
		`<td>3</td><td>$5.00</td><td data-label="of it tax">once made</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the taxed order's page lacks %s", want)
		}
	}
	linesAddUp(t, page)

	page = get("/orders/Q9W3E7R2T5YW")
	if want := `Sales tax <small>Stripe Tax · $0.50 of it on shipping</small></td><td data-label="sales tax">$4.23</td>`; !strings.Contains(page, want) {
		t.Errorf("the Stripe-taxed order's page lacks %s", want)
	}
	linesAddUp(t, page)

	page = get("/orders/M4R8T2QX9PLA")
	if strings.Contains(page, "tax") {
		t.Errorf("the untaxed order's page mentions tax")
	}
	linesAddUp(t, page)
}

// The start page's figures of the day show the sales tax collected since
// midnight when the store collects it, and nothing of it otherwise.
func TestStartPageShowsTaxCollected(t *testing.T) {
	refunded := charged(t, "M4R8T2QX9PLA", illinois(), order.Refund{N: 1, Amount: 1000, ProviderID: "re_1", RefundedAt: paidAt.Add(time.Minute), Tax: 52})
	orders := fakeOrders{"K7Q2M9XH4TBA": charged(t, "K7Q2M9XH4TBA", illinois()), refunded.ID: refunded}
	page := consoleOf(t, orders, true)("/")
	if want := "2 orders placed, $142.56<br>sales tax collected $6.94 ($7.46 charged, $0.52 given back)</span>"; !strings.Contains(page, want) {
		t.Errorf("the start page lacks %q:\n%s", want, page)
	}
	page = consoleOf(t, orders, false)("/")
	if strings.Contains(page, "tax") || !strings.Contains(page, "2 orders placed, $142.56</span>") {
		t.Errorf("a store without tax: the start page says\n%s", page)
	}
}

func TestPercent(t *testing.T) {
	for ppm, want := range map[int64]string{62_500: "6.25%", 60_000: "6%", 82_500: "8.25%", 1: "0.0001%", 1_000_000: "100%", 72_250: "7.225%"} {
		if got := percent(ppm); got != want {
			t.Errorf("percent(%d) = %q, want %q", ppm, got, want)
		}
	}
}
