package functions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/lulu"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
	webhookev "github.com/readyplanner/oms/internal/webhook"
)

// deliver POSTs body to printerWebhook with the signature header sig
// ("" for none).
func deliver(t *testing.T, h *httptest.Server, body []byte, sig string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(lulu.SignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	h.Config.Handler.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// recordedPrinterEvents are the printer events recorded for a job.
func recordedPrinterEvents(t *testing.T, jobID string) []webhookev.Event {
	t.Helper()
	a := testApp(t)
	snaps, err := a.Firestore.Collection(firestoredb.WebhookEventsPath(webhookev.Printer)).Where("jobId", "==", jobID).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []webhookev.Event
	for _, s := range snaps {
		e, err := firestoredb.DecodeWebhookEvent(s.Data())
		if err != nil || e.Printer == nil || e.Printer.JobID != jobID {
			t.Fatalf("record %s decodes to %+v, %v", s.Ref.ID, e, err)
		}
		out = append(out, e)
	}
	return out
}

// The printer's webhook: every signature case at the HTTP edge; a signed
// delivery is recorded once (a duplicate is answered, not recorded again);
// the event handler re-reads the job — SHIPPED with tracking ships the
// print part, and the order once its parcel has shipped too.
func TestPrinterWebhook(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "A", 1, "P", 1)
	job := o.Part(order.PartPrint).JobID
	if job == "" {
		t.Fatalf("no print job: %+v", o.Parts)
	}
	srv := httptest.NewUnstartedServer(printerWebhook(a))
	body := []byte(`{"topic":"PRINT_JOB_STATUS_CHANGED","data":{"id":` + job + `,"external_id":"` + o.ID + `","status":{"name":"SHIPPED","changed":"2026-12-03T10:00:00.000000"}}}`)
	sig := lulu.Sign(body, localFakes(t).Printer.Secret)
	raw, _ := hex.DecodeString(sig)
	for name, c := range map[string]struct {
		body []byte
		sig  string
		want int
	}{
		"no signature":    {body, "", 401},
		"another key":     {body, lulu.Sign(body, "not-the-secret"), 401},
		"tampered":        {bytes.Replace(body, []byte("SHIPPED"), []byte("CANCELED"), 1), sig, 401},
		"not a delivery":  {[]byte(`{"x":1}`), lulu.Sign([]byte(`{"x":1}`), localFakes(t).Printer.Secret), 400},
		"hex":             {body, sig, 200},
		"base64 (repeat)": {body, base64.StdEncoding.EncodeToString(raw), 200},
	} {
		if code, ans := deliver(t, srv, c.body, c.sig); code != c.want {
			t.Errorf("%s: %d %s, want %d", name, code, ans, c.want)
		}
	}
	evs := recordedPrinterEvents(t, job)
	if len(evs) != 1 {
		t.Fatalf("recorded %d events", len(evs))
	}
	// The body said SHIPPED, but the printer says otherwise: nothing ships.
	if out, err := a.Parts.HandleEvent(ctx, evs[0]); err != nil || out != "job CREATED" {
		t.Errorf("an event the printer does not confirm: %q %v", out, err)
	}
	if o, _ := a.Orders.Get(ctx, o.ID); o.Part(order.PartPrint).Shipped() {
		t.Fatal("the body was believed")
	}
	// Now the printer ships it, and its delivery comes through the local
	// printer's signed webhook.
	hook := httptest.NewServer(printerWebhook(a))
	defer hook.Close()
	lp := localFakes(t).Printer
	lp.SetWebhook(hook.URL)
	defer lp.SetWebhook("")
	if err := lp.AdvanceTo(job, "SHIPPED"); err != nil {
		t.Fatal(err)
	}
	testenv.Poll(t, 5*time.Second, "the SHIPPED delivery", func() bool {
		for _, e := range recordedPrinterEvents(t, job) {
			if e.Printer.Status == "SHIPPED" {
				return true
			}
		}
		return false
	})
	for _, e := range recordedPrinterEvents(t, job) {
		if _, err := a.Parts.HandleEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	o, _ = a.Orders.Get(ctx, o.ID)
	p := o.Part(order.PartPrint)
	if !p.Shipped() || p.Carrier != "USPS" || p.TrackingNumber == "" || !strings.HasPrefix(p.TrackingURL, "https://") || o.State() != order.Fulfilling {
		t.Errorf("after SHIPPED: %s, part %+v", o.State(), p)
	}
	boss := owner(t)
	rpc[json.RawMessage](t, withRequestID(markShipped(a)), boss.IDToken, map[string]any{"orderId": o.ID, "partId": "parcel", "carrier": "UPS", "trackingNumber": "1Z1"})
	if o := settle(t, a, o.ID); o.State() != order.Shipped || !o.StockCommitted {
		t.Errorf("both parts shipped: %s", o.State())
	}
	// DELIVERED follows, and a status nobody knows yet is recorded, not an error.
	if err := lp.SetStatus(job, "DELIVERED", ""); err != nil {
		t.Fatal(err)
	}
	if err := lp.SetStatus(job, "RETURNED_TO_SENDER", "a status Lulu may add"); err != nil {
		t.Fatal(err)
	}
	testenv.Poll(t, 5*time.Second, "the later deliveries", func() bool {
		seen := map[string]bool{}
		for _, e := range recordedPrinterEvents(t, job) {
			seen[e.Printer.Status] = true
		}
		return seen["DELIVERED"] && seen["RETURNED_TO_SENDER"]
	})
	for _, e := range recordedPrinterEvents(t, job) {
		if _, err := a.Parts.HandleEvent(ctx, e); err != nil {
			t.Errorf("event %s: %v", e.Printer.Status, err)
		}
	}
	if o, _ := a.Orders.Get(ctx, o.ID); o.Part(order.PartPrint).PrinterStatus != "RETURNED_TO_SENDER" || o.State() != order.Shipped {
		t.Errorf("after later statuses: %s %+v", o.State(), o.Part(order.PartPrint))
	}
}

// A job the printer rejects: the order needs the owner, with the printer's
// words, and one alert however often the event comes. A lost webhook costs
// a sweep: the sweeper re-reads the jobs of waiting orders.
func TestRejectedJobAndLostWebhook(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "P", 1)
	job := o.Part(order.PartPrint).JobID
	lp := localFakes(t).Printer
	if err := lp.Reject(job, "The interior file has 3 pages; this book needs at least 24."); err != nil {
		t.Fatal(err)
	}
	// No webhook reached us: the sweeper re-reads the job (twice: one alert).
	for i := 0; i < 2; i++ {
		if _, err := a.Parts.Tasks(a.Config.RedriveAfter)["rereadPrintJobs"](ctx, time.Now().Add(a.Config.RedriveAfter+time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	o, _ = a.Orders.Get(ctx, o.ID)
	if o.State() != order.NeedsAttention || !strings.Contains(o.Attention, "at least 24") || o.Part(order.PartPrint).Status != order.PartFailed {
		t.Errorf("after the rejection: %s %q %+v", o.State(), o.Attention, o.Part(order.PartPrint))
	}
	snaps, _ := a.Firestore.Collection("alerts").Where("orderId", "==", o.ID).Where("kind", "==", "print_job").Documents(ctx).GetAll()
	if len(snaps) != 1 {
		t.Errorf("%d print-job alerts", len(snaps))
	}
	// The owner fixed the files and retries: back to fulfilling, a new job
	// (the rejected one is not the order's live job any more).
	boss := owner(t)
	if ans := rpc[json.RawMessage](t, withRequestID(retryOrder(a)), user(t).IDToken, map[string]any{"orderId": o.ID}); ans.Error.Status != "PERMISSION_DENIED" {
		t.Errorf("a customer retrying: %+v", ans.Error)
	}
	ans := rpc[json.RawMessage](t, withRequestID(retryOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID})
	if ans.status != 200 {
		t.Fatalf("retryOrder: %+v", ans.Error)
	}
	o = settle(t, a, o.ID)
	if p := o.Part(order.PartPrint); o.State() != order.Fulfilling || p.JobID == "" || p.JobID == job || p.Status != order.PartSubmitted || jobsOf(t, o.ID) != 2 {
		t.Errorf("after the retry: %s, part %+v, %d jobs", o.State(), p, jobsOf(t, o.ID))
	}
	if last := o.History()[len(o.History())-1]; last.To != order.Fulfilling || last.Actor != "owner:"+boss.UID {
		t.Errorf("history %+v", o.History())
	}
	if again := rpc[json.RawMessage](t, withRequestID(retryOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID}); !strings.Contains(string(again.Error.Details), "order_not_needing_attention") {
		t.Errorf("retrying a fulfilling order: %+v", again.Error)
	}

	// Lost webhook, shipped: the sweep ships the order.
	_, o2 := fulfilling(t, a, s, "P", 1)
	job2 := o2.Part(order.PartPrint).JobID
	if err := lp.Ship(job2, "FedEx", "7712 3456 7890", "https://www.fedex.com/fedextrack/?trknbr=771234567890"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Parts.Tasks(a.Config.RedriveAfter)["rereadPrintJobs"](ctx, time.Now().Add(a.Config.RedriveAfter+time.Minute)); err != nil {
		t.Fatal(err)
	}
	if o2 := settle(t, a, o2.ID); o2.State() != order.Shipped || o2.Part(order.PartPrint).Carrier != "FedEx" {
		t.Errorf("after the sweep: %s %+v", o2.State(), o2.Part(order.PartPrint))
	}
}

// A job stuck UNPAID (the printer account has no payment method) longer
// than OMS_PRINTER_UNPAID_ALERT_AFTER raises one owner alert.
func TestUnpaidJobAlerts(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := r.a
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	u, id := readyToPay(t, a, s, "", "P", 1)
	if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
		t.Fatal(err)
	}
	approve(t, a, id)
	o := settle(t, a, id)
	job := o.Part(order.PartPrint).JobID
	if job == "" {
		t.Fatalf("no job: %+v", o.Parts)
	}
	if err := localFakes(t).Printer.SetStatus(job, "UNPAID", "No payment method on file."); err != nil {
		t.Fatal(err)
	}
	reread := func() int {
		t.Helper()
		if _, err := a.Parts.Tasks(a.Config.RedriveAfter)["rereadPrintJobs"](ctx, r.clk.Now().Add(a.Config.RedriveAfter+time.Minute)); err != nil {
			t.Fatal(err)
		}
		snaps, _ := a.Firestore.Collection("alerts").Where("orderId", "==", id).Where("kind", "==", "print_job").Documents(ctx).GetAll()
		return len(snaps)
	}
	if n := reread(); n != 0 {
		t.Errorf("alerted at once: %d", n)
	}
	r.clk.Advance(a.Config.PrinterUnpaidAlertAfter + time.Minute)
	if n := reread(); n != 1 {
		t.Errorf("after %s unpaid: %d alerts", a.Config.PrinterUnpaidAlertAfter, n)
	}
	if n := reread(); n != 1 {
		t.Errorf("a second sweep: %d alerts", n)
	}
	if o, _ := a.Orders.Get(ctx, id); o.Part(order.PartPrint).PrinterStatus != "UNPAID" || o.State() != order.Fulfilling {
		t.Errorf("the order: %s %+v", o.State(), o.Part(order.PartPrint))
	}
}

// Five concurrent copies of one delivery (Lulu retries, or two of its
// workers race): exactly one is recorded, the others are answered
// "duplicate", and one event is stored.
func TestConcurrentPrinterDeliveries(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	srv := httptest.NewUnstartedServer(printerWebhook(a))
	job := strconv.FormatInt(time.Now().UnixNano()%1e12, 10)
	body := []byte(`{"topic":"PRINT_JOB_STATUS_CHANGED","data":{"id":` + job + `,"external_id":"K7Q2M9XH4TBZ","status":{"name":"IN_PRODUCTION","changed":"2026-12-03T10:00:00.000000"}}}`)
	sig := lulu.Sign(body, localFakes(t).Printer.Secret)
	const copies = 5
	answers := make(chan string, copies)
	var wg sync.WaitGroup
	for range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, ans := deliver(t, srv, body, sig)
			if code != 200 {
				t.Errorf("a copy: %d %s", code, ans)
			}
			answers <- ans
		}()
	}
	wg.Wait()
	close(answers)
	outcomes := map[string]int{}
	for ans := range answers {
		var v struct{ Outcome string }
		_ = json.Unmarshal([]byte(ans), &v)
		outcomes[v.Outcome]++
	}
	if outcomes["recorded"] != 1 || outcomes["duplicate"] != copies-1 {
		t.Errorf("outcomes of %d concurrent copies: %v", copies, outcomes)
	}
	if evs := recordedPrinterEvents(t, job); len(evs) != 1 {
		t.Errorf("%d events recorded", len(evs))
	}
}

// The owner cancels a charged order while the printer takes payment for
// its job (PAYMENT_IN_PROGRESS, which cannot be canceled): the job becomes
// PRODUCTION_DELAYED (or UNPAID) moments later, which can, so the cancel
// waits for it and cancels the job rather than answering "too late".
func TestCancelWhileThePrinterTakesPayment(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	a := r.a
	a.Parts.Settings.PaymentWait = 2 * time.Second
	s := newStore(t, a, 10, 10)
	boss := owner(t)
	printer := localFakes(t).Printer
	o, _ := r.charged(t, s, "P", 1)
	job := o.Part(order.PartPrint).JobID
	if err := printer.SetStatus(job, "PAYMENT_IN_PROGRESS", "Payment is being processed."); err != nil {
		t.Fatal(err)
	}
	paid := make(chan error, 1)
	go func() {
		time.Sleep(time.Second) // Lulu takes payment in moments
		_, err := printer.Advance(job)
		paid <- err
	}()
	ans := rpc[storefront.Order](t, withRequestID(cancelOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID, "reason": "the customer wrote: wrong year"})
	if err := <-paid; err != nil {
		t.Fatal(err)
	}
	if ans.status != 200 || ans.Result.State != order.Canceled || printer.Jobs()[job] != "CANCELED" {
		t.Errorf("cancel while the printer takes payment: %d %+v, job %s", ans.status, ans.Error, printer.Jobs()[job])
	}

	// The printer still takes payment when the wait is over: UNAVAILABLE,
	// try again; the order is unchanged.
	slow, _ := r.charged(t, s, "P", 1)
	slowJob := slow.Part(order.PartPrint).JobID
	if err := printer.SetStatus(slowJob, "PAYMENT_IN_PROGRESS", "Payment is being processed."); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	ans = rpc[storefront.Order](t, withRequestID(cancelOrder(a)), boss.IDToken, map[string]any{"orderId": slow.ID, "reason": "the customer wrote: wrong year"})
	if ans.Error.Status != "UNAVAILABLE" || !strings.Contains(string(ans.Error.Details), `"printer_unavailable"`) || !strings.Contains(ans.Error.Message, "taking payment") {
		t.Errorf("cancel while the printer keeps taking payment: %d %+v", ans.status, ans.Error)
	}
	if waited := time.Since(began); waited < a.Parts.Settings.PaymentWait {
		t.Errorf("answered after %s, before the wait (%s) was over", waited, a.Parts.Settings.PaymentWait)
	}
	if cur, _ := a.Orders.Get(context.Background(), slow.ID); cur.State() != order.Fulfilling || len(cur.Payment.Refunds) != 0 || printer.Jobs()[slowJob] != "PAYMENT_IN_PROGRESS" {
		t.Errorf("the refused cancel changed the order: %s %+v, job %s", cur.State(), cur.Payment.Refunds, printer.Jobs()[slowJob])
	}
}
