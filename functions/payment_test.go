package functions

import (
	"context"
	"github.com/readyplanner/oms/internal/storefront"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/testenv"
)

// readyToPay checks out, applies a customer (and code), quotes and selects
// the first rate.
func readyToPay(t tester, a *app.App, s *store, code string, lines ...any) (emulator.User, string) {
	t.Helper()
	u, id := checkedOut(t, a, s, lines...)
	if ans := apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": testenv.ID("ann") + "@example.com", "code": code}); ans.status != 200 {
		t.Fatalf("apply: %+v", ans.Error)
	}
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": address("3 " + testenv.ID("pay") + " St")})
	if sel := rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID}); sel.status != 200 {
		t.Fatalf("select: %+v", sel.Error)
	}
	return u, id
}

// sessionTotal adds up a session request as the local Stripe received it.
func sessionTotal(t *testing.T, r stripefake.Request) int64 {
	t.Helper()
	var total int64
	for i := 0; ; i++ {
		q := r.Form.Get("line_items[" + strconv.Itoa(i) + "][quantity]")
		if q == "" {
			break
		}
		n, _ := strconv.ParseInt(q, 10, 64)
		u, _ := strconv.ParseInt(r.Form.Get("line_items["+strconv.Itoa(i)+"][price_data][unit_amount]"), 10, 64)
		total += n * u
	}
	ship, _ := strconv.ParseInt(r.Form.Get("shipping_options[0][shipping_rate_data][fixed_amount][amount]"), 10, 64)
	return total + ship
}

func sessionRequests(st *stripefake.Server, orderID string) []stripefake.Request {
	var out []stripefake.Request
	for _, r := range st.Requests() {
		if r.Path == "/v1/checkout/sessions" && r.Form.Get("client_reference_id") == orderID {
			out = append(out, r)
		}
	}
	return out
}

func TestCreatePaymentSession(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := createPaymentSession(a)
	s := newStore(t, a, 10, 10)
	st := localStripe(t)
	code := strings.ToUpper(testenv.ID("TEN"))
	// 10.00 off three sticker packs (27.00) leaves 17.00: 5.66, 5.67, 5.67.
	promo(t, a, map[string]any{"kind": "amount_off_order", "amount": map[string]any{"amount": int64(1000), "currency": "USD"}, "code": code})
	u, id := readyToPay(t, a, s, code, "A", 3)

	ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u.IDToken, map[string]any{"orderId": id, "successUrl": "http://localhost:3000/thanks?s={CHECKOUT_SESSION_ID}"})
	if ans.status != 200 || !strings.HasPrefix(ans.Result.SessionID, "cs_test_") || ans.Result.URL == "" {
		t.Fatalf("%d %+v", ans.status, ans.Error)
	}
	o, _ := a.Orders.Get(context.Background(), id)
	reqs := sessionRequests(st, id)
	if len(reqs) != 1 {
		t.Fatalf("%d session requests", len(reqs))
	}
	r := reqs[0]
	if got := sessionTotal(t, r); got != o.Total().Amount || got != ans.Result.Total || o.Total().Amount != 1700+o.ShippingAmount().Amount {
		t.Errorf("session total %d, order total %d", got, o.Total().Amount)
	}
	if r.Form.Get("payment_intent_data[capture_method]") != "manual" || r.Form.Get("mode") != "payment" || r.Form.Get("customer_email") != o.Customer.Email ||
		r.Form.Get("payment_intent_data[receipt_email]") != o.Customer.Email || r.Form.Get("metadata[orderId]") != id ||
		!strings.HasPrefix(r.IdempotencyKey, "session-"+id+"-r") {
		t.Errorf("session request %v key %q", r.Form, r.IdempotencyKey)
	}
	if exp, _ := strconv.ParseInt(r.Form.Get("expires_at"), 10, 64); exp != o.Payment.ExpiresAt.Unix() || !o.HoldExpiresAt.Equal(o.Payment.ExpiresAt) ||
		time.Until(o.Payment.ExpiresAt) < 55*time.Minute {
		t.Errorf("expiry: session %d, payment %v, holds %v", exp, o.Payment.ExpiresAt, o.HoldExpiresAt)
	}
	if o.Pricing.CommittedRevision != o.Pricing.Revision {
		t.Error("the redemptions were not committed")
	}

	// The same unchanged order: the same session, Stripe not asked again.
	again := rpc[storefront.CreatePaymentSessionAnswer](t, h, u.IDToken, map[string]any{"orderId": id})
	if again.Result.SessionID != ans.Result.SessionID || len(sessionRequests(st, id)) != 1 {
		t.Errorf("second call: %+v, %d requests", again.Result, len(sessionRequests(st, id)))
	}
	// The customer pays on the local Stripe: the card is authorized, not charged.
	pi, err := st.Pay(ans.Result.SessionID)
	if err != nil || st.Intent(pi)["status"] != "requires_capture" {
		t.Errorf("pay: %v %v", err, st.Intent(pi)["status"])
	}
}

func TestCreatePaymentSessionRefuses(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := createPaymentSession(a)
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "A", 1)
	if ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u.IDToken, map[string]any{"orderId": id}); ans.Error.Status != "FAILED_PRECONDITION" || !strings.Contains(string(ans.Error.Details), "no_customer") {
		t.Errorf("no customer: %+v", ans.Error)
	}
	apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": "Ann", "email": "ann@example.com"})
	if ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u.IDToken, map[string]any{"orderId": id}); ans.Error.Status != "FAILED_PRECONDITION" || !strings.Contains(string(ans.Error.Details), "no_shipping") {
		t.Errorf("no shipping: %+v", ans.Error)
	}
	u2, id2 := readyToPay(t, a, s, "", "A", 1)
	if ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u2.IDToken, map[string]any{"orderId": id2, "successUrl": "https://evil.example.com/phish"}); ans.Error.Status != "INVALID_ARGUMENT" ||
		!strings.Contains(ans.Error.Message, "successUrl") {
		t.Errorf("foreign success URL: %+v", ans.Error)
	}
	if ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u.IDToken, map[string]any{"orderId": id2}); ans.Error.Status != "NOT_FOUND" {
		t.Errorf("someone else's order: %+v", ans.Error)
	}
}

// Stripe answering 500: UNAVAILABLE. Stripe replays a 500 for the same
// idempotency key, so the next call plans a new session (a new key) — and
// exactly one session exists in the end.
func TestCreatePaymentSessionRetry(t *testing.T) {
	a := testApp(t)
	h := createPaymentSession(a)
	s := newStore(t, a, 10, 10)
	st := localStripe(t)
	u, id := readyToPay(t, a, s, "", "A", 1)
	st.FailNext(1) // stripe-go does not retry a plain 500
	if ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u.IDToken, map[string]any{"orderId": id}); ans.status != 503 || ans.Error.Status != "UNAVAILABLE" {
		t.Fatalf("%d %+v", ans.status, ans.Error)
	}
	ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u.IDToken, map[string]any{"orderId": id})
	if ans.status != 200 {
		t.Fatalf("retry: %+v", ans.Error)
	}
	reqs := sessionRequests(st, id)
	if len(reqs) != 2 || reqs[0].IdempotencyKey == reqs[1].IdempotencyKey {
		t.Fatalf("%d session requests; keys must differ after an answered 500", len(reqs))
	}
	o, _ := a.Orders.Get(context.Background(), id)
	if o.Payment.SessionID != ans.Result.SessionID || o.Payment.Attempt != 2 || !strings.HasSuffix(reqs[1].IdempotencyKey, "-a2") {
		t.Errorf("stored session %q (attempt %d), answered %q", o.Payment.SessionID, o.Payment.Attempt, ans.Result.SessionID)
	}
}

// A promotion with one redemption left: the first order to pay gets it; the
// second is re-priced and told.
func TestPaymentCommitsRedemptions(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := createPaymentSession(a)
	s := newStore(t, a, 10, 10)
	code := strings.ToUpper(testenv.ID("LAST"))
	promo(t, a, map[string]any{"kind": "percent_off_order", "percent": int64(50), "code": code, "maxRedemptions": int64(1)})
	u1, id1 := readyToPay(t, a, s, code, "A", 1)
	u2, id2 := readyToPay(t, a, s, code, "A", 1)
	if ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u1.IDToken, map[string]any{"orderId": id1}); ans.status != 200 {
		t.Fatalf("first: %+v", ans.Error)
	}
	ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u2.IDToken, map[string]any{"orderId": id2})
	if ans.Error.Status != "FAILED_PRECONDITION" || !strings.Contains(string(ans.Error.Details), "repriced") {
		t.Fatalf("second: %+v", ans.Error)
	}
	o2, _ := a.Orders.Get(context.Background(), id2)
	if o2.Pricing.CodeStatus != "limit_reached" || o2.LinesDiscount().Amount != 0 {
		t.Errorf("re-priced order: %+v", o2.Pricing)
	}
	if ans := rpc[storefront.CreatePaymentSessionAnswer](t, h, u2.IDToken, map[string]any{"orderId": id2}); ans.status != 200 || ans.Result.Total != o2.Total().Amount {
		t.Errorf("after review: %d %+v", ans.status, ans.Error)
	}
}
