package functions

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
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

// BenchmarkSelectShippingTax: what working out the sales tax adds to
// selectShipping, through the real callable handler and the emulator:
// each choice alternates between two quoted rates, so that every call
// changes what is paid (the order re-priced, the session rule kept) and,
// with a tax provider, the tax is worked out again. Three stores — no
// tax, the store's rate table, Stripe Tax at the local Stripe (one
// calculation per call over loopback: our own overhead, not Stripe's
// latency) — take turns call by call, so that each figure is measured
// in the same run and under the same load as its comparison, after a
// warm-up. Run with -benchtime 1x.
func BenchmarkSelectShippingTax(b *testing.B) {
	const n, warm = 60, 5
	type variant struct {
		name  string
		vars  map[string]string
		token string
		id    string
		rates []string
		call  http.Handler
		lat   []time.Duration
	}
	vs := []*variant{{name: "none"}, {name: "table", vars: map[string]string{"OMS_TAX": "table", "OMS_TAX_TABLE": texasTable}},
		{name: "stripe", vars: map[string]string{"OMS_TAX": "stripe"}}}
	for _, v := range vs {
		r := newRigWith(b, v.vars)
		r.st.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: 82_500, Shipping: true}})
		s := newStore(b, r.a, 10_000, 10_000)
		u, id := checkedOut(b, r.a, s, "A", 1, "P", 1)
		if ans := apply(b, applyCustomer(r.a), u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": testenv.ID("bench") + "@example.com"}); ans.status != 200 {
			b.Fatalf("apply: %+v", ans.Error)
		}
		q := rpcB[storefront.QuoteShippingAnswer](quoteShipping(r.a), u.IDToken, map[string]any{"orderId": id, "address": address("5 Bench St")})
		if q.status != 200 || len(q.Result.Rates) < 2 {
			b.Fatalf("quote: %+v", q.Error)
		}
		v.token, v.id, v.rates, v.call = u.IDToken, id, []string{q.Result.Rates[0].RateID, q.Result.Rates[1].RateID}, selectShipping(r.a)
	}
	b.ResetTimer()
	for i := 0; i < b.N*(n+warm); i++ {
		for _, v := range vs {
			t0 := time.Now()
			ans := rpcB[storefront.Order](v.call, v.token, map[string]any{"orderId": v.id, "rateId": v.rates[i%2]})
			if i%(n+warm) >= warm {
				v.lat = append(v.lat, time.Since(t0))
			}
			if ans.status != 200 || (v.vars != nil) != (ans.Result.Tax > 0) {
				b.Fatalf("select, tax %s: %d %+v tax %d", v.name, ans.status, ans.Error, ans.Result.Tax)
			}
		}
	}
	base := percentile(vs[0].lat, 0.5)
	for _, v := range vs {
		p50, p99 := percentile(v.lat, 0.5), percentile(v.lat, 0.99)
		b.Logf("selectShipping, tax %-6s p50 %7s  p99 %7s  added to no tax's p50 %7s (%d calls)", v.name+":",
			p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), (p50 - base).Round(100*time.Microsecond), len(v.lat))
		b.ReportMetric(ms(p50), v.name+"_p50_ms")
		b.ReportMetric(ms(p50-base), v.name+"_added_ms")
	}
}
