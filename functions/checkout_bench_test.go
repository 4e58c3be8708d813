package functions

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/testenv"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rpcCounter counts the Firestore RPCs a client makes.
type rpcCounter struct{ n atomic.Int64 }

type ownerCreds struct{}

func (ownerCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer owner"}, nil
}
func (ownerCreds) RequireTransportSecurity() bool { return false }

// countingApp builds an App whose Firestore client counts its RPCs.
func countingApp(b *testing.B) (*app.App, *rpcCounter) {
	cnt := &rpcCounter{}
	a := wiredApp(b, func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		cnt.n.Add(1)
		return inv(ctx, method, req, reply, cc, opts...)
	}, func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, s grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cnt.n.Add(1)
		return s(ctx, desc, cc, method, opts...)
	})
	return a, cnt
}

// wiredApp builds an App on the test Firestore emulator whose client's
// connection runs the given interceptors (stream may be nil): the real
// database, watched or failed on the wire.
func wiredApp(tb testing.TB, unary grpc.UnaryClientInterceptor, stream grpc.StreamClientInterceptor) *app.App {
	tb.Helper()
	env := testenv.Firestore(tb)
	testenv.AuthHost(tb)
	dial := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(ownerCreds{}),
		grpc.WithChainUnaryInterceptor(unary)}
	if stream != nil {
		dial = append(dial, grpc.WithChainStreamInterceptor(stream))
	}
	conn, err := grpc.NewClient(env.Firestore.Host, dial...)
	if err != nil {
		tb.Fatal(err)
	}
	client, err := firestore.NewClient(context.Background(), testenv.Project, option.WithGRPCConn(conn))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	a, err := app.New(context.Background(), devConfig(tb), app.Options{LogOutput: io.Discard, Firestore: client})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return a
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkFlashSale: 200 buyers at once, each wanting 1 unit of one SKU
// with 50 in stock, through the real callable handler against the
// emulator, as built (group commit). The naive design beside it is
// measured on the store itself (firestoredb's BenchmarkFlashSaleStore), so
// that no production type carries a switch for it. Run with -benchtime 1x.
func BenchmarkFlashSale(b *testing.B) {
	a, _ := countingApp(b)
	for i := 0; i < b.N; i++ {
		flashSale(b, a, 200, 50)
	}
}

func flashSale(b *testing.B, a *app.App, buyers int, stock int64) {
	b.StopTimer()
	s := &store{c: a.Firestore, sku: map[string]string{}}
	ctx := context.Background()
	s.sku["A"] = testenv.ID("FLASH")
	if _, err := a.Firestore.Collection("skus").Doc(s.sku["A"]).Set(ctx, map[string]any{"name": "Flash", "active": true,
		"price": map[string]any{"amount": 500, "currency": "USD"}, "fulfillment": "stock"}); err != nil {
		b.Fatal(err)
	}
	if _, err := a.Firestore.Collection("inventory").Doc(s.sku["A"]).Set(ctx, map[string]any{"onHand": stock, "held": 0}); err != nil {
		b.Fatal(err)
	}
	users := make([]emulator.User, buyers)
	for i := range users {
		u, err := emulator.SignInAs(ctx, testenv.AuthHost(b), testenv.ID("buyer"), nil)
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u
		if _, err := a.Firestore.Collection("carts").Doc(u.UID).Set(ctx, map[string]any{"items": []any{map[string]any{"sku": s.sku["A"], "quantity": 1}}}); err != nil {
			b.Fatal(err)
		}
	}
	h := startCheckout(a)
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		lat                []time.Duration
		held, out, errored int
		firstErr           string
	)
	b.StartTimer()
	start := time.Now()
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			ans := callB(h, u.IDToken)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, d)
			switch {
			case ans.status == 200:
				held++
			case ans.Error.Status == "FAILED_PRECONDITION":
				out++
			default:
				errored++
				if firstErr == "" {
					firstErr = fmt.Sprintf("%d %s %s", ans.status, ans.Error.Status, ans.Error.Message)
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	b.StopTimer()
	snap, err := a.Firestore.Collection("inventory").Doc(s.sku["A"]).Get(ctx)
	if err != nil {
		b.Fatal(err)
	}
	finalHeld, _ := snap.DataAt("held")
	oversold := max(0, finalHeld.(int64)-stock)
	b.Logf("%d buyers, %d in stock: %d held, %d out of stock, %d other errors (first: %s), final held %d, oversold %d; wall %s, p50 %s, p99 %s",
		buyers, stock, held, out, errored, firstErr, finalHeld, oversold, wall.Round(time.Millisecond),
		percentile(lat, 0.5).Round(time.Millisecond), percentile(lat, 0.99).Round(time.Millisecond))
	b.ReportMetric(wall.Seconds(), "wall_s")
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50_ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
	b.ReportMetric(float64(held), "held")
	b.ReportMetric(float64(out), "out_of_stock")
	b.ReportMetric(float64(errored), "errors")
	b.ReportMetric(float64(oversold), "oversold")
	b.StartTimer()
}

// BenchmarkNormalCheckout: one customer, a 3-line cart (two stock SKUs and
// one printed on demand), no contention: latency per startCheckout and the
// Firestore round trips it makes.
func BenchmarkNormalCheckout(b *testing.B) {
	a, cnt := countingApp(b)
	ctx := context.Background()
	const n = 100
	ids := map[string]string{}
	for _, name := range []string{"A", "B"} {
		ids[name] = testenv.ID("N" + name)
		a.Firestore.Collection("skus").Doc(ids[name]).Set(ctx, map[string]any{"name": name, "active": true,
			"price": map[string]any{"amount": 900, "currency": "USD"}, "fulfillment": "stock"})
		a.Firestore.Collection("inventory").Doc(ids[name]).Set(ctx, map[string]any{"onHand": int64(10 * n * b.N), "held": 0})
	}
	ids["P"] = testenv.ID("NP")
	a.Firestore.Collection("skus").Doc(ids["P"]).Set(ctx, map[string]any{"name": "P", "active": true,
		"price": map[string]any{"amount": 3800, "currency": "USD"}, "fulfillment": "print_on_demand"})
	h := startCheckout(a)
	var lat []time.Duration
	var rpcs int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		users := make([]emulator.User, n)
		for j := range users {
			u, err := emulator.SignInAs(ctx, testenv.AuthHost(b), testenv.ID("normal"), nil)
			if err != nil {
				b.Fatal(err)
			}
			users[j] = u
			a.Firestore.Collection("carts").Doc(u.UID).Set(ctx, map[string]any{"items": []any{
				map[string]any{"sku": ids["A"], "quantity": 2}, map[string]any{"sku": ids["B"], "quantity": 1}, map[string]any{"sku": ids["P"], "quantity": 1}}})
		}
		b.StartTimer()
		for _, u := range users {
			before := cnt.n.Load()
			t0 := time.Now()
			ans := callB(h, u.IDToken)
			lat = append(lat, time.Since(t0))
			rpcs += cnt.n.Load() - before
			if ans.status != 200 {
				b.Fatalf("%d %+v", ans.status, ans.Error)
			}
		}
	}
	b.ReportMetric(ms(percentile(lat, 0.5)), "p50_ms")
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
	b.ReportMetric(float64(rpcs)/float64(len(lat)), "firestore_rpcs/checkout")
}
