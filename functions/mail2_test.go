package functions

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
)

// The cancellation email goes to a customer whose card was authorized
// (released, nothing charged); the expiry email only to a customer who
// reached payment — an order abandoned before paying hears nothing.
func TestCanceledAndExpiredEmails(t *testing.T) {
	t.Parallel()
	r, mp := mailRig(t)
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	boss := owner(t)

	u, id := readyToPay(t, a, s, "", "A", 1)
	if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
		t.Fatal(err)
	}
	if ans := rpc[storefront.Order](t, withRequestID(cancelOrder(a)), boss.IDToken, map[string]any{"orderId": id, "reason": "the customer called"}); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	o := settle(t, a, id)
	deliverAll(t, r, id)
	got := inbox(t, mp, o.Customer.Email)["Your order "+id+" is canceled"]
	if len(got) != 1 || !strings.Contains(got[0].Text, "not charged") {
		t.Fatalf("the cancellation: %+v", got)
	}

	// Two pending orders lapse: one reached payment (a session), one did not.
	u2, paying := readyToPay(t, a, s, "", "A", 1)
	r.mustSession(t, u2.IDToken, paying)
	_, abandoned := readyToPay(t, a, s, "", "B", 1)
	r.clk.Advance(2 * time.Hour)
	r.st.SetClock(r.clk.Now)
	for i := 0; i < 3; i++ {
		a.Sweeper.Run(ctx)
	}
	for _, oid := range []string{paying, abandoned} {
		if o := settle(t, a, oid); o.State() != order.Expired {
			t.Fatalf("order %s is %s", oid, o.State())
		}
		deliverAll(t, r, oid)
	}
	p, _ := a.Orders.Get(ctx, paying)
	ab, _ := a.Orders.Get(ctx, abandoned)
	if got := inbox(t, mp, p.Customer.Email)["Your order "+paying+" expired; nothing was charged"]; len(got) != 1 {
		t.Errorf("the expiry email of the order that reached payment: %d", len(got))
	}
	if got := inbox(t, mp, ab.Customer.Email); len(got) != 0 {
		t.Errorf("an abandoned order was mailed: %v", keysOf(got))
	}
}

// With OMS_MAIL_SENDER=extension the outbox is the extension's: mail is
// queued in its schema without a delivery record (the extension writes
// it), and the built-in sender is off even with SMTP_URL set.
func TestExtensionSender(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_MAIL_SENDER": "extension", "SMTP_URL": "smtp://127.0.0.1:1", "OMS_OWNER_EMAIL": "owner@readyplanner.example"})
	a, ctx := r.a, context.Background()
	if a.Sender != nil {
		t.Fatal("the built-in sender is on")
	}
	s := newStore(t, a, 10, 10)
	u, id := readyToPay(t, a, s, "", "A", 1)
	if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
		t.Fatal(err)
	}
	settle(t, a, id)
	snap, err := a.Firestore.Collection("mail").Doc(id + "-received").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := snap.Data()
	msg, _ := d["message"].(map[string]any)
	if _, has := d["delivery"]; has || !strings.Contains(d["to"].(string), "@example.com") || msg["subject"] != "We have your order "+id || msg["html"] == "" || msg["text"] == "" {
		t.Errorf("the extension's mail: %v", d)
	}
}

// The owner's alerts show money, the shipping service and the address as
// the customer's emails do: "$38.90", not "38.90 USD"; "USPS Ground
// Advantage", not "USPS USPS Ground Advantage"; no empty address line
// leaves "500 CONGRESS AVE , AUSTIN".
func TestOwnerTextsReadLikeEmails(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_OWNER_EMAIL": "owner@readyplanner.example"})
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	o, _ := r.charged(t, s, "A", 2)
	text := func(collection, id, field string) string {
		t.Helper()
		snap, err := a.Firestore.Collection(collection).Doc(id).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, err := snap.DataAt(field)
		if err != nil {
			t.Fatal(err)
		}
		return v.(string)
	}
	review, parcel := text("alerts", "review-"+o.ID, "text"), text("alerts", "parcel-"+o.ID, "text")
	receipt := text("mail", o.ID+"-receipt", "message.text")
	total := messages.Format(o.Total())
	if !strings.HasPrefix(total, "$") || !strings.Contains(review, total) || !strings.Contains(receipt, total) || strings.Contains(review, " USD") {
		t.Errorf("the review alert shows the total %s otherwise than the receipt:\n%s", total, review)
	}
	service := o.Shipping.Rate.Service
	if service != "USPS Ground Advantage" || !strings.Contains(parcel, "Service: "+service+"\n") || strings.Contains(parcel+receipt, "USPS USPS") {
		t.Errorf("the service %q, in the parcel alert:\n%s\nin the receipt:\n%s", service, parcel, receipt)
	}
	if o.Shipping.Address.AddressLine2 != "" || strings.Contains(parcel, " ,") || !strings.Contains(parcel, o.Shipping.Address.AddressLine1+", "+o.Shipping.Address.CityLocality) {
		t.Errorf("the address in the parcel alert:\n%s", parcel)
	}
}

// mailEvent is the CloudEvent of mail/{id} written with delivery.state.
func mailEvent(t *testing.T, id, state string) cloudevents.Event {
	t.Helper()
	doc := &docevent.Document{Name: "projects/demo-oms/databases/(default)/documents/mail/" + id, Fields: map[string]docevent.Value{
		"delivery": {Kind: docevent.Map, Map: map[string]docevent.Value{"state": {Kind: docevent.String, Str: state}}}}}
	ce := cloudevents.NewEvent()
	ce.SetID(testenv.ID("ev"))
	ce.SetType(docevent.TypeWritten)
	ce.SetSource("//firestore.googleapis.com/projects/demo-oms/databases/(default)")
	ce.SetSubject("documents/mail/" + id)
	ce.SetExtension("document", "mail/"+id)
	ce.SetExtension("database", "(default)")
	if err := ce.SetData("application/protobuf", []byte(base64.StdEncoding.EncodeToString(docevent.EncodeData(nil, doc, nil)))); err != nil {
		t.Fatal(err)
	}
	return ce
}

// With OMS_MAIL_SENDER=extension the extension delivers, and what it does
// not do is still done: a mail it ends ERROR alerts the owner once (under
// duplicate events); an attempt it lost (PROCESSING long past its lease)
// ends ERROR "delivery unknown" with one alert; and mail the built-in
// sender left PENDING or RETRY when the owner switched is handed over — a
// write the extension acts on. Switched back, the built-in sender finishes
// mail the extension left PENDING.
func TestExtensionModeLosesNothing(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_MAIL_SENDER": "extension", "OMS_OWNER_EMAIL": "owner@readyplanner.example"})
	a, ctx := r.a, context.Background()
	now := r.clk.Now()
	mail := a.Firestore.Collection("mail")
	write := func(id string, delivery map[string]any) { // as the extension or the other sender left it
		t.Helper()
		if _, err := mail.Doc(id).Set(ctx, map[string]any{"to": id + "@example.com", "message": map[string]any{"subject": "Hello " + id, "text": "hello"},
			"orderId": id, "purpose": "test", "createdAt": now, "delivery": delivery}); err != nil {
			t.Fatal(err)
		}
	}
	delivery := func(id string) map[string]any {
		t.Helper()
		snap, err := mail.Doc(id).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Data()["delivery"].(map[string]any)
	}
	alerts := func(id string) []string {
		t.Helper()
		snaps, _ := a.Firestore.Collection("alerts").Where("kind", "==", "mail_failed").Where("orderId", "==", id).Documents(ctx).GetAll()
		var texts []string
		for _, s := range snaps {
			texts = append(texts, s.Data()["text"].(string))
		}
		return texts
	}

	failed := testenv.ID("extfailed")
	write(failed, map[string]any{"state": "ERROR", "attempts": 1, "startTime": now, "endTime": now, "leaseExpireTime": nil, "error": "Error: Invalid login: 535 Authentication failed"})
	for i := 0; i < 2; i++ { // a duplicate event
		if err := onMailWritten(a)(ctx, mailEvent(t, failed, "ERROR")); err != nil {
			t.Fatal(err)
		}
	}
	if got := alerts(failed); len(got) != 1 || !strings.Contains(got[0], "535 Authentication failed") {
		t.Errorf("the extension's ERROR: alerts %q", got)
	}

	lost := testenv.ID("extlost")
	write(lost, map[string]any{"state": "PROCESSING", "attempts": 0, "startTime": now.Add(-time.Hour), "leaseExpireTime": now.Add(-time.Hour + time.Minute), "error": nil})
	left := testenv.ID("extleft") // the built-in sender's, waiting for its retry when the owner switched
	write(left, map[string]any{"state": "RETRY", "attempts": 2, "nextAttempt": now.Add(-time.Minute), "error": "451 try later", "leaseExpireTime": nil})
	for i := 0; i < 2; i++ {
		a.Sweeper.Run(ctx)
	}
	if d := delivery(lost); d["state"] != messages.StateError || !strings.HasPrefix(d["error"].(string), "delivery unknown") || len(alerts(lost)) != 1 {
		t.Errorf("a lost extension attempt: %v, alerts %q", d, alerts(lost))
	}
	if d := delivery(left); d["state"] != messages.StateRetry || d["nextAttempt"] != nil {
		t.Errorf("the built-in sender's mail was not handed over: %v", d)
	}

	// Back to the built-in sender: the extension's PENDING mail (no
	// nextAttempt of ours) is sent by the sweeper.
	mp, err := emulator.StartMailpit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mp.Stop() })
	b := newRigWith(t, map[string]string{"SMTP_URL": mp.SMTPURL(), "OMS_OWNER_EMAIL": "owner@readyplanner.example"})
	mail = b.a.Firestore.Collection("mail") // its own project
	pending := testenv.ID("extpending")
	write(pending, map[string]any{"state": "PENDING", "attempts": 0, "startTime": now, "error": nil})
	for i := 0; i < 2; i++ {
		b.a.Sweeper.Run(ctx)
	}
	if d := delivery(pending); d["state"] != messages.StateSuccess || len(inbox(t, mp, pending+"@example.com")) != 1 {
		t.Errorf("the extension's PENDING mail after the switch: %v", d)
	}
}
