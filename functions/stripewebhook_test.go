package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/readyplanner/oms/internal/storefront"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/testenv"
	"github.com/stripe/stripe-go/v76"
)

var (
	hookOnce sync.Once
	hookURL  string
)

// webhookEndpoint serves stripeWebhook for this binary and points the local
// Stripe's deliveries at it.
func webhookEndpoint(t *testing.T) string {
	t.Helper()
	a := testApp(t)
	hookOnce.Do(func() {
		srv := httptest.NewServer(stripeWebhook(a))
		hookURL = srv.URL
		localStripe(t).SetEndpoint(hookURL)
	})
	return hookURL
}

func post(t tester, url, sig string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func TestStripeWebhookSignatures(t *testing.T) {
	url := webhookEndpoint(t)
	st := localStripe(t)
	body, _ := json.Marshal(map[string]any{"id": testenv.ID("evt"), "object": "event", "type": "customer.created", "api_version": stripefake.APIVersion,
		"created": time.Now().Unix(), "data": map[string]any{"object": map[string]any{"object": "customer", "id": "cus_1"}}})
	other, _ := stripefake.Start("")
	defer other.Close()
	tests := []struct {
		name   string
		sig    string
		status int
		msg    string
	}{
		{"missing", "", 400, "no Stripe-Signature"},
		{"wrong secret", other.Sign(body, time.Now()), 400, "does not match"},
		{"too old", st.Sign(body, time.Now().Add(-6*time.Minute)), 400, "older than 300 s"},
		{"garbage", "t=1,v1=zz", 400, "signature"},
		{"valid", st.Sign(body, time.Now()), 200, `"ignored"`},
		{"valid, again", st.Sign(body, time.Now()), 200, `"duplicate"`},
	}
	for _, tt := range tests {
		status, answer := post(t, url, tt.sig, body)
		if status != tt.status || !strings.Contains(answer, tt.msg) {
			t.Errorf("%s: %d %s", tt.name, status, answer)
		}
	}
	// A tampered body fails with a valid header for the original.
	sig := st.Sign(body, time.Now())
	if status, _ := post(t, url, sig, bytes.Replace(body, []byte("cus_1"), []byte("cus_2"), 1)); status != 400 {
		t.Errorf("tampered body: %d", status)
	}
}

func eventsFor(st *stripefake.Server, typ, objectID string) []map[string]any {
	var out []map[string]any
	for _, e := range st.Events() {
		obj := e["data"].(map[string]any)["object"].(map[string]any)
		if e["type"] == typ && (obj["id"] == objectID || obj["payment_intent"] == objectID) {
			delete(e, "_delivered")
			out = append(out, e)
		}
	}
	return out
}

func TestPaidOrderIsAuthorizedOnce(t *testing.T) {
	a := testApp(t)
	url := webhookEndpoint(t)
	st := localStripe(t)
	s := newStore(t, a, 10, 10)
	ctx := context.Background()
	u, id := readyToPay(t, a, s, "", "A", 2)
	ps := rpc[storefront.CreatePaymentSessionAnswer](t, createPaymentSession(a), u.IDToken, map[string]any{"orderId": id})
	if ps.status != 200 {
		t.Fatal(ps.Error)
	}
	pi, err := st.Pay(ps.Result.SessionID) // delivers checkout.session.completed, signed
	if err != nil {
		t.Fatal(err)
	}
	o, _ := a.Orders.Get(ctx, id)
	if o.State() != order.Authorized || o.Payment.IntentID != pi || o.Payment.AmountCapturable != o.Total().Amount ||
		time.Until(o.Payment.CaptureBefore) < 6*24*time.Hour || !o.HoldExpiresAt.IsZero() {
		t.Fatalf("after paying: %s %+v holds until %v", o.State(), o.Payment, o.HoldExpiresAt)
	}

	// The same event twice more, and a stale "expired" for the same session
	// arriving late: nothing moves twice or backwards.
	completed := eventsFor(st, "checkout.session.completed", ps.Result.SessionID)
	if len(completed) != 1 {
		t.Fatalf("%d completed events", len(completed))
	}
	for i := 0; i < 2; i++ {
		if err := st.Send(url, completed[0]); err != nil {
			t.Fatal(err)
		}
	}
	stale := map[string]any{"id": testenv.ID("evt"), "object": "event", "type": "checkout.session.expired", "api_version": stripefake.APIVersion,
		"created": time.Now().Add(-time.Hour).Unix(), "data": map[string]any{"object": map[string]any{"object": "checkout.session",
			"id": ps.Result.SessionID, "client_reference_id": id, "status": "expired"}}}
	if err := st.Send(url, stale); err != nil {
		t.Fatal(err)
	}
	o, _ = a.Orders.Get(ctx, id)
	n := 0
	for _, c := range o.History() {
		if c.To == order.Authorized {
			n++
		}
	}
	if o.State() != order.Authorized || n != 1 {
		t.Errorf("state %s with %d authorizations in the history", o.State(), n)
	}

	// The authorization canceled at Stripe (as when it lapses) cancels the order.
	api, _ := stripepay.New(stripepay.Options{SecretKey: "sk_test_functions", APIBase: st.URL})
	cp := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}
	if _, err := api.PaymentIntents.Cancel(pi, cp); err != nil {
		t.Fatal(err)
	}
	st.Redeliver()
	o, _ = a.Orders.Get(ctx, id)
	if o.State() != order.Canceled {
		t.Errorf("after the intent was canceled: %s", o.State())
	}
}

// Stripe unreachable while the event is handled: 500 so that Stripe
// retries; the redelivery then authorizes the order.
func TestWebhookRetriedWhenStripeIsDown(t *testing.T) {
	a := testApp(t)
	webhookEndpoint(t)
	st := localStripe(t)
	s := newStore(t, a, 10, 10)
	u, id := readyToPay(t, a, s, "", "A", 1)
	ps := rpc[storefront.CreatePaymentSessionAnswer](t, createPaymentSession(a), u.IDToken, map[string]any{"orderId": id})
	st.FailNext(3) // the PaymentIntent read fails: stripe-go retries a GET twice itself
	if _, err := st.Pay(ps.Result.SessionID); err != nil {
		t.Fatal(err)
	}
	if o, _ := a.Orders.Get(context.Background(), id); o.State() != order.Pending {
		t.Fatalf("authorized although the intent could not be read: %s", o.State())
	}
	st.Redeliver()
	if o, _ := a.Orders.Get(context.Background(), id); o.State() != order.Authorized {
		t.Errorf("after redelivery: %s", o.State())
	}
}
