package firestoredb

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/readyplanner/oms/internal/testenv"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Checkouts racing for one SKU through two stores (two instances' queues,
// two clients) commit in groups: exactly as many holds as units, and the
// ledger has one record per winning order whose levels step through every
// held count once, as if the checkouts had committed one by one.
func TestCheckoutGroupsAcrossInstances(t *testing.T) {
	t.Parallel()
	env := testenv.Firestore(t)
	other, err := firestore.NewClient(context.Background(), testenv.Project)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	stores := []*Checkouts{NewCheckouts(NewOrders(env.Client, nil), time.UTC), NewCheckouts(NewOrders(other, nil), time.UTC)}
	ctx := context.Background()
	sku := testenv.ID("GROUP")
	if _, err := stores[0].OpenStock(ctx, sku, 20, 0, "test"); err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		won    []string
		others []error
	)
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := buyOne(ctx, stores[i%2], sku)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, d.Order.ID)
			case apperr.As(err) == nil || apperr.As(err).Reason != checkout.ReasonOutOfStock:
				others = append(others, err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 20 || len(others) > 0 {
		t.Fatalf("%d held (want 20), other errors %v", len(won), others)
	}
	snaps, err := env.Client.Collection(InventoryMovementsCollection).Where("sku", "==", sku).Where("reason", "==", "checkout").Documents(ctx).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var helds []int64
	var orders []string
	for _, s := range snaps {
		helds = append(helds, s.Data()["held"].(int64))
		orders = append(orders, s.Data()["orderId"].(string))
	}
	slices.Sort(helds)
	slices.Sort(orders)
	slices.Sort(won)
	if want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}; !slices.Equal(helds, want) {
		t.Errorf("the ledger's held counts %v, want each of 1…20 once", helds)
	}
	if !slices.Equal(orders, won) {
		t.Errorf("the ledger's orders %v, the winners %v", orders, won)
	}
}

// A checkout whose caller gave up before its turn answers at once and
// writes nothing.
func TestCheckoutGivenUpWritesNothing(t *testing.T) {
	t.Parallel()
	env := testenv.Firestore(t)
	c := NewCheckouts(NewOrders(env.Client, nil), time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	uid := testenv.ID("quitter")
	_, err := c.Run(ctx, uid, nil, func(checkout.State) (checkout.Decision, error) {
		t.Error("decided for a caller that gave up")
		return checkout.Decision{}, nil
	})
	if apperr.As(err) == nil {
		t.Fatalf("err %v, want a coded error", err)
	}
	if _, err := env.Client.Collection(CheckoutsCollection).Doc(uid).Get(context.Background()); status.Code(err) != codes.NotFound {
		t.Errorf("the pointer: %v", err)
	}
}
