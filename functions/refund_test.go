package functions

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/fulfilment"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	webhookev "github.com/readyplanner/oms/internal/webhook"
)

// charged takes an order of lines through payment, its invoice in the
// local QuickBooks (recorded paid there, as the owner does), the capture
// and the fulfil step: a charged order whose books say where the money
// went.
func (r *rig) charged(t *testing.T, s *store, lines ...any) (*order.Order, string) {
	t.Helper()
	id, pi := r.approvedInBooks(t, s, lines...)
	o := settle(t, r.a, id)
	if o.State() != order.Fulfilling || o.Payment.AmountCaptured != o.Total().Amount {
		t.Fatalf("not charged: %s %+v", o.State(), o.Payment)
	}
	return o, pi
}

// approvedInBooks takes an order of lines through payment and its invoice
// in the local QuickBooks, which the owner records paid there; the
// reconcile approves it. Its capture and fulfilment steps are next.
func (r *rig) approvedInBooks(t *testing.T, s *store, lines ...any) (id, pi string) {
	t.Helper()
	a := r.a
	u, id := readyToPay(t, a, s, "", lines...)
	pi, err := r.st.Pay(r.mustSession(t, u.IDToken, id))
	if err != nil {
		t.Fatal(err)
	}
	o := settle(t, a, id)
	if o.State() != order.Invoiced || o.Invoice == nil {
		t.Fatalf("not invoiced: %s %+v", o.State(), o.Invoice)
	}
	if err := localQuickBooks(t).MarkPaid(o.Invoice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bookkeeping.Reconcile(context.Background(), r.clk.Now().Add(a.Config.RedriveAfter+1)); err != nil {
		t.Fatal(err)
	}
	return id, pi
}

// refundsAt are Stripe's refunds of an intent.
func refundsAt(st *stripefake.Server, pi string) []map[string]any {
	var out []map[string]any
	for _, re := range st.Refunds() {
		if re["payment_intent"] == pi {
			out = append(out, re)
		}
	}
	return out
}

// num reads a number of the local Stripe's JSON-shaped objects.
func num(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return -1
}

// receiptsOf are the local QuickBooks' refund receipts of an order, by
// DocNumber; a DocNumber recorded twice makes the test fail.
func receiptsOf(t *testing.T, orderID string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, rr := range localQuickBooks(t).RefundReceipts() {
		if dn, _ := rr["DocNumber"].(string); strings.HasPrefix(dn, orderID+"-R") {
			if out[dn] != nil {
				t.Errorf("refund receipt %s recorded twice: %v and %v", dn, out[dn]["Id"], rr["Id"])
			}
			out[dn] = rr
		}
	}
	return out
}

// losingRefunds is a payment provider whose next refund reaches Stripe
// and whose answer is lost (the host died after Stripe answered).
type losingRefunds struct {
	payments.Intents
	lose atomic.Bool
}

func (l *losingRefunds) Refund(ctx context.Context, r payments.RefundRequest) (payments.RefundResult, error) {
	re, err := l.Intents.Refund(ctx, r)
	if err == nil && l.lose.CompareAndSwap(true, false) {
		return payments.RefundResult{}, apperr.New(apperr.Unavailable, "the host died after Stripe answered")
	}
	return re, err
}

// The owner refunds part of a charged order, then the rest: each refund is
// made once at Stripe (key refund-<orderId>-<n>) and recorded once in
// QuickBooks as a refund receipt from the account the payment went to,
// under a duplicate step, a step run on a stale copy of the order and a
// crash after Stripe answered; the order is refunded (and its held stock
// back on the shelf) when the refunds reach the charge; nothing more can
// be refunded then.
func TestOwnerRefundsPartThenAll(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a, ctx := r.a, context.Background()
	lose := &losingRefunds{Intents: a.Payments.Intents}
	a.Payments.Intents = lose
	s := newStore(t, a, 10, 10)
	o, pi := r.charged(t, s, "A", 2, "P", 1)
	total := o.Total().Amount
	boss := owner(t)
	refund := func(token string, data map[string]any) rpcAnswer[storefront.RefundOrderAnswer] {
		data["orderId"] = o.ID
		return rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), token, data)
	}

	if ans := refund(user(t).IDToken, map[string]any{"amount": 500, "reason": "mine"}); ans.Error.Status != "PERMISSION_DENIED" {
		t.Errorf("a customer refunding: %+v", ans.Error)
	}
	if ans := refund(boss.IDToken, map[string]any{"amount": total + 1, "reason": "too much"}); !strings.Contains(string(ans.Error.Details), `"refundable":`+fmt.Sprint(total)) {
		t.Errorf("more than was charged: %+v", ans.Error)
	}
	ans := refund(boss.IDToken, map[string]any{"amount": 500, "reason": "the cover arrived scuffed"})
	if ans.status != 200 || ans.Result.Refund.N != 1 || ans.Result.Refund.Amount != 500 || ans.Result.Refund.Refundable != total-500 ||
		ans.Result.Order.State != order.Fulfilling || ans.Result.Order.Refunded != 0 {
		t.Fatalf("refund 500: %d %+v %+v", ans.status, ans.Error, ans.Result)
	}
	stale, _ := a.Orders.Get(ctx, o.ID)
	h := stale.History()
	if last := h[len(h)-1]; last.Actor != "owner:"+boss.UID || last.From != last.To || !strings.Contains(last.Reason, "scuffed") {
		t.Errorf("the refund in the history: %+v", last)
	}

	// The host dies after Stripe made the refund; the re-drive makes none.
	lose.lose.Store(true)
	if err := a.Flow.Redrive(ctx, stale); err == nil {
		t.Fatal("the lost answer was not an error")
	}
	refundStep, bookStep := a.Payments.Steps()[orderflow.StepRefundPayment], a.Bookkeeping.Steps()[orderflow.StepRecordRefund]
	if err := refundStep(ctx, orderflow.Transition{Order: stale}); err != nil {
		t.Fatal(err)
	}
	if err := refundStep(ctx, orderflow.Transition{Order: stale}); err != nil { // a duplicate on a stale copy
		t.Fatal(err)
	}
	made, _ := a.Orders.Get(ctx, o.ID)
	if !made.Payment.Refunds[0].BooksDue() {
		t.Fatalf("refund 1 after the payment step: %+v", made.Payment.Refunds[0])
	}
	for i := 0; i < 2; i++ { // the books' step twice on the same copy: a duplicate delivery
		if err := bookStep(ctx, orderflow.Transition{Order: made}); err != nil {
			t.Fatal(err)
		}
	}
	o = settle(t, a, o.ID)
	res := refundsAt(r.st, pi)
	rcpts := receiptsOf(t, o.ID)
	if len(res) != 1 || num(res[0]["amount"]) != 500 || res[0]["metadata"].(map[string]any)["orderId"] != o.ID {
		t.Fatalf("Stripe's refunds: %v", res)
	}
	rc := rcpts[o.ID+"-R1"]
	if len(rcpts) != 1 || rc == nil || fmt.Sprint(rc["TotalAmt"]) != "5.00" ||
		rc["DepositToAccountRef"].(map[string]any)["value"] != qbfake.UndepositedFunds {
		t.Fatalf("QuickBooks' refund receipts: %v", rcpts)
	}
	if inv := localQuickBooks(t).Invoice(o.Invoice.ID); fmt.Sprint(rc["CustomerRef"]) != fmt.Sprint(inv["CustomerRef"]) {
		t.Errorf("the receipt's customer %v, the invoice's %v", rc["CustomerRef"], inv["CustomerRef"])
	}
	// The lost answer's refund is found by re-reading the charge's
	// refunds (its metadata names the order and the refund) before any
	// second call; every call carried the refund's key.
	keys := map[string]int{}
	for _, req := range r.st.Requests() {
		if req.Method == "POST" && req.Path == "/v1/refunds" && req.Form.Get("metadata[orderId]") == o.ID && req.Form.Get("metadata[refund]") == "1" {
			keys[req.IdempotencyKey]++
		}
	}
	if len(keys) != 1 || keys["refund-"+o.ID+"-1"] == 0 {
		t.Errorf("the calls for refund 1 carried %v; each must carry refund-%s-1", keys, o.ID)
	}
	rf := o.Payment.Refunds[0]
	if o.State() != order.Fulfilling || o.PaymentStatus() != order.PaymentPartiallyRefunded || o.RefundedTotal() != 500 ||
		rf.ProviderID != res[0]["id"] || rf.ReceiptID != rc["Id"] || o.WorkDue() {
		t.Errorf("after refund 1: %s %s refunded %d, %+v, work due %v", o.State(), o.PaymentStatus(), o.RefundedTotal(), rf, o.WorkDue())
	}
	var doc map[string]any
	snap, _ := a.Firestore.Collection("orders").Doc(o.ID).Get(ctx)
	_ = snap.DataTo(&doc)
	if doc["refunded"] != int64(500) || doc["paymentStatus"] != "partially_refunded" {
		t.Errorf("the document: refunded %v, paymentStatus %v", doc["refunded"], doc["paymentStatus"])
	}

	// The rest (full: true).
	ans = refund(boss.IDToken, map[string]any{"full": true, "reason": "the customer changed their mind"})
	if ans.status != 200 || ans.Result.Refund.N != 2 || ans.Result.Refund.Amount != total-500 || ans.Result.Refund.Refundable != 0 {
		t.Fatalf("refund the rest: %d %+v %+v", ans.status, ans.Error, ans.Result)
	}
	o = settle(t, a, o.ID)
	o = settle(t, a, o.ID) // refunded: its stock step
	res, rcpts = refundsAt(r.st, pi), receiptsOf(t, o.ID)
	if len(res) != 2 || num(res[1]["amount"]) != total-500 || len(rcpts) != 2 || fmt.Sprint(rcpts[o.ID+"-R2"]["TotalAmt"]) != fmt.Sprintf("%d.%02d", (total-500)/100, (total-500)%100) {
		t.Fatalf("after refund 2: Stripe %v, QuickBooks %v", res, rcpts)
	}
	if o.State() != order.Refunded || o.PaymentStatus() != order.PaymentRefunded || o.RefundedTotal() != total || o.WorkDue() || !o.HoldsReleased {
		t.Errorf("after refund 2: %s %s refunded %d of %d, work due %v, holds released %v", o.State(), o.PaymentStatus(), o.RefundedTotal(), total, o.WorkDue(), o.HoldsReleased)
	}
	if on, held := s.level("A"); on != 10 || held != 0 {
		t.Errorf("stock after the full refund of an unshipped order: %d on hand, %d held", on, held)
	}
	if in := r.st.Intent(pi); num(in["amount_received"]) != total {
		t.Errorf("intent %v", in)
	}
	again := refund(boss.IDToken, map[string]any{"amount": 1, "reason": "once more"})
	if !strings.Contains(string(again.Error.Details), `"fully_refunded"`) {
		t.Errorf("a refund of a refunded order: %+v", again.Error)
	}
	if ans := refund(boss.IDToken, map[string]any{"amount": 0, "reason": "zero"}); !strings.Contains(string(ans.Error.Details), `"amount_invalid"`) {
		t.Errorf("amount 0: %+v", ans.Error)
	}
}

// A refund Stripe refuses (a disputed charge) and one QuickBooks refuses
// to record (no refund item) are each recorded on the refund with one
// owner alert, however often the steps run again, and stop being due.
func TestRefusedRefundsAlertOnce(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_QUICKBOOKS_REFUND_ITEM": "Gift Cards " + t.Name()})
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	boss := owner(t)
	alerts := func(id string) []string {
		snaps, _ := a.Firestore.Collection("alerts").Where("orderId", "==", id).Where("kind", "==", "refund_failed").Documents(ctx).GetAll()
		var keys []string
		for _, s := range snaps {
			keys = append(keys, s.Ref.ID)
		}
		return keys
	}

	disputed, pi := r.charged(t, s, "A", 1)
	r.st.Dispute(pi)
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, map[string]any{"orderId": disputed.ID, "full": true, "reason": "damaged"}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	for i := 0; i < 3; i++ {
		disputed = settle(t, a, disputed.ID)
	}
	rf := disputed.Payment.Refunds[0]
	if !strings.Contains(rf.PaymentFailure, "charged back") || disputed.WorkDue() || disputed.RefundedTotal() != 0 ||
		disputed.State() != order.Fulfilling || len(alerts(disputed.ID)) != 1 || disputed.Refundable() != disputed.Total().Amount {
		t.Errorf("a refused refund: %+v, work due %v, alerts %v", rf, disputed.WorkDue(), alerts(disputed.ID))
	}

	unbooked, pi2 := r.charged(t, s, "A", 1)
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, map[string]any{"orderId": unbooked.ID, "amount": 100, "reason": "late"}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	for i := 0; i < 3; i++ {
		unbooked = settle(t, a, unbooked.ID)
	}
	rf = unbooked.Payment.Refunds[0]
	if len(refundsAt(r.st, pi2)) != 1 || rf.RefundedAt.IsZero() || !strings.Contains(rf.BooksFailure, "Gift Cards") || unbooked.WorkDue() ||
		len(alerts(unbooked.ID)) != 1 || len(receiptsOf(t, unbooked.ID)) != 0 {
		t.Errorf("a refund the books refused: %+v, work due %v, alerts %v", rf, unbooked.WorkDue(), alerts(unbooked.ID))
	}
}

// The owner cancels a charged order whose print job the printer has not
// started: the job is canceled first, then the order is canceled with a
// refund of everything, made once at Stripe and recorded in QuickBooks;
// the printer's CANCELED delivery alerts nobody. A job in production, or a
// parcel already shipped, is refused (refund instead), and nothing
// changes.
func TestOwnerCancelsAfterCapture(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	boss := owner(t)
	printer := localFakes(t).Printer
	cancel := func(id string) rpcAnswer[storefront.Order] {
		return rpc[storefront.Order](t, withRequestID(cancelOrder(a)), boss.IDToken, map[string]any{"orderId": id, "reason": "the customer wrote: wrong year"})
	}

	o, pi := r.charged(t, s, "P", 1, "A", 1)
	job := o.Part(order.PartPrint).JobID
	if job == "" || printer.Jobs()[job] != "CREATED" {
		t.Fatalf("the job: %q %v", job, printer.Jobs()[job])
	}
	ans := cancel(o.ID)
	if ans.status != 200 || ans.Result.State != order.Canceled || printer.Jobs()[job] != "CANCELED" {
		t.Fatalf("cancel: %d %+v, job %s", ans.status, ans.Error, printer.Jobs()[job])
	}
	o = settle(t, a, o.ID)
	if _, err := a.Parts.HandleEvent(ctx, jobEvent(job)); err != nil { // the printer's CANCELED delivery
		t.Fatal(err)
	}
	o = settle(t, a, o.ID)
	res, rcpts := refundsAt(r.st, pi), receiptsOf(t, o.ID)
	if len(res) != 1 || num(res[0]["amount"]) != o.Total().Amount || len(rcpts) != 1 {
		t.Fatalf("the refund: Stripe %v, QuickBooks %v", res, rcpts)
	}
	if o.State() != order.Canceled || o.PaymentStatus() != order.PaymentRefunded || !o.HoldsReleased || o.WorkDue() ||
		o.Part(order.PartPrint).Status != order.PartCanceled || o.Part(order.PartParcel).Status != order.PartCanceled {
		t.Errorf("after the cancel: %s %s holds released %v work due %v parts %+v", o.State(), o.PaymentStatus(), o.HoldsReleased, o.WorkDue(), o.Parts)
	}
	snaps, _ := a.Firestore.Collection("alerts").Where("orderId", "==", o.ID).Where("kind", "==", "print_job").Documents(ctx).GetAll()
	if len(snaps) != 0 {
		t.Errorf("%d print alerts for a job the owner canceled", len(snaps))
	}
	if again := cancel(o.ID); again.status != 200 || len(refundsAt(r.st, pi)) != 1 {
		t.Errorf("canceling again: %+v", again.Error)
	}

	busy, _ := r.charged(t, s, "P", 1)
	busyJob := busy.Part(order.PartPrint).JobID
	if err := printer.SetStatus(busyJob, "IN_PRODUCTION", "Printing."); err != nil {
		t.Fatal(err)
	}
	if ans := cancel(busy.ID); !strings.Contains(string(ans.Error.Details), `"in_production"`) || !strings.Contains(string(ans.Error.Details), "IN_PRODUCTION") {
		t.Errorf("canceling an order in production: %+v", ans.Error)
	}
	if cur, _ := a.Orders.Get(ctx, busy.ID); cur.State() != order.Fulfilling || len(cur.Payment.Refunds) != 0 || printer.Jobs()[busyJob] != "IN_PRODUCTION" {
		t.Errorf("the refused cancel changed the order: %s %+v", cur.State(), cur.Payment.Refunds)
	}

	sent, _ := r.charged(t, s, "A", 1, "P", 1)
	if ship := rpc[storefront.Order](t, withRequestID(markShipped(a)), boss.IDToken, map[string]any{"orderId": sent.ID, "partId": "parcel", "carrier": "USPS", "trackingNumber": "9400"}); ship.status != 200 {
		t.Fatal(ship.Error)
	}
	if ans := cancel(sent.ID); !strings.Contains(string(ans.Error.Details), `"part_shipped"`) {
		t.Errorf("canceling an order with a parcel shipped: %+v", ans.Error)
	}
}

// jobEvent is a recorded printer event of job (its status is re-read).
func jobEvent(job string) webhookev.Event {
	return webhookev.Event{ID: "test-" + job, Printer: &webhookev.PrinterEvent{JobID: job}}
}

// hookedPrinter runs before, once, just before the first job is created:
// another request interleaving with the print step.
type hookedPrinter struct {
	fulfilment.Printer
	before func(r fulfilment.PrintJobRequest)
	once   atomic.Bool
}

func (h *hookedPrinter) CreateJob(ctx context.Context, r fulfilment.PrintJobRequest) (fulfilment.PrintJob, error) {
	if h.once.CompareAndSwap(false, true) {
		h.before(r)
	}
	return h.Printer.CreateJob(ctx, r)
}

// The owner cancels a charged order while its print job is being made
// (the step has claimed the part; the printer has no job yet): the cancel
// goes through, and the job the step makes right after is canceled at the
// printer by the step itself, so nothing prints; the order is refunded.
func TestCancelWhileThePrintJobIsMade(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := r.a
	s := newStore(t, a, 10, 10)
	boss := owner(t)
	var canceled rpcAnswer[storefront.Order]
	hp := &hookedPrinter{Printer: a.Parts.Printer, before: func(req fulfilment.PrintJobRequest) {
		canceled = rpc[storefront.Order](t, withRequestID(cancelOrder(a)), boss.IDToken, map[string]any{"orderId": req.ExternalID, "reason": "changed their mind"})
	}}
	a.Parts.Printer = hp
	id, pi := r.approvedInBooks(t, s, "P", 1)
	settle(t, a, id) // → fulfilling, the print step: the owner cancels meanwhile
	o := settle(t, a, id)
	if canceled.status != 200 || canceled.Result.State != order.Canceled {
		t.Fatalf("the cancel meanwhile: %d %+v", canceled.status, canceled.Error)
	}
	part := o.Part(order.PartPrint)
	if o.State() != order.Canceled || part.Status != order.PartCanceled || part.JobID == "" || jobsOf(t, id) != 1 ||
		localFakes(t).Printer.Jobs()[part.JobID] != "CANCELED" {
		t.Errorf("after the step: %s, part %+v, %d jobs, job %s", o.State(), part, jobsOf(t, id), localFakes(t).Printer.Jobs()[part.JobID])
	}
	if res := refundsAt(r.st, pi); len(res) != 1 || num(res[0]["amount"]) != o.Total().Amount || o.PaymentStatus() != order.PaymentRefunded {
		t.Errorf("the refund: %v, %s", res, o.PaymentStatus())
	}
}
