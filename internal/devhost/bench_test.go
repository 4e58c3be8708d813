package devhost

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/testenv"
)

// BenchmarkLocalSystemReady measures what `make dev` takes from start to
// serving: both emulators started cold (Auth included), the App built,
// triggers registered, the demo store seeded. Run with -benchtime 3x.
func BenchmarkLocalSystemReady(b *testing.B) {
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		h, err := Start(context.Background(), Options{Rules: rules, Logs: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		total += h.Ready
		b.Logf("ready in %s", h.Ready.Round(time.Millisecond))
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/ready")
}

// BenchmarkTriggerLatency measures an order transition's commit to its step
// running, through the emulator's CloudEvent delivery to the local host:
// pending → expired, whose probe step runs after the state's two release
// steps (a few milliseconds of Firestore work; authorized would run the
// QuickBooks invoice first).
func BenchmarkTriggerLatency(b *testing.B) {
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		b.Fatal(err)
	}
	ran := make(chan string, 1)
	h, err := Start(context.Background(), Options{Rules: rules, AuthHost: testenv.AuthHost(b), NoSeed: true, Logs: io.Discard,
		Configure: func(a *app.App) {
			a.Flow.On(order.Expired, "bench", func(_ context.Context, t orderflow.Transition) error { ran <- t.Order.ID; return nil })
		}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Stop()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		o, _ := order.New(testenv.ID("bench"), "u", "USD", time.Now().UTC())
		if err := h.App.Orders.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, _, err := h.App.Orders.Transition(ctx, o.ID, order.Move{From: []order.State{order.Pending}, To: order.Expired}); err != nil {
			b.Fatal(err)
		}
	wait:
		for {
			select {
			case id := <-ran:
				if id == o.ID {
					break wait
				}
			case <-time.After(20 * time.Second):
				b.Fatalf("order %s: its step did not run within 20 s", o.ID)
			}
		}
	}
}
