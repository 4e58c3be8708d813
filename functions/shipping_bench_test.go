package functions

import (
	"context"
	"fmt"
	"github.com/readyplanner/oms/internal/storefront"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/testenv"
)

// BenchmarkQuoteShipping: quoteShipping through the real callable handler,
// the emulator and the local ShipEngine answering after 0 ms and after
// 150 ms. Each quote is for a new address, so the cache never answers.
// With validation and rates in parallel, a quote at 150 ms should take
// about 150 ms plus the call's own overhead, not 300 ms. Run with -benchtime 1x.
func BenchmarkQuoteShipping(b *testing.B) {
	a, _ := countingApp(b)
	se := shipEngine(b)
	ctx := context.Background()
	sku := testenv.ID("QS")
	a.Firestore.Collection("skus").Doc(sku).Set(ctx, map[string]any{"name": "Q", "active": true,
		"price": map[string]any{"amount": 900, "currency": "USD"}, "fulfillment": "print_on_demand", "weightGrams": 500})
	u, err := emulator.SignInAs(ctx, testenv.AuthHost(b), testenv.ID("quoter"), nil)
	if err != nil {
		b.Fatal(err)
	}
	a.Firestore.Collection("carts").Doc(u.UID).Set(ctx, map[string]any{"items": []any{map[string]any{"sku": sku, "quantity": 1}}})
	co := callB(startCheckout(a), u.IDToken)
	if co.status != 200 {
		b.Fatalf("checkout %+v", co.Error)
	}
	h := quoteShipping(a)
	const n = 60
	for _, latency := range []time.Duration{0, 150 * time.Millisecond} {
		b.Run(fmt.Sprintf("shipengine_%dms", latency.Milliseconds()), func(b *testing.B) {
			se.SetLatency(latency)
			defer se.SetLatency(0)
			var lat []time.Duration
			for i := 0; i < b.N*n; i++ {
				data := map[string]any{"orderId": co.Result.OrderID, "address": map[string]any{"name": "Ann", "addressLine1": fmt.Sprintf("%d %s Street", i, testenv.ID("bench")),
					"cityLocality": "Austin", "stateProvince": "TX", "postalCode": "78701", "countryCode": "US"}}
				t0 := time.Now()
				ans := rpcB[storefront.QuoteShippingAnswer](h, u.IDToken, data)
				lat = append(lat, time.Since(t0))
				if ans.status != 200 {
					b.Fatalf("%d %+v", ans.status, ans.Error)
				}
			}
			p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
			b.Logf("ShipEngine %s: p50 %s, p99 %s; overhead over one ShipEngine round %s (sequential calls would need %s)",
				latency, p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), (p50 - latency).Round(100*time.Microsecond), 2*latency)
			b.ReportMetric(ms(p50), "p50_ms")
			b.ReportMetric(ms(p99), "p99_ms")
			b.ReportMetric(ms(p50-latency), "overhead_ms")
		})
	}
}
