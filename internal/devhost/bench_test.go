package devhost

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/shipping"
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

// BenchmarkTrackToDelivered measures the carrier's delivery of a labelled
// parcel to the part delivered and to the customer's email, through the
// local system: the local ShipEngine's signed track webhook →
// shipengineWebhook records it → onShipEngineEvent re-reads the label's
// tracking and writes the part → onOrderWritten queues the delivered
// email → onMailWritten sends it to mailpit. Reports ms/delivered and
// ms/email (from the delivery's move to the email readable in mailpit).
func BenchmarkTrackToDelivered(b *testing.B) {
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		b.Fatal(err)
	}
	h, err := Start(context.Background(), Options{Rules: rules, AuthHost: testenv.AuthHost(b), NoSeed: true, Logs: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Stop()
	ctx := context.Background()
	labels := h.App.Parts.Labels
	to := shipping.Address{Name: "Ann Lee", AddressLine1: "12 Elm Street", CityLocality: "Springfield", StateProvince: "OR", PostalCode: "97477", CountryCode: "US"}
	var toPart, toMail time.Duration
	for i := 0; i < b.N; i++ {
		// A fulfilling order whose parcel has a label the carrier scanned.
		rates, err := labels.Rates(ctx, h.App.Config.ShipFrom, to, shipping.Package{WeightGrams: 300}, testenv.ID("bench"))
		if err != nil || len(rates) == 0 {
			b.Fatalf("rates: %v", err)
		}
		l, err := labels.Buy(ctx, rates[0].RateID)
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UTC()
		o, _ := order.New(order.NewID(), "u", "USD", now)
		o.Customer = &order.Customer{Name: "Ann Lee", Email: strings.ToLower(testenv.ID("ann")) + "@example.com"}
		o.Shipping = &order.ShippingChoice{Rate: rates[0], Address: to}
		o.Parts = []order.Part{{ID: order.PartParcel, Kind: order.PartParcel, Status: order.PartWaiting, Lines: []order.PartLine{{SKU: "A", Name: "Sticker pack", Quantity: 1}},
			CreatedAt: now, UpdatedAt: now}}
		if o, err = order.Restore(*o, order.Fulfilling, o.History()); err != nil {
			b.Fatal(err)
		}
		o.Work = order.Work{State: order.Fulfilling, Complete: true}
		if _, err := o.RecordLabel(l, "bench", "buyLabel", "h", now); err != nil {
			b.Fatal(err)
		}
		if err := h.App.Orders.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
		if err := h.ShipEngine.Track(l.ID, "accepted"); err != nil {
			b.Fatal(err)
		}
		waitPart(b, h, o.ID, order.PartInTransit)
		began := time.Now()
		if err := h.ShipEngine.Track(l.ID, "delivered"); err != nil {
			b.Fatal(err)
		}
		waitPart(b, h, o.ID, order.PartDelivered)
		toPart += time.Since(began)
		for {
			found, err := h.Mailpit.Search(ctx, `to:"`+o.Customer.Email+`" subject:"was delivered"`)
			if err == nil && len(found) == 1 {
				break
			}
			if time.Since(began) > 20*time.Second {
				b.Fatalf("order %s: no delivered email within 20 s", o.ID)
			}
			time.Sleep(5 * time.Millisecond)
		}
		toMail += time.Since(began)
	}
	b.ReportMetric(float64(toPart.Milliseconds())/float64(b.N), "ms/delivered")
	b.ReportMetric(float64(toMail.Milliseconds())/float64(b.N), "ms/email")
}

// waitPart waits up to 20 s for the order's parcel to reach status.
func waitPart(b *testing.B, h *Host, id, status string) {
	b.Helper()
	for began := time.Now(); time.Since(began) < 20*time.Second; time.Sleep(2 * time.Millisecond) {
		if o, err := h.App.Orders.Get(context.Background(), id); err == nil && o.Part(order.PartParcel).Status == status {
			return
		}
	}
	b.Fatalf("order %s: the parcel did not become %s within 20 s", id, status)
}
