package checkout

import (
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func priced(lines ...pricing.Line) pricing.Priced {
	p := pricing.Priced{Subtotal: money.New(0, "USD")}
	for _, l := range lines {
		p.Lines = append(p.Lines, l)
		p.Subtotal.Amount += l.Total.Amount
	}
	return p
}

func stock(sku string, q int64) pricing.Line {
	return pricing.Line{SKU: sku, Quantity: q, UnitPrice: money.New(100, "USD"), Total: money.New(100*q, "USD"), Fulfillment: catalog.Stock}
}

func pod(sku string, q int64) pricing.Line {
	l := stock(sku, q)
	l.Fulfillment = catalog.PrintOnDemand
	return l
}

func req(hash string, p pricing.Priced) Request {
	return Request{UID: "u1", Currency: "USD", CartHash: hash, Priced: p, NewID: "new", Now: now, HoldTTL: 30 * time.Minute}
}

func openOrder(t *testing.T, hash string, expires time.Time, holds ...order.Hold) *order.Order {
	t.Helper()
	o, err := order.New("open", "u1", "USD", now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	o.CartHash, o.HoldExpiresAt, o.Holds = hash, expires, holds
	return o
}

func TestNewOrderHoldsOnlyStock(t *testing.T) {
	d, err := Decide(State{Levels: map[string]inventory.Level{"A": {OnHand: 5}}}, req("h1", priced(stock("A", 2), pod("P", 3))))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Write || !d.Create || d.Order.ID != "new" || d.Order.State() != order.Pending {
		t.Fatalf("decision %+v", d)
	}
	if len(d.Order.Holds) != 1 || d.Order.Holds[0] != (order.Hold{SKU: "A", Quantity: 2}) || d.Levels["A"] != (inventory.Level{OnHand: 5, Held: 2}) {
		t.Errorf("holds %v levels %v", d.Order.Holds, d.Levels)
	}
	if !d.Order.HoldExpiresAt.Equal(now.Add(30 * time.Minute)) {
		t.Errorf("expiry %v", d.Order.HoldExpiresAt)
	}
}

func TestSameCartReusesWithoutWriting(t *testing.T) {
	open := openOrder(t, "h1", now.Add(10*time.Minute), order.Hold{SKU: "A", Quantity: 2})
	d, err := Decide(State{Open: open, Levels: map[string]inventory.Level{"A": {OnHand: 2, Held: 2}}}, req("h1", priced(stock("A", 2))))
	if err != nil || d.Write || !d.Reused || d.Order != open {
		t.Fatalf("decision %+v err %v", d, err)
	}
}

func TestChangedCartReplacesHolds(t *testing.T) {
	open := openOrder(t, "h1", now.Add(10*time.Minute), order.Hold{SKU: "A", Quantity: 2})
	// Only 2 on hand, both held by this very order: 2 of B and 2 of A again must fit.
	d, err := Decide(State{Open: open, Levels: map[string]inventory.Level{"A": {OnHand: 2, Held: 2}, "B": {OnHand: 3}}},
		req("h2", priced(stock("A", 2), stock("B", 2))))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Write || d.Create || d.Order.ID != "open" || d.Order.CartHash != "h2" || len(d.Order.Holds) != 2 {
		t.Fatalf("decision %+v", d)
	}
	if _, changed := d.Levels["A"]; changed || d.Levels["B"] != (inventory.Level{OnHand: 3, Held: 2}) {
		t.Errorf("levels %v", d.Levels)
	}
}

func TestLapsedOpenOrderExpiresAndReleases(t *testing.T) {
	open := openOrder(t, "h1", now.Add(-time.Second), order.Hold{SKU: "A", Quantity: 2})
	d, err := Decide(State{Open: open, Levels: map[string]inventory.Level{"A": {OnHand: 2, Held: 2}}}, req("h1", priced(stock("A", 1))))
	if err != nil {
		t.Fatal(err)
	}
	if d.Expired == nil || d.Expired.State() != order.Expired || !d.Expired.HoldsReleased || !d.Create {
		t.Fatalf("decision %+v", d)
	}
	if d.Levels["A"] != (inventory.Level{OnHand: 2, Held: 1}) {
		t.Errorf("levels %v", d.Levels)
	}
}

func TestShortWritesNothing(t *testing.T) {
	open := openOrder(t, "h1", now.Add(-time.Second), order.Hold{SKU: "A", Quantity: 1})
	_, err := Decide(State{Open: open, Levels: map[string]inventory.Level{"A": {OnHand: 1, Held: 1}, "B": {OnHand: 0}}},
		req("h2", priced(stock("A", 2), stock("B", 1))))
	e := apperr.As(err)
	if e == nil || e.Code != apperr.FailedPrecondition {
		t.Fatalf("err %v", err)
	}
	short := e.Details.(map[string]any)["unavailable"].([]inventory.Shortage)
	if len(short) != 2 || short[0] != (inventory.Shortage{SKU: "A", Requested: 2, Available: 1}) || short[1] != (inventory.Shortage{SKU: "B", Requested: 1, Available: 0}) {
		t.Errorf("shortages %+v", short)
	}
	if e.Message != "A: only 1 left (and 1 more lines are short)" {
		t.Errorf("message %q", e.Message)
	}
}

func TestPaidForOrderIsNotReused(t *testing.T) {
	open := openOrder(t, "h1", now.Add(10*time.Minute))
	if _, err := open.Transition(order.Move{To: order.Authorized}, now); err != nil {
		t.Fatal(err)
	}
	d, err := Decide(State{Open: open}, req("h1", priced(pod("P", 1))))
	if err != nil || !d.Create || d.Expired != nil {
		t.Fatalf("decision %+v %v", d, err)
	}
	if !open.HoldExpiresAt.IsZero() {
		t.Error("authorization must make holds firm")
	}
}

// A checkout is refused without a transaction only when the transaction
// would refuse it: a new customer, a short line; a customer with an order
// (whose holds may be reused or given back) always goes to the
// transaction, and so does one whose lines are all there.
func TestRefuseEarly(t *testing.T) {
	soldOut := map[string]inventory.Level{"A": {OnHand: 5, Held: 5}, "B": {OnHand: 9, Held: 1}}
	for _, tc := range []struct {
		name     string
		levels   map[string]inventory.Level
		hasOrder bool
		lines    []pricing.Line
		refused  bool
	}{
		{"new customer, sold out", soldOut, false, []pricing.Line{stock("A", 1)}, true},
		{"new customer, one line short of two", soldOut, false, []pricing.Line{stock("B", 2), stock("A", 1)}, true},
		{"new customer, more than is left", soldOut, false, []pricing.Line{stock("B", 9)}, true},
		{"new customer, no stock at all", soldOut, false, []pricing.Line{stock("Z", 1)}, true},
		{"new customer, enough", soldOut, false, []pricing.Line{stock("B", 8), pod("P", 3)}, false},
		{"print only", soldOut, false, []pricing.Line{pod("P", 1)}, false},
		{"a customer with an order, sold out", soldOut, true, []pricing.Line{stock("A", 1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := RefuseEarly(tc.levels, tc.hasOrder, req("h", priced(tc.lines...)))
			if got := err != nil; got != tc.refused {
				t.Fatalf("refused %v (%v), want %v", got, err, tc.refused)
			}
			if err != nil && (apperr.CodeOf(err) != apperr.FailedPrecondition || apperr.As(err).Reason != ReasonOutOfStock) {
				t.Errorf("refusal %v", err)
			}
		})
	}
}
