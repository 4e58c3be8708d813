package functions

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/seed"
	"github.com/readyplanner/oms/internal/testenv"
)

// BenchmarkConsolePages measures each console page's answer (the server's
// work and a loopback round trip) on a store of 1,000 orders in every
// state and the demo catalog: the start page, orders in a state, a search
// by email, an order's page, the alerts, the stock (every SKU, and one
// SKU's ledger), the prices and the promotions. Reports ms per page.
func BenchmarkConsolePages(b *testing.B) {
	testenv.Firestore(b)
	testenv.AuthHost(b)
	ctx := context.Background()
	fs, err := firestore.NewClient(ctx, "demo-console-bench-"+testenv.ID("p")[2:8])
	if err != nil {
		b.Fatal(err)
	}
	defer fs.Close()
	a, err := app.New(ctx, devConfig(b), app.Options{LogOutput: io.Discard, Firestore: fs})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	// 1,000 orders, spread over the states the console lists.
	states := []order.State{order.Fulfilling, order.Shipped, order.Invoiced, order.NeedsAttention, order.Refunded, order.Canceled, order.Expired, order.Paid}
	var one string
	began := time.Now()
	for i := 0; i < 1000; i++ {
		now := time.Now().UTC().Add(-time.Duration(i) * time.Minute)
		o, _ := order.New(order.NewID(), "u", "USD", now)
		o.Customer = &order.Customer{Name: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("c%d@example.com", i), MailboxKey: checkout.MailboxKey(fmt.Sprintf("c%d@example.com", i), a.Config.PlusAddressing)}
		o.Lines = []pricing.Line{{SKU: "A", Name: "Sticker pack", Quantity: 2, UnitPrice: money.New(900, "USD"), Total: money.New(1800, "USD"), Fulfillment: catalog.Stock}}
		o.Subtotal = money.New(1800, "USD")
		state := states[i%len(states)]
		if state == order.NeedsAttention {
			o, _ = order.Restore(*o, state, append(o.History(), order.Change{At: now, From: order.Pending, To: state, Actor: "bench", Reason: "a step failed"}))
			o.Attention = "a step failed"
		} else if state == order.Fulfilling {
			// A parcel to ship (or, for every other one, shipped already).
			o, _ = order.Restore(*o, order.Paid, o.History())
			if _, err := o.Fulfil("bench", now); err != nil {
				b.Fatal(err)
			}
			if i%16 == 0 {
				if _, err := o.ShipPart(order.PartParcel, order.Tracking{Carrier: "USPS", TrackingNumber: fmt.Sprintf("9400%018d", i)}, "bench", now); err != nil {
					b.Fatal(err)
				}
			}
		} else {
			o, _ = order.Restore(*o, state, o.History())
		}
		if err := a.Orders.Create(ctx, o); err != nil {
			b.Fatal(err)
		}
		if i == 500 {
			one = o.ID
		}
	}
	b.Logf("seeded 1,000 orders in %s", time.Since(began).Round(time.Millisecond))
	// The demo catalog: its SKUs, stock and promotions.
	if _, err := seed.Seed(ctx, fs, time.Now()); err != nil {
		b.Fatal(err)
	}
	srv := consoleAt(b, a, nil)
	br := signedIn(b, srv, owner(b))
	pages := []struct{ name, path string }{
		{"start", "/owner/"},
		{"orders", "/owner/orders?state=fulfilling"},
		{"search", "/owner/orders?q=" + url.QueryEscape("c500@example.com")},
		{"order", "/owner/orders/" + one},
		{"alerts", "/owner/alerts"},
		{"stock", "/owner/stock"},
		{"ledger", "/owner/stock?sku=PEN-SET-6"},
		{"prices", "/owner/prices"},
		{"promotions", "/owner/promotions"},
	}
	total := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range pages {
			t0 := time.Now()
			resp, err := br.Get(srv.URL + p.path)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("%s: %d", p.name, resp.StatusCode)
			}
			total[p.name] += time.Since(t0)
		}
	}
	for _, p := range pages {
		b.ReportMetric(float64(total[p.name].Microseconds())/1000/float64(b.N), "ms/"+p.name)
	}
}
