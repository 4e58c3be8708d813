package stripefake_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// TestLifecycleThroughStripeGo drives the fake with stripe-go: a manual
// capture Checkout Session, the customer paying, signed webhooks, capture,
// a second capture, a refund, and idempotency replay.
func TestLifecycleThroughStripeGo(t *testing.T) {
	var (
		mu     sync.Mutex
		events []stripe.Event
	)
	var secret string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), secret, webhook.ConstructEventOptions{Tolerance: 300 * time.Second})
		if err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	defer hook.Close()
	f, err := stripefake.Start(hook.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	secret = f.WebhookSecret
	api, err := stripepay.New(stripepay.Options{SecretKey: "sk_test_local", APIBase: f.URL, Logger: logging.New(io.Discard, "info")})
	if err != nil {
		t.Fatal(err)
	}

	params := &stripe.CheckoutSessionParams{
		Mode:       stripe.String("payment"),
		SuccessURL: stripe.String("http://localhost:3000/thanks?session={CHECKOUT_SESSION_ID}"),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{Quantity: stripe.Int64(2), PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
			Currency: stripe.String("usd"), UnitAmount: stripe.Int64(1950), ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String("Planner")}}}},
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{CaptureMethod: stripe.String("manual"), Metadata: map[string]string{"orderId": "O1"}},
		ClientReferenceID: stripe.String("O1"),
		ExpiresAt:         stripe.Int64(time.Now().Add(time.Hour).Unix()),
	}
	params.SetIdempotencyKey("session-O1-1")
	cs, err := api.CheckoutSessions.New(params)
	if err != nil {
		t.Fatal(err)
	}
	if cs.AmountTotal != 3900 || cs.Status != "open" || cs.URL == "" || cs.ClientReferenceID != "O1" {
		t.Fatalf("session %+v", cs)
	}
	again, err := api.CheckoutSessions.New(params)
	if err != nil || again.ID != cs.ID {
		t.Errorf("idempotent replay: %v %v", again, err)
	}
	params.ClientReferenceID = stripe.String("O2")
	if _, err := api.CheckoutSessions.New(params); err == nil {
		t.Error("the same key with other parameters must fail")
	}

	pi, err := f.Pay(cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	gp := &stripe.PaymentIntentParams{}
	gp.AddExpand("latest_charge")
	got, err := api.PaymentIntents.Get(pi, gp)
	if err != nil || got.Status != "requires_capture" || got.AmountCapturable != 3900 || got.LatestCharge == nil ||
		got.LatestCharge.PaymentMethodDetails.Card.CaptureBefore < time.Now().Add(6*24*time.Hour).Unix() || got.Metadata["orderId"] != "O1" {
		t.Fatalf("intent %+v %v", got, err)
	}

	cp := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(3900)}
	cp.SetIdempotencyKey("capture-O1")
	if c, err := api.PaymentIntents.Capture(pi, cp); err != nil || c.Status != "succeeded" || c.AmountReceived != 3900 {
		t.Fatalf("capture %+v %v", c, err)
	}
	cp2 := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(3900)}
	cp2.SetIdempotencyKey("capture-O1-other")
	var se *stripe.Error
	if _, err := api.PaymentIntents.Capture(pi, cp2); !errors.As(err, &se) || se.Code != stripe.ErrorCodePaymentIntentUnexpectedState {
		t.Errorf("second capture: %v", err)
	}
	refund := func(amount int64, key, reason string) (*stripe.Refund, error) {
		rp := &stripe.RefundParams{PaymentIntent: stripe.String(pi), Amount: stripe.Int64(amount), Reason: stripe.String(reason)}
		rp.AddMetadata("orderId", "O1")
		rp.SetIdempotencyKey(key)
		return api.Refunds.New(rp)
	}
	r1, err := refund(500, "refund-O1-1", "requested_by_customer")
	if err != nil || r1.Amount != 500 || r1.Status != stripe.RefundStatusSucceeded || r1.Metadata["orderId"] != "O1" {
		t.Errorf("refund %+v %v", r1, err)
	}
	if again, err := refund(500, "refund-O1-1", "requested_by_customer"); err != nil || again.ID != r1.ID {
		t.Errorf("the same key made another refund: %+v %v (first %s)", again, err, r1.ID)
	}
	if _, err := refund(3401, "refund-O1-2", "requested_by_customer"); !errors.As(err, &se) || se.HTTPStatusCode != 400 || se.Param != "amount" {
		t.Errorf("a refund over what is left: %v", err)
	}
	if _, err := refund(100, "refund-O1-3", "changed_mind"); !errors.As(err, &se) || se.Param != "reason" {
		t.Errorf("an unknown reason: %v", err)
	}
	dp := f.Dispute(pi)
	if _, err := refund(100, "refund-O1-4", "requested_by_customer"); !errors.As(err, &se) || se.Code != "charge_disputed" {
		t.Errorf("a disputed charge: %v", err)
	}
	if n := len(f.Refunds()); n != 1 {
		t.Errorf("%d refunds made, want 1", n)
	}
	it := api.Refunds.List(&stripe.RefundListParams{PaymentIntent: stripe.String(pi)})
	var listed []*stripe.Refund
	for it.Next() {
		listed = append(listed, it.Refund())
	}
	if it.Err() != nil || len(listed) != 1 || listed[0].ID != r1.ID || listed[0].Metadata["orderId"] != "O1" {
		t.Errorf("the intent's refunds listed: %v %v", listed, it.Err())
	}
	if d, err := api.Disputes.Get(dp, nil); err != nil || d.PaymentIntent == nil || d.PaymentIntent.ID != pi || d.Status != "needs_response" {
		t.Errorf("the dispute read back: %+v %v", d, err)
	}

	f.Redeliver() // API calls deliver asynchronously
	mu.Lock()
	defer mu.Unlock()
	var types []string
	for _, e := range events {
		types = append(types, string(e.Type))
	}
	want := []string{"checkout.session.completed", "charge.captured", "payment_intent.succeeded", "charge.refunded", "refund.created", "charge.dispute.created"}
	if len(types) != len(want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Errorf("events %v, want %v", types, want)
		}
	}
}

func TestCancelLapseAndErrors(t *testing.T) {
	f, err := stripefake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	api, _ := stripepay.New(stripepay.Options{SecretKey: "sk_test_local", APIBase: f.URL, MaxNetworkRetries: -1})
	mk := func() string {
		cs, err := api.CheckoutSessions.New(&stripe.CheckoutSessionParams{Mode: stripe.String("payment"), SuccessURL: stripe.String("http://x/ok"),
			LineItems: []*stripe.CheckoutSessionLineItemParams{{Quantity: stripe.Int64(1), PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency: stripe.String("usd"), UnitAmount: stripe.Int64(1000), ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String("x")}}}},
			PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{CaptureMethod: stripe.String("manual")}})
		if err != nil {
			t.Fatal(err)
		}
		pi, err := f.Pay(cs.ID)
		if err != nil {
			t.Fatal(err)
		}
		return pi
	}
	pi := mk()
	if c, err := api.PaymentIntents.Cancel(pi, &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}); err != nil || c.Status != "canceled" {
		t.Errorf("cancel %+v %v", c, err)
	}
	if _, err := api.PaymentIntents.Capture(pi, nil); err == nil {
		t.Error("capturing a canceled intent must fail")
	}

	// Eight days later the authorization has lapsed.
	pi2 := mk()
	f.SetClock(func() time.Time { return time.Now().Add(8 * 24 * time.Hour) })
	if got, _ := api.PaymentIntents.Get(pi2, nil); got.Status != "canceled" {
		t.Errorf("lapsed intent is %s", got.Status)
	}
	f.SetClock(time.Now)

	f.DeclineNext()
	cs, _ := api.CheckoutSessions.New(&stripe.CheckoutSessionParams{Mode: stripe.String("payment"), SuccessURL: stripe.String("http://x/ok"),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{Quantity: stripe.Int64(1), PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
			Currency: stripe.String("usd"), UnitAmount: stripe.Int64(1000), ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String("x")}}}}})
	if _, err := f.Pay(cs.ID); err == nil {
		t.Error("a decline must fail")
	}
	f.SetLatency(200 * time.Millisecond)
	began := time.Now()
	if _, err := api.CheckoutSessions.Get(cs.ID, nil); err != nil || time.Since(began) < 200*time.Millisecond {
		t.Errorf("latency: %v after %s", err, time.Since(began))
	}
	f.SetLatency(0)
	f.FailNext(1)
	var se *stripe.Error
	if _, err := api.CheckoutSessions.Get(cs.ID, nil); !errors.As(err, &se) || se.HTTPStatusCode != 500 {
		t.Errorf("injected 500: %v", err)
	}
	live, _ := stripepay.New(stripepay.Options{SecretKey: "sk_live_x", APIBase: f.URL})
	if _, err := live.CheckoutSessions.Get(cs.ID, nil); !errors.As(err, &se) || se.HTTPStatusCode != 401 {
		t.Errorf("a live key must be refused: %v", err)
	}
}
