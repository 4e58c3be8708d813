package functions

// Money integrity, round two (issue 20): the owner acting while a step's
// outside call is in flight, money moved outside the backend (refunds and
// disputes in Stripe's dashboard, voids in QuickBooks), and a 5xx that
// Stripe replays for the same idempotency key. Each test reproduces one
// finding through the functions' own surface, on a rig of its own; the
// local fakes hold an answer back after acting (HoldNext) to put the
// owner in the middle of a call.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
)

// alertsOf returns the keys of the order's alerts of kind ("" for any).
func (r *rig) alertsOf(t tester, orderID, kind string) []string {
	t.Helper()
	q := r.a.Firestore.Collection("alerts").Where("orderId", "==", orderID)
	if kind != "" {
		q = q.Where("kind", "==", kind)
	}
	snaps, err := q.Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range snaps {
		keys = append(keys, s.Ref.ID)
	}
	return keys
}

// mailText is the text of the order's email of purpose, "" if none was
// queued.
func (r *rig) mailText(t tester, orderID, purpose string) string {
	t.Helper()
	snap, err := r.a.Firestore.Collection("mail").Doc(messages.MailID(orderID, purpose)).Get(context.Background())
	if err != nil {
		return ""
	}
	text, _ := snap.Data()["message"].(map[string]any)["text"].(string)
	return text
}

// stripeRefunded sums the local Stripe's refunds of an intent that count
// (pending or succeeded).
func (r *rig) stripeRefunded(pi string) int64 {
	var sum int64
	for _, re := range refundsAt(r.st, pi) {
		if re["status"] == "succeeded" || re["status"] == "pending" {
			sum += num(re["amount"])
		}
	}
	return sum
}

// cancelAs is the owner's cancelOrder.
func cancelAs(t tester, r *rig, token, id string) rpcAnswer[storefront.Order] {
	t.Helper()
	return rpc[storefront.Order](t, withRequestID(cancelOrder(r.a)), token, map[string]any{"orderId": id, "reason": "the customer asked"})
}

// redriveInBackground runs the order's due steps in the background (a
// step whose outside call the test holds) and returns a channel closed
// when they are done.
func (r *rig) redriveInBackground(t tester, id string) chan struct{} {
	t.Helper()
	o, err := r.a.Orders.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.a.Flow.Redrive(context.Background(), o) }()
	return done
}

// waitReached waits for a held request, failing the test after 10 s.
func waitReached(t tester, reached <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never reached the fake", what)
	}
}

// Finding 1: the owner cancels while Stripe's capture answer is held (the
// capture was made): the order must not say nothing was captured. It is
// canceled, refunded in full at Stripe once, the refund recorded in
// QuickBooks, and the customer's email says the charge was refunded.
func TestCancelWhileCaptureInFlight(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	id, pi := r.approvedInBooks(t, s, "A", 2)
	hold := r.st.HoldNext("POST", "/capture", "")
	done := r.redriveInBackground(t, id)
	waitReached(t, hold.Reached(), "the capture")

	ans := cancelAs(t, r, boss.IDToken, id)
	if ans.status != 200 || ans.Result.State != order.Canceled {
		t.Fatalf("cancel during the capture: %d %+v", ans.status, ans.Error)
	}
	r.settle(t, id)
	hold.Release()
	<-done
	for i := 0; i < 3; i++ {
		r.settle(t, id)
	}
	o, _ := r.a.Orders.Get(context.Background(), id)
	total := o.Total().Amount
	if st := r.st.Intent(pi)["status"]; st != "succeeded" {
		t.Fatalf("the intent is %v; this test needs the capture made", st)
	}
	if o.State() != order.Canceled || o.Payment.AmountCaptured != total || o.RefundedTotal() != total {
		t.Errorf("order %s: captured %d, refunded %d of %d", o.State(), o.Payment.AmountCaptured, o.RefundedTotal(), total)
	}
	if got := r.stripeRefunded(pi); got != total {
		t.Errorf("Stripe refunded %d of the %d captured", got, total)
	}
	if got := receiptsOf(t, id); len(got) != 1 {
		t.Errorf("QuickBooks refund receipts: %d", len(got))
	}
	if text := r.mailText(t, id, messages.PurposeCanceled); !strings.Contains(text, "refunded") || strings.Contains(text, "not charged") {
		t.Errorf("the customer was told: %q", text)
	}
	// The invoice, paid, stays: the refund receipt balances it. Nothing
	// for the owner to undo.
	if got := r.alertsOf(t, id, "books_mismatch"); len(got) != 0 || o.Invoice == nil || o.Invoice.Settled != order.InvoiceBalanced {
		t.Errorf("the books after a charged cancel: alerts %v, invoice %+v", got, o.Invoice)
	}
}

// Finding 1, crash: the host dies between Stripe's capture and our write
// (the order still says approved); the owner's cancel must read the
// intent and refund what was captured.
func TestCancelAfterALostCaptureAnswer(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	c := &crashing{s: r.a.Payments.Sessions, i: r.a.Payments.Intents}
	r.a.Payments.Intents = c
	id, pi := r.approvedInBooks(t, s, "A", 1)
	c.armed.Store(true)
	r.settle(t, id)
	if o, _ := r.a.Orders.Get(context.Background(), id); o.State() != order.Approved || r.st.Intent(pi)["status"] != "succeeded" {
		t.Fatalf("after the lost answer: order %s, intent %v", o.State(), r.st.Intent(pi)["status"])
	}
	if ans := cancelAs(t, r, boss.IDToken, id); ans.status != 200 {
		t.Fatalf("cancel: %+v", ans.Error)
	}
	for i := 0; i < 3; i++ {
		r.settle(t, id)
	}
	o, _ := r.a.Orders.Get(context.Background(), id)
	if o.State() != order.Canceled || o.Payment.AmountCaptured != o.Total().Amount || r.stripeRefunded(pi) != o.Total().Amount {
		t.Errorf("order %s: captured %d, Stripe refunded %d of %d", o.State(), o.Payment.AmountCaptured, r.stripeRefunded(pi), o.Total().Amount)
	}
}

// Finding 2: the owner cancels while QuickBooks' answer to the invoice is
// held (the invoice was made): the invoice is found by its document
// number and voided, and a QuickBooks event about it meanwhile is acted
// on, not dropped as "no order".
func TestCancelWhileInvoiceInFlight(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	qb := localQuickBooks(t)
	u, id := readyToPay(t, r.a, s, "", "A", 1)
	hold := qb.HoldNext("POST", "/invoice", id)
	if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
		t.Fatal(err)
	}
	done := r.redriveInBackground(t, id)
	waitReached(t, hold.Reached(), "the invoice")
	if ans := cancelAs(t, r, boss.IDToken, id); ans.status != 200 {
		t.Fatalf("cancel: %+v", ans.Error)
	}
	invID := invoiceByDocNumber(t, id)
	outcome, err := r.a.Bookkeeping.HandleEvent(context.Background(), "Invoice", invID, "Create")
	if err != nil || outcome == "no order" {
		t.Errorf("the invoice's event: %q %v", outcome, err)
	}
	r.settle(t, id)
	hold.Release()
	<-done
	for i := 0; i < 3; i++ {
		r.settle(t, id)
	}
	if inv := qb.Invoice(invID); !strings.HasPrefix(inv["PrivateNote"].(string), "Voided") {
		t.Errorf("the canceled order's invoice is %v (balance %v)", inv["PrivateNote"], inv["Balance"])
	}
	if o, _ := r.a.Orders.Get(context.Background(), id); o.State() != order.Canceled || o.Invoice == nil || o.Invoice.ID != invID || o.WorkDue() {
		t.Errorf("order %s, invoice %+v, work due %v", o.State(), o.Invoice, o.WorkDue())
	}
}

// Finding 2: an event about an invoice whose order the store does not
// have (its document number names no order) alerts the owner.
func TestEventOfAnInvoiceWithoutAnOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	_, id := readyToPay(t, r.a, s, "", "A", 1)
	o, _ := r.a.Orders.Get(context.Background(), id)
	ghost := *o
	ghost.ID = order.NewID()
	inv, err := r.a.Bookkeeping.Books.Invoice(context.Background(), &ghost)
	if err != nil {
		t.Fatal(err)
	}
	outcome, err := r.a.Bookkeeping.HandleEvent(context.Background(), "Invoice", inv.ID, "Create")
	if err != nil || outcome == "no order" || len(r.alertsOf(t, ghost.ID, "")) != 1 {
		t.Errorf("an invoice of no order: %q %v, alerts %v", outcome, err, r.alertsOf(t, ghost.ID, ""))
	}
}

// invoiceByDocNumber finds the local QuickBooks' invoice of an order.
func invoiceByDocNumber(t tester, orderID string) string {
	t.Helper()
	for _, inv := range localQuickBooks(t).Invoices() {
		if inv["DocNumber"] == orderID {
			return inv["Id"].(string)
		}
	}
	t.Fatalf("no invoice of order %s", orderID)
	return ""
}

// Finding 3: Stripe stores a 5xx for the idempotency key and replays it;
// the capture reads the intent and retries under a new attempt key
// recorded on the order, and after a bound the order needs the owner
// (one alert), whose retry takes it on.
func TestCaptureAfterAReplayed5xx(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	id, pi := r.approvedInBooks(t, s, "A", 1)
	r.st.FailNext(1)
	r.settle(t, id)
	r.settle(t, id)
	o, _ := r.a.Orders.Get(context.Background(), id)
	if o.State() != order.Fulfilling && o.State() != order.Paid {
		t.Fatalf("after one 5xx the order is %s (%s)", o.State(), o.Attention)
	}
	keys := map[string]bool{}
	for _, c := range captures(r.st, pi) {
		keys[c.IdempotencyKey] = true
	}
	if len(keys) != 2 {
		t.Errorf("capture keys: %v", keys)
	}

	id2, _ := r.approvedInBooks(t, s, "A", 1)
	r.st.FailNext(1000)
	for i := 0; i < 8; i++ {
		r.settle(t, id2)
	}
	r.st.FailNext(0)
	o2, _ := r.a.Orders.Get(context.Background(), id2)
	if o2.State() != order.NeedsAttention || len(r.alertsOf(t, id2, "needs_attention")) != 1 {
		t.Fatalf("a capture failing again and again: %s, alerts %v", o2.State(), r.alertsOf(t, id2, ""))
	}
	if ans := rpc[storefront.Order](t, withRequestID(retryOrder(r.a)), boss.IDToken, map[string]any{"orderId": id2}); ans.status != 200 {
		t.Fatalf("retry: %+v", ans.Error)
	}
	if o2 = settle(t, r.a, id2); o2.Payment.AmountCaptured != o2.Total().Amount {
		t.Errorf("after the owner's retry: %s, captured %d", o2.State(), o2.Payment.AmountCaptured)
	}
}

// Finding 3, refunds: a 5xx on a refund is replayed for its key; the step
// looks for the refund at Stripe (by its metadata) and retries under a new
// key; the refund is made once.
func TestRefundAfterAReplayed5xx(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	o, pi := r.charged(t, s, "A", 2)
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(r.a)), boss.IDToken, map[string]any{"orderId": o.ID, "amount": 500, "reason": "scuffed"}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	r.st.FailNextPosts(1)
	for i := 0; i < 3; i++ {
		o, _ = r.a.Orders.Get(context.Background(), o.ID)
		_ = r.a.Flow.Redrive(context.Background(), o) // the first run meets the 5xx
	}
	o, _ = r.a.Orders.Get(context.Background(), o.ID)
	keys := map[string]bool{}
	for _, q := range r.st.Requests() {
		if q.Method == "POST" && q.Path == "/v1/refunds" {
			keys[q.IdempotencyKey] = true
		}
	}
	if rf := o.Payment.Refunds[0]; rf.RefundedAt.IsZero() || len(refundsAt(r.st, pi)) != 1 || r.stripeRefunded(pi) != 500 || len(keys) != 2 {
		t.Errorf("refund after a 5xx: %+v, at Stripe %v, keys %v", rf, refundsAt(r.st, pi), keys)
	}

	// Stripe failing every call: the refund is given up once its refunds,
	// re-read, hold none of it; one alert; the owner may ask again.
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(r.a)), boss.IDToken, map[string]any{"orderId": o.ID, "amount": 300, "reason": "late"}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	r.st.FailNextPosts(1000)
	for i := 0; i < order.MaxRefundAttempts+2; i++ {
		o, _ = r.a.Orders.Get(context.Background(), o.ID)
		_ = r.a.Flow.Redrive(context.Background(), o)
	}
	r.st.FailNextPosts(0)
	o = settle(t, r.a, o.ID)
	if rf := o.Payment.Refunds[1]; rf.PaymentFailure == "" || o.WorkDue() || len(r.alertsOf(t, o.ID, "refund_failed")) != 1 || r.stripeRefunded(pi) != 500 {
		t.Errorf("a refund Stripe kept failing: %+v, work due %v, alerts %v", rf, o.WorkDue(), r.alertsOf(t, o.ID, ""))
	}
}

// Review of round two: a refund made in Stripe's dashboard whose events
// have not arrived — before the owner's cancel, and after it but before
// the refund step — never makes the cancel's full refund fail: the cancel
// and the step re-read Stripe's refunds, and what is still to make is
// lowered to what is left.
func TestCancelAfterADashboardRefund(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	for _, before := range []bool{true, false} {
		o, pi := r.charged(t, s, "A", 2)
		total := o.Total().Amount
		r.st.SetEndpoint("") // the dashboard refund's events are late
		if before {
			if _, err := r.st.RefundOutside(pi, 1000); err != nil {
				t.Fatal(err)
			}
		}
		if ans := cancelAs(t, r, boss.IDToken, o.ID); ans.status != 200 {
			t.Fatalf("cancel: %+v", ans.Error)
		}
		if !before {
			if _, err := r.st.RefundOutside(pi, 1000); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 3; i++ {
			o = settle(t, r.a, o.ID)
		}
		r.st.SetEndpoint(r.hook)
		r.st.Redeliver()
		o = settle(t, r.a, o.ID)
		if r.stripeRefunded(pi) != total || o.RefundedTotal() != total || o.Refundable() != 0 || len(r.alertsOf(t, o.ID, "refund_failed")) != 0 || o.WorkDue() {
			t.Errorf("dashboard refund before the cancel %v: Stripe refunded %d of %d, the order %d (%+v), alerts %v", before,
				r.stripeRefunded(pi), total, o.RefundedTotal(), o.Payment.Refunds, r.alertsOf(t, o.ID, ""))
		}
	}
}

// Finding 4: a refund made in Stripe's dashboard arrives by webhook, is
// recorded as an outside refund, counted in what is left, recorded in
// QuickBooks; refunding "the rest" then refunds exactly the rest. A full
// refund in the dashboard of an order with parts still to ship moves it
// to refunded and alerts the owner.
func TestRefundsMadeOutside(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	o, pi := r.charged(t, s, "A", 2)
	total := o.Total().Amount
	if _, err := r.st.RefundOutside(pi, 1000); err != nil {
		t.Fatal(err)
	}
	r.st.Redeliver()
	for i := 0; i < 3; i++ {
		o = settle(t, r.a, o.ID)
	}
	if o.Refundable() != total-1000 || o.RefundedTotal() != 1000 || len(o.Payment.Refunds) != 1 || !o.Payment.Refunds[0].Outside {
		t.Fatalf("after a $10 dashboard refund: refundable %d, refunded %d, %+v", o.Refundable(), o.RefundedTotal(), o.Payment.Refunds)
	}
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(r.a)), boss.IDToken, map[string]any{"orderId": o.ID, "amount": total - 1000, "reason": "the rest"}); ans.status != 200 {
		t.Fatalf("refund the rest: %+v", ans.Error)
	}
	for i := 0; i < 3; i++ {
		o = settle(t, r.a, o.ID)
	}
	if o.State() != order.Refunded || r.stripeRefunded(pi) != total || len(receiptsOf(t, o.ID)) != 2 {
		t.Errorf("after the rest: %s, Stripe refunded %d of %d, receipts %d", o.State(), r.stripeRefunded(pi), total, len(receiptsOf(t, o.ID)))
	}

	full, pi2 := r.charged(t, s, "A", 1)
	if _, err := r.st.RefundOutside(pi2, 0); err != nil {
		t.Fatal(err)
	}
	r.st.Redeliver()
	for i := 0; i < 3; i++ {
		full = settle(t, r.a, full.ID)
	}
	if full.State() != order.Refunded || len(r.alertsOf(t, full.ID, "refunded_outside")) != 1 {
		t.Errorf("after a full dashboard refund: %s, alerts %v", full.State(), r.alertsOf(t, full.ID, ""))
	}
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(r.a)), boss.IDToken, map[string]any{"orderId": full.ID, "amount": 100, "reason": "more"}); ans.status == 200 {
		t.Errorf("a refund of a fully refunded order was accepted")
	}
}

// Finding 4: a refund is made only when Stripe says it succeeded: pending
// waits; one that fails later is not counted and alerts the owner once.
// A dispute is marked on the order and alerts the owner.
func TestRefundStatusesAndDisputes(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	o, pi := r.charged(t, s, "A", 2)
	r.st.PendingNext()
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(r.a)), boss.IDToken, map[string]any{"orderId": o.ID, "amount": 300, "reason": "late"}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	for i := 0; i < 2; i++ {
		o = settle(t, r.a, o.ID)
	}
	rf := o.Payment.Refunds[0]
	if !rf.RefundedAt.IsZero() || rf.ProviderID == "" || o.RefundedTotal() != 0 || o.Refundable() != o.Total().Amount-300 {
		t.Fatalf("a pending refund: %+v, refunded %d", rf, o.RefundedTotal())
	}
	if err := r.st.SetRefundStatus(rf.ProviderID, "succeeded"); err != nil {
		t.Fatal(err)
	}
	r.st.Redeliver()
	o = settle(t, r.a, o.ID)
	if o.RefundedTotal() != 300 || len(receiptsOf(t, o.ID)) != 1 {
		t.Fatalf("the pending refund succeeded: refunded %d, receipts %d", o.RefundedTotal(), len(receiptsOf(t, o.ID)))
	}
	if err := r.st.SetRefundStatus(rf.ProviderID, "failed"); err != nil {
		t.Fatal(err)
	}
	r.st.Redeliver()
	r.st.Redeliver()
	o = settle(t, r.a, o.ID)
	if o.RefundedTotal() != 0 || o.Refundable() != o.Total().Amount || len(r.alertsOf(t, o.ID, "refund_failed")) != 1 {
		t.Errorf("the refund failed later: refunded %d, refundable %d, alerts %v", o.RefundedTotal(), o.Refundable(), r.alertsOf(t, o.ID, ""))
	}

	dp := r.st.Dispute(pi)
	r.st.Redeliver()
	o, _ = r.a.Orders.Get(context.Background(), o.ID)
	if o.Payment.Dispute == nil || o.Payment.Dispute.ID != dp || len(r.alertsOf(t, o.ID, "payment_disputed")) != 1 {
		t.Errorf("a dispute: %+v, alerts %v", o.Payment.Dispute, r.alertsOf(t, o.ID, ""))
	}
}

// Finding 5: the invoice voided in QuickBooks after the capture: the books
// and the money disagree; the owner gets one alert.
func TestVoidAfterCaptureAlerts(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	o, _ := r.charged(t, s, "A", 1)
	if err := localQuickBooks(t).VoidInvoice(o.Invoice.ID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := r.a.Bookkeeping.HandleEvent(context.Background(), "Invoice", o.Invoice.ID, "Void"); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.alertsOf(t, o.ID, "invoice_voided"); len(got) != 1 {
		t.Errorf("alerts after a void of a charged order's invoice: %v", r.alertsOf(t, o.ID, ""))
	}
}

// Finding 6: a completed session whose PaymentIntent names another order
// (its metadata edited) is a stray: released, and the owner alerted.
func TestSessionWithAnotherOrdersIntent(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	ux, x := readyToPay(t, r.a, s, "", "A", 1)
	_, y := readyToPay(t, r.a, s, "", "A", 2)
	sx := r.mustSession(t, ux.IDToken, x)
	r.st.SetEndpoint("")
	pi, err := r.st.Pay(sx)
	if err != nil {
		t.Fatal(err)
	}
	r.st.SetIntentMetadata(pi, "orderId", y)
	r.st.SetEndpoint(r.hook)
	r.st.Redeliver()
	r.settle(t, x, y)
	if st := r.st.Intent(pi)["status"]; st != "canceled" {
		t.Errorf("the authorization of a session whose intent names order %s is %v", y, st)
	}
	if got := append(r.alertsOf(t, x, "stray_payment"), r.alertsOf(t, y, "stray_payment")...); len(got) != 1 {
		t.Errorf("stray alerts: %v", got)
	}
	_ = testenv.ID
}

// Finding 22: a refund receipt paid from a Bank account carries a
// PaymentRefNum, so QuickBooks does not list it "To Print".
func TestRefundReceiptFromABankAccount(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_QUICKBOOKS_REFUND_ACCOUNT": "Checking"})
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	o, _ := r.charged(t, s, "A", 1)
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(r.a)), boss.IDToken, map[string]any{"orderId": o.ID, "amount": 200, "reason": "late"}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	for i := 0; i < 2; i++ {
		o = settle(t, r.a, o.ID)
	}
	receipts := receiptsOf(t, o.ID)
	if len(receipts) != 1 {
		t.Fatalf("refund receipts: %v", receipts)
	}
	for _, rr := range receipts {
		if ref, _ := rr["PaymentRefNum"].(string); ref == "" || rr["PrintStatus"] == "NeedToPrint" {
			t.Errorf("a refund receipt from a bank account: PaymentRefNum %q, PrintStatus %v", ref, rr["PrintStatus"])
		}
	}
}

// Finding 3, the release of money: a 5xx stored for cancel-<orderId> (or a
// session's expire key) must not keep the authorization held for the 24
// hours Stripe replays it; canceling and expiring are idempotent by
// nature and are tried again without the key.
func TestReplayed5xxDoesNotHoldTheAuthorization(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	u, id := readyToPay(t, r.a, s, "", "A", 1)
	pi, err := r.st.Pay(r.mustSession(t, u.IDToken, id))
	if err != nil {
		t.Fatal(err)
	}
	r.settle(t, id)
	if ans := cancelAs(t, r, boss.IDToken, id); ans.status != 200 {
		t.Fatalf("cancel: %+v", ans.Error)
	}
	r.st.FailNext(1)
	for i := 0; i < 3; i++ {
		r.settle(t, id)
	}
	o, _ := r.a.Orders.Get(context.Background(), id)
	if st := r.st.Intent(pi)["status"]; st != "canceled" || o.WorkDue() {
		t.Errorf("after a 5xx on the cancel: the authorization is %v, work due %v (%+v)", st, o.WorkDue(), o.Work)
	}
}
