package functions

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/smtpmail"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
)

// mailRig is a rig whose built-in sender delivers to a mailpit of its own.
func mailRig(t *testing.T) (*rig, *emulator.Mailpit) {
	t.Helper()
	mp, err := emulator.StartMailpit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mp.Stop() })
	r := newRigWith(t, map[string]string{"SMTP_URL": mp.SMTPURL(), "OMS_OWNER_EMAIL": "owner@readyplanner.example",
		"OMS_STORE_NAME": "ReadyPlanner Test Shop", "OMS_SUPPORT_EMAIL": "help@readyplanner.example"})
	if r.a.Sender == nil {
		t.Fatal("no built-in sender")
	}
	return r, mp
}

// deliverAll runs the sender on every mail of the order (as onMailWritten
// does), twice: a duplicate trigger.
func deliverAll(t *testing.T, r *rig, orderID string) {
	t.Helper()
	snaps, err := r.a.Firestore.Collection("mail").Where("orderId", "==", orderID).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for _, s := range snaps {
			if _, err := r.a.Sender.Deliver(context.Background(), s.Ref.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// inbox reads back what mailpit received for to, by subject.
func inbox(t *testing.T, mp *emulator.Mailpit, to string) map[string][]emulator.Mail {
	t.Helper()
	ctx := context.Background()
	found, err := mp.Search(ctx, `to:"`+to+`"`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]emulator.Mail{}
	for _, f := range found {
		m, err := mp.Message(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[m.Subject] = append(out[m.Subject], m)
	}
	return out
}

// A customer's emails arrive once each, under duplicate triggers: "card
// authorized, not charged" on authorized; the receipt on paid (lines,
// discounts, shipping, total, the card, the order number); a shipping
// email per part with its carrier and tracking link; the refund's. Their
// content is the order's.
func TestCustomerEmailsOnce(t *testing.T) {
	t.Parallel()
	r, mp := mailRig(t)
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	o, _ := r.charged(t, s, "A", 2, "P", 1)
	deliverAll(t, r, o.ID)
	for _, step := range []string{"notifyReceived", "sendReceipt"} { // duplicate triggers of the steps, after the mail went
		if err := a.Emails.Steps()[step](ctx, orderflowTransition(o)); err != nil {
			t.Fatal(err)
		}
	}
	deliverAll(t, r, o.ID)
	to := o.Customer.Email
	got := inbox(t, mp, to)
	received, receipt := got["We have your order "+o.ID], got["Your receipt for order "+o.ID]
	if len(received) != 1 || len(receipt) != 1 || len(got) != 2 {
		t.Fatalf("after payment the customer has %d messages: %v", len(got), keysOf(got))
	}
	if m := received[0]; !strings.Contains(m.Text, "authorized") || !strings.Contains(m.Text, "not charged") || m.From.Address != "orders@readyplanner.example" {
		t.Errorf("the received email: from %v\n%s", m.From, m.Text)
	}
	total := messages.Format(o.Total())
	rc := receipt[0]
	for _, want := range []string{o.ID, total, "Visa card ending 4242", o.Lines[0].Name, o.Lines[1].Name, messages.Format(o.ShippingAmount()), "ReadyPlanner Test Shop", "help@readyplanner.example"} {
		if !strings.Contains(rc.Text, want) || !strings.Contains(rc.HTML, want) {
			t.Errorf("the receipt lacks %q:\n%s", want, rc.Text)
		}
	}

	// The owner ships the parcel, then the printer the planner.
	boss := owner(t)
	if ship := rpc[storefront.Order](t, withRequestID(markShipped(a)), boss.IDToken, map[string]any{"orderId": o.ID, "partId": "parcel", "carrier": "USPS",
		"trackingNumber": "9400111899223", "trackingUrl": "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223"}); ship.status != 200 {
		t.Fatal(ship.Error)
	}
	o = settle(t, a, o.ID)
	job := o.Part(order.PartPrint).JobID
	if err := localFakes(t).Printer.Ship(job, "UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Parts.HandleEvent(ctx, jobEvent(job)); err != nil {
		t.Fatal(err)
	}
	o = settle(t, a, o.ID)
	if o.State() != order.Shipped {
		t.Fatalf("the order is %s", o.State())
	}
	// And refunds part of it.
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID, "amount": 250, "reason": "a bent corner"}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	o = settle(t, a, o.ID)
	o = settle(t, a, o.ID) // the event of the refund's record (its wake) queues its email
	deliverAll(t, r, o.ID)
	got = inbox(t, mp, to)
	shipped := got["Part of your order "+o.ID+" has shipped"]
	refund := got["A refund of $2.50 for order "+o.ID]
	if len(shipped) != 2 || len(refund) != 1 || len(got) != 4 {
		t.Fatalf("at the end the customer has: %v", keysOf(got))
	}
	texts := shipped[0].Text + shipped[1].Text
	for _, want := range []string{"USPS", "9400111899223", "UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"} {
		if !strings.Contains(texts, want) {
			t.Errorf("the shipping emails lack %q", want)
		}
	}
	if !strings.Contains(refund[0].Text, "a bent corner") || !strings.Contains(refund[0].Text, "$2.50 of "+total) {
		t.Errorf("the refund email:\n%s", refund[0].Text)
	}
	snaps, _ := a.Firestore.Collection("mail").Where("orderId", "==", o.ID).Documents(ctx).GetAll()
	for _, s := range snaps {
		d := s.Data()["delivery"].(map[string]any)
		if d["state"] != messages.StateSuccess || d["attempts"] != int64(1) || d["info"].(map[string]any)["messageId"] == "" {
			t.Errorf("mail %s: %v", s.Ref.ID, d)
		}
	}
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A customer named like markup stays text in the HTML email.
func TestEmailValuesAreEscaped(t *testing.T) {
	t.Parallel()
	r, mp := mailRig(t)
	a := r.a
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "A", 1)
	email := testenv.ID("mallory") + "@example.com"
	name := `<script>alert("x")</script> <b>Mal</b>`
	if ans := apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": name, "email": email}); ans.status != 200 {
		t.Fatalf("apply: %+v", ans.Error)
	}
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": address("5 " + testenv.ID("esc") + " St")})
	if sel := rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID}); sel.status != 200 {
		t.Fatal(sel.Error)
	}
	if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
		t.Fatal(err)
	}
	settle(t, a, id)
	deliverAll(t, r, id)
	got := inbox(t, mp, email)["We have your order "+id]
	if len(got) != 1 {
		t.Fatalf("%d received emails", len(got))
	}
	if h := got[0].HTML; strings.Contains(h, "<script>") || strings.Contains(h, "<b>Mal</b>") || !strings.Contains(h, "&lt;script&gt;") {
		t.Errorf("the name is markup in the HTML:\n%s", h)
	}
	if !strings.Contains(got[0].Text, name) {
		t.Errorf("the text version does not show the name as typed:\n%s", got[0].Text)
	}
}

// The sender: a transient SMTP failure (451) is retried by the sweeper
// after its backoff and the mail arrives once; a permanent one (550) ends
// in ERROR with one owner alert and is not retried; an attempt whose lease
// ran out (the host died mid-send) ends ERROR "delivery unknown", one
// alert, and is never sent again.
func TestSenderRetriesAndGivesUp(t *testing.T) {
	t.Parallel()
	r, mp := mailRig(t)
	a, ctx := r.a, context.Background()
	queue := func(id, to string) {
		t.Helper()
		if _, err := a.Mail.Queue(ctx, messages.Mail{ID: id, To: to, Subject: "Hello " + id, Text: "hello", OrderID: id, Purpose: "test"}, r.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	delivery := func(id string) map[string]any {
		snap, err := a.Firestore.Collection("mail").Doc(id).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Data()["delivery"].(map[string]any)
	}
	alerts := func(id string) int {
		snaps, _ := a.Firestore.Collection("alerts").Where("kind", "==", "mail_failed").Where("orderId", "==", id).Documents(ctx).GetAll()
		return len(snaps)
	}

	retry := testenv.ID("retry")
	queue(retry, retry+"@example.com")
	if err := mp.Fail(ctx, 451); err != nil {
		t.Fatal(err)
	}
	if out, err := a.Sender.Deliver(ctx, retry); err != nil || delivery(retry)["state"] != messages.StateRetry {
		t.Fatalf("451: %s %v %v", out, err, delivery(retry))
	}
	if err := mp.Fail(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if out, _ := a.Sender.Deliver(ctx, retry); !strings.HasPrefix(out, "not due") {
		t.Errorf("delivered before its backoff: %s", out)
	}
	r.clk.Advance(messages.Backoff(1) + time.Second)
	a.Sweeper.Run(ctx)
	a.Sweeper.Run(ctx)
	if d := delivery(retry); d["state"] != messages.StateSuccess || d["attempts"] != int64(2) {
		t.Errorf("after the backoff: %v", d)
	}
	if n := len(inbox(t, mp, retry+"@example.com")["Hello "+retry]); n != 1 {
		t.Errorf("%d copies arrived", n)
	}

	refused := testenv.ID("refused")
	queue(refused, refused+"@example.com")
	if err := mp.Fail(ctx, 550); err != nil {
		t.Fatal(err)
	}
	_, _ = a.Sender.Deliver(ctx, refused)
	_ = mp.Fail(ctx, 0)
	r.clk.Advance(time.Hour)
	a.Sweeper.Run(ctx)
	if d := delivery(refused); d["state"] != messages.StateError || d["attempts"] != int64(1) || !strings.Contains(d["error"].(string), "550") || alerts(refused) != 1 {
		t.Errorf("550: %v, %d alerts", d, alerts(refused))
	}

	lost := testenv.ID("lost")
	queue(lost, lost+"@example.com")
	if _, _, claimed, err := a.Mail.Claim(ctx, lost, r.clk.Now(), r.clk.Now().Add(a.Sender.Lease)); err != nil || !claimed { // the host dies mid-send
		t.Fatal(claimed, err)
	}
	a.Sweeper.Run(ctx) // within the lease: nothing
	if delivery(lost)["state"] != messages.StateProcessing {
		t.Fatalf("within the lease: %v", delivery(lost))
	}
	r.clk.Advance(a.Sender.Lease + time.Second)
	a.Sweeper.Run(ctx)
	a.Sweeper.Run(ctx)
	if d := delivery(lost); d["state"] != messages.StateError || d["error"] != messages.DeliveryUnknown || alerts(lost) != 1 {
		t.Errorf("a lapsed lease: %v, %d alerts", d, alerts(lost))
	}
	if n := len(inbox(t, mp, lost+"@example.com")); n != 0 {
		t.Errorf("a mail whose delivery is unknown was sent again: %d", n)
	}
}

func orderflowTransition(o *order.Order) orderflow.Transition {
	return orderflow.Transition{Order: o, To: o.State()}
}

// An owner alert goes to the Slack-compatible webhook as well as by mail:
// a webhook failing for now (500) is retried by the sweeper and receives
// the alert once; one failing for good (404) ends in ERROR; neither holds
// up the alert's mail, which arrives at once either way.
func TestAlertWebhook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var posts []string
	fail := 2
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(string(body), "revoked") {
			http.Error(w, "no_service", http.StatusNotFound)
			return
		}
		if fail > 0 {
			fail--
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		posts = append(posts, string(body))
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(hook.Close)
	mp, err := emulator.StartMailpit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mp.Stop() })
	r := newRigWith(t, map[string]string{"SMTP_URL": mp.SMTPURL(), "OMS_OWNER_EMAIL": "owner@readyplanner.example", "OMS_ALERT_WEBHOOK_URL": hook.URL})
	a, ctx := r.a, context.Background()
	key := testenv.ID("alert")
	al := alert.Alert{Key: key, Kind: alert.NeedsAttention, OrderID: "K7Q2M9XH4TBA", Subject: "Order K7Q2M9XH4TBA needs your attention " + key, Text: "the printer refused it"}
	if _, err := a.Alerts.Raise(ctx, al); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Alerts.Raise(ctx, al); err != nil { // raised again: nothing new
		t.Fatal(err)
	}
	if out, err := a.Hooks.Post(ctx, key); err != nil || out != "will retry" { // the trigger: 500
		t.Fatalf("the first post: %s %v", out, err)
	}
	if out, err := a.Sender.Deliver(ctx, "alert-"+key); err != nil || out != "sent" {
		t.Fatalf("the alert's mail while the webhook fails: %s %v", out, err)
	}
	for i := 0; i < 3; i++ {
		r.clk.Advance(10 * time.Minute)
		a.Sweeper.Run(ctx)
	}
	mu.Lock()
	got := slices.Clone(posts)
	mu.Unlock()
	if len(got) != 1 || !strings.Contains(got[0], al.Subject) || !strings.Contains(got[0], "the printer refused it") {
		t.Errorf("the webhook received %d posts: %v", len(got), got)
	}
	if n := len(inbox(t, mp, "owner@readyplanner.example")[al.Subject]); n != 1 {
		t.Errorf("%d alert mails", n)
	}

	revoked := testenv.ID("alert")
	if _, err := a.Alerts.Raise(ctx, alert.Alert{Key: revoked, Kind: alert.LowStock, Subject: "Low stock " + revoked, Text: "revoked"}); err != nil {
		t.Fatal(err)
	}
	if out, _ := a.Hooks.Post(ctx, revoked); out != "failed" {
		t.Errorf("a 404: %s", out)
	}
	snap, _ := a.Firestore.Collection("alerts").Doc(revoked).Get(ctx)
	if w := snap.Data()["webhook"].(map[string]any); w["state"] != messages.StateError || !strings.Contains(w["error"].(string), "404") {
		t.Errorf("the webhook record: %v", w)
	}
	if out, _ := a.Sender.Deliver(ctx, "alert-"+revoked); out != "sent" {
		t.Errorf("the alert's mail: %s", out)
	}
}

// The owner's daily summary: nothing before the configured local hour;
// from it, one mail a day (however many sweeps) listing the orders that
// wait for review, to ship, and for the owner.
func TestDailySummary(t *testing.T) {
	t.Parallel()
	r, mp := mailRig(t)
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	u, id := readyToPay(t, a, s, "", "A", 1)
	if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
		t.Fatal(err)
	}
	if o := settle(t, a, id); o.State() != order.Invoiced {
		t.Fatalf("the order is %s", o.State())
	}
	task := func(at time.Time) string {
		t.Helper()
		task, err := a.Sweeper.Task("dailySummary")
		if err != nil {
			t.Fatal(err)
		}
		out, err := task(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	loc := a.Config.TimeZone
	now := r.clk.Now().In(loc)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	if out := task(day.Add(7 * time.Hour)); !strings.HasPrefix(out, "before 08:00") {
		t.Errorf("at 07:00: %s", out)
	}
	r.clk.Advance(day.Add(8*time.Hour + time.Minute).Sub(r.clk.Now())) // the sender's clock too
	if out := task(r.clk.Now()); !strings.HasPrefix(out, "queued summary-") {
		t.Errorf("at 08:01: %s", out)
	}
	if out := task(day.Add(13 * time.Hour)); out != "today's summary is queued already" {
		t.Errorf("at 13:00: %s", out)
	}
	mailID := "summary-" + day.Format("2006-01-02")
	if out, err := a.Sender.Deliver(ctx, mailID); err != nil || out != "sent" {
		t.Fatalf("deliver: %s %v", out, err)
	}
	var got []emulator.Mail
	for subj, m := range inbox(t, mp, "owner@readyplanner.example") {
		if strings.Contains(subj, "to review") {
			got = append(got, m...)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0].Text, id) || !strings.Contains(got[0].Text, "Waiting for your review in QuickBooks") {
		t.Fatalf("the summaries: %+v", got)
	}
}

// A slow mail server's attempt ends within the mail's lease and within
// the functions that make it: the lease is longer than the transport's
// longest attempt (the sender gives an attempt 3/4 of it), and
// onMailWritten and sweep may run longer than that attempt.
func TestMailLeaseOutlastsAnAttempt(t *testing.T) {
	t.Parallel()
	r, _ := mailRig(t)
	tr, ok := r.a.Sender.Transport.(*smtpmail.Transport)
	if !ok {
		t.Fatalf("the transport is a %T", r.a.Sender.Transport)
	}
	if r.a.Sender.Lease*3/4 <= tr.Bound() {
		t.Errorf("the lease %v, an attempt up to %v", r.a.Sender.Lease, tr.Bound())
	}
	for _, name := range []string{"onMailWritten", "sweep"} {
		if f, ok := Lookup(name); !ok || f.Timeout <= tr.Bound() {
			t.Errorf("%s runs at most %v, an attempt up to %v", name, f.Timeout, tr.Bound())
		}
	}
}
