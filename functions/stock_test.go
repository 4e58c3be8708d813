package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
)

// owner signs in the store's owner (the admin claim).
func owner(t tester) emulator.User {
	t.Helper()
	u, err := emulator.SignInAs(context.Background(), testenv.AuthHost(t), testenv.ID("owner"), map[string]any{"admin": true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ledger sums the stock ledger of sku: on hand and held, as replayed.
func ledger(t *testing.T, a *app.App, sku string) (onHand, held int64, n int) {
	t.Helper()
	snaps, err := a.Firestore.Collection(firestoredb.InventoryMovementsCollection).Where("sku", "==", sku).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snaps {
		d := s.Data()
		dh, _ := d["deltaOnHand"].(int64)
		dd, _ := d["deltaHeld"].(int64)
		onHand, held = onHand+dh, held+dd
	}
	return onHand, held, len(snaps)
}

// A busy run — customers checking out, changing carts and abandoning them
// at once, orders expiring, canceled and shipped, the owner restocking and
// writing off damage — and the stock ledger, replayed from nothing, gives
// exactly the inventory documents.
func TestStockLedgerReplays(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 0, 0)
	boss := owner(t)
	for _, name := range []string{"A", "B"} { // the starting stock comes in through the ledger too
		if ans := rpc[storefront.StockLevel](t, withRequestID(adjustStock(a)), boss.IDToken, map[string]any{"sku": s.sku[name], "delta": 40, "reason": "first delivery"}); ans.status != 200 {
			t.Fatalf("restock %s: %+v", name, ans.Error)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var orders []string
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			u := user(t)
			for round := 0; round < 3; round++ {
				s.cart(u.UID, "A", rng.IntN(4)+1, "B", rng.IntN(3)+1)
				ans := rpcB[storefront.StartCheckoutAnswer](startCheckout(a), u.IDToken, map[string]any{})
				if ans.status == 200 && round == 2 {
					mu.Lock()
					orders = append(orders, ans.Result.OrderID)
					mu.Unlock()
				}
			}
		}(i)
	}
	wg.Add(1)
	go func() { // the owner, meanwhile
		defer wg.Done()
		for _, d := range []int{5, -2, 3, -1} {
			rpcB[json.RawMessage](withRequestID(adjustStock(a)), boss.IDToken, map[string]any{"sku": s.sku["A"], "delta": d, "reason": fmt.Sprintf("count %+d", d)})
		}
	}()
	wg.Wait()
	// A third of the orders expire, a third are canceled, a third ship.
	for i, id := range orders {
		switch i % 3 {
		case 0:
			if _, err := a.CheckoutSteps.ExpireIfLapsed(ctx, id, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		case 1:
			if _, err := a.CheckoutSteps.ReleaseHolds(ctx, id); err != nil {
				t.Fatal(err)
			}
		case 2:
			if _, err := a.CheckoutSteps.CommitStock(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range []string{"A", "B"} {
		onHand, held := s.level(name)
		lOn, lHeld, n := ledger(t, a, s.sku[name])
		if lOn != onHand || lHeld != held {
			t.Errorf("%s: the ledger (%d records) replays to onHand %d held %d; the inventory says %d, %d", name, n, lOn, lHeld, onHand, held)
		}
		t.Logf("%s: %d ledger records replay to onHand %d, held %d", name, n, lOn, lHeld)
	}
	if len(orders) < 6 {
		t.Errorf("only %d orders were made", len(orders))
	}
}

// Stock falling below its lowStockAt raises one owner alert per crossing,
// from the sweeper: a second sale below the line raises nothing more; a
// restock above it and a new fall raise the next one.
func TestLowStockAlertsOncePerCrossing(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 5, 5)
	sku := s.sku["A"]
	if _, err := a.Firestore.Collection("inventory").Doc(sku).Update(ctx, []firestore.Update{{Path: "lowStockAt", Value: 3}}); err != nil {
		t.Fatal(err)
	}
	boss := owner(t)
	alerts := func() []string {
		t.Helper()
		if _, err := a.Stock.Tasks()["alertLowStock"](ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		snaps, err := a.Firestore.Collection("alerts").Where("kind", "==", "low_stock").Documents(ctx).GetAll()
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, s := range snaps {
			if strings.Contains(s.Ref.ID, sku) {
				keys = append(keys, s.Ref.ID)
			}
		}
		slices.Sort(keys)
		return keys
	}
	checkout := func(n int) {
		t.Helper()
		u := user(t)
		s.cart(u.UID, "A", n)
		if ans := call(t, startCheckout(a), u.IDToken); ans.status != 200 {
			t.Fatalf("checkout: %+v", ans.Error)
		}
	}
	checkout(1) // 4 available: above the line
	if got := alerts(); len(got) != 0 {
		t.Fatalf("alerts above the line: %v", got)
	}
	checkout(2) // 2 available: crossed
	checkout(1) // 1 available: still below
	if got := alerts(); !slices.Equal(got, []string{"low-stock-" + sku + "-1"}) {
		t.Fatalf("after the first crossing: %v", got)
	}
	if got := alerts(); len(got) != 1 {
		t.Fatalf("a second sweep: %v", got)
	}
	rpc[storefront.StockLevel](t, withRequestID(adjustStock(a)), boss.IDToken, map[string]any{"sku": sku, "delta": 10, "reason": "restock"}) // 11 available
	checkout(9)                                                                                                                              // 2 available: crossed again
	if got := alerts(); !slices.Equal(got, []string{"low-stock-" + sku + "-1", "low-stock-" + sku + "-2"}) {
		t.Fatalf("after the second crossing: %v", got)
	}
}

// adjustStock: the owner only; never below what is held; every field
// checked; the new levels answered and written to the ledger with the
// owner as actor.
func TestAdjustStock(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 5, 5)
	sku := s.sku["A"]
	u := user(t)
	s.cart(u.UID, "A", 3)
	call(t, startCheckout(a), u.IDToken) // 3 held
	boss := owner(t)
	pretender, _ := emulator.SignInAs(context.Background(), testenv.AuthHost(t), testenv.ID("pretender"), map[string]any{"admin": "true"})
	h := withRequestID(adjustStock(a))
	for _, who := range []emulator.User{u, pretender} {
		if ans := rpc[json.RawMessage](t, h, who.IDToken, map[string]any{"sku": sku, "delta": 100, "reason": "mine now"}); ans.Error.Status != "PERMISSION_DENIED" {
			t.Errorf("a customer adjusting stock: %d %+v", ans.status, ans.Error)
		}
	}
	ans := rpc[storefront.StockLevel](t, h, boss.IDToken, map[string]any{"sku": sku, "delta": -2, "reason": "two damaged"})
	if ans.status != 200 || ans.Result != (storefront.StockLevel{SKU: sku, OnHand: 3, Held: 3, Available: 0}) {
		t.Fatalf("damage: %d %+v %+v", ans.status, ans.Result, ans.Error)
	}
	if ans := rpc[json.RawMessage](t, h, boss.IDToken, map[string]any{"sku": sku, "delta": -1, "reason": "one more"}); ans.Error.Status != "FAILED_PRECONDITION" ||
		!strings.Contains(string(ans.Error.Details), `"below_held"`) {
		t.Errorf("below what is held: %d %+v", ans.status, ans.Error)
	}
	if on, held := s.level("A"); on != 3 || held != 3 {
		t.Errorf("after the refusal: %d on hand, %d held", on, held)
	}
	snaps, _ := a.Firestore.Collection(firestoredb.InventoryMovementsCollection).Where("sku", "==", sku).Where("reason", "==", "adjust").Documents(context.Background()).GetAll()
	if len(snaps) != 1 || snaps[0].Data()["actor"] != "owner:"+boss.UID || snaps[0].Data()["note"] != "two damaged" || snaps[0].Data()["deltaOnHand"] != int64(-2) {
		t.Errorf("the ledger's adjustment: %d records %v", len(snaps), snaps)
	}
}
