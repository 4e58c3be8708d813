package functions

import (
	"context"
	"fmt"
	"github.com/readyplanner/oms/internal/storefront"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
)

// apply calls applyCustomer as the storefront does.
func apply(t tester, h http.Handler, token string, data map[string]any) rpcAnswer[storefront.Order] {
	t.Helper()
	return rpc[storefront.Order](t, h, token, data)
}

// promo writes a promotion with a unique id; tests tie every promotion to
// a unique code or email so that they never apply to each other's orders.
func promo(t tester, a *app.App, fields map[string]any) string {
	t.Helper()
	id := testenv.ID("promo")
	fields["active"] = true
	if _, ok := fields["name"]; !ok {
		fields["name"], fields["description"] = id, "Description of "+id
	}
	if _, err := a.Firestore.Collection("promotions").Doc(id).Set(context.Background(), fields); err != nil {
		t.Fatal(err)
	}
	return id
}

// checkedOut signs a user in, fills the cart and checks out.
func checkedOut(t tester, a *app.App, s *store, lines ...any) (emulator.User, string) {
	t.Helper()
	u := user(t)
	s.cart(u.UID, lines...)
	ans := call(t, startCheckout(a), u.IDToken)
	if ans.status != 200 {
		t.Fatalf("checkout: %d %+v", ans.status, ans.Error)
	}
	return u, ans.Result.OrderID
}

func TestApplyCustomerPrices(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := applyCustomer(a)
	s := newStore(t, a, 10, 10)
	email := testenv.ID("ann") + "@example.com"
	code := strings.ToUpper(testenv.ID("SAVE"))
	fam := promo(t, a, map[string]any{"kind": "percent_off_order", "percent": int64(10), "emails": []any{email}, "priority": int64(20),
		"name": "Friends", "description": "10% off for friends"})
	five := promo(t, a, map[string]any{"kind": "amount_off_order", "amount": map[string]any{"amount": int64(500), "currency": "USD"},
		"code": code, "priority": int64(10)})
	u, id := checkedOut(t, a, s, "A", 2, "P", 1) // 18.00 + 38.00

	ans := apply(t, h, u.IDToken, map[string]any{"orderId": id, "name": " Ann Lee ", "email": strings.ToUpper(email), "code": strings.ToLower(code)})
	if ans.status != 200 {
		t.Fatalf("%d %+v", ans.status, ans.Error)
	}
	r := ans.Result
	// 5.00 first (priority 10), then 10% of the remaining 51.00 = 5.10.
	if r.Subtotal != 5600 || r.Discount != 1010 || r.Total != 4590 || len(r.Promotions) != 2 || r.Promotions[0].ID != five || r.Promotions[1].ID != fam {
		t.Fatalf("priced %+v", r)
	}
	if r.Promotions[1].Description != "10% off for friends" || r.Code == nil || r.Code.Status != "applied" || r.Customer.Name != "Ann Lee" {
		t.Errorf("answer %+v code %+v", r, r.Code)
	}
	var sum int64
	for _, l := range r.Lines {
		if l.Discount < 0 || l.Discount > l.Total {
			t.Errorf("line %+v", l)
		}
		sum += l.Discount
	}
	if sum != r.Discount {
		t.Errorf("line discounts sum to %d, discount %d", sum, r.Discount)
	}

	// An unknown code is a reason, not a failure; calling again replaces the pricing.
	ans = apply(t, h, u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": email, "code": "NO-SUCH-CODE"})
	if ans.status != 200 || ans.Result.Code.Status != "unknown" || ans.Result.Code.Message == "" || len(ans.Result.Promotions) != 1 || ans.Result.Discount != 560 {
		t.Errorf("unknown code: %d %+v", ans.status, ans.Result)
	}
	o, _ := a.Orders.Get(context.Background(), id)
	if o.Pricing.Revision != 2 || o.Customer.Email != email || o.Customer.MailboxKey == "" {
		t.Errorf("stored pricing %+v customer %+v", o.Pricing, o.Customer)
	}
}

func TestApplyCustomerRefuses(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := applyCustomer(a)
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "A", 1)
	other := user(t)
	ok := map[string]any{"orderId": id, "name": "Ann", "email": "ann@example.com"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name   string
		token  string
		data   map[string]any
		status string
		msg    string
	}{
		{"someone else's order", other.IDToken, ok, "NOT_FOUND", "not found"},
		{"no such order", u.IDToken, with("orderId", "ZZZZZZZZZZZZ"), "NOT_FOUND", "not found"},
		{"not an order id", u.IDToken, with("orderId", "NOPE"), "INVALID_ARGUMENT", "orderId"},
		{"malformed email", u.IDToken, with("email", "ann@"), "INVALID_ARGUMENT", "not an email address"},
		{"email with a name", u.IDToken, with("email", "Ann <ann@example.com>"), "INVALID_ARGUMENT", "not an email address"},
		{"no domain dot", u.IDToken, with("email", "ann@localhost"), "INVALID_ARGUMENT", "not an email address"},
		{"no name", u.IDToken, with("name", "  "), "INVALID_ARGUMENT", "name"},
		{"no order id", u.IDToken, with("orderId", ""), "INVALID_ARGUMENT", "orderId"},
		{"a price from the client", u.IDToken, with("total", 1), "INVALID_ARGUMENT", `unknown field "total"`},
	}
	for _, tt := range tests {
		ans := apply(t, h, tt.token, tt.data)
		if ans.Error.Status != tt.status || !strings.Contains(ans.Error.Message, tt.msg) {
			t.Errorf("%s: %d %+v", tt.name, ans.status, ans.Error)
		}
	}
	o, _ := a.Orders.Get(context.Background(), id)
	if o.Customer != nil || o.Pricing.Revision != 0 {
		t.Errorf("a refused call wrote: %+v %+v", o.Customer, o.Pricing)
	}
	if _, _, err := a.Orders.Transition(context.Background(), id, order.Move{To: order.Canceled}); err != nil {
		t.Fatal(err)
	}
	if ans := apply(t, h, u.IDToken, ok); ans.Error.Status != "FAILED_PRECONDITION" {
		t.Errorf("canceled order: %+v", ans.Error)
	}
}

func TestFirstOrderOnly(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := applyCustomer(a)
	s := newStore(t, a, 10, 10)
	code := strings.ToUpper(testenv.ID("FIRST"))
	promo(t, a, map[string]any{"kind": "percent_off_order", "percent": int64(10), "code": code, "firstOrderOnly": true})
	email := testenv.ID("repeat") + "@example.com"

	u, id := checkedOut(t, a, s, "A", 1)
	if ans := apply(t, h, u.IDToken, map[string]any{"orderId": id, "name": "R", "email": email, "code": code}); ans.Result.Code.Status != "applied" {
		t.Fatalf("first order: %+v", ans.Result.Code)
	}
	if _, _, err := a.Orders.Transition(context.Background(), id, order.Move{From: []order.State{order.Pending}, To: order.Authorized}); err != nil {
		t.Fatal(err)
	}
	u2, id2 := checkedOut(t, a, s, "A", 1)
	ans := apply(t, h, u2.IDToken, map[string]any{"orderId": id2, "name": "R", "email": " " + strings.ToUpper(email), "code": code})
	if ans.Result.Code.Status != "not_eligible" || !strings.Contains(ans.Result.Code.Message, "first order") {
		t.Errorf("second order: %+v", ans.Result.Code)
	}
}

// Twenty orders race to commit a promotion limited to five redemptions:
// exactly five get it; the other fifteen are re-priced without it.
func TestRedemptionRace(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := applyCustomer(a)
	s := newStore(t, a, 100, 10)
	code := strings.ToUpper(testenv.ID("FIVE"))
	pid := promo(t, a, map[string]any{"kind": "amount_off_order", "amount": map[string]any{"amount": int64(300), "currency": "USD"},
		"code": code, "maxRedemptions": int64(5)})
	const orders = 20
	ids := make([]string, orders)
	for i := range ids {
		u, id := checkedOut(t, a, s, "A", 1)
		ans := apply(t, h, u.IDToken, map[string]any{"orderId": id, "name": "Buyer", "email": fmt.Sprintf("buyer%d-%s@example.com", i, pid), "code": code})
		if ans.status != 200 || ans.Result.Code.Status != "applied" {
			t.Fatalf("apply %d: %d %+v", i, ans.status, ans.Result.Code)
		}
		ids[i] = id
	}
	var (
		wg                   sync.WaitGroup
		mu                   sync.Mutex
		kept, repriced, errs int
	)
	start := time.Now()
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := a.Customers.CommitRedemptions(context.Background(), id, nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs++
				t.Errorf("commit %s: %v", id, err)
			case r:
				repriced++
			default:
				kept++
			}
		}()
	}
	wg.Wait()
	t.Logf("%d commits in %s", orders, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	counter, _ := a.Firestore.Collection("promotionCounters").Doc(pid).Get(ctx)
	total, _ := counter.DataAt("total")
	recs, _ := a.Firestore.Collection("redemptions").Where("promotionId", "==", pid).Documents(ctx).GetAll()
	if kept != 5 || repriced != 15 || errs != 0 || total != int64(5) || len(recs) != 5 {
		t.Fatalf("kept %d, repriced %d, errors %d, counter %v, records %d", kept, repriced, errs, total, len(recs))
	}
	var committed, limited string
	for _, id := range ids {
		o, _ := a.Orders.Get(ctx, id)
		if o.Pricing.CommittedRevision == o.Pricing.Revision && len(o.Pricing.Promotions) == 1 {
			committed = id
		} else if o.Pricing.CodeStatus == "limit_reached" && len(o.Pricing.Promotions) == 0 && o.Total().Amount == 900 {
			limited = id
		}
	}
	if committed == "" || limited == "" {
		t.Fatal("no committed order or no re-priced order with limit_reached")
	}
	// Committing again changes nothing; a re-priced order then commits without the promotion.
	if r, err := a.Customers.CommitRedemptions(ctx, committed, nil); err != nil || r {
		t.Errorf("second commit: %v %v", r, err)
	}
	if r, err := a.Customers.CommitRedemptions(ctx, limited, nil); err != nil || r {
		t.Errorf("commit after re-pricing: %v %v", r, err)
	}
	// Releasing gives one back, once.
	for i, want := range []bool{true, false} {
		if done, err := a.CheckoutSteps.ReleaseRedemptions(ctx, committed); err != nil || done != want {
			t.Errorf("release #%d: %v %v", i+1, done, err)
		}
	}
	counter, _ = a.Firestore.Collection("promotionCounters").Doc(pid).Get(ctx)
	if total, _ := counter.DataAt("total"); total != int64(4) {
		t.Errorf("counter after release %v, want 4", total)
	}
}
