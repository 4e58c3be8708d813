package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/readyplanner/oms/internal/storefront"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
)

type rpcAnswer[T any] struct {
	status int
	Result T `json:"result"`
	Error  struct {
		Status  string          `json:"status"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	} `json:"error"`
}

func rpc[T any](t tester, h http.Handler, token string, data any) rpcAnswer[T] {
	t.Helper()
	a := rpcB[T](h, token, data)
	if a.status == 0 {
		t.Fatal("the answer is not JSON")
	}
	if a.Error.Status != "" {
		var d struct {
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(a.Error.Details, &d); err != nil || !knownReasons[d.Reason] {
			t.Errorf("an error with a reason no table lists (storefront.Calls): %s %q %s", a.Error.Status, a.Error.Message, a.Error.Details)
		}
	}
	return a
}

// rpcB calls a callable handler as the JS SDK does ({"data": …}, the ID
// token when there is one); status 0 means the answer was not JSON. It is
// the one way tests call a callable.
func rpcB[T any](h http.Handler, token string, data any) rpcAnswer[T] {
	b, _ := json.Marshal(map[string]any{"data": data})
	r := httptest.NewRequest("POST", "/", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var a rpcAnswer[T]
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		return rpcAnswer[T]{}
	}
	a.status = w.Code
	return a
}

func address(line1 string) map[string]any {
	return map[string]any{"name": "Ann Lee", "addressLine1": line1, "cityLocality": "Austin", "stateProvince": "TX", "postalCode": "78701", "countryCode": "US"}
}

func TestQuoteAndSelectShipping(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	quote, sel := quoteShipping(a), selectShipping(a)
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "A", 2) // 2 × 40 g + the 150 g box
	street := testenv.ID("street")
	line1 := "12 " + street + " street"

	q := rpc[storefront.QuoteShippingAnswer](t, quote, u.IDToken, map[string]any{"orderId": id, "address": address(line1)})
	if q.status != 200 {
		t.Fatalf("%d %+v", q.status, q.Error)
	}
	r := q.Result
	if r.Status != "verified" || !r.Differs || strings.Join(r.Differences, ",") != "addressLine1,postalCode" || r.VerifiedAddress == nil ||
		!strings.HasSuffix(r.VerifiedAddress.AddressLine1, " ST") || len(r.Rates) != 4 || r.Currency != "USD" {
		t.Fatalf("quote %+v", r)
	}
	exp, _ := time.Parse(time.RFC3339, r.ExpiresAt)
	if d := time.Until(exp); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("expires in %s", d)
	}
	for _, rt := range r.Rates {
		if rt.RateID == "" || rt.Amount <= 0 || rt.Carrier == "" || rt.Service == "" {
			t.Errorf("rate %+v", rt)
		}
	}

	// The same address again within minutes: ShipEngine is not asked again.
	before := 0
	for _, req := range shipEngine(t).Requests() {
		if bytes.Contains(req.Body, []byte(street)) {
			before++
		}
	}
	rpc[storefront.QuoteShippingAnswer](t, quote, u.IDToken, map[string]any{"orderId": id, "address": address(line1)})
	after := 0
	for _, req := range shipEngine(t).Requests() {
		if bytes.Contains(req.Body, []byte(street)) {
			after++
		}
	}
	if before != 2 || after != 2 {
		t.Errorf("ShipEngine asked %d then %d times, want 2 and 2 (validate + rates, then the cache)", before, after)
	}

	// A price from the client is refused; the rate is named by id only.
	if ans := rpc[storefront.Order](t, sel, u.IDToken, map[string]any{"orderId": id, "rateId": r.Rates[0].RateID, "amount": 1}); ans.Error.Status != "INVALID_ARGUMENT" {
		t.Errorf("a client price: %+v", ans.Error)
	}
	if ans := rpc[storefront.Order](t, sel, u.IDToken, map[string]any{"orderId": id, "rateId": "se-forged"}); ans.Error.Status != "FAILED_PRECONDITION" ||
		!strings.Contains(string(ans.Error.Details), "unknown_rate") || !strings.Contains(ans.Error.Message, "quote shipping again") {
		t.Errorf("unknown rate: %+v", ans.Error)
	}
	chosen := r.Rates[1]
	ans := rpc[storefront.Order](t, sel, u.IDToken, map[string]any{"orderId": id, "rateId": chosen.RateID, "useVerifiedAddress": true})
	c := ans.Result.ShippingChoice
	if ans.status != 200 || c.Amount != chosen.Amount || c.RateID != chosen.RateID ||
		c.Address.AddressLine1 != r.VerifiedAddress.AddressLine1 || c.Address.Name != "Ann Lee" {
		t.Fatalf("select: %d %+v %+v", ans.status, ans.Result, ans.Error)
	}
	if ans.Result.Total != 1800+chosen.Amount || ans.Result.Shipping != chosen.Amount {
		t.Errorf("total %d (shipping %d), want %d", ans.Result.Total, ans.Result.Shipping, 1800+chosen.Amount)
	}

	// An expired quote asks to quote again.
	if _, _, err := a.Orders.Update(context.Background(), id, func(o *order.Order) (bool, error) {
		o.Quote.ExpiresAt = time.Now().Add(-time.Second)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if ans := rpc[storefront.Order](t, sel, u.IDToken, map[string]any{"orderId": id, "rateId": chosen.RateID}); ans.Error.Status != "FAILED_PRECONDITION" ||
		!strings.Contains(string(ans.Error.Details), "quote_expired") {
		t.Errorf("expired quote: %+v", ans.Error)
	}
}

func TestQuoteShippingAnswersAndErrors(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	quote := quoteShipping(a)
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "A", 1)

	// An address that cannot be verified is an answer, not an error.
	q := rpc[storefront.QuoteShippingAnswer](t, quote, u.IDToken, map[string]any{"orderId": id, "address": address("1 No Such Street " + testenv.ID("x"))})
	if q.status != 200 || q.Result.Status != "error" || q.Result.VerifiedAddress != nil || q.Result.Differs || len(q.Result.Messages) == 0 {
		t.Errorf("unverifiable: %d %+v", q.status, q.Result)
	}

	bad := address("")
	delete(bad, "cityLocality")
	if ans := rpc[storefront.QuoteShippingAnswer](t, quote, u.IDToken, map[string]any{"orderId": id, "address": bad}); ans.Error.Status != "INVALID_ARGUMENT" ||
		!strings.Contains(string(ans.Error.Details), "addressLine1") || !strings.Contains(string(ans.Error.Details), "cityLocality") {
		t.Errorf("missing fields: %+v", ans.Error)
	}
	if ans := rpc[storefront.QuoteShippingAnswer](t, quote, user(t).IDToken, map[string]any{"orderId": id, "address": address("1 Main St")}); ans.Error.Status != "NOT_FOUND" {
		t.Errorf("someone else's order: %+v", ans.Error)
	}
}

// ShipEngine failing after its retries: UNAVAILABLE with a message the
// storefront can show, and nothing stored. (Not parallel: it breaks the
// shared local ShipEngine for a moment.)
func TestQuoteShippingUnavailable(t *testing.T) {
	a := testApp(t)
	quote := quoteShipping(a)
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "A", 1)
	se := shipEngine(t)
	se.Fail5xx(1000)
	defer se.Fail5xx(0)
	ans := rpc[storefront.QuoteShippingAnswer](t, quote, u.IDToken, map[string]any{"orderId": id, "address": address("9 " + testenv.ID("down") + " Ave")})
	if ans.status != 503 || ans.Error.Status != "UNAVAILABLE" || !strings.Contains(ans.Error.Message, "try again") {
		t.Errorf("%d %+v", ans.status, ans.Error)
	}
	if o, _ := a.Orders.Get(context.Background(), id); o.Quote != nil {
		t.Error("a failed quote was stored")
	}
}

func TestFreeShippingOnceChosen(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	code := strings.ToUpper(testenv.ID("SHIPFREE"))
	promo(t, a, map[string]any{"kind": "free_shipping", "code": code})
	u, id := checkedOut(t, a, s, "A", 1)
	if ans := apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": "Ann", "email": "ann@example.com", "code": code}); ans.Result.Code.Status != "applied" {
		t.Fatalf("apply: %+v", ans.Result.Code)
	}
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": address("5 " + testenv.ID("free") + " Road")})
	ans := rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID})
	r := ans.Result
	if ans.status != 200 || r.Shipping == 0 || r.ShippingDiscount != r.Shipping || r.Total != 900 {
		t.Errorf("free shipping: %d %+v %+v", ans.status, r, ans.Error)
	}
}

// Changing the cart under a priced, shipped-to order: the same order, its
// promotions applied again to the new lines, and its shipping to be quoted
// and chosen again (the package changed).
func TestCartChangeRepricesAndClearsShipping(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	code := strings.ToUpper(testenv.ID("TENOFF"))
	promo(t, a, map[string]any{"kind": "percent_off_order", "percent": int64(10), "code": code})
	u, id := checkedOut(t, a, s, "A", 1)
	apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": "Ann", "email": "ann@example.com", "code": code})
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": address("7 " + testenv.ID("cart") + " Lane")})
	if ans := rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID}); ans.status != 200 {
		t.Fatalf("select: %+v", ans.Error)
	}

	s.cart(u.UID, "A", 1, "B", 1) // 9.00 + 18.00
	ans := call(t, startCheckout(a), u.IDToken)
	if ans.status != 200 || ans.Result.OrderID != id || ans.Result.Subtotal != 2700 || ans.Result.Discount != 270 || ans.Result.Total != 2430 {
		t.Fatalf("after the cart changed: %d %+v", ans.status, ans.Result)
	}
	o, _ := a.Orders.Get(context.Background(), id)
	if o.Quote != nil || o.Shipping != nil || o.Pricing.CodeStatus != "applied" {
		t.Errorf("quote %v, shipping %v, code %s", o.Quote, o.Shipping, o.Pricing.CodeStatus)
	}
}
