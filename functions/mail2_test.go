package functions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
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
	if ans := rpc[storefront.Order](t, cancelOrder(a), boss.IDToken, map[string]any{"orderId": id, "reason": "the customer called"}); ans.status != 200 {
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
