package functions

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/testenv"
)

// The sale check compares the inventory with the ledger while the stock
// may still move (TestHotSKUWhileStockMoves checks its wave while the owner
// restocks): it must read the two as of one instant, or it reports a
// mismatch that is only its own reads straddling a commit.
func TestHotSKUCheckWhileStockMoves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sku := hotSKU(t, 20)
	store := firestoredb.NewCheckouts(firestoredb.NewOrders(testenv.Firestore(t).Client, nil), time.UTC)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Add(1)
	go func() { // the owner restocks, a unit every few milliseconds, until the checks end
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rand.IntN(20)) * time.Millisecond):
			}
			id := testenv.ID("restock")
			if _, err := store.AdjustStock(ctx, sku, func(l inventory.Level) (inventory.Level, error) { return inventory.Adjust(l, 1) },
				"owner:test", "restock", id, fmt.Sprint(id)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 60 {
		s := &hotSale{sku: sku}
		s.check(t, nil)
		for _, p := range s.problems {
			t.Error(p)
		}
	}
}
