package functions

// The payment lifecycle, model-based: random sequences of what customers
// (two of them, in more than one tab) and the outside world do — change
// the cart, apply or drop a code, quote and choose shipping, make a
// session, pay or expire any session made so far, the owner's approval,
// the owner's refunds and cancels of charged orders,
// a host that dies between a call and its write, the order trigger's
// events delivered or lost, time passing and the sweeper — against the
// real emulator, the real callables and webhook, and the local Stripe.
// After every action the invariants below must hold; at the end of a
// sequence, after the sweeper, no money may be left held that does not
// belong to an order waiting to capture it. A failing sequence is shrunk
// and printed by pgregory.net/rapid.
//
// make test runs a short run (RAPID_CHECKS sequences); make soak a long one.

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/readyplanner/oms/internal/storefront"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/fakehold"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/testenv"
	"pgregory.net/rapid"
)

// crashing is the payments provider of a host that dies right after an
// outside call reached Stripe: when armed, the next call is made and its
// answer lost (the caller sees UNAVAILABLE, as a retried or re-driven
// call after a crash would start over).
type crashing struct {
	s     payments.Sessions
	i     payments.Intents
	armed atomic.Bool
}

var (
	_ payments.Sessions = (*crashing)(nil)
	_ payments.Intents  = (*crashing)(nil)
)

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

// model is one sequence's world: a rig of its own, a store, two
// customers, a promotion limited to one use.
type model struct {
	stats    *tally
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

func newModel(t *rapid.T, stats *tally) *model {
	r := newRig(t)
	c := &crashing{s: r.a.Payments.Sessions, i: r.a.Payments.Intents}
	r.a.Payments.Sessions, r.a.Payments.Intents = c, c
	m := &model{stats: stats, r: r, s: newStore(t, r.a, 6, 4), crash: c, orders: map[string]bool{}, boss: owner(t)}
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
		m.orders[ans.Result.OrderID] = true
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
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(m.r.a), m.users[w].IDToken, map[string]any{"orderId": m.open[w], "address": address("1 Model St")})
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
func (m *model) ready(t *rapid.T) {
	w := m.who(t)
	if o, _ := m.r.a.Orders.Get(context.Background(), m.open[w]); m.open[w] == "" || o == nil || o.State() != order.Pending {
		m.s.cart(m.users[w].UID, "A", int64(1), "P", int64(1))
		if ans := call(t, startCheckout(m.r.a), m.users[w].IDToken); m.noInternal(t, "startCheckout", ans.status, ans.Error.Status, ans.Error.Details) {
			m.open[w] = ans.Result.OrderID
			m.orders[ans.Result.OrderID] = true
		}
	}
	code := rapid.SampledFrom([]string{"", m.code}).Draw(t, "code")
	observe(m, t, "applyCustomer", apply(t, applyCustomer(m.r.a), m.users[w].IDToken,
		map[string]any{"orderId": m.open[w], "name": "Buyer", "email": m.emails[w], "code": code}))
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(m.r.a), m.users[w].IDToken, map[string]any{"orderId": m.open[w], "address": address("2 Model St")})
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
	for _, id := range sorted(keys(m.orders)) {
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
	for _, id := range sorted(keys(m.orders)) {
		if o, _ := m.r.a.Orders.Get(context.Background(), id); o != nil && slices.Contains(states, o.State()) {
			out = append(out, id)
		}
	}
	return out
}

// duringCall: the owner acts while a step's outside call is in flight —
// the outside service has acted (the capture made, the invoice created,
// the refund made) and its answer is held back: the owner cancels the
// order (or, for a refund in flight, refunds again), then the answer
// arrives.
func (m *model) duringCall(t *rapid.T) {
	var calls []string
	approved, authorized := m.inState(order.Approved), m.inState(order.Authorized)
	var refunding []string
	for _, id := range m.charged() {
		if o, _ := m.r.a.Orders.Get(context.Background(), id); o != nil && slices.ContainsFunc(o.Payment.Refunds, order.Refund.PaymentDue) {
			refunding = append(refunding, id)
		}
	}
	for name, ids := range map[string][]string{"capture": approved, "invoice": authorized, "refund": refunding} {
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
	if call == "refund" && rapid.Bool().Draw(t, "refund again") {
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
	id := rapid.SampledFrom(ids).Draw(t, "order")
	m.deliver(t)
	if o, _ := m.r.a.Orders.Get(context.Background(), id); o.State() == order.Invoiced {
		_ = localQuickBooks(t).MarkPaid(o.Invoice.ID)
		if _, err := m.r.a.Bookkeeping.HandleEvent(context.Background(), "Invoice", o.Invoice.ID, "Update"); err != nil {
			t.Fatal(err)
		}
	}
	m.deliver(t)
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
	for id := range m.orders {
		if o, _ := m.r.a.Orders.Get(context.Background(), id); o != nil && o.State() == order.Invoiced {
			invoiced = append(invoiced, id)
		}
	}
	if len(invoiced) == 0 {
		t.Skip("no invoiced order")
	}
	id := rapid.SampledFrom(sorted(invoiced)).Draw(t, "order")
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
	for _, id := range sorted(keys(m.orders)) {
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

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

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
// the books agree: a canceled order's invoice is voided in QuickBooks
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
			if o.State() == order.Canceled && !voided && o.Invoice.Settled != order.InvoiceLeft && o.Invoice.Settled != order.InvoiceBalanced {
				t.Fatalf("canceled order %s: its invoice %v is open (%q)", id, inv["Id"], o.Invoice.Settled)
			}
			if o.State() == order.Canceled {
				m.stats.add("canceled orders' invoices settled", 1)
			}
		}
	}
}

// check asserts what must hold after every action.
func (m *model) check(t *rapid.T) {
	ctx := context.Background()
	held := map[string]int64{}
	for _, id := range sorted(keys(m.orders)) {
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
	m.check(t)
	ids := sorted(keys(m.orders))
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
			"":        m.check,
		})
		m.finish(rt)
	})
	t.Logf("%d sequences (with shrinking, if any) in %s; reached: %s", sequences, time.Since(start).Round(time.Millisecond), stats)
}
