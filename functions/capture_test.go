package functions

import (
	"context"
	"github.com/readyplanner/oms/internal/storefront"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
)

// authorized takes an order through payment on the local Stripe and the
// webhook, to authorized, and returns it with its PaymentIntent id.
func authorized(t *testing.T, a *app.App, s *store) (string, string) {
	t.Helper()
	_, id, pi := authorizedWith(t, a, s, "A", 2)
	return id, pi
}

// authorizedWith is authorized for a cart of lines; it also returns the
// customer.
func authorizedWith(t *testing.T, a *app.App, s *store, lines ...any) (emulator.User, string, string) {
	t.Helper()
	webhookEndpoint(t)
	u, id := readyToPay(t, a, s, "", lines...)
	ps := rpc[storefront.CreatePaymentSessionAnswer](t, createPaymentSession(a), u.IDToken, map[string]any{"orderId": id})
	if ps.status != 200 {
		t.Fatal(ps.Error)
	}
	pi, err := localStripe(t).Pay(ps.Result.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := a.Orders.Get(context.Background(), id); o.State() != order.Authorized {
		t.Fatalf("not authorized: %s", o.State())
	}
	return u, id, pi
}

// approve moves an authorized order on as the bookkeeping steps will, and
// runs the order flow's steps for approved as the trigger does.
func approve(t tester, a *app.App, id string) *order.Order {
	t.Helper()
	ctx := context.Background()
	for _, m := range []order.Move{{From: []order.State{order.Authorized}, To: order.Invoiced}, {From: []order.State{order.Invoiced}, To: order.Approved}} {
		if _, _, err := a.Orders.Transition(ctx, id, m); err != nil {
			t.Fatal(err)
		}
	}
	o, _ := a.Orders.Get(ctx, id)
	if err := a.Flow.Redrive(ctx, o); err != nil {
		t.Fatalf("capture step: %v", err)
	}
	o2, _ := a.Orders.Get(ctx, id)
	return o2
}

func captures(st *stripefake.Server, pi string) []stripefake.Request {
	var out []stripefake.Request
	for _, r := range st.Requests() {
		if r.Path == "/v1/payment_intents/"+pi+"/capture" {
			out = append(out, r)
		}
	}
	return out
}

func TestCaptureOnApproval(t *testing.T) {
	a := testApp(t)
	st := localStripe(t)
	s := newStore(t, a, 10, 10)
	ctx := context.Background()
	id, pi := authorized(t, a, s)
	approvedCopy, _ := a.Orders.Get(ctx, id)

	o := approve(t, a, id)
	if o.State() != order.Paid || o.Payment.AmountCaptured != o.Total().Amount {
		t.Fatalf("after approval: %s %+v", o.State(), o.Payment)
	}
	if in := st.Intent(pi); in["status"] != "succeeded" || int64(in["amount_received"].(float64)) != o.Total().Amount {
		t.Errorf("intent %v", in)
	}
	// The step again with the order as it was before its write (a crash
	// after Stripe captured, then a retry): one capture at Stripe.
	stale, _ := a.Orders.Get(ctx, id)
	capture := a.Payments.Steps()[orderflow.StepCapturePayment]
	if err := capture(ctx, orderflow.Transition{Order: approvedCopy, To: order.Approved}); err != nil {
		t.Fatalf("second capture: %v", err)
	}
	cs := captures(st, pi)
	if len(cs) != 2 || cs[0].IdempotencyKey != "capture-"+id || cs[1].IdempotencyKey != cs[0].IdempotencyKey {
		t.Errorf("capture requests %+v", cs)
	}
	if in := st.Intent(pi); int64(in["amount_received"].(float64)) != o.Total().Amount {
		t.Errorf("captured twice: %v", in["amount_received"])
	}
	if o, _ := a.Orders.Get(ctx, id); o.State() != order.Paid || len(o.History()) != len(stale.History()) {
		t.Errorf("a second capture changed the order: %s", o.State())
	}
}

func TestLapsedAuthorizationNeedsAttention(t *testing.T) {
	a := testApp(t)
	st := localStripe(t)
	s := newStore(t, a, 10, 10)
	id, _ := authorized(t, a, s)
	st.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
	defer st.SetClock(time.Now)
	o := approve(t, a, id)
	if o.State() != order.NeedsAttention || !strings.Contains(o.Attention, "capturePayment") || !strings.Contains(o.Attention, "canceled") {
		t.Errorf("state %s, attention %q", o.State(), o.Attention)
	}
}

func TestCancelReleasesAuthorization(t *testing.T) {
	a := testApp(t)
	st := localStripe(t)
	s := newStore(t, a, 10, 10)
	ctx := context.Background()
	id, pi := authorized(t, a, s)
	if _, _, err := a.Orders.Transition(ctx, id, order.Move{From: []order.State{order.Authorized}, To: order.Canceled, Actor: "owner"}); err != nil {
		t.Fatal(err)
	}
	o, _ := a.Orders.Get(ctx, id)
	for i := 0; i < 2; i++ {
		if err := a.Flow.Redrive(ctx, o); err != nil {
			t.Fatalf("cancel steps #%d: %v", i+1, err)
		}
	}
	if in := st.Intent(pi); in["status"] != "canceled" {
		t.Errorf("intent %v", in["status"])
	}
	if got, _ := a.Orders.Get(ctx, id); !got.HoldsReleased {
		t.Error("holds not released")
	}
}

func TestAuthorizationLapseSweep(t *testing.T) {
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	ctx := context.Background()
	id, _ := authorized(t, a, s)
	setBefore := func(d time.Duration) {
		if _, _, err := a.Orders.Update(ctx, id, func(o *order.Order) (bool, error) {
			o.Payment.CaptureBefore = time.Now().Add(d).UTC()
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	sweep := func() {
		for _, r := range a.Sweeper.Run(ctx) {
			if r.Task == "authorizationLapse" && !r.OK {
				t.Fatalf("sweep: %+v", r)
			}
		}
	}
	sweep() // seven days left: nothing to do
	if o, _ := a.Orders.Get(ctx, id); !o.Payment.LapseWarnedAt.IsZero() {
		t.Fatal("flagged a week early")
	}
	setBefore(3 * time.Hour)
	sweep()
	o, _ := a.Orders.Get(ctx, id)
	warned := o.Payment.LapseWarnedAt
	if warned.IsZero() || o.State() != order.Authorized {
		t.Fatalf("three hours left: warned %v, %s", warned, o.State())
	}
	sweep()
	if o, _ := a.Orders.Get(ctx, id); !o.Payment.LapseWarnedAt.Equal(warned) {
		t.Error("flagged twice")
	}
	alerts := func(kind string) []map[string]any {
		snaps, _ := a.Firestore.Collection("alerts").Where("orderId", "==", id).Where("kind", "==", kind).Documents(ctx).GetAll()
		var out []map[string]any
		for _, s := range snaps {
			out = append(out, s.Data())
		}
		return out
	}
	if got := alerts("authorization_lapsing"); len(got) != 1 || !strings.Contains(got[0]["text"].(string), "lapses at") {
		t.Errorf("the lapsing alerts: %v", got)
	}
	setBefore(-time.Minute)
	sweep()
	sweep()
	if o, _ := a.Orders.Get(ctx, id); o.State() != order.Canceled || !strings.Contains(o.History()[len(o.History())-1].Reason, "lapsed") {
		t.Errorf("after the lapse: %s", o.State())
	}
	if got := alerts("authorization_lapsed"); len(got) != 1 || !strings.Contains(got[0]["subject"].(string), "lapsed") {
		t.Errorf("the lapsed alerts: %v", got)
	}
}
