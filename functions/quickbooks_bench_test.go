package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/testenv"
)

// BenchmarkQuickBooksWebhook: how long quickbooksWebhook takes to answer
// (Intuit wants 200 within 3 s), through the real handler and the
// emulator, for a delivery as a payment produces it (Payment Create and
// Invoice Update), each new; and for a full CloudEvents delivery of 100
// events. Run with -benchtime 1x.
func BenchmarkQuickBooksWebhook(b *testing.B) {
	a, cnt := countingApp(b)
	qb := localQuickBooks(b)
	if err := qb.ConnectTo(context.Background(), a.QuickBooksTokens); err != nil {
		b.Fatal(err)
	}
	h := quickbooksWebhook(a)
	post := func(body []byte) time.Duration {
		r := httptest.NewRequest("POST", "/quickbooksWebhook", strings.NewReader(string(body)))
		r.Header.Set("intuit-signature", quickbooks.SignWebhook(body, qb.VerifierToken))
		w := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(w, r)
		took := time.Since(t0)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		return took
	}
	b.Run("payment_2_events", func(b *testing.B) {
		const n = 100
		var lat []time.Duration
		before := cnt.n.Load()
		for i := 0; i < b.N*n; i++ {
			at := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
			body, _ := json.Marshal(map[string]any{"eventNotifications": []any{map[string]any{"realmId": qbfake.Realm, "dataChangeEvent": map[string]any{
				"entities": []any{
					map[string]any{"name": "Payment", "id": testenv.ID("p"), "operation": "Create", "lastUpdated": at},
					map[string]any{"name": "Invoice", "id": testenv.ID("i"), "operation": "Update", "lastUpdated": at},
				}}}}})
			lat = append(lat, post(body))
		}
		rpcs := float64(cnt.n.Load()-before) / float64(b.N*n)
		b.Logf("quickbooksWebhook, 2 events per delivery: p50 %s, p99 %s, max %s; %.1f Firestore RPCs per delivery",
			percentile(lat, 0.5).Round(10*time.Microsecond), percentile(lat, 0.99).Round(10*time.Microsecond), percentile(lat, 1).Round(10*time.Microsecond), rpcs)
		b.ReportMetric(ms(percentile(lat, 0.5)), "p50_ms")
		b.ReportMetric(ms(percentile(lat, 0.99)), "p99_ms")
	})
	b.Run("cloudevents_100_events", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; i < b.N*5; i++ {
			var evs []map[string]any
			for j := 0; j < 100; j++ {
				evs = append(evs, map[string]any{"specversion": "1.0", "id": testenv.ID("ce"), "source": "bench", "type": "qbo.invoice.updated.v1",
					"time": time.Now().UTC().Format(time.RFC3339Nano), "intuitentityid": fmt.Sprint(j), "intuitaccountid": qbfake.Realm, "data": map[string]any{}})
			}
			body, _ := json.Marshal(evs)
			lat = append(lat, post(body))
		}
		b.Logf("quickbooksWebhook, 100 CloudEvents per delivery: p50 %s, max %s", percentile(lat, 0.5).Round(time.Millisecond), percentile(lat, 1).Round(time.Millisecond))
		b.ReportMetric(ms(percentile(lat, 0.5)), "p50_ms")
		b.ReportMetric(ms(percentile(lat, 1)), "max_ms")
	})
}
