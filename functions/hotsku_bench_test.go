package functions

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/benchtable"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/inventory"
)

// hotSKUGoal is the goal for 1,000 buyers of 100 units on 4 instances.
const hotSKUGoal = 3 * time.Second

// BenchmarkHotSKU: 1,000 buyers (distinct signed-in customers, ID tokens
// from the Auth emulator) for 100 units of one SKU, every startCheckout a
// real HTTP onCall request, against 1 and then 4 host instances — separate
// processes, each its own App and Firestore client — on one Firestore
// emulator. Every answer is checked (exactly 100 winners, the rest
// out_of_stock), and the inventory and its ledger afterwards. Run with
// -benchtime 1x; the figures go to make bench's table (section "hot SKU").
func BenchmarkHotSKU(b *testing.B) {
	const buyers, units = 1000, 100
	sales := map[int]*hotSale{}
	for _, n := range []int{1, 4} {
		urls := hostInstances(b, n)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			sku := hotSKU(b, units)
			users := saleBuyers(b, sku, buyers)
			warm(b, urls)
			b.StartTimer()
			s := runSale(b, urls, sku, &inventory.Level{OnHand: units}, users)
			b.StopTimer()
			b.Logf("%d instance(s): %s", n, s)
			for _, p := range s.problems {
				b.Errorf("%d instance(s): %s", n, p)
			}
			sales[n] = s
		}
	}
	one, four := sales[1], sales[4]
	floor := tokenChecks(b, four.users)
	b.Logf("the same 1,000 ID tokens checked alone, at once, by the host's verifier: %s (the Auth emulator answers each; deployed, the check is local)", floor.Round(time.Millisecond))
	b.ReportMetric(four.wall.Seconds(), "wall_s_4")
	b.ReportMetric(one.wall.Seconds(), "wall_s_1")
	b.ReportMetric(ms(four.latency(0.5, anyAnswer)), "p50_ms_4")
	b.ReportMetric(ms(four.latency(0.99, anyAnswer)), "p99_ms_4")
	b.ReportMetric(float64(four.oversold+one.oversold), "oversold")
	correct := len(four.problems) == 0 && len(one.problems) == 0
	rows := []benchtable.Row{
		{Section: "hot SKU", Figure: "1,000 buyers / 100 units, 4 instances: wall", Value: four.wall.Seconds(), Unit: "s",
			Vs: "1 instance", VsValue: one.wall.Seconds(), Goal: "≤ 3 s, all correct", Met: benchtable.Met(correct && four.wall <= hotSKUGoal)},
		{Section: "hot SKU", Figure: "4 instances: p99 of answers", Value: ms(four.latency(0.99, anyAnswer)), Unit: "ms",
			Vs: "1 instance", VsValue: ms(one.latency(0.99, anyAnswer))},
		{Section: "hot SKU", Figure: "4 instances: refusals' p50", Value: ms(four.latency(0.5, refusal)), Unit: "ms",
			Vs: "winners' p50", VsValue: ms(four.latency(0.5, won))},
		{Section: "hot SKU", Figure: "1,000 ID-token checks alone (the Auth emulator's share)", Value: floor.Seconds(), Unit: "s",
			Vs: "4 instances' sale", VsValue: four.wall.Seconds()},
		{Section: "hot SKU", Figure: "4 instances: oversold units, wrong answers", Value: float64(four.oversold) + float64(len(four.problems)), Unit: "",
			Goal: "0", Met: benchtable.Met(four.oversold == 0 && len(four.problems) == 0)},
	}
	for _, r := range rows {
		if err := benchtable.Record(r); err != nil {
			b.Fatal(err)
		}
	}
}

// warm makes one refused call on each instance (a SKU no one has), so
// that the sale measures checkouts, not each process's first connections
// to the emulators.
func warm(b *testing.B, urls []string) {
	b.Helper()
	sku := hotSKU(b, 0)
	u := saleBuyers(b, sku, 1)[0]
	hc := &http.Client{Timeout: 70 * time.Second}
	for _, url := range urls {
		if a := callOver(hc, url, u.IDToken); a.reason != "out_of_stock" {
			b.Fatalf("warming %s: %+v", url, a)
		}
	}
}

// tokenChecks is how long the host's own verifier (the Admin SDK, which
// with the Auth emulator asks it for every user) takes to check every
// user's ID token at once: the part of a sale's time that the emulator
// adds and production does not have.
func tokenChecks(b *testing.B, users []emulator.User) time.Duration {
	b.Helper()
	a, err := app.New(context.Background(), devConfig(b), app.Options{LogOutput: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := time.Now()
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Callables.Tokens.VerifyIDToken(context.Background(), u.IDToken); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d tokens failed their check", n, len(users))
	}
	return took
}
