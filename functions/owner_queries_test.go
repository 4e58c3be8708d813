package functions

// Issue 21, part 2: the owner's reads, on a Firestore project of their
// own (a rig), so that counts and pages see only this test's orders.

import (
	"context"
	"fmt"
	"testing"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/order"
	owners "github.com/readyplanner/oms/internal/owner"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestOwnerReads(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	s := newStore(t, r.a, 20, 20)
	q := r.a.OwnerApp.Queries
	who := &identity.Identity{UID: testenv.ID("owner"), Claims: map[string]any{r.a.Config.AdminClaim: true}}
	shopper := &identity.Identity{UID: testenv.ID("shopper")}

	// Five pending orders (two customers), one authorized.
	var pending []string
	for i := 0; i < 5; i++ {
		_, id := readyToPay(t, r.a, s, "", "A", 1)
		pending = append(pending, id)
		r.clk.Advance(1e9) // one second apart: newest first is well defined
	}
	u, authorized := readyToPay(t, r.a, s, "", "B", 1)
	if _, err := r.st.Pay(r.mustSession(t, u.IDToken, authorized)); err != nil {
		t.Fatal(err)
	}
	r.settle(t, authorized)

	if _, _, err := q.OrdersInState(ctx, shopper, order.Pending, "", 2); err == nil {
		t.Error("a customer read the owner's orders")
	}
	// Pages of two, newest first, through the cursor.
	var got []string
	after := ""
	for page := 0; page < 5; page++ {
		orders, next, err := q.OrdersInState(ctx, who, order.Pending, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range orders {
			got = append(got, o.ID)
		}
		if after = next; after == "" {
			break
		}
	}
	want := []string{pending[4], pending[3], pending[2], pending[1], pending[0]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pending orders paged: %v, want %v", got, want)
	}
	if _, _, err := q.OrdersInState(ctx, who, order.Pending, "not-a-cursor", 2); err == nil {
		t.Error("a forged cursor was taken")
	}

	counts, err := q.Counts(ctx, who)
	if err != nil {
		t.Fatal(err)
	}
	byState := map[order.State]int64{}
	for _, c := range counts {
		byState[c.State] = c.Count
	}
	if counts[0].State != order.NeedsAttention || byState[order.Pending] != 5 || byState[order.Invoiced]+byState[order.Authorized] != 1 || len(counts) != len(order.States) {
		t.Errorf("counts: %+v", counts)
	}

	// Search by id, by email (folded), by the start of a name.
	o, _ := r.a.Orders.Get(ctx, authorized)
	for text, want := range map[string]int{authorized: 1, " " + o.Customer.Email + " ": 1, "Ann": 6, order.NewID(): 0, "Zed": 0} {
		found, err := q.Search(ctx, who, text)
		if err != nil || len(found) != want {
			t.Errorf("search %q: %d found, want %d (%v)", text, len(found), want, err)
		}
	}

	// The alerts inbox: open newest first, resolve one (twice: once),
	// then it is among the resolved.
	for i := 0; i < 3; i++ {
		if _, err := r.a.Alerts.Raise(ctx, alert.Alert{Key: fmt.Sprintf("test-%s-%d", authorized, i), Kind: alert.OrderReview, OrderID: authorized,
			Subject: fmt.Sprint("alert ", i), Text: "x"}); err != nil {
			t.Fatal(err)
		}
		r.clk.Advance(1e9)
	}
	open, _, err := q.Alerts(ctx, who, true, "", 100)
	if err != nil || len(open) < 3 {
		t.Fatalf("open alerts: %d %v", len(open), err)
	}
	key := fmt.Sprintf("test-%s-%d", authorized, 1)
	req := owners.ResolveAlert{RequestID: testenv.ID("resolve"), Key: key}
	first, err := r.a.OwnerApp.Commands.ResolveAlert(ctx, who, req)
	if err != nil || first.ResolvedAt.IsZero() {
		t.Fatalf("resolve: %+v %v", first, err)
	}
	r.clk.Advance(1e9)
	again, err := r.a.OwnerApp.Commands.ResolveAlert(ctx, who, req)
	if err != nil || !again.ResolvedAt.Equal(first.ResolvedAt) {
		t.Errorf("resolve again: %+v %v", again, err)
	}
	if _, err := r.a.OwnerApp.Commands.ResolveAlert(ctx, who, owners.ResolveAlert{RequestID: testenv.ID("resolve"), Key: "no-such-alert"}); err == nil {
		t.Error("an unknown alert was resolved")
	}
	resolved, _, err := q.Alerts(ctx, who, false, "", 100)
	if err != nil || len(resolved) == 0 || resolved[0].Key != key {
		t.Errorf("resolved alerts: %+v %v", resolved, err)
	}
	stillOpen, _, _ := q.Alerts(ctx, who, true, "", 100)
	if len(stillOpen) != len(open)-1 {
		t.Errorf("open alerts after a resolve: %d, were %d", len(stillOpen), len(open))
	}

	// One order with everything: its emails with their delivery state.
	r.settle(t, authorized)
	detail, err := q.Order(ctx, who, authorized)
	if err != nil || detail.Order.ID != authorized || len(detail.Mail) == 0 || detail.Mail[0].Delivery.State == "" {
		t.Errorf("the order's page: %+v %v", detail.Mail, err)
	}
	failed, latest, err := q.Outbox(ctx, who, 10)
	if err != nil || len(failed) != 0 || len(latest) == 0 {
		t.Errorf("the outbox: %d failed, %d latest, %v", len(failed), len(latest), err)
	}

	// A SKU's stock and its ledger, newest first, in pages.
	sku := s.sku["A"]
	for _, d := range []int64{5, -1} {
		if _, err := r.a.OwnerApp.Commands.AdjustStock(ctx, who, owners.AdjustStock{RequestID: testenv.ID("adjust"), SKU: sku, Delta: d, Reason: "count"}); err != nil {
			t.Fatal(err)
		}
		r.clk.Advance(1e9)
	}
	page1, err := q.Stock(ctx, who, sku, "", 1)
	if err != nil || len(page1.Movements) != 1 || page1.Movements[0].DeltaOnHand != -1 || page1.Next == "" || page1.Level.OnHand != 24 {
		t.Fatalf("the stock's first page: %+v %v", page1, err)
	}
	second, err := q.Stock(ctx, who, sku, page1.Next, 1)
	if err != nil || len(second.Movements) != 1 || second.Movements[0].DeltaOnHand != 5 {
		t.Errorf("the stock's second page: %+v %v", second, err)
	}
}
