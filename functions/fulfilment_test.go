package functions

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/fulfilment"
	"github.com/readyplanner/oms/internal/lulu"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/storefront"
)

// fulfilling takes an order of lines through payment, approval and
// capture, and runs the order flow until it stops moving (paid → fulfil →
// fulfilling, its steps run).
func fulfilling(t *testing.T, a *app.App, s *store, lines ...any) (emulator.User, *order.Order) {
	t.Helper()
	u, id, _ := authorizedWith(t, a, s, lines...)
	approve(t, a, id)
	return u, settle(t, a, id)
}

// settle runs the order's steps as the trigger would, until it stops
// moving, and returns it.
func settle(t *testing.T, a *app.App, id string) *order.Order {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		o, err := a.Orders.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Flow.Redrive(ctx, o); err != nil {
			t.Fatalf("steps of %s: %v", o.State(), err)
		}
		if o2, _ := a.Orders.Get(ctx, id); o2.State() == o.State() {
			return o2
		}
	}
	t.Fatal("the order kept moving")
	return nil
}

// A paid order is split into its parts (a print part for the planner, a
// parcel part for the stickers) and moves to fulfilling, once under a
// duplicate step; the owner is told once that a parcel waits; the order is
// shipped only when both parts have, and then its stock leaves the shelf.
func TestPaidOrderShipsInParts(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "A", 2, "P", 1)
	if o.State() != order.Fulfilling || len(o.Parts) != 2 {
		t.Fatalf("after payment: %s, parts %+v", o.State(), o.Parts)
	}
	print, parcel := o.Part(order.PartPrint), o.Part(order.PartParcel)
	if print == nil || parcel == nil || print.Lines[0].SKU != s.sku["P"] || parcel.Lines[0].SKU != s.sku["A"] || parcel.Lines[0].Quantity != 2 ||
		print.Status != order.PartSubmitted || print.JobID == "" || parcel.Status != order.PartWaiting {
		t.Fatalf("parts %+v", o.Parts)
	}
	// A duplicate fulfil step (a redelivered event of the paid state).
	if err := a.Parts.Steps()[orderflow.StepFulfil](ctx, orderflow.Transition{Order: o, To: order.Paid}); err != nil {
		t.Fatal(err)
	}
	settle(t, a, o.ID)
	o, _ = a.Orders.Get(ctx, o.ID)
	n := 0
	for _, c := range o.History() {
		if c.To == order.Fulfilling {
			n++
		}
	}
	if len(o.Parts) != 2 || n != 1 {
		t.Errorf("after a duplicate step: %d parts, %d moves to fulfilling", len(o.Parts), n)
	}
	snaps, _ := a.Firestore.Collection("alerts").Where("orderId", "==", o.ID).Where("kind", "==", "parcel_to_ship").Documents(ctx).GetAll()
	if len(snaps) != 1 || !strings.Contains(snaps[0].Data()["text"].(string), "2 × Sticker pack") {
		t.Errorf("parcel alerts: %d", len(snaps))
	}

	boss := owner(t)
	ship := func(data map[string]any) rpcAnswer[storefront.Order] {
		t.Helper()
		data["orderId"] = o.ID
		return rpc[storefront.Order](t, withRequestID(markShipped(a)), boss.IDToken, data)
	}
	ans := ship(map[string]any{"partId": "parcel", "carrier": "USPS", "trackingNumber": "9400 1000 0000 0000 0000 00", "trackingUrl": "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400"})
	if ans.status != 200 || ans.Result.State != order.Fulfilling || ans.Result.Fulfilment == nil {
		t.Fatalf("parcel shipped: %d %+v %+v", ans.status, ans.Error, ans.Result)
	}
	for _, p := range ans.Result.Fulfilment.Parts {
		if p.ID == "parcel" && (p.Status != "shipped" || p.Carrier != "USPS" || p.ShippedAt == nil) {
			t.Errorf("the parcel part: %+v", p)
		}
	}
	if again := ship(map[string]any{"partId": "parcel", "carrier": "USPS", "trackingNumber": "9400 1000 0000 0000 0000 00"}); again.status != 200 {
		t.Errorf("the same tracking again: %+v", again.Error)
	}
	if other := ship(map[string]any{"partId": "parcel", "carrier": "UPS", "trackingNumber": "1Z999"}); other.Error.Status != "FAILED_PRECONDITION" ||
		!strings.Contains(string(other.Error.Details), "already_shipped") {
		t.Errorf("other tracking: %+v", other.Error)
	}
	if printer := ship(map[string]any{"partId": "print", "carrier": "USPS", "trackingNumber": "1"}); !strings.Contains(string(printer.Error.Details), "not_a_parcel") {
		t.Errorf("the print part by hand: %+v", printer.Error)
	}
	if on, held := s.level("A"); on != 10 || held != 2 {
		t.Errorf("before shipping: %d on hand, %d held", on, held)
	}
	// The printer ships its part; the sweeper's re-read brings it in (the
	// webhook's path is TestPrinterWebhook's).
	if err := localFakes(t).Printer.Ship(print.JobID, "USPS", "9400 1111", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Parts.Tasks(a.Config.RedriveAfter)["rereadPrintJobs"](ctx, time.Now().Add(a.Config.RedriveAfter+time.Minute)); err != nil {
		t.Fatal(err)
	}
	o = settle(t, a, o.ID)
	if o.State() != order.Shipped || !o.StockCommitted {
		t.Errorf("both parts shipped: %s, stock committed %v", o.State(), o.StockCommitted)
	}
	if on, held := s.level("A"); on != 8 || held != 0 {
		t.Errorf("after shipping: %d on hand, %d held", on, held)
	}
}

// A stock-only order ships when the owner ships its parcel; the history
// says who.
func TestParcelOnlyOrderShipsByTheOwner(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	u, o := fulfilling(t, a, s, "B", 1)
	if len(o.Parts) != 1 || o.Parts[0].ID != "parcel" {
		t.Fatalf("parts %+v", o.Parts)
	}
	boss := owner(t)
	if ans := rpc[json.RawMessage](t, withRequestID(markShipped(a)), u.IDToken, map[string]any{"orderId": o.ID, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"}); ans.Error.Status != "PERMISSION_DENIED" {
		t.Errorf("the customer marking it shipped: %d %+v", ans.status, ans.Error)
	}
	ans := rpc[storefront.Order](t, withRequestID(markShipped(a)), boss.IDToken, map[string]any{"orderId": o.ID, "partId": "parcel", "carrier": "UPS", "trackingNumber": "1Z999AA10123456784"})
	if ans.status != 200 || ans.Result.State != order.Shipped {
		t.Fatalf("shipped: %d %+v %s", ans.status, ans.Error, ans.Result.State)
	}
	o, _ = a.Orders.Get(context.Background(), o.ID)
	h := o.History()
	if last := h[len(h)-1]; last.To != order.Shipped || last.Actor != "owner:"+boss.UID {
		t.Errorf("history %+v", last)
	}
}

// losingPrinter is a printer whose next job creation reaches the printer
// and whose answer is lost; with dies, the host died then too (its
// runner asks the printer nothing more).
type losingPrinter struct {
	fulfilment.Printer
	lose, dies, dead atomic.Bool
}

func (l *losingPrinter) CreateJob(ctx context.Context, r fulfilment.PrintJobRequest) (fulfilment.PrintJob, error) {
	j, err := l.Printer.CreateJob(ctx, r)
	if err == nil && l.lose.CompareAndSwap(true, false) {
		l.dead.Store(l.dies.Load())
		return fulfilment.PrintJob{}, apperr.New(apperr.Unavailable, "the printer's answer was lost").Because(lulu.ReasonUnavailable)
	}
	return j, err
}

func (l *losingPrinter) FindJob(ctx context.Context, externalID string) (*fulfilment.PrintJob, error) {
	if l.dead.CompareAndSwap(true, false) {
		return nil, apperr.New(apperr.Unavailable, "the host died after the printer answered").Because(lulu.ReasonUnavailable)
	}
	return l.Printer.FindJob(ctx, externalID)
}

// jobsOf counts the local printer's jobs of an order.
func jobsOf(t *testing.T, id string) int {
	t.Helper()
	n := 0
	for _, r := range localFakes(t).Printer.Requests() {
		if r.Method == "POST" && r.Path == "/print-jobs/" && strings.Contains(string(r.Body), `"external_id":"`+id+`"`) {
			n++
		}
	}
	return n
}

// One print job per order: under five runs of the step at once, and when
// the host dies after the printer made the job (the re-drive finds it by
// the order id instead of printing it twice).
func TestOnePrintJobPerOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := r.a
	lp := &losingPrinter{Printer: a.Parts.Printer}
	a.Parts.Printer = lp
	s := newStore(t, a, 10, 10)
	ctx := context.Background()
	paid := func() *order.Order {
		u, id := readyToPay(t, a, s, "", "P", 1)
		if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
			t.Fatal(err)
		}
		approve(t, a, id)
		o, _ := a.Orders.Get(ctx, id)
		return o
	}

	// Five runs at once of the fulfil and print steps.
	o := paid()
	steps := a.Parts.Steps()
	if err := steps[orderflow.StepFulfil](ctx, orderflow.Transition{Order: o, To: order.Paid}); err != nil {
		t.Fatal(err)
	}
	o, _ = a.Orders.Get(ctx, o.ID)
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = steps[orderflow.StepSubmitPrintJob](ctx, orderflow.Transition{Order: o, To: order.Fulfilling})
		}()
	}
	wg.Wait()
	o = settle(t, a, o.ID)
	if p := o.Part(order.PartPrint); jobsOf(t, o.ID) != 1 || p.JobID == "" || p.Status != order.PartSubmitted {
		t.Errorf("five runs at once: %d jobs, part %+v", jobsOf(t, o.ID), p)
	}

	// The host dies after the printer made the job.
	o2 := paid()
	lp.lose.Store(true)
	lp.dies.Store(true)
	if err := a.Flow.Redrive(ctx, o2); err != nil { // paid → fulfilling
		t.Fatal(err)
	}
	o2, _ = a.Orders.Get(ctx, o2.ID)
	_ = a.Flow.Redrive(ctx, o2) // the print step: the job is made, the answer lost
	o2, _ = a.Orders.Get(ctx, o2.ID)
	if p := o2.Part(order.PartPrint); p.JobID != "" || jobsOf(t, o2.ID) != 1 || !o2.WorkDue() {
		t.Fatalf("after the crash: part %+v, %d jobs, work due %v", p, jobsOf(t, o2.ID), o2.WorkDue())
	}
	_ = a.Flow.Redrive(ctx, o2) // at once: another runner's claim still stands, nothing sent
	r.clk.Advance(3 * time.Minute)
	o2 = settle(t, a, o2.ID)
	if p := o2.Part(order.PartPrint); jobsOf(t, o2.ID) != 1 || p.JobID == "" || o2.WorkDue() {
		t.Errorf("after the re-drive: %d jobs, part %+v, work due %v", jobsOf(t, o2.ID), p, o2.WorkDue())
	}

	// The printer's answer lost, the host alive: the job made is found at
	// once by the order id, and recorded; never made twice.
	o3 := paid()
	lp.lose.Store(true)
	lp.dies.Store(false)
	if err := a.Flow.Redrive(ctx, o3); err != nil { // paid → fulfilling
		t.Fatal(err)
	}
	o3, _ = a.Orders.Get(ctx, o3.ID)
	_ = a.Flow.Redrive(ctx, o3)
	o3 = settle(t, a, o3.ID)
	if p := o3.Part(order.PartPrint); jobsOf(t, o3.ID) != 1 || p.JobID == "" || o3.WorkDue() {
		t.Errorf("a lost answer: %d jobs, part %+v, work due %v", jobsOf(t, o3.ID), p, o3.WorkDue())
	}
}

// The owner cancels an order before its card is charged: the order is
// canceled with the owner as actor, and its steps release the
// authorization at Stripe (once), the holds and the redemptions; twice
// changes nothing. (A charged order: TestOwnerCancelsAfterCapture.)
func TestOwnerCancelsBeforeCapture(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	u, id, pi := authorizedWith(t, a, s, "A", 2)
	boss := owner(t)
	cancel := func(token, id string) rpcAnswer[storefront.Order] {
		return rpc[storefront.Order](t, withRequestID(cancelOrder(a)), token, map[string]any{"orderId": id, "reason": "the customer called: wrong size"})
	}
	if ans := cancel(u.IDToken, id); ans.Error.Status != "PERMISSION_DENIED" {
		t.Errorf("the customer canceling: %+v", ans.Error)
	}
	ans := cancel(boss.IDToken, id)
	if ans.status != 200 || ans.Result.State != order.Canceled {
		t.Fatalf("cancel: %d %+v", ans.status, ans.Error)
	}
	o := settle(t, a, id)
	if in := localStripe(t).Intent(pi); in["status"] != "canceled" || !o.HoldsReleased {
		t.Errorf("after the cancel steps: intent %v, holds released %v", in["status"], o.HoldsReleased)
	}
	if on, held := s.level("A"); on != 10 || held != 0 {
		t.Errorf("stock after the cancel: %d on hand, %d held", on, held)
	}
	h := o.History()
	if last := h[len(h)-1]; last.Actor != "owner:"+boss.UID || !strings.Contains(last.Reason, "wrong size") {
		t.Errorf("history %+v", last)
	}
	if again := cancel(boss.IDToken, id); again.status != 200 || len(o.History()) != len(h) {
		t.Errorf("canceling again: %+v", again.Error)
	}
}
