package functions

import (
	"context"
	"encoding/json"
	"github.com/readyplanner/oms/internal/storefront"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/testenv"
)

// normal turns a JSON-able value into the plain JSON values (numbers as
// float64) with every RFC 3339 time in UTC to the second, so that a
// Firestore document's timestamps compare with an answer's strings.
func normal(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return tm.UTC().Truncate(time.Second).Format(time.RFC3339)
			}
		}
		return v
	}
	return walk(out)
}

// sameAsDocument checks that every field of a callable's answer is on the
// order document under the same name with the same value, except the
// fields the call itself adds (callOnly).
func sameAsDocument(t *testing.T, what string, doc map[string]any, answer any, callOnly ...string) {
	t.Helper()
	d := normal(t, doc).(map[string]any)
	a, ok := normal(t, answer).(map[string]any)
	if !ok {
		t.Fatalf("%s: the answer is not an object", what)
	}
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if contains(callOnly, k) {
			continue
		}
		dv, ok := d[k]
		if !ok {
			t.Errorf("%s: %q is in the answer (%v) but not on the order document", what, k, a[k])
			continue
		}
		if !subset(a[k], dv) {
			t.Errorf("%s: %q differs:\n answer   %v\n document %v", what, k, a[k], dv)
		}
	}
}

// subset reports whether every field of the answer's value is in the
// document's value (objects may carry more on the document: internal
// fields documented as harmless).
func subset(a, d any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := d.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range x {
			if !subset(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := d.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !subset(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, d)
}

// The order a customer's page reads from orders/{id} and the order every
// callable answers are one view: the same names with the same meanings.
// Found by the storefront review (issue 13): with a 10% code and free
// shipping the document's discount included the shipping discount (1700)
// while the callables' discount was the lines' only (820).
func TestOrderViewIsTheDocument(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	ctx := context.Background()
	email := testenv.ID("view") + "@example.com"
	code := strings.ToUpper(testenv.ID("TEN"))
	promo(t, a, map[string]any{"kind": "percent_off_order", "percent": int64(10), "code": code, "priority": int64(10)})
	promo(t, a, map[string]any{"kind": "free_shipping", "emails": []any{email}, "priority": int64(20)})
	u, id := checkedOut(t, a, s, "P", 2, "A", 1) // 76.00 + 9.00
	doc := func() map[string]any {
		t.Helper()
		snap, err := a.Firestore.Collection("orders").Doc(id).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Data()
	}

	applied := rpc[map[string]any](t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": email, "code": code})
	if applied.status != 200 {
		t.Fatalf("applyCustomer: %d %+v", applied.status, applied.Error)
	}
	sameAsDocument(t, "applyCustomer", doc(), applied.Result)

	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": address("8 " + testenv.ID("view") + " Street")})
	if q.status != 200 {
		t.Fatalf("quote: %+v", q.Error)
	}
	sel := rpc[map[string]any](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID})
	if sel.status != 200 {
		t.Fatalf("selectShipping: %+v", sel.Error)
	}
	d := doc()
	sameAsDocument(t, "selectShipping", d, sel.Result)

	again := rpc[map[string]any](t, startCheckout(a), u.IDToken, map[string]any{})
	if again.status != 200 {
		t.Fatalf("startCheckout: %+v", again.Error)
	}
	sameAsDocument(t, "startCheckout", d, again.Result, "reused")

	// The document's own amounts add up by the documented formula.
	num := func(k string) int64 {
		t.Helper()
		v, ok := d[k].(int64)
		if !ok {
			t.Fatalf("document %q is %T (%v), not an integer", k, d[k], d[k])
		}
		return v
	}
	sub, disc, ship, shipDisc, total := num("subtotal"), num("discount"), num("shipping"), num("shippingDiscount"), num("total")
	if sub != 8500 || disc != 850 || ship == 0 || shipDisc != ship || total != sub-disc+ship-shipDisc || total != 7650 {
		t.Errorf("document amounts: subtotal %d discount %d shipping %d shippingDiscount %d total %d", sub, disc, ship, shipDisc, total)
	}
	t.Logf("document: subtotal %d discount %d shipping %d shippingDiscount %d total %d", sub, disc, ship, shipDisc, total)
}
