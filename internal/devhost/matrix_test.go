package devhost

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/testenv"
)

// TestLifecycleMatrix is issue 25's lifecycle matrix: one local system
// (both emulators, every local fake, real HTTP between them, the
// Firestore emulator delivering every write to the functions host's
// triggers) takes orders from the cart to their end through every path,
// the paths in parallel on the one host. For each path it checks the
// final state, the history (the sequence of states) and that every
// effect outside happened exactly as often as the path makes it: Checkout
// Sessions, authorizations and captures at the local Stripe, invoices
// (and their voids) and refund receipts in the local QuickBooks, print
// jobs at the local printer, labels at the local ShipEngine, each email
// once in mailpit, and refunds at Stripe equal to what the order
// records. Time passes by the knobs the code has (the local Stripe's
// clock, the sweeper's tasks run at a later now), never by sleeping; every
// sweeper task then runs eight days on, and the sweeper once more as
// scheduled, and none may make a second effect.
// Every SKU's held units come back to where they started, and the units
// on hand fall by exactly the stock that shipped. It logs a table of the
// paths with their effects counted.
func TestLifecycleMatrix(t *testing.T) {
	began := time.Now()
	restore := setEnv(map[string]string{"OMS_TAX": "stripe", "OMS_TAX_CODE": "txcd_99999999"})
	defer restore()
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h := startLogged(t, rules)
	if h.Stripe == nil || h.QuickBooks == nil || h.Printer == nil || h.ShipEngine == nil || h.Mailpit == nil {
		t.Fatal("the local fakes did not all start (is a real service's key set in the environment?)")
	}
	h.Stripe.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: stripeTexasPPM, Shipping: true}})
	boss, err := emulator.SignInAs(ctx, h.AuthHost, testenv.ID("owner"), map[string]any{"admin": true})
	if err != nil {
		t.Fatal(err)
	}
	m := &matrix{h: h, boss: boss.IDToken}
	stockBefore := m.stock(t)

	// Phase 1: every path in parallel, up to its end (or, for the two
	// paths that wait for time to pass, up to where they wait).
	runs := make([]*pathRun, len(matrixPaths))
	ready := time.Now()
	t.Run("paths", func(t *testing.T) {
		// All at once: t.Parallel would run only -parallel (GOMAXPROCS)
		// of them at a time, and the paths mostly wait on the system.
		var wg sync.WaitGroup
		for i, p := range matrixPaths {
			runs[i] = &pathRun{name: p.name, want: p.want}
			wg.Go(func() {
				t.Run(p.name, func(t *testing.T) { p.run(t, m, runs[i]) })
			})
		}
		wg.Wait()
	})
	inParallel := time.Since(ready)
	// Phase 2: time passes. Eight days on, at the local Stripe and for
	// the sweeper: the abandoned checkout's holds lapse and the waiting
	// authorization lapses. Every other order has ended, so nothing else
	// is touched.
	later := time.Now().Add(8 * 24 * time.Hour)
	h.Stripe.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
	for _, task := range []string{"expireHolds", "authorizationLapse"} {
		fn, err := h.App.Sweeper.Task(task)
		if err != nil {
			t.Fatal(err)
		}
		summary, err := fn(ctx, later)
		if err != nil {
			t.Errorf("%s eight days on: %v", task, err)
		}
		t.Logf("%s eight days on: %s", task, summary)
	}
	for _, r := range runs {
		if r.after != nil && r.id != "" {
			r.after(t, m, r)
		}
	}
	// Then every task of the sweeper, eight days on (stale orders
	// re-driven, print jobs and tracking re-read, invoices reconciled,
	// mail retried), and once more as scheduled, on its own clock: every
	// order has ended with its work done, so none makes a second effect.
	for _, task := range h.App.Sweeper.Tasks() {
		fn, _ := h.App.Sweeper.Task(task)
		if _, err := fn(ctx, later); err != nil {
			t.Errorf("%s eight days on: %v", task, err)
		}
	}
	h.Stripe.SetClock(time.Now)
	if resp, b := read(t)(http.Post(h.URL+"/sweep", "application/json", nil)); resp.StatusCode != 200 {
		t.Errorf("sweep: %d %s", resp.StatusCode, b)
	}

	// Every path: its final state, its history and its effects.
	t.Run("effects", func(t *testing.T) {
		for _, r := range runs {
			if r.id == "" {
				t.Errorf("%s: no order (the path failed early)", r.name)
				continue
			}
			r.got = m.count(t, r)
			r.check(t)
		}
	})
	// No label was sold that no order knows of (a label bought twice
	// for a parcel is only recorded once).
	known := 0
	for _, r := range runs {
		known += r.got.labels
	}
	if sold := len(h.ShipEngine.SoldLabels()); sold != known {
		t.Errorf("%d labels sold at ShipEngine, %d recorded on the orders", sold, known)
	}
	// The stock: held units back where they started; on hand down by
	// the stock units that shipped.
	shipped := map[string]int64{}
	for _, r := range runs {
		if r.order == nil {
			continue
		}
		if p := r.order.Part(order.PartParcel); p != nil && p.Shipped() {
			for _, l := range p.Lines {
				shipped[l.SKU] += l.Quantity
			}
		}
	}
	var off []string
	if !taxWithin(matrixWait, func() bool {
		after := m.stock(t)
		off = off[:0]
		for sku, b := range stockBefore {
			if a := after[sku]; a.held != b.held || a.onHand != b.onHand-shipped[sku] {
				off = append(off, fmt.Sprintf("%s: held %d → %d, on hand %d → %d with %d shipped", sku, b.held, a.held, b.onHand, a.onHand, shipped[sku]))
			}
		}
		return len(off) == 0
	}) {
		t.Errorf("the stock at the end:\n%s", strings.Join(off, "\n"))
	}

	var b strings.Builder
	b.WriteString("\n| path | final | history | sessions | authorized (released) | captured | invoices (voided) | refund receipts | print jobs | labels (voided) | refunds at Stripe: amount = on the order | emails |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		g := r.got
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d (%d) | %d | %d (%d) | %d | %d | %d (%d) | %d: %s = %s | %d |\n", r.name, g.state, strings.Join(g.history, "→"),
			g.sessions, g.intents, g.intentsCanceled, g.captures, g.invoices, g.invoicesVoided, g.receipts, g.jobs, g.labels, g.labelsVoided, g.refunds,
			dollars(g.refundedAtStripe), dollars(g.refundedOnOrder), len(g.emails))
	}
	t.Logf("the lifecycle matrix: %d paths, %s in parallel, %s in all (the local system's start included):%s", len(runs),
		inParallel.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), b.String())
}

// matrix is the local system the paths share.
type matrix struct {
	h    *Host
	boss string // the owner's ID token
	// payMu serializes payments at the local Stripe's page: DeclineNext
	// declines the next payment, whichever order's it is.
	payMu sync.Mutex
}

// pathRun is one path's order, what it wants and what was counted.
type pathRun struct {
	name  string
	want  effects
	id    string
	email string
	token string // the customer's ID token
	// after, if set, finishes the path once time has passed (phase 2).
	after func(t *testing.T, m *matrix, r *pathRun)
	order *order.Order
	got   effects
}

// effects are a path's end and its effects outside, counted.
type effects struct {
	state                             order.State
	history                           []string // the states entered, in order
	sessions, intents, captures       int
	invoices, invoicesVoided          int
	receipts                          int // QuickBooks refund receipts
	jobs                              int // print jobs
	labels, labelsVoided              int
	refunds                           int // at Stripe
	refundedAtStripe, refundedOnOrder int64
	intentsCanceled                   int      // authorizations released (canceled or lapsed) at Stripe
	emails                            []string // subjects ({id}: the order's id, {total}: its total)
	// What was not counted but read, to check against the order: the
	// amounts captured at Stripe, authorized (its session's total) and
	// invoiced (an invoice not voided), and the emails in the outbox.
	capturedAtStripe, authorizedAtStripe, invoiced int64
	outbox                                         int
}

// matrixPath is one way through the lifecycle.
type matrixPath struct {
	name string
	run  func(t *testing.T, m *matrix, r *pathRun)
	want effects
}

const (
	planner = "PLN-DAY-A5-LINEN" // printed on demand
	penSet  = "PEN-SET-6"        // from stock
)

// The customer's emails, by template.
const (
	mailReceived  = "We have your order {id}"
	mailReceipt   = "Your receipt for order {id}"
	mailShipped   = "Part of your order {id} has shipped"
	mailDelivered = "Part of your order {id} was delivered"
	mailCanceled  = "Your order {id} is canceled"
	mailExpired   = "Your order {id} expired; nothing was charged"
)

var (
	toShipped    = []string{"pending", "authorized", "invoiced", "approved", "paid", "fulfilling", "shipped"}
	toInvoiced   = []string{"pending", "authorized", "invoiced"}
	oneOfEach    = effects{sessions: 1, intents: 1, captures: 1, invoices: 1}
	matrixPaths  []matrixPath
	addressTexas = map[string]any{"name": "Ann Lee", "addressLine1": "500 congress avenue", "cityLocality": "Austin", "stateProvince": "TX",
		"postalCode": "78701", "countryCode": "US", "phone": "512 555 0100"}
	addressOregon = map[string]any{"name": "Ben Ode", "addressLine1": "1120 sw 5th avenue", "cityLocality": "Portland", "stateProvince": "OR",
		"postalCode": "97204", "countryCode": "US", "phone": "503 555 0100"}
)

func with(e effects, f func(*effects)) effects { f(&e); return e }

func init() {
	matrixPaths = []matrixPath{
		{name: "print only", want: with(oneOfEach, func(e *effects) {
			e.state, e.history, e.jobs = order.Shipped, toShipped, 1
			e.emails = []string{mailReceived, mailReceipt, mailShipped, mailDelivered}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			m.buy(t, r, map[string]int64{planner: 1}, "", addressOregon)
			m.approve(t, r)
			m.shipPrint(t, r.id, true)
		}},
		{name: "parcel only", want: with(oneOfEach, func(e *effects) {
			e.state, e.history, e.labels = order.Shipped, toShipped, 1
			e.emails = []string{mailReceived, mailReceipt, mailShipped, mailDelivered}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			m.buy(t, r, map[string]int64{penSet: 1}, "", addressOregon)
			m.approve(t, r)
			m.shipParcel(t, r.id, m.buyLabel(t, r.id), true)
		}},
		{name: "mixed, promotion, tax; partial refund", want: with(oneOfEach, func(e *effects) {
			e.state, e.history, e.jobs, e.labels, e.refunds, e.receipts = order.Shipped, toShipped, 1, 1, 1, 1
			e.emails = []string{mailReceived, mailReceipt, mailShipped, mailShipped, mailDelivered, mailDelivered, "A refund of $10.00 for order {id}"}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			o := m.buy(t, r, map[string]int64{planner: 1, penSet: 1}, "WELCOME10", addressTexas)
			if o.LinesDiscount().Amount == 0 || len(o.Pricing.Redeemed) != 1 || o.TaxAmount().Amount == 0 {
				t.Errorf("no discount (%d, redeemed %v) or no tax (%d) on the order", o.LinesDiscount().Amount, o.Pricing.Redeemed, o.TaxAmount().Amount)
			}
			m.approve(t, r)
			m.shipParcel(t, r.id, m.buyLabel(t, r.id), true)
			m.shipPrint(t, r.id, true)
			m.refund(t, r.id, 1000)
		}},
		{name: "mixed; full refund", want: with(oneOfEach, func(e *effects) {
			e.state, e.history, e.jobs, e.labels, e.refunds, e.receipts = order.Refunded, append(slices.Clone(toShipped), "refunded"), 1, 1, 1, 1
			e.emails = []string{mailReceived, mailReceipt, mailShipped, mailShipped, "A refund of {total} for order {id}"}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			m.buy(t, r, map[string]int64{planner: 1, penSet: 1}, "", addressOregon)
			m.approve(t, r)
			m.shipParcel(t, r.id, m.buyLabel(t, r.id), false)
			m.shipPrint(t, r.id, false)
			m.refund(t, r.id, 0)
		}},
		{name: "declined card, session expires, holds lapse", want: effects{state: order.Expired, history: []string{"pending", "expired"}, sessions: 1,
			emails: []string{mailExpired}}, run: func(t *testing.T, m *matrix, r *pathRun) {
			m.cart(t, r, map[string]int64{penSet: 1}, "", addressOregon)
			sess := m.session(t, r)
			if status := m.payAt(t, sess, true); status != http.StatusPaymentRequired {
				t.Fatalf("a declined card: %d", status)
			}
			// The customer gives up; the session's time runs out at Stripe.
			req, _ := http.NewRequest("POST", m.h.Stripe.URL+"/v1/checkout/sessions/"+sess.SessionID+"/expire", nil)
			req.Header.Set("Authorization", "Bearer sk_test_matrix")
			if resp, b := read(t)(http.DefaultClient.Do(req)); resp.StatusCode != 200 {
				t.Fatalf("expire the session: %d %s", resp.StatusCode, b)
			}
			// The order keeps its holds (until they lapse) with no session
			// open: the customer may come back and pay.
			m.wait(t, r.id, "pending with its session closed", func(o *order.Order) bool {
				return o.State() == order.Pending && o.PaymentStatus() == order.PaymentNone
			})
			r.after = func(t *testing.T, m *matrix, r *pathRun) {
				if o := m.settled(t, r.id, order.Expired); !o.HoldsReleased {
					t.Errorf("%s: the holds were not released", r.name)
				}
			}
		}},
		{name: "abandoned checkout, holds lapse", want: effects{state: order.Expired, history: []string{"pending", "expired"}},
			run: func(t *testing.T, m *matrix, r *pathRun) {
				m.cart(t, r, map[string]int64{penSet: 2}, "", addressOregon)
				r.after = func(t *testing.T, m *matrix, r *pathRun) {
					if o := m.settled(t, r.id, order.Expired); !o.HoldsReleased {
						t.Errorf("%s: the holds were not released", r.name)
					}
				}
			}},
		{name: "owner voids the invoice", want: with(oneOfEach, func(e *effects) {
			e.state, e.history, e.captures, e.invoicesVoided = order.Canceled, append(slices.Clone(toInvoiced), "canceled"), 0, 1
			e.emails = []string{mailReceived, mailCanceled}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			o := m.buy(t, r, map[string]int64{penSet: 1}, "", addressOregon)
			if err := m.h.QuickBooks.VoidInvoice(o.Invoice.ID); err != nil {
				t.Fatal(err)
			}
			m.settled(t, r.id, order.Canceled)
		}},
		{name: "authorization lapses", want: with(oneOfEach, func(e *effects) {
			e.state, e.history, e.captures, e.invoicesVoided = order.Canceled, append(slices.Clone(toInvoiced), "canceled"), 0, 1
			e.emails = []string{mailReceived, mailCanceled}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			m.buy(t, r, map[string]int64{penSet: 1}, "", addressOregon)
			r.after = func(t *testing.T, m *matrix, r *pathRun) {
				o := m.settled(t, r.id, order.Canceled)
				// Stripe let the authorization go by itself, eight days on.
				if in := m.h.Stripe.Intent(o.Payment.IntentID); in["status"] != "canceled" || in["cancellation_reason"] != "automatic" {
					t.Errorf("%s: the intent is %v (%v)", r.name, in["status"], in["cancellation_reason"])
				}
			}
		}},
		{name: "printer rejects, owner retries", want: with(oneOfEach, func(e *effects) {
			e.state, e.jobs = order.Shipped, 2
			e.history = []string{"pending", "authorized", "invoiced", "approved", "paid", "fulfilling", "needs_attention", "fulfilling", "shipped"}
			e.emails = []string{mailReceived, mailReceipt, mailShipped, mailDelivered}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			m.buy(t, r, map[string]int64{planner: 1}, "", addressOregon)
			m.approve(t, r)
			_, job := m.printJob(t, r.id, "")
			if err := m.h.Printer.Reject(job, "The interior file has 3 pages; this book needs at least 24."); err != nil {
				t.Fatal(err)
			}
			m.wait(t, r.id, "needs attention", func(o *order.Order) bool { return o.State() == order.NeedsAttention })
			ownerCall[storefront.Order](t, m, "retryOrder", map[string]any{"orderId": r.id})
			m.shipPrint(t, r.id, true)
		}},
		{name: "label bought, voided, bought again", want: with(oneOfEach, func(e *effects) {
			e.state, e.history, e.labels, e.labelsVoided = order.Shipped, toShipped, 2, 1
			e.emails = []string{mailReceived, mailReceipt, mailShipped, mailDelivered}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			m.buy(t, r, map[string]int64{penSet: 1}, "", addressOregon)
			m.approve(t, r)
			first := m.buyLabel(t, r.id)
			voided := ownerCall[storefront.LabelAnswer](t, m, "voidLabel", map[string]any{"orderId": r.id})
			if voided.Label == nil || voided.Label.LabelID != first.LabelID {
				t.Fatalf("voidLabel: %+v", voided.Label)
			}
			second := m.buyLabel(t, r.id)
			if second.LabelID == first.LabelID {
				t.Fatalf("the second label is the voided one: %+v", second)
			}
			m.shipParcel(t, r.id, second, true)
		}},
		{name: "cancel before capture", want: with(oneOfEach, func(e *effects) {
			e.state, e.history, e.captures, e.invoicesVoided = order.Canceled, append(slices.Clone(toInvoiced), "canceled"), 0, 1
			e.emails = []string{mailReceived, mailCanceled}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			m.buy(t, r, map[string]int64{planner: 1, penSet: 1}, "", addressOregon)
			ownerCall[storefront.Order](t, m, "cancelOrder", map[string]any{"orderId": r.id, "reason": "the customer asked us to"})
			m.settled(t, r.id, order.Canceled)
		}},
		{name: "cancel after capture", want: with(oneOfEach, func(e *effects) {
			e.state, e.jobs, e.refunds, e.receipts = order.Canceled, 1, 1, 1
			e.history = []string{"pending", "authorized", "invoiced", "approved", "paid", "fulfilling", "canceled"}
			e.emails = []string{mailReceived, mailReceipt, mailCanceled}
		}), run: func(t *testing.T, m *matrix, r *pathRun) {
			m.buy(t, r, map[string]int64{planner: 1}, "", addressOregon)
			m.approve(t, r)
			m.printJob(t, r.id, "")
			ownerCall[storefront.Order](t, m, "cancelOrder", map[string]any{"orderId": r.id, "reason": "the customer changed their mind"})
			o := m.settled(t, r.id, order.Canceled)
			if jobs := m.h.Printer.JobsFor(r.id); len(jobs) != 1 || jobs[0].Status != "CANCELED" {
				t.Errorf("the print job after the cancel: %+v", jobs)
			}
			if o.RefundedTotal() != o.Total().Amount {
				t.Errorf("canceled after capture: refunded %d of %d", o.RefundedTotal(), o.Total().Amount)
			}
		}},
	}
}

// cart fills a new customer's cart, starts checkout and prices the order
// for the customer (with code, if any) shipped to addr.
func (m *matrix) cart(t *testing.T, r *pathRun, items map[string]int64, code string, addr map[string]any) storefront.Order {
	t.Helper()
	u, err := emulator.SignInAnonymously(context.Background(), m.h.AuthHost)
	if err != nil {
		t.Fatal(err)
	}
	r.email = strings.ToLower(testenv.ID("matrix")) + "@example.com"
	taxWriteCart(t, m.h, u, items)
	started := taxCall[storefront.StartCheckoutAnswer](t, m.h, u.IDToken, "startCheckout", map[string]any{})
	r.id = started.OrderID
	r.token = u.IDToken
	in := map[string]any{"orderId": r.id, "name": addr["name"], "email": r.email}
	if code != "" {
		in["code"] = code
	}
	taxCall[storefront.Order](t, m.h, u.IDToken, "applyCustomer", in)
	quote := taxCall[storefront.QuoteShippingAnswer](t, m.h, u.IDToken, "quoteShipping", map[string]any{"orderId": r.id, "address": addr})
	if len(quote.Rates) == 0 {
		t.Fatalf("quoteShipping: %+v", quote)
	}
	return taxCall[storefront.Order](t, m.h, u.IDToken, "selectShipping", map[string]any{"orderId": r.id, "rateId": quote.Rates[0].RateID,
		"useVerifiedAddress": quote.Differs})
}

// session makes the order's payment session.
func (m *matrix) session(t *testing.T, r *pathRun) storefront.CreatePaymentSessionAnswer {
	t.Helper()
	return taxCall[storefront.CreatePaymentSessionAnswer](t, m.h, r.token, "createPaymentSession", map[string]any{"orderId": r.id})
}

// payAt pays (or, decline, has the card declined) on the local Stripe's
// page, and answers the page's status.
func (m *matrix) payAt(t *testing.T, sess storefront.CreatePaymentSessionAnswer, decline bool) int {
	t.Helper()
	m.payMu.Lock()
	defer m.payMu.Unlock()
	if decline {
		m.h.Stripe.DeclineNext()
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := read(t)(noRedirect.Post(sess.URL+"/pay", "application/x-www-form-urlencoded", nil))
	return resp.StatusCode
}

// buy takes a customer from the cart to an invoiced order.
func (m *matrix) buy(t *testing.T, r *pathRun, items map[string]int64, code string, addr map[string]any) *order.Order {
	t.Helper()
	chosen := m.cart(t, r, items, code, addr)
	sess := m.session(t, r)
	if sess.Total != chosen.Total {
		t.Errorf("the session's total %d, the order's %d", sess.Total, chosen.Total)
	}
	if status := m.payAt(t, sess, false); status != http.StatusSeeOther {
		t.Fatalf("pay: %d", status)
	}
	return m.wait(t, r.id, "invoiced", func(o *order.Order) bool { return o.State() == order.Invoiced })
}

// approve records the invoice paid in the local QuickBooks, as the
// owner does; the triggers approve, capture and fulfil the order.
func (m *matrix) approve(t *testing.T, r *pathRun) *order.Order {
	t.Helper()
	o := m.wait(t, r.id, "invoiced", func(o *order.Order) bool { return o.State() == order.Invoiced })
	if resp, page := read(t)(http.Post(m.h.QuickBooks.URL+"/app/invoices/"+o.Invoice.ID+"/payment", "application/x-www-form-urlencoded", nil)); resp.StatusCode != 200 {
		t.Fatalf("mark paid: %d %s", resp.StatusCode, page)
	}
	return m.wait(t, r.id, "fulfilling", func(o *order.Order) bool { return o.State() == order.Fulfilling })
}

// buyLabel buys the parcel's label through buyLabel.
func (m *matrix) buyLabel(t *testing.T, id string) *storefront.ParcelLabel {
	t.Helper()
	a := ownerCall[storefront.LabelAnswer](t, m, "buyLabel", map[string]any{"orderId": id})
	if a.Label == nil {
		t.Fatalf("buyLabel: no label: %+v", a)
	}
	return a.Label
}

// shipParcel has the carrier scan the parcel (and deliver it).
func (m *matrix) shipParcel(t *testing.T, id string, label *storefront.ParcelLabel, deliver bool) {
	t.Helper()
	moves := []struct{ move, status string }{{"accepted", order.PartInTransit}}
	if deliver {
		moves = append(moves, struct{ move, status string }{"delivered", order.PartDelivered})
	}
	for _, mv := range moves {
		if err := m.h.ShipEngine.Track(label.LabelID, mv.move); err != nil {
			t.Fatal(err)
		}
		m.wait(t, id, "the parcel "+mv.status, func(o *order.Order) bool { return o.Part(order.PartParcel).Status == mv.status })
	}
}

// printJob waits for the order's print part to have a job other than
// not at the local printer, and answers the order and the job.
func (m *matrix) printJob(t *testing.T, id, not string) (*order.Order, string) {
	t.Helper()
	o := m.wait(t, id, "a print job", func(o *order.Order) bool {
		p := o.Part(order.PartPrint)
		return p != nil && p.JobID != "" && p.JobID != not && p.Status == order.PartSubmitted
	})
	return o, o.Part(order.PartPrint).JobID
}

// shipPrint has the local printer make and ship the order's print job
// (and deliver it).
func (m *matrix) shipPrint(t *testing.T, id string, deliver bool) {
	t.Helper()
	_, job := m.printJob(t, id, "")
	if err := m.h.Printer.AdvanceTo(job, "SHIPPED"); err != nil {
		t.Fatal(err)
	}
	m.wait(t, id, "the print part shipped", func(o *order.Order) bool { return o.Part(order.PartPrint).Shipped() })
	if deliver {
		if _, err := m.h.Printer.Advance(job); err != nil { // → DELIVERED
			t.Fatal(err)
		}
		m.wait(t, id, "the print part delivered", func(o *order.Order) bool { return o.Part(order.PartPrint).Status == order.PartDelivered })
	}
}

// refund refunds amount (0: all that is left) through refundOrder and
// waits for it to be made and recorded.
func (m *matrix) refund(t *testing.T, id string, amount int64) {
	t.Helper()
	in := map[string]any{"orderId": id, "reason": "returned"}
	if amount == 0 {
		in["full"] = true
	} else {
		in["amount"] = amount
	}
	a := ownerCall[storefront.RefundOrderAnswer](t, m, "refundOrder", in)
	m.wait(t, id, "the refund made and recorded", func(o *order.Order) bool {
		r, ok := o.RefundOf(a.Refund.N)
		return ok && r.ProviderID != "" && r.ReceiptID != "" && !o.RefundsDue() && !o.WorkDue()
	})
}

// settled waits for the order to be in state with all its work done.
func (m *matrix) settled(t *testing.T, id string, state order.State) *order.Order {
	t.Helper()
	return m.wait(t, id, string(state)+" with its work done", func(o *order.Order) bool { return o.State() == state && !o.WorkDue() })
}

// matrixWait bounds every wait of a path (the machine may be busy).
const matrixWait = 45 * time.Second

// wait polls the order until cond holds.
func (m *matrix) wait(t *testing.T, id, what string, cond func(*order.Order) bool) *order.Order {
	t.Helper()
	var o *order.Order
	testenv.Poll(t, matrixWait, "order "+id+": "+what, func() bool {
		var err error
		if o, err = m.h.App.Orders.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return cond(o)
	})
	return o
}

// ownerCall calls an owner's callable with a fresh request id.
func ownerCall[T any](t *testing.T, m *matrix, name string, data map[string]any) T {
	t.Helper()
	data["requestId"] = testenv.ID("matrix")
	return taxCall[T](t, m.h, m.boss, name, data)
}

type stockFigures struct{ onHand, held int64 }

// stock reads every SKU's inventory.
func (m *matrix) stock(t *testing.T) map[string]stockFigures {
	t.Helper()
	snaps, err := m.h.App.Firestore.Collection("inventory").Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]stockFigures{}
	for _, s := range snaps {
		d := s.Data()
		on, _ := d["onHand"].(int64)
		held, _ := d["held"].(int64)
		out[s.Ref.ID] = stockFigures{onHand: on, held: held}
	}
	return out
}

// count reads the path's order and counts its effects at the local
// services.
func (m *matrix) count(t *testing.T, r *pathRun) effects {
	t.Helper()
	h := m.h
	o, err := h.App.Orders.Get(context.Background(), r.id)
	if err != nil {
		t.Fatal(err)
	}
	r.order = o
	g := effects{state: o.State(), refundedOnOrder: o.RefundedTotal()}
	for _, c := range o.History() {
		if c.From != c.To {
			g.history = append(g.history, string(c.To))
		}
	}
	intents := map[string]bool{}
	for _, s := range h.Stripe.Sessions(r.id) {
		g.sessions++
		if pi, _ := s["payment_intent"].(string); pi != "" {
			intents[pi] = true
			g.intents++
			g.captures += h.Stripe.Captures(pi)
			g.authorizedAtStripe += taxInt(s["amount_total"])
			in := h.Stripe.Intent(pi)
			g.capturedAtStripe += taxInt(in["amount_received"])
			if in["status"] == "canceled" {
				g.intentsCanceled++
			}
		}
	}
	for _, re := range h.Stripe.Refunds() {
		if pi, _ := re["payment_intent"].(string); intents[pi] {
			g.refunds++
			g.refundedAtStripe += taxInt(re["amount"])
		}
	}
	for _, inv := range h.QuickBooks.Invoices() {
		if inv["DocNumber"] == r.id {
			g.invoices++
			if note, _ := inv["PrivateNote"].(string); strings.HasPrefix(note, "Voided") {
				g.invoicesVoided++
			} else {
				g.invoiced += taxCents(t, inv["TotalAmt"])
			}
		}
	}
	for _, rr := range h.QuickBooks.RefundReceipts() {
		if doc, _ := rr["DocNumber"].(string); strings.HasPrefix(doc, r.id+"-R") {
			g.receipts++
		}
	}
	g.jobs = len(h.Printer.JobsFor(r.id))
	if p := o.Part(order.PartParcel); p != nil {
		ids := map[string]bool{}
		for _, l := range p.Labels {
			ids[l.ID] = true
		}
		for _, l := range h.ShipEngine.SoldLabels() {
			if ids[l.ID] {
				g.labels++
				if l.Voided {
					g.labelsVoided++
				}
			}
		}
	}
	// The customer's emails, once each: wait for as many as the path
	// sends (delivery is a trigger away), then take what mailpit has.
	var subjects []string
	readMail := func() bool {
		found, err := h.Mailpit.Search(context.Background(), `to:"`+r.email+`"`)
		if err != nil {
			t.Fatal(err)
		}
		subjects = subjects[:0]
		for _, f := range found {
			subjects = append(subjects, f.Subject)
		}
		return len(subjects) >= len(r.want.emails)
	}
	if !taxWithin(matrixWait, readMail) {
		t.Errorf("%s: %d of the customer's %d emails arrived", r.name, len(subjects), len(r.want.emails))
	}
	g.emails = slices.Clone(subjects)
	mail, err := h.App.Firestore.Collection("mail").Where("orderId", "==", r.id).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range mail {
		if to, _ := d.Data()["to"].(string); strings.Contains(to, r.email) {
			g.outbox++
		}
	}
	return g
}

// check compares what was counted with what the path wants, and the
// money each service holds with the order's.
func (r *pathRun) check(t *testing.T) {
	t.Helper()
	w, g, o := r.want, r.got, r.order
	if g.state != w.state || !slices.Equal(g.history, w.history) {
		t.Errorf("%s: ends %s after %v, want %s after %v (attention %q)", r.name, g.state, g.history, w.state, w.history, o.Attention)
	}
	if o.WorkDue() {
		t.Errorf("%s: work still due at the end: %+v", r.name, o.Work)
	}
	type figure struct {
		what      string
		got, want int
	}
	for _, f := range []figure{{"Checkout Sessions", g.sessions, w.sessions}, {"authorizations", g.intents, w.intents}, {"captures", g.captures, w.captures},
		{"invoices", g.invoices, w.invoices}, {"voided invoices", g.invoicesVoided, w.invoicesVoided}, {"refund receipts", g.receipts, w.receipts},
		{"print jobs", g.jobs, w.jobs}, {"labels", g.labels, w.labels}, {"voided labels", g.labelsVoided, w.labelsVoided}, {"refunds at Stripe", g.refunds, w.refunds}} {
		if f.got != f.want {
			t.Errorf("%s: %d %s, want %d", r.name, f.got, f.what, f.want)
		}
	}
	if g.refundedAtStripe != g.refundedOnOrder {
		t.Errorf("%s: %d refunded at Stripe, %d on the order", r.name, g.refundedAtStripe, g.refundedOnOrder)
	}
	// The money: one total authorized, invoiced and captured, at Stripe,
	// in QuickBooks and on the order.
	total := o.Total().Amount
	var onOrder int64
	if o.Payment != nil {
		onOrder = o.Payment.AmountCaptured
	}
	if w.captures > 0 && (g.capturedAtStripe != total || onOrder != total) || w.captures == 0 && (g.capturedAtStripe != 0 || onOrder != 0) {
		t.Errorf("%s: captured %d at Stripe, %d on the order; the total %d", r.name, g.capturedAtStripe, onOrder, total)
	}
	if w.intents > 0 && g.authorizedAtStripe != total {
		t.Errorf("%s: the paid session's total %d, the order's %d", r.name, g.authorizedAtStripe, total)
	}
	if w.invoices > w.invoicesVoided && g.invoiced != total {
		t.Errorf("%s: invoiced %d, the order's total %d", r.name, g.invoiced, total)
	}
	if wantReleased := w.intents - w.captures; g.intentsCanceled != wantReleased {
		t.Errorf("%s: %d authorizations released at Stripe, want %d", r.name, g.intentsCanceled, wantReleased)
	}
	if g.outbox != len(w.emails) {
		t.Errorf("%s: %d of the customer's emails in the outbox, want %d", r.name, g.outbox, len(w.emails))
	}
	want := make([]string, len(w.emails))
	for i, s := range w.emails {
		want[i] = strings.NewReplacer("{id}", r.id, "{total}", messages.Format(o.Total())).Replace(s)
	}
	got := slices.Clone(g.emails)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: the customer's emails:\n%s\nwant\n%s", r.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// startLogged starts a local system for the test, stopped when it ends;
// the functions' logs are shown if the test fails.
func startLogged(t *testing.T, rules string) *Host {
	t.Helper()
	logs := &taxLogs{}
	h, err := Start(context.Background(), Options{AuthHost: testenv.AuthHost(t), Rules: rules, Logs: logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Stop() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the functions' logs:\n%s", logs.String())
		}
	})
	return h
}
