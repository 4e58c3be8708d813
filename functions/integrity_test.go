package functions

// Money integrity: each test here reproduces one finding of the "Money
// integrity" issue through the functions' own surface (callables, the
// webhook, the sweeper, the order flow), on a rig of its own: its own
// Firestore project on the emulator (so its sweeps touch no other test's
// orders), its own local Stripe and a clock the test moves.

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/readyplanner/oms/internal/storefront"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/testenv"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// rig is an App on a Firestore project of its own, with its own local
// Stripe (delivering to the App's stripeWebhook) and a test clock.
type rig struct {
	a    *app.App
	st   *stripefake.Server
	api  *client.API
	clk  *clock
	hook string
}

func newRig(t tester) *rig {
	t.Helper()
	return newRigWith(t, nil)
}

// newRigWith is newRig with some configuration variables set otherwise.
func newRigWith(t tester, vars map[string]string) *rig {
	t.Helper()
	testenv.Firestore(t)
	testenv.AuthHost(t)
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	st, err := stripefake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.SetClock(clk.Now)
	fs, err := firestore.NewClient(ctx, "demo-rig-"+strings.ToLower(testenv.ID("p"))[2:])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	all := map[string]string{app.StripeWebhookSecret: st.WebhookSecret, "OMS_STRIPE_API_BASE": st.URL}
	for k, v := range vars {
		all[k] = v
	}
	cfg := devConfigWith(t, all)
	a, err := app.New(ctx, cfg, app.Options{LogOutput: io.Discard, Now: clk.Now, Firestore: fs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if err := localQuickBooks(t).ConnectTo(ctx, a.QuickBooksTokens); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(stripeWebhook(a))
	t.Cleanup(srv.Close)
	st.SetEndpoint(srv.URL)
	api, err := stripepay.New(stripepay.Options{SecretKey: "sk_test_rig", APIBase: st.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{a: a, st: st, api: api, clk: clk, hook: srv.URL}
}

// session makes (or answers again) the order's payment session.
func (r *rig) session(t tester, token, id string) rpcAnswer[storefront.CreatePaymentSessionAnswer] {
	t.Helper()
	return rpc[storefront.CreatePaymentSessionAnswer](t, createPaymentSession(r.a), token, map[string]any{"orderId": id})
}

// mustSession is session for a call that must succeed.
func (r *rig) mustSession(t tester, token, id string) string {
	t.Helper()
	ans := r.session(t, token, id)
	if ans.status != 200 {
		t.Fatalf("createPaymentSession: %d %+v", ans.status, ans.Error)
	}
	return ans.Result.SessionID
}

// selectRate quotes again and chooses the rate at index i.
func (r *rig) selectRate(t tester, token, id string, i int) {
	t.Helper()
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(r.a), token, map[string]any{"orderId": id, "address": address("3 " + testenv.ID("rig") + " St")})
	if q.status != 200 || len(q.Result.Rates) <= i {
		t.Fatalf("quote: %d %+v %d rates", q.status, q.Error, len(q.Result.Rates))
	}
	if sel := rpc[storefront.Order](t, selectShipping(r.a), token, map[string]any{"orderId": id, "rateId": q.Result.Rates[i].RateID}); sel.status != 200 {
		t.Fatalf("select: %+v", sel.Error)
	}
}

// settle runs the order's steps as the trigger would, until it stops moving.
func (r *rig) settle(t tester, ids ...string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		for i := 0; i < 6; i++ {
			o, err := r.a.Orders.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			_ = r.a.Flow.Redrive(ctx, o)
			if o2, _ := r.a.Orders.Get(ctx, id); o2.State() == o.State() {
				break
			}
		}
	}
}

// sweepAfter moves the clock on by d and runs the sweeper twice, as two
// scheduled runs would, letting the order trigger run in between.
func (r *rig) sweepAfter(t tester, d time.Duration, ids ...string) {
	t.Helper()
	r.clk.Advance(d)
	for i := 0; i < 2; i++ {
		r.a.Sweeper.Run(context.Background())
		r.settle(t, ids...)
		r.st.Redeliver()
	}
}

// intentsOf returns every PaymentIntent the local Stripe made for the
// order's sessions.
func (r *rig) intentsOf(id string) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range r.st.Events() {
		obj := e["data"].(map[string]any)["object"].(map[string]any)
		if e["type"] != "checkout.session.completed" || obj["client_reference_id"] != id {
			continue
		}
		if pi, _ := obj["payment_intent"].(string); pi != "" && !seen[pi] {
			seen[pi] = true
			out = append(out, pi)
		}
	}
	return out
}

// checkMoney checks that money and state agree for each order: at most one
// live authorization, and only the order's own, for exactly its total, in a
// state that waits for capture; a capture only of the order's total, and
// only with an address to ship to.
func (r *rig) checkMoney(t tester, ids ...string) {
	t.Helper()
	for _, id := range ids {
		o, err := r.a.Orders.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, pi := range r.intentsOf(id) {
			in := r.st.Intent(pi)
			amount := func(k string) int64 { f, _ := in[k].(float64); return int64(f) }
			switch in["status"] {
			case "requires_capture":
				live++
				waiting := o.State() == order.Authorized || o.State() == order.Invoiced || o.State() == order.Approved || o.State() == order.NeedsAttention
				if !waiting || o.Payment == nil || o.Payment.IntentID != pi || amount("amount_capturable") != o.Total().Amount {
					t.Errorf("order %s (%s, total %d, intent %v): authorization %s of %d left live", id, o.State(), o.Total().Amount,
						o.Payment, pi, amount("amount_capturable"))
				}
			case "succeeded":
				if o.Payment == nil || o.Payment.IntentID != pi || amount("amount_received") != o.Total().Amount || o.Shipping == nil {
					t.Errorf("order %s (%s, total %d): %s captured %d (shipping %v)", id, o.State(), o.Total().Amount, pi, amount("amount_received"), o.Shipping)
				}
			}
		}
		if live > 1 {
			t.Errorf("order %s has %d live authorizations", id, live)
		}
		if (o.State() == order.Paid || o.State() == order.Authorized) && o.Shipping == nil {
			t.Errorf("order %s is %s without a shipping address", id, o.State())
		}
	}
}

// stripeObject reads a Checkout Session's status at the local Stripe.
func (r *rig) sessionStatus(t tester, id string) string {
	t.Helper()
	cs, err := r.api.CheckoutSessions.Get(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(cs.Status)
}

// Finding 1, first case: a new session after another rate was chosen; the
// old one lapses at Stripe; the customer pays the new one. The lapse of a
// session that is no longer current must not expire the order, and the
// new payment must authorize it.
func TestOldSessionLapsingDoesNotExpireTheOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	u, id := readyToPay(t, r.a, s, "", "A", 2)
	s1 := r.mustSession(t, u.IDToken, id)
	r.selectRate(t, u.IDToken, id, 1)
	if st := r.sessionStatus(t, s1); st != "expired" {
		t.Errorf("after another rate was chosen, the open session is %s at Stripe", st)
	}
	s2 := r.mustSession(t, u.IDToken, id)
	if s1 == s2 {
		t.Fatal("the same session after another rate was chosen")
	}
	// S1's time runs out at Stripe (it may already have been expired by the
	// order's change: then Stripe refuses, which is fine).
	_, _ = r.api.CheckoutSessions.Expire(s1, nil)
	r.st.Redeliver()
	if _, err := r.st.Pay(s2); err != nil {
		t.Fatalf("paying the current session: %v", err)
	}
	r.settle(t, id)
	r.sweepAfter(t, 2*time.Hour, id)
	o, _ := r.a.Orders.Get(context.Background(), id)
	if o.State() == order.Expired || o.State() == order.Pending {
		t.Errorf("the current session was paid, yet the order is %s", o.State())
	}
	r.checkMoney(t, id)
}

// Finding 1, second and third cases: the cart changes while a session is
// open. Paying that session must not authorize the changed order, before
// or after the order's holds lapse.
func TestCartChangeWithAnOpenSession(t *testing.T) {
	t.Parallel()
	for _, lapse := range []bool{false, true} {
		t.Run(fmt.Sprintf("holds lapsed %v", lapse), func(t *testing.T) {
			r := newRig(t)
			s := newStore(t, r.a, 10, 10)
			u, id := readyToPay(t, r.a, s, "", "A", 2, "B", 1)
			s1 := r.mustSession(t, u.IDToken, id)
			s.cart(u.UID, "A", 1)
			if ans := call(t, startCheckout(r.a), u.IDToken); ans.status != 200 || ans.Result.OrderID != id {
				t.Fatalf("checkout again: %d %+v", ans.status, ans.Error)
			}
			if st := r.sessionStatus(t, s1); st != "expired" {
				t.Errorf("after the cart changed, the open session is %s at Stripe", st)
			}
			if lapse {
				r.sweepAfter(t, r.a.Config.HoldTTL+time.Minute, id)
			}
			_, _ = r.st.Pay(s1) // the old tab's Pay button
			r.settle(t, id)
			r.sweepAfter(t, 2*time.Hour, id)
			r.checkMoney(t, id)
			if _, held := s.level("A"); held != 0 {
				t.Errorf("%d units of A still held", held)
			}
		})
	}
}

// Finding 1, fourth case: an older, cheaper session paid after a new one
// was made, and then the new one paid as well.
func TestOlderCheaperSessionPaid(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	u, id := readyToPay(t, r.a, s, "", "A", 2)
	s1 := r.mustSession(t, u.IDToken, id)
	r.selectRate(t, u.IDToken, id, 2)
	s2 := r.mustSession(t, u.IDToken, id)
	_, _ = r.st.Pay(s1)
	r.settle(t, id)
	_, _ = r.st.Pay(s2)
	r.settle(t, id)
	r.checkMoney(t, id)
	o, _ := r.a.Orders.Get(context.Background(), id)
	if (o.State() != order.Authorized && o.State() != order.Invoiced) || o.Payment.SessionID != s2 {
		t.Errorf("order %s, session %s; want authorized by %s", o.State(), o.Payment.SessionID, s2)
	}
	approve(t, r.a, id)
	r.checkMoney(t, id)
	if o, _ := r.a.Orders.Get(context.Background(), id); o.State() != order.Paid {
		t.Errorf("after approval: %s (%s)", o.State(), o.Attention)
	}
}

// A session made for the order but not its current one (an attempt that
// crashed before its id was stored, say) is paid: the authorization is
// canceled and recorded, and the order stays as it was.
func TestStraySessionPaymentIsCanceled(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	u, id := readyToPay(t, r.a, s, "", "A", 1)
	cur := r.mustSession(t, u.IDToken, id)
	o, _ := r.a.Orders.Get(context.Background(), id)
	stray, err := stripepay.Payments{API: r.api}.CreateSession(context.Background(), strayRequest(o))
	if err != nil {
		t.Fatal(err)
	}
	pi, err := r.st.Pay(stray.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.settle(t, id)
	r.sweepAfter(t, 15*time.Minute, id)
	o, _ = r.a.Orders.Get(context.Background(), id)
	if o.State() != order.Pending || r.st.Intent(pi)["status"] != "canceled" {
		t.Errorf("order %s, stray intent %v", o.State(), r.st.Intent(pi)["status"])
	}
	if len(o.Payment.Strays) != 1 || o.Payment.Strays[0].Reason != order.RefusedNotCurrent || o.Payment.Strays[0].Outcome != "canceled" ||
		o.Payment.Strays[0].CanceledAt.IsZero() || o.Payment.Strays[0].Amount != o.Total().Amount {
		t.Errorf("strays %+v", o.Payment.Strays)
	}
	if al, err := r.a.Firestore.Collection("alerts").Doc("stray-" + pi).Get(context.Background()); err != nil || al.Data()["kind"] != "stray_payment" {
		t.Errorf("the owner was not told of the stray payment: %v", err)
	}
	// Its cancellation's own event changes nothing more.
	r.st.Redeliver()
	if o2, _ := r.a.Orders.Get(context.Background(), id); o2.State() != order.Pending || o2.Payment.SessionID != cur {
		t.Errorf("after the stray's cancel event: %s %+v", o2.State(), o2.Payment)
	}
	if _, err := r.st.Pay(cur); err != nil {
		t.Fatal(err)
	}
	r.settle(t, id)
	r.checkMoney(t, id)
	if o, _ := r.a.Orders.Get(context.Background(), id); o.State() != order.Invoiced && o.State() != order.Authorized {
		t.Errorf("after paying the current session: %s", o.State())
	}
}

// Finding 2: a promotion limited to one use, 50% off; each customer makes a
// session, then applies the code, then pays the old session.
func TestPromotionLimitCannotBeBypassed(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	code := strings.ToUpper(testenv.ID("HALF"))
	pid := promo(t, r.a, map[string]any{"kind": "percent_off_order", "percent": int64(50), "code": code, "maxRedemptions": int64(1)})
	var ids []string
	for i := 0; i < 3; i++ {
		u, id := readyToPay(t, r.a, s, "", "A", 2)
		old := r.mustSession(t, u.IDToken, id)
		o, _ := r.a.Orders.Get(context.Background(), id)
		apply(t, applyCustomer(r.a), u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": o.Customer.Email, "code": code})
		if st := r.sessionStatus(t, old); st != "expired" {
			t.Errorf("after the code was applied, the open session is %s at Stripe", st)
		}
		_, _ = r.st.Pay(old)
		r.settle(t, id)
		ids = append(ids, id)
	}
	r.checkMoney(t, ids...)
	discounted := 0
	for _, id := range ids {
		o, _ := r.a.Orders.Get(context.Background(), id)
		if o.State() == order.Pending || o.State() == order.Expired {
			continue
		}
		if o.Pricing.CommittedRevision != o.Pricing.Revision {
			t.Errorf("order %s is %s on an uncommitted pricing (revision %d, committed %d)", id, o.State(), o.Pricing.Revision, o.Pricing.CommittedRevision)
		}
		if len(o.Pricing.Promotions) > 0 {
			discounted++
		}
	}
	if discounted > 1 {
		t.Errorf("%d orders paid with a promotion limited to 1", discounted)
	}
	checkCounters(t, r, pid)
}

// checkCounters checks that a promotion's counter equals its live
// redemption records and never exceeds its limit.
func checkCounters(t tester, r *rig, promotionID string) {
	t.Helper()
	ctx := context.Background()
	snap, err := r.a.Firestore.Collection("promotionCounters").Doc(promotionID).Get(ctx)
	var total int64
	if err == nil {
		total, _ = snap.Data()["total"].(int64)
	}
	recs, err := r.a.Firestore.Collection("redemptions").Where("promotionId", "==", promotionID).Documents(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	live := int64(0)
	for _, rec := range recs {
		if rec.Data()["releasedAt"] == nil {
			live++
		}
	}
	if total != live {
		t.Errorf("promotion %s: counter %d, live redemptions %d", promotionID, total, live)
	}
	p, _ := r.a.Firestore.Collection("promotions").Doc(promotionID).Get(ctx)
	if max, _ := p.Data()["maxRedemptions"].(int64); max > 0 && live > max {
		t.Errorf("promotion %s: %d live redemptions over its limit %d", promotionID, live, max)
	}
}

// Finding 3: the host dies between an order's cancel (or expiry) and its
// steps. The sweeper must still release the stock, the card's hold and the
// redemptions.
func TestCrashBetweenCancelAndItsSteps(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	ctx := context.Background()

	// Canceled after authorization (the owner voided the invoice).
	u, id := readyToPay(t, r.a, s, "", "A", 2)
	pi, err := r.st.Pay(r.mustSession(t, u.IDToken, id))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.a.Orders.Transition(ctx, id, order.Move{From: []order.State{order.Authorized}, To: order.Canceled, Actor: "quickbooks", Reason: "voided"}); err != nil {
		t.Fatal(err)
	}
	// Expired by the session's lapse, with a redemption to give back.
	code := strings.ToUpper(testenv.ID("TEN"))
	pid := promo(t, r.a, map[string]any{"kind": "percent_off_order", "percent": int64(10), "code": code, "maxRedemptions": int64(5)})
	u2, id2 := readyToPay(t, r.a, s, code, "A", 3)
	r.mustSession(t, u2.IDToken, id2)
	if _, _, err := r.a.Orders.Transition(ctx, id2, order.Move{From: []order.State{order.Pending}, To: order.Expired, Actor: "stripe", Reason: "the session expired"}); err != nil {
		t.Fatal(err)
	}
	// Crash: neither transition's steps ran. Two sweeps later:
	r.sweepAfter(t, r.a.Config.RedriveAfter+time.Minute)
	if st := r.st.Intent(pi)["status"]; st != "canceled" {
		t.Errorf("the canceled order's authorization is %v", st)
	}
	if _, held := s.level("A"); held != 0 {
		t.Errorf("%d units still held", held)
	}
	checkCounters(t, r, pid)
}

// Finding 4: commit with a code, drop the code, make a new session, let the
// order expire: the redemption must be given back.
func TestDroppedCodeIsGivenBack(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	code := strings.ToUpper(testenv.ID("ONE"))
	pid := promo(t, r.a, map[string]any{"kind": "percent_off_order", "percent": int64(10), "code": code, "maxRedemptions": int64(1)})
	u, id := readyToPay(t, r.a, s, code, "A", 1)
	r.mustSession(t, u.IDToken, id)
	o, _ := r.a.Orders.Get(context.Background(), id)
	if ans := apply(t, applyCustomer(r.a), u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": o.Customer.Email}); ans.status != 200 {
		t.Fatalf("apply without the code: %+v", ans.Error)
	}
	// Dropping the committed code gave its redemption back at once.
	if snap, err := r.a.Firestore.Collection("promotionCounters").Doc(pid).Get(context.Background()); err != nil || snap.Data()["total"] != int64(0) {
		t.Errorf("counter after the code was dropped: %v %v", snap.Data(), err)
	}
	r.mustSession(t, u.IDToken, id)
	checkCounters(t, r, pid)
	r.sweepAfter(t, 3*time.Hour, id)
	if o, _ := r.a.Orders.Get(context.Background(), id); o.State() != order.Expired {
		t.Fatalf("order %s", o.State())
	}
	checkCounters(t, r, pid)
	// The next customer gets the promotion.
	u2, id2 := readyToPay(t, r.a, s, code, "A", 1)
	_ = u2
	if o, _ := r.a.Orders.Get(context.Background(), id2); o.Pricing.CodeStatus != "applied" {
		t.Errorf("the next customer's code: %s", o.Pricing.CodeStatus)
	}
}

// Finding 5: a signed checkout.session.completed naming order X but
// carrying order Y's PaymentIntent.
func TestIntentOfAnotherOrderIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	ux, x := readyToPay(t, r.a, s, "", "A", 1)
	sx := r.mustSession(t, ux.IDToken, x)
	uy, y := readyToPay(t, r.a, s, "", "A", 2)
	piY, err := r.st.Pay(r.mustSession(t, uy.IDToken, y))
	if err != nil {
		t.Fatal(err)
	}
	forged := map[string]any{"id": testenv.ID("evt"), "object": "event", "type": "checkout.session.completed", "api_version": stripefake.APIVersion,
		"created": r.clk.Now().Unix(), "data": map[string]any{"object": map[string]any{"object": "checkout.session", "id": sx,
			"client_reference_id": x, "metadata": map[string]any{"orderId": x}, "payment_intent": piY, "status": "complete"}}}
	if err := r.st.Send(r.hook, forged); err != nil {
		t.Fatal(err)
	}
	r.settle(t, x, y)
	if o, _ := r.a.Orders.Get(context.Background(), x); o.State() != order.Pending {
		t.Errorf("order X moved to %s on order Y's intent", o.State())
	}
	if st := r.st.Intent(piY)["status"]; st != "requires_capture" {
		t.Errorf("order Y's authorization is %v", st)
	}
}

// Finding 5, capture: what Stripe captured is compared with the total.
func TestCaptureComparesWhatWasCaptured(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	u, id := readyToPay(t, r.a, s, "", "A", 2)
	pi, err := r.st.Pay(r.mustSession(t, u.IDToken, id))
	if err != nil {
		t.Fatal(err)
	}
	// Someone captures less in the dashboard before the owner approves.
	p := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(100)}
	if _, err := r.api.PaymentIntents.Capture(pi, p); err != nil {
		t.Fatal(err)
	}
	o := approve(t, r.a, id)
	if o.State() != order.NeedsAttention || !strings.Contains(o.Attention, "captured") {
		t.Errorf("order %s (%q) after Stripe captured 100 of %d", o.State(), o.Attention, o.Total().Amount)
	}
}

// Finding 8: an event about a PaymentIntent Stripe does not know is
// recorded as not applicable, not answered 500 for three days.
func TestEventOfAnUnknownIntent(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	for _, typ := range []string{"payment_intent.canceled", "charge.refunded"} {
		obj := map[string]any{"object": "payment_intent", "id": "pi_unknown_" + testenv.ID("x")}
		if typ == "charge.refunded" {
			obj = map[string]any{"object": "charge", "id": "ch_x", "payment_intent": "pi_unknown_" + testenv.ID("x"), "amount_refunded": 100}
		}
		ev, _ := json.Marshal(map[string]any{"id": testenv.ID("evt"), "object": "event", "type": typ, "api_version": stripefake.APIVersion,
			"created": r.clk.Now().Unix(), "data": map[string]any{"object": obj}})
		status, body := post(t, r.hook, r.st.Sign(ev, time.Now()), ev)
		if status != 200 || !strings.Contains(body, "unknown") {
			t.Errorf("%s: %d %s", typ, status, body)
		}
	}
}

// Finding 6: input that reached INTERNAL.
func TestInputNeverReachesInternal(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	u := user(t)
	handlers := map[string]http.Handler{"startCheckout": startCheckout(a), "applyCustomer": applyCustomer(a), "quoteShipping": quoteShipping(a),
		"selectShipping": selectShipping(a), "createPaymentSession": createPaymentSession(a)}
	ids := map[string]map[string]any{
		"applyCustomer":        {"name": "Ann", "email": "ann@example.com"},
		"quoteShipping":        {"address": address("1 Main St")},
		"selectShipping":       {"rateId": "se-1"},
		"createPaymentSession": {},
	}
	for name, fields := range ids {
		for _, bad := range []string{"", "orders/x", "..", "__x__", ".", "a/b", strings.Repeat("A", 200)} {
			data := map[string]any{"orderId": bad}
			for k, v := range fields {
				data[k] = v
			}
			if ans := rpc[json.RawMessage](t, handlers[name], u.IDToken, data); ans.Error.Status != "INVALID_ARGUMENT" {
				t.Errorf("%s orderId %q: %d %+v", name, bad, ans.status, ans.Error)
			}
		}
	}
	if ans := rpc[json.RawMessage](t, handlers["createPaymentSession"], u.IDToken, nil); ans.Error.Status != "INVALID_ARGUMENT" {
		t.Errorf("createPaymentSession with null data: %d %+v", ans.status, ans.Error)
	}
	wrapped := map[string]any{"@type": "type.googleapis.com/google.protobuf.UInt64Value", "value": "abc"}
	for name, h := range handlers {
		if ans := rpc[json.RawMessage](t, h, u.IDToken, wrapped); ans.Error.Status != "INVALID_ARGUMENT" {
			t.Errorf("%s with a bad UInt64Value: %d %+v", name, ans.status, ans.Error)
		}
		if ans := rpc[json.RawMessage](t, h, u.IDToken, map[string]any{"orderId": wrapped}); ans.Error.Status != "INVALID_ARGUMENT" {
			t.Errorf("%s with a bad UInt64Value field: %d %+v", name, ans.status, ans.Error)
		}
	}
	// Trailing data after the envelope.
	for name, h := range handlers {
		req := httptest.NewRequest("POST", "/", strings.NewReader(`{"data":{}}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+u.IDToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 400 || !strings.Contains(w.Body.String(), "INVALID_ARGUMENT") {
			t.Errorf("%s with trailing data: %d %s", name, w.Code, w.Body)
		}
	}
	// Cart SKU ids Firestore cannot store as document ids.
	s := newStore(t, a, 10, 10)
	for _, sku := range []string{".", "..", "__x__", "__name__", "a/b"} {
		u := user(t)
		s.cart(u.UID, sku, 1)
		if ans := call(t, startCheckout(a), u.IDToken); ans.Error.Status != "INVALID_ARGUMENT" {
			t.Errorf("cart sku %q: %d %+v", sku, ans.status, ans.Error)
		}
	}
}

// Finding 7: quantities past what any cart allows are refused before any
// arithmetic; nothing is held.
func TestQuantityOverflowIsRefused(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	for _, lines := range [][]any{
		{"A", int64(math.MaxInt64), "A", int64(math.MaxInt64)},
		{"P", int64(math.MaxInt64), "P", int64(math.MaxInt64)},
		{"A", int64(math.MaxInt64)},
		{"A", int64(-3), "A", int64(5)},
	} {
		s := newStore(t, a, 10, 10)
		u := user(t)
		s.cart(u.UID, lines...)
		ans := call(t, startCheckout(a), u.IDToken)
		if ans.Error.Status != "INVALID_ARGUMENT" {
			t.Errorf("cart %v: %d %+v %+v", lines, ans.status, ans.Error, ans.Result)
		}
		if _, held := s.level("A"); held != 0 {
			t.Errorf("cart %v: held %d", lines, held)
		}
	}
}

// strayRequest is a session request for the order as createPaymentSession
// would make it, under a key of its own: a session the order does not know.
func strayRequest(o *order.Order) payments.SessionRequest {
	return payments.SessionRequest{OrderID: o.ID, IdempotencyKey: "stray-" + o.ID, Email: o.Customer.Email, Currency: strings.ToLower(o.Currency),
		Lines: payments.SessionLines(o), ShippingName: "Stray", ShippingAmount: o.ShippingAmount().Amount - o.Pricing.ShippingDiscount.Amount,
		ExpiresAt: time.Now().Add(time.Hour), SuccessURL: "http://localhost:3000/ok", CancelURL: "http://localhost:3000/no"}
}

// Finding 9: the owner voids the invoice in QuickBooks and its webhook is
// lost; the sweeper's reconcile re-reads the invoice (QuickBooks prepends
// "Voided" to its note) and cancels the order and its authorization.
func TestReconcileSeesAVoidedInvoice(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	u, id := readyToPay(t, r.a, s, "", "A", 1)
	pi, err := r.st.Pay(r.mustSession(t, u.IDToken, id))
	if err != nil {
		t.Fatal(err)
	}
	r.settle(t, id)
	o, _ := r.a.Orders.Get(context.Background(), id)
	if o.State() != order.Invoiced {
		t.Fatalf("order %s (%s)", o.State(), o.Attention)
	}
	if err := localQuickBooks(t).VoidInvoice(o.Invoice.ID); err != nil {
		t.Fatal(err)
	}
	r.sweepAfter(t, r.a.Config.RedriveAfter+time.Minute, id)
	if o, _ := r.a.Orders.Get(context.Background(), id); o.State() != order.Canceled || r.st.Intent(pi)["status"] != "canceled" {
		t.Errorf("after the void and two sweeps: order %s, intent %v", o.State(), r.st.Intent(pi)["status"])
	}
}

// A change while the customer has just paid the open session (its webhook
// not yet delivered) is refused: payment_completed; the payment then
// authorizes the order as shown.
func TestChangeAfterPaymentIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	u, id := readyToPay(t, r.a, s, "", "A", 1)
	cs := r.mustSession(t, u.IDToken, id)
	r.st.SetEndpoint("") // the webhook is late
	if _, err := r.st.Pay(cs); err != nil {
		t.Fatal(err)
	}
	o, _ := r.a.Orders.Get(context.Background(), id)
	ans := apply(t, applyCustomer(r.a), u.IDToken, map[string]any{"orderId": id, "name": "Someone Else", "email": o.Customer.Email})
	if ans.Error.Status != "FAILED_PRECONDITION" || !strings.Contains(string(ans.Error.Details), "payment_completed") {
		t.Errorf("a change after paying: %d %+v", ans.status, ans.Error)
	}
	if o2, _ := r.a.Orders.Get(context.Background(), id); o2.Customer.Name != o.Customer.Name {
		t.Error("the refused change was written")
	}
	r.st.SetEndpoint(r.hook)
	r.st.Redeliver()
	r.checkMoney(t, id)
	if o, _ := r.a.Orders.Get(context.Background(), id); o.State() != order.Authorized {
		t.Errorf("after the webhook: %s", o.State())
	}
}

// The same call twice, and a no-op change, keep the session: nothing that
// would be paid changed.
func TestNoOpChangeKeepsTheSession(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	u, id := readyToPay(t, r.a, s, "", "A", 1)
	cs := r.mustSession(t, u.IDToken, id)
	o, _ := r.a.Orders.Get(context.Background(), id)
	if ans := apply(t, applyCustomer(r.a), u.IDToken, map[string]any{"orderId": id, "name": o.Customer.Name, "email": o.Customer.Email}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	sel := rpc[storefront.Order](t, selectShipping(r.a), u.IDToken, map[string]any{"orderId": id, "rateId": o.Shipping.Rate.RateID})
	if sel.status != 200 {
		t.Fatal(sel.Error)
	}
	if ans := call(t, startCheckout(r.a), u.IDToken); !ans.Result.Reused {
		t.Errorf("checkout of the same cart: %+v", ans)
	}
	if again := r.mustSession(t, u.IDToken, id); again != cs || r.sessionStatus(t, cs) != "open" {
		t.Errorf("session %s (%s) after no-op calls, want %s open", again, r.sessionStatus(t, cs), cs)
	}
	if o2, _ := r.a.Orders.Get(context.Background(), id); o2.Pricing.Revision != o.Pricing.Revision || !o2.UpdatedAt.Equal(o.UpdatedAt) {
		t.Errorf("a no-op change wrote the order: revision %d → %d", o.Pricing.Revision, o2.Pricing.Revision)
	}
}
