package devhost

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/functions"
	"github.com/readyplanner/oms/internal/benchtable"
	"github.com/readyplanner/oms/internal/usage"
)

// List prices the counts are priced at (USD), as published at
// https://cloud.google.com/firestore/pricing (Standard edition, nam5
// multi-region; a regional database such as us-central1 costs half) and
// https://cloud.google.com/run/pricing (Cloud Run functions, 2nd gen, are
// billed as Cloud Run services: request-based billing, tier 1 region), both
// before their free tiers. Firestore events delivered by Eventarc come
// from a Google source and carry no Eventarc charge: a trigger event costs
// its invocation.
const (
	priceRead       = 0.06 / 100_000 // per document read
	priceWrite      = 0.18 / 100_000 // per document write
	priceDelete     = 0.02 / 100_000 // per document delete
	priceInvocation = 0.40 / 1_000_000
	priceVCPUSecond = 0.000024  // per vCPU-second while a request is served
	priceGiBSecond  = 0.0000025 // per GiB-second while a request is served
	// The deploy plan sets no memory or CPU: a 2nd gen function's default
	// of 256 MiB with 0.167 vCPU.
	instanceVCPU = 0.167
	instanceGiB  = 0.25
	// billedUnit: Cloud Run rounds each request's billed time up to this.
	billedUnit = 100 * time.Millisecond
)

// The goals of issue 25 per order.
const (
	goalOps         = 40
	goalInvocations = 15
)

// cost is one order's counted operations and their price.
type cost struct {
	ops                   usage.Ops
	invocations, triggers int64
	// floor: the invocations no change of ours can take away — the
	// callables the storefront and the owner call and the outside
	// services' webhook deliveries.
	floor  int64
	billed time.Duration // the invocations' server time, each rounded up to billedUnit
	served time.Duration // the invocations' server time as measured here
}

func (c cost) firestoreUSD() float64 {
	return float64(c.ops.Reads)*priceRead + float64(c.ops.Writes)*priceWrite + float64(c.ops.Deletes)*priceDelete
}

func (c cost) functionsUSD() float64 {
	return float64(c.invocations)*priceInvocation + c.billed.Seconds()*(instanceVCPU*priceVCPUSecond+instanceGiB*priceGiBSecond)
}

func costOf(s usage.Snapshot) cost {
	kind := kinds()
	c := cost{ops: s.Ops(), invocations: s.Invocations()}
	for name, f := range s.Functions {
		switch kind[name] {
		case functions.Trigger:
			c.triggers += f.Invocations
		case functions.Callable, functions.Webhook:
			c.floor += f.Invocations
		}
		for _, d := range f.Server {
			c.served += d
			c.billed += (d + billedUnit - 1) / billedUnit * billedUnit
		}
	}
	return c
}

// BenchmarkCostPerOrder counts, for one order of each path taken through
// the local system from its cart to its end (every part delivered; the
// refunded one refunded and recorded), the Firestore reads, writes and
// deletes the functions make (at their Firestore client) and the function
// invocations and trigger events (at the host's dispatch), and prices
// them. The storefront's own cart write (one write by the browser's SDK)
// is not the functions' and is not counted; the sweeper and the daily
// summary, which run on a schedule and not per order, are not run. Run
// with -benchtime 1x.
func BenchmarkCostPerOrder(b *testing.B) {
	h := startCounted(b, false)
	for i := 0; i < b.N; i++ {
		var table strings.Builder
		fmt.Fprintf(&table, "\n%-16s %6s %6s %7s %5s %11s %8s %8s %6s %12s %12s %12s", "path", "reads", "writes", "deletes", "ops", "invocations", "triggers",
			"foreign", "floor", "Firestore $", "functions $", "$/1000 orders")
		var detail strings.Builder
		for _, p := range paths {
			h.quiet()
			h.count.Reset()
			h.foreign.take()
			id, err := h.lifecycle(p)
			if err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
			h.quiet()
			s := h.count.Snapshot()
			c := costOf(s)
			foreign := h.foreign.take()
			fmt.Fprintf(&table, "\n%-16s %6d %6d %7d %5d %11d %8d %8d %6d %12.7f %12.7f %12.4f", p.name, c.ops.Reads, c.ops.Writes, c.ops.Deletes, c.ops.Total(),
				c.invocations, c.triggers, foreign, c.floor, c.firestoreUSD(), c.functionsUSD(), 1000*(c.firestoreUSD()+c.functionsUSD()))
			fmt.Fprintf(&detail, "\n%s (order %s; server time %s, billed %s; Firestore operations outside any invocation: %+v):", p.name, id,
				c.served.Round(time.Millisecond), c.billed, s.Unclaimed)
			for _, name := range slices.Sorted(maps.Keys(s.Functions)) {
				f := s.Functions[name]
				fmt.Fprintf(&detail, "\n  %-22s ×%-3d reads %3d writes %3d deletes %2d", name, f.Invocations, f.Ops.Reads, f.Ops.Writes, f.Ops.Deletes)
			}
			short := strings.ReplaceAll(p.name, ",", "")
			_ = benchtable.Record(benchtable.Row{Section: "cost per order", Figure: short + ": Firestore operations", Value: float64(c.ops.Total()), Unit: "ops",
				Goal: fmt.Sprintf("≤ %d", goalOps), Met: benchtable.Met(c.ops.Total() <= goalOps)})
			_ = benchtable.Record(benchtable.Row{Section: "cost per order", Figure: short + ": invocations", Value: float64(c.invocations), Unit: "calls",
				Vs: "callables and outside webhooks alone (the floor)", VsValue: float64(c.floor),
				Goal: fmt.Sprintf("≤ %d", goalInvocations), Met: benchtable.Met(c.invocations <= goalInvocations)})
			_ = benchtable.Record(benchtable.Row{Section: "cost per order", Figure: short + ": list price per 1,000 orders",
				Value: 1000 * (c.firestoreUSD() + c.functionsUSD()), Unit: "$"})
			b.ReportMetric(float64(c.ops.Total()), strings.ReplaceAll(short, " ", "_")+"_ops")
			b.ReportMetric(float64(c.invocations), strings.ReplaceAll(short, " ", "_")+"_invocations")
		}
		b.Logf("cost per order (counted; priced at list prices: Firestore nam5 $0.06/$0.18/$0.02 per 100k reads/writes/deletes; "+
			"Cloud Run functions $0.40 per million invocations, %.3f vCPU and %.2f GiB per instance billed per request rounded up to %s at $%g/vCPU-s and $%g/GiB-s):%s",
			instanceVCPU, instanceGiB, billedUnit, priceVCPUSecond, priceGiBSecond, table.String())
		b.Logf("by function:%s", detail.String())
		b.Logf("foreign: of the trigger events, the webhook events delivered to the trigger of another source (each source's records have a path of " +
			"their own, webhookEvents/{source}/events/{id}, so this must be 0); floor: the invocations of callables and webhooks, which the " +
			"storefront, the owner and the outside services make and no change of ours takes away")
	}
}
