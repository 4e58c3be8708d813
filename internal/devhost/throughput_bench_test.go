package devhost

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/functions"
	"github.com/readyplanner/oms/internal/benchtable"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
)

// hops are the steps of an order from authorized to shipped whose added
// latency BenchmarkLifecycleThroughput reports; each is measured from the
// order's history (the functions' own clock) and, where the step begins
// with an outside act, from when the benchmark acted.
var hops = []struct {
	name string
	of   func(o *order.Order, m marks) time.Duration
}{
	{"authorized → invoiced (trigger, QuickBooks invoice)", func(o *order.Order, _ marks) time.Duration {
		return entered(o, order.Invoiced).Sub(entered(o, order.Authorized))
	}},
	{"payment recorded in QuickBooks → approved (webhook, record, trigger)", func(o *order.Order, m marks) time.Duration {
		return entered(o, order.Approved).Sub(m.recorded)
	}},
	{"approved → paid (trigger, capture)", func(o *order.Order, _ marks) time.Duration {
		return entered(o, order.Paid).Sub(entered(o, order.Approved))
	}},
	{"paid → fulfilling (trigger, parts)", func(o *order.Order, _ marks) time.Duration {
		return entered(o, order.Fulfilling).Sub(entered(o, order.Paid))
	}},
	{"carrier's first scan → parcel part shipped (webhook, record, trigger)", func(_ *order.Order, m marks) time.Duration {
		return m.parcelShipped.Sub(m.scanned)
	}},
	{"printer's SHIPPED → order shipped (webhook, record, trigger)", func(o *order.Order, m marks) time.Duration {
		return entered(o, order.Shipped).Sub(m.printed)
	}},
}

// flow is one order's run from authorized to shipped.
type flow struct {
	o *order.Order
	m marks
}

// BenchmarkLifecycleThroughput: mixed orders (a printed planner and a pen
// set) from authorized to shipped through the local system's real trigger
// delivery — the emulator's CloudEvents to the host — with the benchmark
// acting as owner, carrier and printer the moment each order lets it
// (recording the invoice paid in QuickBooks, buying the label, the first
// scan, the print job made and shipped). First a few orders one at a
// time, then many in flight at once (all paid within a moment): orders per
// second from the first authorized to the last shipped, and each hop's
// added latency, median and p95, side by side. Run with -benchtime 1x;
// OMS_BENCH_ORDERS sets how many are in flight (default 20).
func BenchmarkLifecycleThroughput(b *testing.B) {
	h := startCounted(b, false)
	inFlight := envInt(b, "OMS_BENCH_ORDERS", 20)
	const alone = 3
	if err := h.call(h.boss.IDToken, "adjustStock", map[string]any{"requestId": testenv.ID("restock"), "sku": "PEN-SET-6",
		"delta": (alone + inFlight) * b.N, "reason": "benchmark stock"}, nil); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		// One at a time.
		var one []flow
		var oneTotal time.Duration
		for range alone {
			f, err := h.throughOne()
			if err != nil {
				b.Fatal(err)
			}
			one = append(one, f)
			oneTotal += entered(f.o, order.Shipped).Sub(entered(f.o, order.Authorized))
		}
		h.quiet()
		// Many in flight: every checkout made first, then all paid at once.
		ids, urls := make([]string, inFlight), make([]string, inFlight)
		var wg sync.WaitGroup
		errs := make(chan error, inFlight)
		sem := make(chan struct{}, 4)
		for j := range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				var err error
				if ids[j], urls[j], err = h.checkout(map[string]int64{"PLN-DAY-A5-LINEN": 1, "PEN-SET-6": 1}); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		h.quiet()
		h.count.Reset()
		many := make([]flow, inFlight)
		for j := range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := pay(urls[j]); err != nil {
					errs <- err
					return
				}
				o, m, err := h.fulfil(ids[j], false)
				if err != nil {
					errs <- err
					return
				}
				many[j] = flow{o, m}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		first, last := entered(many[0].o, order.Authorized), entered(many[0].o, order.Shipped)
		for _, f := range many {
			if a := entered(f.o, order.Authorized); a.Before(first) {
				first = a
			}
			if s := entered(f.o, order.Shipped); s.After(last) {
				last = s
			}
		}
		rate := float64(inFlight) / last.Sub(first).Seconds()
		byKind := map[functions.Kind]int64{}
		kind := kinds()
		for name, f := range h.count.Snapshot().Functions {
			byKind[kind[name]] += f.Invocations
		}
		oneRate := float64(alone) / oneTotal.Seconds()
		var out strings.Builder
		fmt.Fprintf(&out, "\n%d orders in flight: %.2f orders/s from the first authorized to the last shipped (%s); one at a time: %.2f orders/s (%s each on average)",
			inFlight, rate, last.Sub(first).Round(time.Millisecond), oneRate, (oneTotal / alone).Round(time.Millisecond))
		_ = benchtable.Record(benchtable.Row{Section: "lifecycle throughput", Figure: fmt.Sprintf("authorized → shipped, %d in flight", inFlight),
			Value: rate, Unit: "orders/s", Vs: "one at a time", VsValue: oneRate})
		fmt.Fprintf(&out, "\nin flight: %d invocations (%d trigger events), at most %d running at once",
			h.count.Snapshot().Invocations(), byKind[functions.Trigger], h.count.Peak())
		fmt.Fprintf(&out, "\n%-72s %14s %14s %14s", "hop (added latency)", "alone p50", "in flight p50", "in flight p95")
		for _, hop := range hops {
			var a, m []time.Duration
			for _, f := range one {
				a = append(a, hop.of(f.o, f.m))
			}
			for _, f := range many {
				m = append(m, hop.of(f.o, f.m))
			}
			p50a, p50, p95 := percentile(a, 0.5), percentile(m, 0.5), percentile(m, 0.95)
			fmt.Fprintf(&out, "\n%-72s %14s %14s %14s", hop.name, p50a.Round(time.Millisecond), p50.Round(time.Millisecond), p95.Round(time.Millisecond))
			short, _, _ := strings.Cut(hop.name, " (")
			_ = benchtable.Record(benchtable.Row{Section: "lifecycle throughput", Figure: short + ": p50 in flight", Value: ms(p50), Unit: "ms",
				Vs: "alone", VsValue: ms(p50a)})
			_ = benchtable.Record(benchtable.Row{Section: "lifecycle throughput", Figure: short + ": p95 in flight", Value: ms(p95), Unit: "ms"})
		}
		b.Logf("lifecycle throughput (mixed orders; the benchmark acts for the owner, carrier and printer at once):%s", out.String())
		b.ReportMetric(rate, "orders/s")
		b.ReportMetric(oneRate, "orders/s_alone")
	}
}

// throughOne takes one new mixed order from its cart to shipped.
func (h *counted) throughOne() (flow, error) {
	id, payURL, err := h.checkout(map[string]int64{"PLN-DAY-A5-LINEN": 1, "PEN-SET-6": 1})
	if err != nil {
		return flow{}, err
	}
	h.quiet()
	if err := pay(payURL); err != nil {
		return flow{}, err
	}
	o, m, err := h.fulfil(id, false)
	return flow{o, m}, err
}

// percentile is the p-th (0–1) of d, nearest rank below.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// envInt reads a positive count from the environment, or answers def.
func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
