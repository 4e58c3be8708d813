package firestoredb

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/testenv"
)

// BenchmarkTransition is one compare-and-set state change (transaction:
// read, check, write state and history) on the emulator.
func BenchmarkTransition(b *testing.B) {
	env := testenv.Firestore(b)
	s := NewOrders(env.Client, nil)
	ctx := context.Background()
	ids := make([]string, b.N)
	for i := range ids {
		o, _ := order.New(testenv.ID("bench"), "u", "USD", time.Now().UTC())
		if err := s.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
		ids[i] = o.ID
	}
	b.ResetTimer()
	for _, id := range ids {
		if _, applied, err := s.Transition(ctx, id, order.Move{From: []order.State{order.Pending}, To: order.Authorized}); err != nil || !applied {
			b.Fatal(applied, err)
		}
	}
}

// BenchmarkFlashSaleStore: 200 checkouts at once, each holding 1 unit of
// one SKU with 50 in stock, straight on the checkout store (no callable):
// as built (group commit, the stock read optimistically) and naive (every transaction straight
// on the one inventory document, the client's 5 attempts). Run with
// -benchtime 1x; it prints what each design held, refused and failed.
func BenchmarkFlashSaleStore(b *testing.B) {
	env := testenv.Firestore(b)
	for _, naive := range []bool{false, true} {
		name := map[bool]string{false: "queued", true: "naive"}[naive]
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c := NewCheckouts(NewOrders(env.Client, nil), time.UTC)
				c.unqueued = naive
				flashSaleStore(b, c, 200, 50)
			}
		})
	}
}

func flashSaleStore(b *testing.B, c *Checkouts, buyers int, stock int64) {
	b.StopTimer()
	ctx := context.Background()
	sku := testenv.ID("FLASH")
	if _, err := c.client.Collection(InventoryCollection).Doc(sku).Set(ctx, map[string]any{"onHand": stock, "held": int64(0)}); err != nil {
		b.Fatal(err)
	}
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		held, out, errored int
	)
	b.StartTimer()
	start := time.Now()
	for i := 0; i < buyers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := buyOne(ctx, c, sku)
			mu.Lock()
			defer mu.Unlock()
			switch apperr.CodeOf(err) {
			case "":
				held++
			case apperr.FailedPrecondition:
				out++
			default:
				errored++
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	b.StopTimer()
	b.Logf("%d checkouts, %d in stock: %d held, %d out of stock, %d other errors; wall %s", buyers, stock, held, out, errored, wall.Round(time.Millisecond))
	b.ReportMetric(wall.Seconds(), "wall_s")
	b.ReportMetric(float64(held), "held")
	b.ReportMetric(float64(errored), "errors")
	b.StartTimer()
}

// buyOne checks out one unit of sku for a new customer on c.
func buyOne(ctx context.Context, c *Checkouts, sku string) (checkout.Decision, error) {
	priced := pricing.Priced{Lines: []pricing.Line{{SKU: sku, Quantity: 1, UnitPrice: money.New(500, "USD"), Total: money.New(500, "USD"),
		Fulfillment: catalog.Stock}}, Subtotal: money.New(500, "USD")}
	req := checkout.Request{UID: testenv.ID("buyer"), Currency: "USD", CartHash: "h", Priced: priced, NewID: order.NewID(), Now: time.Now(), HoldTTL: time.Hour}
	return c.Run(ctx, req.UID, []string{sku}, func(st checkout.State) (checkout.Decision, error) { return checkout.Decide(st, req) })
}
