package functions

// The payment lifecycle, model-based: random sequences of what customers
// (two of them, in more than one tab) and the outside world do — change
// the cart, apply or drop a code, quote and choose shipping, make a
// session, pay or expire any session made so far, go straight through to
// a charge, the owner's approval, the owner's refunds and cancels of
// charged orders (and refunds in Stripe's dashboard),
// a host that dies between a call and its write, the order trigger's
// events delivered or lost, time passing and the sweeper — against the
// real emulator, the real callables and webhook, and the local Stripe.
// After every action the invariants below must hold; at the end of a
// sequence, after the sweeper, no money may be left held that does not
// belong to an order waiting to capture it. A failing sequence is shrunk
// and printed by pgregory.net/rapid.
//
// The orders carry sales tax: each sequence's store collects it with
// Stripe Tax (most sequences), its own rate table, or not at all, and
// ships to a place that taxes lines and shipping (Austin, TX), lines only
// (California) or nothing (Oregon). The invariants follow the tax: what
// is authorized and captured is the total with the tax the provider
// worked out for the order as it is; a paid sale is one tax transaction
// at Stripe; each refund gives back its share of the tax (a reversal at
// Stripe, whose tax is the refund's), and its QuickBooks receipt totals
// the refund, that tax included; at the end Stripe's refunds, the tax
// reversals and the receipts agree to the cent.
//
// make test runs a short run (RAPID_CHECKS sequences); make soak a long one.

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/readyplanner/oms/internal/storefront"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/fakehold"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/tax"
	"github.com/readyplanner/oms/internal/testenv"
	"pgregory.net/rapid"
)

// crashing is the payments provider (and tax provider) of a host that
// dies right after an outside call reached Stripe: when armed, the next
// call is made and its answer lost (the caller sees UNAVAILABLE, as a
// retried or re-driven call after a crash would start over).
type crashing struct {
	s     payments.Sessions
	i     payments.Intents
	tx    payments.TaxRecorder   // nil: the store records no tax at a provider
	calc  checkout.TaxCalculator // nil: the store collects no tax
	armed atomic.Bool
}

var (
	_ payments.Sessions      = (*crashing)(nil)
	_ payments.Intents       = (*crashing)(nil)
	_ payments.TaxRecorder   = (*crashing)(nil)
	_ checkout.TaxCalculator = (*crashing)(nil)
)

func (c *crashing) Calculate(ctx context.Context, s tax.Sale, key string) (tax.Calculation, error) {
	calc, err := c.calc.Calculate(ctx, s, key)
	if err = c.lose(err); err != nil {
		return tax.Calculation{}, err
	}
	return calc, nil
}

func (c *crashing) Record(ctx context.Context, calculationID, reference, key string) (string, error) {
	id, err := c.tx.Record(ctx, calculationID, reference, key)
	if err = c.lose(err); err != nil {
		return "", err
	}
	return id, nil
}

func (c *crashing) Reverse(ctx context.Context, transactionID, reference string, amount int64, key string) (tax.Reversal, error) {
	rev, err := c.tx.Reverse(ctx, transactionID, reference, amount, key)
	if err = c.lose(err); err != nil {
		return tax.Reversal{}, err
	}
	return rev, nil
}

func (c *crashing) lose(err error) error {
	if err == nil && c.armed.CompareAndSwap(true, false) {
		return apperr.New(apperr.Unavailable, "the host died after the call").Because(payments.ReasonUnavailable)
	}
	return err
}

func (c *crashing) CreateSession(ctx context.Context, r payments.SessionRequest) (payments.Session, error) {
	s, err := c.s.CreateSession(ctx, r)
	if err = c.lose(err); err != nil {
		return payments.Session{}, err
	}
	return s, nil
}

func (c *crashing) ExpireSession(ctx context.Context, id string) (payments.SessionInfo, error) {
	s, err := c.s.ExpireSession(ctx, id)
	if err = c.lose(err); err != nil {
		return payments.SessionInfo{}, err
	}
	return s, nil
}

func (c *crashing) Session(ctx context.Context, id string) (payments.SessionInfo, error) {
	return c.s.Session(ctx, id)
}

func (c *crashing) Intent(ctx context.Context, id string) (payments.Intent, error) {
	return c.i.Intent(ctx, id)
}

func (c *crashing) Refunds(ctx context.Context, id string) ([]order.ProviderRefund, error) {
	return c.i.Refunds(ctx, id)
}

func (c *crashing) Dispute(ctx context.Context, id string) (payments.Dispute, error) {
	return c.i.Dispute(ctx, id)
}

func (c *crashing) Capture(ctx context.Context, id string, amount int64, key string) (payments.Intent, error) {
	in, err := c.i.Capture(ctx, id, amount, key)
	if err = c.lose(err); err != nil {
		return payments.Intent{}, err
	}
	return in, nil
}

func (c *crashing) Refund(ctx context.Context, r payments.RefundRequest) (payments.RefundResult, error) {
	re, err := c.i.Refund(ctx, r)
	if err = c.lose(err); err != nil {
		return payments.RefundResult{}, err
	}
	return re, nil
}

func (c *crashing) Cancel(ctx context.Context, id, key string) (payments.Intent, error) {
	in, err := c.i.Cancel(ctx, id, key)
	if err = c.lose(err); err != nil {
		return payments.Intent{}, err
	}
	return in, nil
}

// model is one sequence's world: a rig of its own (its store collecting
// tax as taxBy says), a store, two customers, a promotion limited to one
// use.
type model struct {
	stats    *tally
	taxBy    string // order.TaxByStripe, order.TaxByTable or config.TaxNone
	r        *rig
	s        *store
	crash    *crashing
	users    [2]emulator.User
	emails   [2]string
	open     [2]string // each customer's latest order id
	code     string
	promoID  string
	sessions []string
	orders   map[string]bool
	made     []string // the orders' ids, in the order they were made
	boss     emulator.User
}

// tally counts what the sequences reached, so that a run shows it
// exercised the paths it claims to (printed at the end).
type tally struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *tally) add(k string, n int) { c.mu.Lock(); c.n[k] += n; c.mu.Unlock() }

func (c *tally) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for _, k := range sorted(slices.Collect(maps.Keys(c.n))) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c.n[k]))
	}
	return strings.Join(parts, ", ")
}

// modelTaxRates are the local Stripe Tax's rates: Texas taxes lines and
// shipping, California lines only, Oregon nothing.
var modelTaxRates = map[string]stripefake.TaxRate{"US-TX": {PPM: 82_500, Shipping: true}, "US-CA": {PPM: 72_500}}

// modelPlaces are where the customers ship to: Austin first (its rate
// table's rule and Stripe's Texas rate alike), then a place that taxes
// lines only (Stripe's; the table has no rule there) and one that taxes
// nothing.
var modelPlaces = []struct{ city, state, zip string }{{"Austin", "TX", "78701"}, {"Sacramento", "CA", "95814"}, {"Portland", "OR", "97201"}}

// placeAddress is a customer's address at line1 in modelPlaces[place].
func placeAddress(line1 string, place int) map[string]any {
	a, p := address(line1), modelPlaces[place]
	a["cityLocality"], a["stateProvince"], a["postalCode"] = p.city, p.state, p.zip
	return a
}

func newModel(t *rapid.T, stats *tally) *model {
	taxBy := rapid.SampledFrom([]string{order.TaxByStripe, order.TaxByStripe, order.TaxByStripe, order.TaxByTable, config.TaxNone}).Draw(t, "tax")
	vars := map[string]string{"OMS_TAX": taxBy}
	if taxBy == order.TaxByTable {
		vars["OMS_TAX_TABLE"] = texasTable
	}
	r := newRigWith(t, vars)
	r.st.SetTaxRates(modelTaxRates)
	c := &crashing{s: r.a.Payments.Sessions, i: r.a.Payments.Intents, tx: r.a.Payments.TaxRecords}
	r.a.Payments.Sessions, r.a.Payments.Intents = c, c
	if c.tx != nil {
		r.a.Payments.TaxRecords = c
	}
	if taxes := r.a.Customers.Taxes; taxes.Collects() {
		c.calc, taxes.Calculator = taxes.Calculator, c // the checkout's and the payments' tax worker
	}
	m := &model{stats: stats, taxBy: taxBy, r: r, s: newStore(t, r.a, 6, 4), crash: c, orders: map[string]bool{}, boss: owner(t)}
	stats.add("sequences taxed by "+taxBy, 1)
	m.code = strings.ToUpper(testenv.ID("HALF"))
	m.promoID = promo(t, r.a, map[string]any{"kind": "percent_off_order", "percent": int64(50), "code": m.code, "maxRedemptions": int64(1)})
	for i := range m.users {
		m.users[i] = user(t)
		m.emails[i] = testenv.ID("buyer") + "@example.com"
	}
	return m
}

// noInternal fails on an answer that reached INTERNAL: every refusal must
// be a specific, canonical one.
func (m *model) noInternal(t *rapid.T, what string, status int, code string, details []byte) bool {
	t.Helper()
	var d map[string]any
	_ = json.Unmarshal(details, &d)
	why, _ := d["reason"].(string)
	if why == "" && d["unavailable"] != nil {
		why = "short"
	}
	m.stats.add(strings.TrimSpace(fmt.Sprintf("%s %d %s %s", what, status, code, why)), 1)
	if status >= 500 && code != "UNAVAILABLE" && code != "ABORTED" {
		t.Fatalf("%s answered %d %s %s", what, status, code, details)
	}
	return status == 200
}

func observe[T any](m *model, t *rapid.T, what string, a rpcAnswer[T]) bool {
	t.Helper()
	if os.Getenv("OMS_MODEL_DEBUG") != "" && a.status != 200 {
		fmt.Println("DEBUG", what, a.Error.Message)
	}
	return m.noInternal(t, what, a.status, a.Error.Status, a.Error.Details)
}

func (m *model) who(t *rapid.T) int { return rapid.IntRange(0, 1).Draw(t, "customer") }

func (m *model) cart(t *rapid.T) {
	w := m.who(t)
	a, b, p := rapid.IntRange(0, 3).Draw(t, "A"), rapid.IntRange(0, 2).Draw(t, "B"), rapid.IntRange(0, 1).Draw(t, "P")
	var lines []any
	for i, n := range []int{a, b, p} {
		if n > 0 {
			lines = append(lines, []string{"A", "B", "P"}[i], int64(n))
		}
	}
	if len(lines) == 0 {
		lines = []any{"A", int64(1)}
	}
	m.s.cart(m.users[w].UID, lines...)
	ans := call(t, startCheckout(m.r.a), m.users[w].IDToken)
	if m.noInternal(t, "startCheckout", ans.status, ans.Error.Status, ans.Error.Details) {
		m.open[w] = ans.Result.OrderID
		m.track(ans.Result.OrderID)
	}
}

func (m *model) apply(t *rapid.T) {
	w := m.who(t)
	if m.open[w] == "" {
		t.Skip("no order yet")
	}
	code := rapid.SampledFrom([]string{"", m.code, "NOPE"}).Draw(t, "code")
	observe(m, t, "applyCustomer", apply(t, applyCustomer(m.r.a), m.users[w].IDToken,
		map[string]any{"orderId": m.open[w], "name": "Buyer", "email": m.emails[w], "code": code}))
}

func (m *model) choose(t *rapid.T) {
	w := m.who(t)
	if m.open[w] == "" {
		t.Skip("no order yet")
	}
	addr := placeAddress("1 Model St", rapid.IntRange(0, len(modelPlaces)-1).Draw(t, "place"))
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(m.r.a), m.users[w].IDToken, map[string]any{"orderId": m.open[w], "address": addr})
	if !observe(m, t, "quoteShipping", q) || len(q.Result.Rates) == 0 {
		return
	}
	i := rapid.IntRange(0, len(q.Result.Rates)-1).Draw(t, "rate")
	observe(m, t, "selectShipping", rpc[storefront.Order](t, selectShipping(m.r.a), m.users[w].IDToken,
		map[string]any{"orderId": m.open[w], "rateId": q.Result.Rates[i].RateID}))
}

func (m *model) session(t *rapid.T) {
	w := m.who(t)
	if m.open[w] == "" {
		t.Skip("no order yet")
	}
	ans := m.r.session(t, m.users[w].IDToken, m.open[w])
	if observe(m, t, "createPaymentSession", ans) {
		for _, s := range m.sessions {
			if s == ans.Result.SessionID {
				return
			}
		}
		m.sessions = append(m.sessions, ans.Result.SessionID)
	}
}

// ready is a customer going straight to payment: a cart if they have no
// order, their details (and maybe the code), shipping.
func (m *model) ready(t *rapid.T) { m.readyFor(t, m.who(t), 0) }

// readyFor is ready for customer w, shipping to modelPlaces[place].
func (m *model) readyFor(t *rapid.T, w, place int) {
	if o, _ := m.r.a.Orders.Get(context.Background(), m.open[w]); m.open[w] == "" || o == nil || o.State() != order.Pending {
		m.s.cart(m.users[w].UID, "A", int64(1), "P", int64(1))
		if ans := call(t, startCheckout(m.r.a), m.users[w].IDToken); m.noInternal(t, "startCheckout", ans.status, ans.Error.Status, ans.Error.Details) {
			m.open[w] = ans.Result.OrderID
			m.track(ans.Result.OrderID)
		}
	}
	code := rapid.SampledFrom([]string{"", m.code}).Draw(t, "code")
	observe(m, t, "applyCustomer", apply(t, applyCustomer(m.r.a), m.users[w].IDToken,
		map[string]any{"orderId": m.open[w], "name": "Buyer", "email": m.emails[w], "code": code}))
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(m.r.a), m.users[w].IDToken, map[string]any{"orderId": m.open[w], "address": placeAddress("2 Model St", place)})
	if observe(m, t, "quoteShipping", q) && len(q.Result.Rates) > 0 {
		observe(m, t, "selectShipping", rpc[storefront.Order](t, selectShipping(m.r.a), m.users[w].IDToken,
			map[string]any{"orderId": m.open[w], "rateId": q.Result.Rates[0].RateID}))
	}
}

// payNow makes (or gets) the customer's session and pays it at once.
func (m *model) payNow(t *rapid.T) {
	w := m.who(t)
	if m.open[w] == "" {
		t.Skip("no order yet")
	}
	m.payNowFor(t, w)
}

func (m *model) payNowFor(t *rapid.T, w int) {
	ans := m.r.session(t, m.users[w].IDToken, m.open[w])
	if observe(m, t, "createPaymentSession", ans) {
		if !slices.Contains(m.sessions, ans.Result.SessionID) {
			m.sessions = append(m.sessions, ans.Result.SessionID)
		}
		if _, err := m.r.st.Pay(ans.Result.SessionID); err == nil {
			m.stats.add("paid the current session", 1)
		}
	}
}

// orphan: a session made at Stripe for the customer's order that the order
// never learned of (the host died after Stripe answered, and the order
// was planned again since). Paying it must not move the order.
func (m *model) orphan(t *rapid.T) {
	w := m.who(t)
	o, err := m.r.a.Orders.Get(context.Background(), m.open[w])
	if m.open[w] == "" || err != nil || o.Customer == nil || o.Shipping == nil {
		t.Skip("no order to pay yet")
	}
	req := strayRequest(o)
	req.Tax = o.TaxAmount().Amount // as the host that died asked for it
	req.IdempotencyKey = testenv.ID("orphan")
	req.ExpiresAt = m.r.clk.Now().Add(time.Hour)
	sess, err := stripepay.Payments{API: m.r.api}.CreateSession(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m.sessions = append(m.sessions, sess.ID)
	m.stats.add("orphan sessions", 1)
}

func (m *model) pickSession(t *rapid.T) string {
	if len(m.sessions) == 0 {
		t.Skip("no session yet")
	}
	return rapid.SampledFrom(m.sessions).Draw(t, "session")
}

func (m *model) pay(t *rapid.T) {
	if _, err := m.r.st.Pay(m.pickSession(t)); err == nil { // an expired or paid session refuses
		m.stats.add("paid some session", 1)
	}
}

func (m *model) expire(t *rapid.T) {
	_, _ = m.r.api.CheckoutSessions.Expire(m.pickSession(t), nil) // as its time running out would
	m.r.st.Redeliver()
}

// charged are the model's orders whose card was charged.
func (m *model) charged() []string {
	var out []string
	for _, id := range m.ids() {
		if o, _ := m.r.a.Orders.Get(context.Background(), id); o != nil && o.Payment != nil && o.Payment.AmountCaptured > 0 {
			out = append(out, id)
		}
	}
	return out
}

// refund: the owner refunds part or all of a charged order (sometimes
// more than is left, which must be refused and change nothing).
func (m *model) refund(t *rapid.T) {
	ids := m.charged()
	if len(ids) == 0 {
		t.Skip("no charged order")
	}
	id := rapid.SampledFrom(ids).Draw(t, "order")
	data := map[string]any{"orderId": id, "reason": "the owner refunds"}
	if amount := rapid.SampledFrom([]int64{0, 1, 250, 1000, 100000}).Draw(t, "amount"); amount > 0 {
		data["amount"] = amount
	} else {
		data["full"] = true
	}
	ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(m.r.a)), m.boss.IDToken, data)
	if observe(m, t, "refundOrder", ans) {
		m.stats.add("refunds asked for", 1)
	}
}

// cancelCharged: the owner cancels a charged order (refunded in full if
// nothing has shipped and the printer has not started).
func (m *model) cancelCharged(t *rapid.T) {
	ids := m.charged()
	if len(ids) == 0 {
		t.Skip("no charged order")
	}
	id := rapid.SampledFrom(ids).Draw(t, "order")
	ans := rpc[storefront.Order](t, withRequestID(cancelOrder(m.r.a)), m.boss.IDToken, map[string]any{"orderId": id, "reason": "the owner cancels"})
	if observe(m, t, "cancelOrder", ans) {
		m.stats.add("charged orders canceled", 1)
	}
}

// inState are the model's orders in one of states.
func (m *model) inState(states ...order.State) []string {
	var out []string
	for _, id := range m.ids() {
		if o, _ := m.r.a.Orders.Get(context.Background(), id); o != nil && slices.Contains(states, o.State()) {
			out = append(out, id)
		}
	}
	return out
}

// duringCall: the owner acts while a step's outside call is in flight —
// the outside service has acted (the capture made, the invoice created,
// the refund made, the sale's tax recorded or a refund's reversed) and its
// answer is held back: the owner cancels the order (or, for a refund or a
// tax record in flight, may refund again), then the answer arrives.
func (m *model) duringCall(t *rapid.T) {
	var calls []string
	approved, authorized := m.inState(order.Approved), m.inState(order.Authorized)
	var refunding, recording, reversing []string
	for _, id := range m.charged() {
		o, _ := m.r.a.Orders.Get(context.Background(), id)
		if o == nil {
			continue
		}
		if slices.ContainsFunc(o.Payment.Refunds, order.Refund.PaymentDue) {
			refunding = append(refunding, id)
		}
		if o.TaxToRecord() {
			recording = append(recording, id)
		}
		if o.Tax != nil && o.Tax.TransactionID != "" && len(o.RefundsTaxDue()) > 0 {
			reversing = append(reversing, id)
		}
	}
	for name, ids := range map[string][]string{"capture": approved, "invoice": authorized, "refund": refunding,
		"tax record": recording, "tax reversal": reversing} {
		if len(ids) > 0 {
			calls = append(calls, name)
		}
	}
	if len(calls) == 0 {
		t.Skip("no step with an outside call due")
	}
	call := rapid.SampledFrom(sorted(calls)).Draw(t, "call")
	var id string
	var hold *fakehold.Hold
	switch call {
	case "capture":
		id = rapid.SampledFrom(approved).Draw(t, "order")
		hold = m.r.st.HoldNext("POST", "/capture", "")
	case "invoice":
		id = rapid.SampledFrom(authorized).Draw(t, "order")
		hold = localQuickBooks(t).HoldNext("POST", "/invoice", id)
	case "refund":
		id = rapid.SampledFrom(refunding).Draw(t, "order")
		hold = m.r.st.HoldNext("POST", "/v1/refunds", id)
	case "tax record":
		id = rapid.SampledFrom(recording).Draw(t, "order")
		hold = m.r.st.HoldNext("POST", "/v1/tax/transactions/create_from_calculation", id)
	case "tax reversal":
		id = rapid.SampledFrom(reversing).Draw(t, "order")
		hold = m.r.st.HoldNext("POST", "/v1/tax/transactions/create_reversal", id)
	}
	defer hold.Release() // a hold never reached lets its request through later
	o, _ := m.r.a.Orders.Get(context.Background(), id)
	done := make(chan struct{})
	go func() { defer close(done); _ = m.r.a.Flow.Redrive(context.Background(), o) }()
	select {
	case <-hold.Reached():
	case <-done:
		t.Skip("the step made no call") // refused before calling (a 5xx injected, …)
	}
	if (call == "refund" || strings.HasPrefix(call, "tax")) && rapid.Bool().Draw(t, "refund again") {
		ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(m.r.a)), m.boss.IDToken, map[string]any{"orderId": id, "amount": int64(100), "reason": "again"})
		observe(m, t, "refundOrder during a refund", ans)
	} else {
		ans := rpc[storefront.Order](t, withRequestID(cancelOrder(m.r.a)), m.boss.IDToken, map[string]any{"orderId": id, "reason": "the owner cancels mid-call"})
		observe(m, t, "cancelOrder during the "+call, ans)
	}
	hold.Release()
	<-done
	m.stats.add("owner acted during the "+call, 1)
}

// charge takes an authorized or invoiced order through the owner's
// approval to its capture, so that sequences reach the actions on charged
// orders more often.
func (m *model) charge(t *rapid.T) {
	ids := m.inState(order.Authorized, order.Invoiced)
	if len(ids) == 0 {
		t.Skip("no authorized order")
	}
	m.chargeOrder(t, rapid.SampledFrom(ids).Draw(t, "order"))
}

// chargeOrder is charge of the order id.
func (m *model) chargeOrder(t *rapid.T, id string) {
	m.deliver(t)
	if o, _ := m.r.a.Orders.Get(context.Background(), id); o.State() == order.Invoiced {
		_ = localQuickBooks(t).MarkPaid(o.Invoice.ID)
		if _, err := m.r.a.Bookkeeping.HandleEvent(context.Background(), "Invoice", o.Invoice.ID, "Update"); err != nil {
			t.Fatal(err)
		}
	}
	m.deliver(t)
}

// buy: a customer goes straight through — ready to pay, pays at once,
// and the owner's approval and the capture follow (only this order's
// steps run) — so that sequences reach the charged orders, their tax and
// its refunds more often. Drawn a quarter as often as the other actions
// (it costs several of them).
func (m *model) buy(t *rapid.T) {
	if rapid.IntRange(0, 3).Draw(t, "buy now") != 3 {
		t.Skip("not now")
	}
	w := m.who(t)
	m.readyFor(t, w, rapid.SampledFrom([]int{0, 0, 1, 2}).Draw(t, "place"))
	if m.open[w] == "" {
		return
	}
	m.payNowFor(t, w)
	ctx := context.Background()
	for i := 0; i < 4; i++ { // authorized, invoiced; approved, captured
		o, err := m.r.a.Orders.Get(ctx, m.open[w])
		if err != nil {
			t.Fatal(err)
		}
		if o.State() == order.Invoiced {
			_ = localQuickBooks(t).MarkPaid(o.Invoice.ID)
			if _, err := m.r.a.Bookkeeping.HandleEvent(ctx, "Invoice", o.Invoice.ID, "Update"); err != nil {
				t.Fatal(err)
			}
			o, _ = m.r.a.Orders.Get(ctx, o.ID)
		}
		if o.State() == order.Pending {
			return
		}
		_ = m.r.a.Flow.Redrive(ctx, o)
	}
	if o, _ := m.r.a.Orders.Get(ctx, m.open[w]); o != nil && o.Payment != nil && o.Payment.AmountCaptured > 0 {
		m.stats.add("bought straight through", 1)
	}
}

// outsideRefund: the owner refunds part or all of a charged order in
// Stripe's dashboard; Stripe's events follow.
func (m *model) outsideRefund(t *rapid.T) {
	ids := m.charged()
	if len(ids) == 0 {
		t.Skip("no charged order")
	}
	id := rapid.SampledFrom(ids).Draw(t, "order")
	o, _ := m.r.a.Orders.Get(context.Background(), id)
	if _, err := m.r.st.RefundOutside(o.Payment.IntentID, rapid.SampledFrom([]int64{0, 100, 700}).Draw(t, "amount")); err == nil {
		m.stats.add("refunds made outside", 1)
	}
	m.r.st.Redeliver()
}

// voidPaid: the owner voids a charged order's invoice in QuickBooks, and
// its event arrives.
func (m *model) voidPaid(t *rapid.T) {
	var ids []string
	for _, id := range m.charged() {
		if o, _ := m.r.a.Orders.Get(context.Background(), id); o.Invoice != nil && o.Invoice.Settled == "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		t.Skip("no charged order with an invoice")
	}
	o, _ := m.r.a.Orders.Get(context.Background(), rapid.SampledFrom(ids).Draw(t, "order"))
	if err := localQuickBooks(t).VoidInvoice(o.Invoice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.r.a.Bookkeeping.HandleEvent(context.Background(), "Invoice", o.Invoice.ID, "Void"); err != nil {
		t.Fatal(err)
	}
	m.stats.add("invoices voided after payment", 1)
}

// failing: Stripe answers the next calls 500 and stores the answer for
// their keys (replayed for any retry under the same key) while the order
// trigger's steps run.
func (m *model) failing(t *rapid.T) {
	n := rapid.IntRange(1, 3).Draw(t, "5xx")
	m.r.st.FailNext(n)
	m.deliver(t)
	m.r.st.FailNext(0)
	m.stats.add("Stripe 5xx injected", n)
}

// approve: the owner records an invoice paid in QuickBooks (and
// onQuickBooksEvent's move follows).
func (m *model) approve(t *rapid.T) {
	var invoiced []string
	for _, id := range m.ids() {
		if o, _ := m.r.a.Orders.Get(context.Background(), id); o != nil && o.State() == order.Invoiced {
			invoiced = append(invoiced, id)
		}
	}
	if len(invoiced) == 0 {
		t.Skip("no invoiced order")
	}
	id := rapid.SampledFrom(invoiced).Draw(t, "order")
	if o, _ := m.r.a.Orders.Get(context.Background(), id); o.Invoice != nil {
		_ = localQuickBooks(t).MarkPaid(o.Invoice.ID) // where the books say the money went
	}
	if _, _, err := m.r.a.Orders.Transition(context.Background(), id, order.Move{From: []order.State{order.Invoiced}, To: order.Approved,
		Actor: "quickbooks", Reason: "the owner recorded the invoice paid"}); err != nil && apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatal(err)
	}
}

// deliver: the order trigger's events arrive (the steps run). Not
// delivering after a transition is the host dying between the transition
// and its steps.
func (m *model) deliver(t *rapid.T) {
	for _, id := range m.ids() {
		o, err := m.r.a.Orders.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		_ = m.r.a.Flow.Redrive(context.Background(), o)
	}
}

// crash: during one of the actions that call Stripe (making a session,
// the order trigger's steps, a sweep), the first call reaches Stripe and
// the host dies before it hears the answer.
func (m *model) crashDuring(t *rapid.T) {
	during := rapid.SampledFrom([]string{"payNow", "deliver", "sweep"}).Draw(t, "during")
	m.crash.armed.Store(true)
	defer m.crash.armed.Store(false)
	switch during {
	case "payNow":
		m.payNow(t)
	case "deliver":
		m.deliver(t)
	case "sweep":
		m.sweep(t)
	}
	if !m.crash.armed.Load() {
		m.stats.add("crashes after a call to Stripe", 1)
	}
}

func (m *model) sweep(t *rapid.T) {
	// Mostly minutes (the sweeper every 5, OMS_REDRIVE_AFTER 10); now and
	// then past the holds (30 min), a session (1 h) or an authorization
	// (7 days).
	d := rapid.SampledFrom([]time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 5 * time.Minute, 6 * time.Minute,
		11 * time.Minute, 11 * time.Minute, 11 * time.Minute, 40 * time.Minute, 2 * time.Hour, 8 * 24 * time.Hour}).Draw(t, "after")
	m.r.clk.Advance(d)
	m.r.a.Sweeper.Run(context.Background())
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// track records an order the model made (its customers' checkouts).
func (m *model) track(id string) {
	if !m.orders[id] {
		m.orders[id] = true
		m.made = append(m.made, id)
	}
}

// ids are the model's orders in the order they were made: actions draw
// from them by position, so that a failing sequence replays (and
// shrinks) the same choices although each run's order ids differ.
func (m *model) ids() []string { return slices.Clone(m.made) }

// checkRefunds: Stripe never refunded less than the order says it made,
// and more only while a refund's answer was lost (it is still to make:
// the retry replays it); at the end, exactly. Never more than the charge;
// refunded exactly when the refunds reach the charge (a canceled order
// stays canceled).
func (m *model) checkRefunds(t *rapid.T, o *order.Order, final bool) {
	p := o.Payment
	if p == nil || p.IntentID == "" {
		return
	}
	var atStripe, made int64
	for _, re := range refundsAt(m.r.st, p.IntentID) {
		if re["status"] == "succeeded" {
			atStripe += num(re["amount"])
		}
	}
	for _, rf := range p.Refunds {
		if rf.Made() {
			made += rf.Amount
		}
	}
	// Stripe may have refunded more than the order knows only while an
	// answer or an event is on its way; never less.
	switch {
	case atStripe < made, atStripe > made && final:
		t.Fatalf("order %s: Stripe refunded %d, the order made %d (%+v)", o.ID, atStripe, made, p.Refunds)
	case made > p.AmountCaptured:
		t.Fatalf("order %s: %d refunded of %d charged", o.ID, made, p.AmountCaptured)
	case o.State() == order.Refunded && made != p.AmountCaptured,
		made > 0 && made == p.AmountCaptured && o.State() != order.Refunded && o.State() != order.Canceled:
		t.Fatalf("order %s is %s with %d of %d refunded", o.ID, o.State(), made, p.AmountCaptured)
	}
	if final {
		for _, rf := range p.Refunds {
			if rf.PaymentFailure == "" && (!rf.Made() || rf.ReceiptID == "") {
				t.Fatalf("order %s: refund %d not made or not recorded after the sweeper: %+v", o.ID, rf.N, rf)
			}
		}
		m.stats.add("refunds made and recorded", len(p.Refunds))
	}
}

// checkBooks asserts, after the sweeper, that money captured for a
// canceled order was refunded in full (and the order says so), and that
// the books agree: an invoice not voided totals the order's total, its
// tax included (the tax as the company writes it); a canceled order's
// invoice is voided in QuickBooks
// (or, recorded paid, left: balanced by the refund receipts of a charged
// order, or with the owner alerted), and no invoice of an
// order is left that the order does not know.
func (m *model) checkBooks(t *rapid.T, ids []string) {
	invoices := map[string][]map[string]any{}
	for _, inv := range localQuickBooks(t).Invoices() {
		dn, _ := inv["DocNumber"].(string)
		invoices[dn] = append(invoices[dn], inv)
	}
	for _, id := range ids {
		o, _ := m.r.a.Orders.Get(context.Background(), id)
		if o.Payment != nil && o.Payment.IntentID != "" {
			in := m.r.st.Intent(o.Payment.IntentID)
			received := num(in["amount_received"])
			if o.State() == order.Canceled && in["status"] == "succeeded" {
				if o.Payment.AmountCaptured != received || m.r.stripeRefunded(o.Payment.IntentID) != received || o.RefundedTotal() != received {
					t.Fatalf("canceled order %s: Stripe captured %d and refunded %d; the order says captured %d, refunded %d",
						id, received, m.r.stripeRefunded(o.Payment.IntentID), o.Payment.AmountCaptured, o.RefundedTotal())
				}
				m.stats.add("canceled orders whose capture was refunded", 1)
			}
		}
		if len(invoices[id]) > 1 {
			t.Fatalf("order %s has %d invoices", id, len(invoices[id]))
		}
		for _, inv := range invoices[id] {
			if o.Invoice == nil || o.Invoice.ID != inv["Id"] {
				t.Fatalf("order %s (%s) does not know its invoice %v", id, o.State(), inv["Id"])
			}
			voided := strings.HasPrefix(fmt.Sprint(inv["PrivateNote"]), "Voided")
			// The invoice totals what the card was authorized for: the
			// order's total, its tax included.
			if total, taxed := qbCents(t, inv["TotalAmt"]), salesTaxIn(t, inv); !voided && (total != o.Total().Amount || taxed != o.TaxAmount().Amount) {
				t.Fatalf("order %s (%s): its invoice %v totals %d with %d of tax; the order %d with %d", id, o.State(), inv["Id"], total, taxed,
					o.Total().Amount, o.TaxAmount().Amount)
			}
			if o.State() == order.Canceled && !voided && o.Invoice.Settled != order.InvoiceLeft && o.Invoice.Settled != order.InvoiceBalanced {
				t.Fatalf("canceled order %s: its invoice %v is open (%q)", id, inv["Id"], o.Invoice.Settled)
			}
			if o.State() == order.Canceled {
				m.stats.add("canceled orders' invoices settled", 1)
			}
		}
	}
}

// taxRecord is a tax transaction or reversal at the local Stripe: what
// it recorded of the sale (a reversal: gave back), tax excluded, and the
// tax of it, both as positive amounts.
type taxRecord struct {
	id, kind    string
	amount, tax int64
}

// taxRecordsByRef are the rig's tax transactions and reversals at its
// local Stripe, by reference (the order's id; refund-<orderId>-<n>).
func taxRecordsByRef(t *rapid.T, st *stripefake.Server) map[string][]taxRecord {
	out := map[string][]taxRecord{}
	for id, obj := range st.TaxTransactions() {
		b, err := json.Marshal(obj)
		var tx struct {
			Type      string `json:"type"`
			Reference string `json:"reference"`
			LineItems struct {
				Data []struct {
					Amount    int64 `json:"amount"`
					AmountTax int64 `json:"amount_tax"`
				} `json:"data"`
			} `json:"line_items"`
			ShippingCost *struct {
				Amount    int64 `json:"amount"`
				AmountTax int64 `json:"amount_tax"`
			} `json:"shipping_cost"`
		}
		if err == nil {
			err = json.Unmarshal(b, &tx)
		}
		if err != nil {
			t.Fatalf("tax transaction %s: %v", id, err)
		}
		sign := int64(1)
		if tx.Type == "reversal" {
			sign = -1
		}
		rec := taxRecord{id: id, kind: tx.Type}
		for _, li := range tx.LineItems.Data {
			rec.amount, rec.tax = rec.amount+sign*li.Amount, rec.tax+sign*li.AmountTax
		}
		if sc := tx.ShippingCost; sc != nil {
			rec.amount, rec.tax = rec.amount+sign*sc.Amount, rec.tax+sign*sc.AmountTax
		}
		out[tx.Reference] = append(out[tx.Reference], rec)
	}
	return out
}

// bookedRefund is a QuickBooks refund receipt as the model reads it: its
// total and the tax in it.
type bookedRefund struct {
	id         string
	total, tax int64
}

// bookedRefunds are the local QuickBooks' refund receipts of the model's
// orders, by DocNumber (<orderId>-R<n>); one recorded twice fails.
func (m *model) bookedRefunds(t *rapid.T) map[string]bookedRefund {
	out := map[string]bookedRefund{}
	for _, rr := range localQuickBooks(t).RefundReceipts() {
		dn, _ := rr["DocNumber"].(string)
		if i := strings.LastIndex(dn, "-R"); i < 0 || !m.orders[dn[:i]] {
			continue
		}
		if prev, dup := out[dn]; dup {
			t.Fatalf("refund receipt %s recorded twice: %s and %v", dn, prev.id, rr["Id"])
		}
		out[dn] = bookedRefund{id: fmt.Sprint(rr["Id"]), total: qbCents(t, rr["TotalAmt"]), tax: salesTaxIn(t, rr)}
	}
	return out
}

// salesTaxIn is the tax a QuickBooks sales form (an invoice, a refund
// receipt) carries: its lines of the sales tax item (described "Sales
// tax…", in a company that tracks none) and the tax it states.
func salesTaxIn(t *rapid.T, form map[string]any) int64 {
	var sum int64
	lines, _ := form["Line"].([]any)
	for _, l := range lines {
		line, _ := l.(map[string]any)
		if d, _ := line["Description"].(string); strings.HasPrefix(d, "Sales tax") {
			sum += qbCents(t, line["Amount"])
		}
	}
	if d, _ := form["TxnTaxDetail"].(map[string]any); d != nil && d["TotalTax"] != nil {
		sum += qbCents(t, d["TotalTax"])
	}
	return sum
}

// qbCents reads an amount of the local QuickBooks (dollars) in cents.
func qbCents(t *rapid.T, v any) int64 {
	var f float64
	var err error
	switch n := v.(type) {
	case float64:
		f = n
	case json.Number:
		f, err = n.Float64()
	case string:
		f, err = strconv.ParseFloat(n, 64)
	default:
		err = fmt.Errorf("%T", v)
	}
	if err != nil {
		t.Fatalf("QuickBooks amount %v: %v", v, err)
	}
	return int64(math.Round(f * 100))
}

// wantTax is the tax the model's provider works out for the order as it
// stands: Stripe taxes each line and the shipping on its own at the
// destination's rate (modelTaxRates), rounded half up; the rate table
// taxes Austin at 8.25% and the rest of Texas at 6.25%, shipping included,
// the sum rounded half up (then split over the lines: not checked here);
// nothing elsewhere. lines is false when only the total is known.
func (m *model) wantTax(o *order.Order) (want tax.Figures, lines bool) {
	a := o.Shipping.Address
	want.Lines = make([]int64, len(o.Lines))
	ship := o.ShippingAmount().Amount - o.Pricing.ShippingDiscount.Amount
	var base int64
	for i, l := range o.Lines {
		net := l.Total.Amount
		if i < len(o.Pricing.LineDiscounts) {
			net -= o.Pricing.LineDiscounts[i].Amount
		}
		base += net
		if m.taxBy == order.TaxByStripe {
			want.Lines[i] = halfUp(net, modelTaxRates[a.CountryCode+"-"+a.StateProvince].PPM)
			want.Total += want.Lines[i]
		}
	}
	switch m.taxBy {
	case order.TaxByStripe:
		if r := modelTaxRates[a.CountryCode+"-"+a.StateProvince]; r.Shipping {
			want.Shipping = halfUp(ship, r.PPM)
			want.Total += want.Shipping
		}
		return want, true
	case order.TaxByTable:
		switch {
		case a.CountryCode == "US" && a.StateProvince == "TX" && strings.HasPrefix(a.PostalCode, "787"):
			want.Total = halfUp(base+ship, 82_500)
		case a.CountryCode == "US" && a.StateProvince == "TX":
			want.Total = halfUp(base+ship, 62_500)
		}
		return want, false
	}
	return want, true
}

// checkTax asserts what must hold of the order's tax after every action
// (recs: the tax records at Stripe; books: the refund receipts, read when
// first needed), and, when final (after the sweeper), that everything was
// recorded and that Stripe's refunds, the tax reversals and the receipts
// agree to the cent:
//
//   - an order that went to payment carries the tax its provider works
//     out for it as it stands (none when the store collects none), and
//     its figures add up; a charged order's capture at Stripe is its
//     total, tax included;
//   - with Stripe Tax, a charged order whose sale was recorded has exactly
//     one tax transaction, whose reference is the order, of its total and
//     its tax; an order not charged has none;
//   - each refund whose tax is settled gave back its share: with Stripe
//     Tax, exactly one reversal whose reference is the refund, of the
//     refund's amount, whose tax is the refund's; no reversal of a refund
//     not made; the settled refunds' tax is tax.RefundShare of what they
//     refunded together (so all of the tax once the charge is refunded);
//   - each refund recorded in the books (only once its tax is settled)
//     has a receipt of its amount, carrying its tax.
func (m *model) checkTax(t *rapid.T, o *order.Order, recs map[string][]taxRecord, books func() map[string]bookedRefund, final bool) {
	p := o.Payment
	charged := p != nil && p.AmountCaptured > 0
	paying := charged || p != nil && p.AmountCapturable > 0 || slices.Contains([]order.State{order.Authorized, order.Invoiced, order.Approved,
		order.Paid, order.Fulfilling, order.Shipped, order.Refunded}, o.State())
	switch {
	case m.taxBy == config.TaxNone:
		if o.Tax != nil || o.TaxAmount().Amount != 0 {
			t.Fatalf("order %s carries tax %+v; the store collects none", o.ID, o.Tax)
		}
	case paying:
		tx := o.Tax
		if tx == nil || o.Shipping == nil || tx.Provider != m.taxBy || !o.TaxCurrent() || !tx.Figures.AddsUp() || len(tx.Figures.Lines) != len(o.Lines) ||
			(tx.CalculationID != "") != (m.taxBy == order.TaxByStripe) || o.TaxAmount().Amount != tx.Figures.Total {
			t.Fatalf("order %s (%s) went to payment with the tax %+v (current %v, counted %d)", o.ID, o.State(), tx, o.TaxCurrent(), o.TaxAmount().Amount)
		}
		want, lines := m.wantTax(o)
		if tx.Figures.Total != want.Total || lines && (!slices.Equal(tx.Figures.Lines, want.Lines) || tx.Figures.Shipping != want.Shipping) {
			t.Fatalf("order %s (%s) to %s: tax %+v, its provider works out %+v", o.ID, o.State(), o.Shipping.Address.StateProvince, tx.Figures, want)
		}
	}
	if !charged {
		if len(recs[o.ID]) > 0 {
			t.Fatalf("order %s (%s) was not charged, yet Stripe has its tax transaction %+v", o.ID, o.State(), recs[o.ID])
		}
		return
	}
	if in := m.r.st.Intent(p.IntentID); num(in["amount_received"]) != o.Total().Amount || p.AmountCaptured != o.Total().Amount {
		t.Fatalf("order %s (%s): Stripe captured %v, the order says %d, its total (tax %d) is %d", o.ID, o.State(), in["amount_received"],
			p.AmountCaptured, o.TaxAmount().Amount, o.Total().Amount)
	}
	recorded := m.taxBy == order.TaxByStripe && o.Tax.TransactionID != ""
	switch txs := recs[o.ID]; {
	case recorded:
		if len(txs) != 1 || txs[0].id != o.Tax.TransactionID || txs[0].kind != "transaction" || txs[0].tax != o.TaxAmount().Amount ||
			txs[0].amount+txs[0].tax != o.Total().Amount {
			t.Fatalf("order %s (tax %d, total %d; its transaction %s): the tax transactions at Stripe %+v", o.ID, o.TaxAmount().Amount,
				o.Total().Amount, o.Tax.TransactionID, txs)
		}
		m.stats.add("tax transactions checked", 1)
	case len(txs) > 1, m.taxBy == order.TaxByStripe && final:
		t.Fatalf("order %s (%s, charged %d): its sale's tax is not recorded (%+v), the tax transactions at Stripe %+v", o.ID, o.State(),
			p.AmountCaptured, o.Tax, txs)
	}
	var settled, settledTax int64
	for _, rf := range p.Refunds {
		revs := recs[rf.Key(o.ID)]
		switch {
		case !rf.Made():
			if len(revs) > 0 {
				t.Fatalf("order %s: refund %d was not made (%+v), yet Stripe reversed its tax: %+v", o.ID, rf.N, rf, revs)
			}
			continue
		case rf.TaxDue:
			if final || len(revs) > 1 || rf.ReceiptID != "" {
				t.Fatalf("order %s: refund %d's tax is still to settle (%+v); its reversals at Stripe %+v", o.ID, rf.N, rf, revs)
			}
			continue
		}
		settled, settledTax = settled+rf.Amount, settledTax+rf.Tax
		switch {
		case m.taxBy == order.TaxByStripe && (recorded || o.Tax.Figures.Total > 0):
			if len(revs) != 1 || revs[0].id != rf.TaxReversalID || revs[0].kind != "reversal" || revs[0].tax != rf.Tax ||
				revs[0].amount+revs[0].tax != rf.Amount {
				t.Fatalf("order %s (tax %d of %d, transaction %q): refund %d of %d gave back %d of tax (reversal %q); the reversals at Stripe %+v",
					o.ID, o.TaxAmount().Amount, p.AmountCaptured, o.Tax.TransactionID, rf.N, rf.Amount, rf.Tax, rf.TaxReversalID, revs)
			}
			m.stats.add("tax reversals checked", 1)
		case len(revs) > 0 || rf.TaxReversalID != "":
			t.Fatalf("order %s: refund %d (%+v) has reversals at Stripe %+v; the store records no tax there", o.ID, rf.N, rf, revs)
		}
		if rf.ReceiptID != "" {
			dn := fmt.Sprintf("%s-R%d", o.ID, rf.N)
			if b, ok := books()[dn]; !ok || b.id != rf.ReceiptID || b.total != rf.Amount || b.tax != rf.Tax {
				t.Fatalf("order %s: refund %d of %d (tax %d) recorded as %s; QuickBooks has %+v (found %v)", o.ID, rf.N, rf.Amount, rf.Tax, rf.ReceiptID, b, ok)
			}
			m.stats.add("refund receipts checked", 1)
		}
	}
	// The tax given back is the order's proportion of what was refunded,
	// worked out cumulatively (tax.RefundShare): all of it once the charge
	// is refunded. By the rate table exactly; Stripe Tax spreads a
	// reversal over the sale's lines and shipping and rounds each part's
	// tax on its own (the store records Stripe's figure, so that the
	// reversal, the order and the receipt agree): its tax may differ from
	// the order's proportion by less than a cent per taxed part until all
	// of the charge is refunded.
	var share, slack int64
	if o.Tax != nil {
		share = tax.RefundShare(settled, 0, p.AmountCaptured, o.Tax.Figures.Total, 0)
		if m.taxBy == order.TaxByStripe && settled < p.AmountCaptured {
			slack = int64(len(o.Lines)) + 1
		}
	}
	if settledTax < share-slack || settledTax > share+slack || settledTax != o.TaxRefunded() {
		t.Fatalf("order %s (tax %d of %d): its refunds whose tax is settled refunded %d and gave back %d of tax (the order says %d); their share is %d (±%d): %+v",
			o.ID, o.TaxAmount().Amount, p.AmountCaptured, settled, settledTax, o.TaxRefunded(), share, slack, p.Refunds)
	}
	if final && settledTax != share {
		m.stats.add("orders whose Stripe reversals gave back a cent or so off their proportion", 1)
	}
	if final {
		m.checkTaxAgrees(t, o, recs, books())
	}
}

// checkTaxAgrees asserts, after the sweeper, that a charged order's
// refunds agree to the cent: what Stripe refunded, what the order made,
// what its tax reversals gave back (with Stripe Tax: one per refund made,
// and no other), and what its receipts total; the tax of the reversals,
// of the receipts and of the order's refunds; all of the tax once all of
// the charge went back.
func (m *model) checkTaxAgrees(t *rapid.T, o *order.Order, recs map[string][]taxRecord, books map[string]bookedRefund) {
	p := o.Payment
	var atStripe, reversed, reversedTax, booked, bookedTax int64
	for _, re := range refundsAt(m.r.st, p.IntentID) {
		if re["status"] == "succeeded" {
			atStripe += num(re["amount"])
		}
	}
	made := map[string]bool{}
	for _, rf := range p.Refunds {
		if rf.Made() {
			made[rf.Key(o.ID)] = true
		}
	}
	for ref, revs := range recs {
		if !strings.HasPrefix(ref, "refund-"+o.ID+"-") {
			continue
		}
		if !made[ref] {
			t.Fatalf("order %s: Stripe has the tax reversal %s of no refund made: %+v", o.ID, ref, revs)
		}
		for _, r := range revs {
			reversed, reversedTax = reversed+r.amount+r.tax, reversedTax+r.tax
		}
	}
	for dn, b := range books {
		if strings.HasPrefix(dn, o.ID+"-R") {
			booked, bookedTax = booked+b.total, bookedTax+b.tax
		}
	}
	if m.taxBy != order.TaxByStripe {
		reversed, reversedTax = atStripe, o.TaxRefunded() // nothing to reverse at a provider
	}
	refunded := o.RefundedTotal()
	if atStripe != refunded || reversed != refunded || booked != refunded || reversedTax != o.TaxRefunded() || bookedTax != o.TaxRefunded() ||
		refunded == p.AmountCaptured && o.TaxRefunded() != o.TaxAmount().Amount {
		t.Fatalf("order %s (%s, charged %d, tax %d): refunded %d at Stripe, %d by the order (tax %d), %d by tax reversals (tax %d), %d in QuickBooks (tax %d)",
			o.ID, o.State(), p.AmountCaptured, o.TaxAmount().Amount, atStripe, refunded, o.TaxRefunded(), reversed, reversedTax, booked, bookedTax)
	}
	if refunded > 0 {
		m.stats.add("refunded orders whose Stripe refunds, tax reversals and receipts agree", 1)
	}
	if refunded == p.AmountCaptured && o.TaxAmount().Amount > 0 {
		m.stats.add("orders refunded in full with all of their tax", 1)
	}
}

// check asserts what must hold after every action.
func (m *model) check(t *rapid.T) {
	m.checkAll(t, false)
}

// checkAll is check, and when final (after the sweeper) what must hold
// of the tax by then.
func (m *model) checkAll(t *rapid.T, final bool) {
	ctx := context.Background()
	held := map[string]int64{}
	recs := taxRecordsByRef(t, m.r.st)
	if m.taxBy != order.TaxByStripe && len(recs) > 0 {
		t.Fatalf("the store records no tax at Stripe (%s), yet Stripe has %+v", m.taxBy, recs)
	}
	var booked map[string]bookedRefund
	books := func() map[string]bookedRefund {
		if booked == nil {
			booked = m.bookedRefunds(t)
		}
		return booked
	}
	for _, id := range m.ids() {
		o, err := m.r.a.Orders.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch o.State() {
		case order.Authorized, order.Invoiced, order.Approved:
			// Authorized only for its committed total, with somewhere to ship.
			p := o.Payment
			if p == nil || p.AmountCapturable != o.Total().Amount || o.Pricing.CommittedRevision != o.Pricing.Revision ||
				p.Revision != o.Pricing.Revision || o.Shipping == nil || o.Customer == nil {
				t.Fatalf("order %s is %s: total %d, payment %+v, pricing revision %d committed %d, shipping %v",
					id, o.State(), o.Total().Amount, p, o.Pricing.Revision, o.Pricing.CommittedRevision, o.Shipping)
			}
		case order.Paid, order.Fulfilling, order.Shipped, order.Refunded:
			if o.Shipping == nil || o.Payment == nil || o.Payment.AmountCaptured != o.Total().Amount {
				t.Fatalf("order %s is %s without an address or with %+v captured of %d", id, o.State(), o.Payment, o.Total().Amount)
			}
		}
		m.checkRefunds(t, o, false)
		m.checkTax(t, o, recs, books, final)
		if !o.HoldsReleased && !o.StockCommitted {
			for sku, q := range o.HoldQuantities() {
				held[sku] += q
			}
		}
	}
	// Held units equal the holds of the orders that still hold them.
	for _, name := range []string{"A", "B"} {
		onHand, h := m.s.level(name)
		if h != held[m.s.sku[name]] || h < 0 || h > onHand {
			t.Fatalf("%s: %d held of %d on hand; the orders hold %d", name, h, onHand, held[m.s.sku[name]])
		}
	}
	// Redemptions never exceed the limit; the counter equals the live records.
	checkCounters(t, m.r, m.promoID)
}

// finish lets time pass and the sweeper run (with the trigger's events
// delivered), then checks that no money is held that does not belong to
// an order waiting to capture it, and that no order has work left.
func (m *model) finish(t *rapid.T) {
	m.crash.armed.Store(false)
	m.r.clk.Advance(m.r.a.Config.RedriveAfter + time.Minute)
	for i := 0; i < 3; i++ {
		m.r.a.Sweeper.Run(context.Background())
		m.deliver(t)
		m.r.st.Redeliver()
	}
	m.checkAll(t, true)
	ids := m.ids()
	m.r.checkMoney(t, ids...)
	for _, id := range ids {
		o, _ := m.r.a.Orders.Get(context.Background(), id)
		for _, c := range o.History() {
			if c.From != c.To { // a note (a refund asked for) enters nothing
				m.stats.add("entered "+string(c.To)+" by "+strings.SplitN(c.Actor, ":", 2)[0], 1)
			}
		}
		if o.Payment != nil {
			m.stats.add("stray payments", len(o.Payment.Strays))
		}
	}
	m.stats.add("sessions", len(m.sessions))
	m.checkBooks(t, ids)
	for _, id := range ids {
		o, _ := m.r.a.Orders.Get(context.Background(), id)
		m.checkRefunds(t, o, true)
		if o.WorkDue() {
			t.Fatalf("order %s (%s) still has work due after the sweeper: %+v, strays %v", id, o.State(), o.Work, o.OpenStrays())
		}
	}
}

func TestPaymentLifecycleModel(t *testing.T) {
	t.Parallel()
	testenv.Firestore(t)
	testenv.AuthHost(t)
	sequences, stats := 0, &tally{n: map[string]int{}}
	start := time.Now()
	rapid.Check(t, func(rt *rapid.T) {
		sequences++
		m := newModel(rt, stats)
		rt.Repeat(map[string]func(*rapid.T){
			"cart":    m.cart,
			"ready":   m.ready,
			"payNow":  m.payNow,
			"apply":   m.apply,
			"choose":  m.choose,
			"session": m.session,
			"pay":     m.pay,
			"expire":  m.expire,
			"approve": m.approve,
			"refund":  m.refund,
			"cancel":  m.cancelCharged,
			"deliver": m.deliver,
			"crash":   m.crashDuring,
			"orphan":  m.orphan,
			"sweep":   m.sweep,
			"during":  m.duringCall,
			"outside": m.outsideRefund,
			"void":    m.voidPaid,
			"5xx":     m.failing,
			"charge":  m.charge,
			"buy":     m.buy,
			"":        m.check,
		})
		m.finish(rt)
	})
	t.Logf("%d sequences (with shrinking, if any) in %s; reached: %s", sequences, time.Since(start).Round(time.Millisecond), stats)
}
