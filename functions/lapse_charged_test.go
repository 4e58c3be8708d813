package functions

import (
	"context"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/order"
)

// A charged order that needs the owner (its print job was rejected, say)
// still carries the authorization's capture-before time, long past after
// a week: the sweeper's lapse check must leave it alone, since nothing is
// left to lapse (found by the lifecycle matrix: it was canceled as
// "authorization lapsed", its invoice voided, and the customer told
// nothing was charged).
func TestLapseSweepLeavesChargedOrders(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "P", 1)
	id := o.ID
	if o.PaymentStatus() != order.PaymentCaptured {
		t.Fatalf("the order's payment is %s", o.PaymentStatus())
	}
	if _, _, err := a.Orders.Update(ctx, id, func(o *order.Order) (bool, error) {
		if _, err := o.Transition(order.Move{To: order.NeedsAttention, Actor: "printer", Reason: "the printer's job is REJECTED"}, time.Now().UTC()); err != nil {
			return false, err
		}
		o.Payment.CaptureBefore = time.Now().Add(-time.Hour).UTC() // a week on
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	lapse, err := a.Sweeper.Task("authorizationLapse")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lapse(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if o, _ := a.Orders.Get(ctx, id); o.State() != order.NeedsAttention || o.PaymentStatus() != order.PaymentCaptured || !o.Payment.LapseWarnedAt.IsZero() {
		t.Errorf("after the lapse check: %s, payment %s, warned %v", o.State(), o.PaymentStatus(), o.Payment.LapseWarnedAt)
	}
	snaps, err := a.Firestore.Collection("alerts").Where("orderId", "==", id).Documents(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		if k := s.Data()["kind"]; k == "authorization_lapsed" || k == "authorization_lapsing" {
			t.Errorf("alert %s for a charged order", k)
		}
	}
}
