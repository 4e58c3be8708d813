package devhost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/readyplanner/oms/functions"
	"github.com/readyplanner/oms/internal/benchtable"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
	"github.com/readyplanner/oms/internal/usage"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// goalOverhead is issue 25's goal for a callable's server time over the
// raw Firestore operations it needs.
const goalOverhead = 1.3

// overhead is what one callable took, invocation by invocation.
type overhead struct {
	server, outside, raw []time.Duration
	ops                  usage.Ops
	rpcs                 int
}

// BenchmarkCallableOverhead measures each callable's server time (from the
// request's arrival at the functions host to its answer: token check,
// decoding, the use case, the Go Firestore client, encoding) against the
// raw Firestore operations it needs, in the same run on the same emulator:
// every Firestore call the invocation made (recorded at its client) is
// made again, right after, directly on a gRPC connection with the
// Firestore API's own stubs — the same gets, queries, transactions and
// commits, the same documents read; the writes go to a shadow of each
// collection (benchraw-<collection>) without preconditions, so that the
// replay neither triggers functions nor changes the order. A callable that
// calls an outside service (ShipEngine, Stripe; the local fakes here) is
// compared without the time of those calls, measured on its own HTTP
// requests; that time is reported beside it. Each callable runs in a quiet
// system (the previous step's triggers done). Run with -benchtime 1x;
// OMS_BENCH_ROUNDS orders per callable (default 5).
func BenchmarkCallableOverhead(b *testing.B) {
	h := startCounted(b, true)
	rounds := envInt(b, "OMS_BENCH_ROUNDS", 5)
	conn, err := testenv.DialFirestore(h.Firestore.Host)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	raw := firestorepb.NewFirestoreClient(conn)
	got := map[string]*overhead{}
	// measure makes one call in a quiet system, then replays its Firestore
	// calls once its triggers are done.
	measure := func(token, name string, data, out any) {
		b.Helper()
		h.quiet()
		h.count.Calls()
		if err := h.call(token, name, data, out); err != nil {
			b.Fatal(err)
		}
		h.quiet()
		calls := h.count.Calls()
		i := slices.IndexFunc(calls, func(c usage.Call) bool { return c.Function == name })
		if i < 0 {
			b.Fatalf("%s: no invocation counted", name)
		}
		c := calls[i]
		d, err := replay(context.Background(), raw, c.RPCs)
		if err != nil {
			b.Fatalf("%s: replaying its %d Firestore calls: %v", name, len(c.RPCs), err)
		}
		o := got[name]
		if o == nil {
			o = &overhead{}
			got[name] = o
		}
		o.server, o.outside, o.raw = append(o.server, c.Server), append(o.outside, c.Outside), append(o.raw, d)
		o.ops.Add(c.Ops)
		o.rpcs += len(c.RPCs)
	}
	for i := 0; i < b.N*rounds; i++ {
		id, payURL := h.measuredCheckout(b, measure)
		measure(h.boss.IDToken, "whoami", map[string]any{}, nil)
		measure(h.boss.IDToken, "adjustStock", map[string]any{"requestId": testenv.ID("stock"), "sku": "PEN-SET-6", "delta": 1,
			"reason": "benchmark restock"}, nil)
		if err := pay(payURL); err != nil {
			b.Fatal(err)
		}
		// The owner records the payment; once fulfilling, buys the label,
		// voids it, and records the parcel's tracking by hand.
		o, err := h.waitState(id, order.Invoiced)
		if err != nil {
			b.Fatal(err)
		}
		if err := h.recordPayment(o); err != nil {
			b.Fatal(err)
		}
		if _, err := h.waitState(id, order.Fulfilling); err != nil {
			b.Fatal(err)
		}
		measure(h.boss.IDToken, "buyLabel", map[string]any{"requestId": testenv.ID("label"), "orderId": id}, nil)
		measure(h.boss.IDToken, "voidLabel", map[string]any{"requestId": testenv.ID("void"), "orderId": id}, nil)
		measure(h.boss.IDToken, "markShipped", map[string]any{"requestId": testenv.ID("ship"), "orderId": id, "partId": order.PartParcel,
			"carrier": "USPS", "trackingNumber": testenv.ID("9400")}, nil)
		measure(h.boss.IDToken, "refundOrder", map[string]any{"orderId": id, "requestId": testenv.ID("refund"), "amount": 100,
			"reason": "a scuffed cover"}, nil)
		// A second order, canceled by the owner once invoiced.
		id, payURL = h.measuredCheckout(b, func(token, name string, data, out any) {
			if err := h.call(token, name, data, out); err != nil {
				b.Fatal(err)
			}
		})
		if err := pay(payURL); err != nil {
			b.Fatal(err)
		}
		if _, err := h.waitState(id, order.Invoiced); err != nil {
			b.Fatal(err)
		}
		measure(h.boss.IDToken, "cancelOrder", map[string]any{"requestId": testenv.ID("cancel"), "orderId": id, "reason": "the customer asked"}, nil)
	}
	var out strings.Builder
	fmt.Fprintf(&out, "\n%-21s %5s %5s %6s %7s %10s %10s %10s %10s %7s %10s %10s %9s", "callable", "calls", "rpcs", "reads", "writes", "server p50", "outside",
		"net p50", "raw p50", "ratio", "net min", "raw min", "min ratio")
	for _, f := range functions.List {
		o := got[f.Name]
		if f.Kind != functions.Callable || o == nil {
			continue
		}
		n := len(o.server)
		net := make([]time.Duration, n)
		for i := range net {
			net[i] = o.server[i] - o.outside[i]
		}
		srv, outside, netP, rawP := percentile(o.server, 0.5), percentile(o.outside, 0.5), percentile(net, 0.5), percentile(o.raw, 0.5)
		ratio := 0.0
		if o.rpcs == 0 {
			rawP = 0 // nothing to compare with: it needs no Firestore operation
		} else {
			ratio = float64(netP) / float64(rawP)
		}
		// The fastest of each too: on a machine others load, the least
		// disturbed figure of each side.
		netMin, rawMin, minRatio := slices.Min(net), slices.Min(o.raw), 0.0
		if rawP > 0 {
			minRatio = float64(netMin) / float64(rawMin)
		}
		fmt.Fprintf(&out, "\n%-21s %5d %5.1f %6.1f %7.1f %10s %10s %10s %10s %7.2f %10s %10s %9.2f", f.Name, n, float64(o.rpcs)/float64(n),
			float64(o.ops.Reads)/float64(n), float64(o.ops.Writes+o.ops.Deletes)/float64(n), srv.Round(10*time.Microsecond), outside.Round(10*time.Microsecond),
			netP.Round(10*time.Microsecond), rawP.Round(10*time.Microsecond), ratio, netMin.Round(10*time.Microsecond), rawMin.Round(10*time.Microsecond), minRatio)
		row := benchtable.Row{Section: "callable overhead", Figure: f.Name + ": server p50", Value: ms(netP), Unit: "ms"}
		if outside > 0 {
			row.Figure = f.Name + ": server p50 less outside calls"
		}
		if rawP > 0 {
			row.Vs, row.VsValue = "raw Firestore", ms(rawP)
			row.Goal, row.Met = fmt.Sprintf("ratio ≤ %.1f", goalOverhead), benchtable.Met(ratio <= goalOverhead)
		}
		_ = benchtable.Record(row)
		if rawP > 0 {
			b.ReportMetric(ratio, f.Name+"_ratio")
		}
	}
	b.Logf("callable overhead (medians of %d rounds; net = server less its outside calls; raw = the same Firestore calls made directly):%s", rounds, out.String())
}

// measuredCheckout is checkout with each callable made through measure.
func (h *counted) measuredCheckout(tb testing.TB, measure func(token, name string, data, out any)) (id, payURL string) {
	tb.Helper()
	var err error
	h.callHook = measure
	defer func() { h.callHook = nil }()
	if id, payURL, err = h.checkout(map[string]int64{"PLN-DAY-A5-LINEN": 1, "PEN-SET-6": 1}); err != nil {
		tb.Fatal(err)
	}
	return id, payURL
}

// replay makes the Firestore calls rpcs again, directly, in order, and
// answers how long they took. Transactions are begun anew (each recorded
// transaction maps to the one begun in its place); writes go to the shadow
// collections, without preconditions.
func replay(ctx context.Context, c firestorepb.FirestoreClient, rpcs []usage.RPC) (time.Duration, error) {
	txs := map[string][]byte{}
	mapTx := func(old []byte) []byte {
		if t, ok := txs[string(old)]; ok {
			return t
		}
		return old
	}
	drain := func(s grpc.ClientStream, new func() proto.Message, began []byte) error {
		for {
			m := new()
			err := s.RecvMsg(m)
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			var t []byte
			switch r := m.(type) {
			case *firestorepb.BatchGetDocumentsResponse:
				t = r.GetTransaction()
			case *firestorepb.RunQueryResponse:
				t = r.GetTransaction()
			}
			if len(t) > 0 && len(began) > 0 {
				txs[string(began)] = t
			}
		}
	}
	start := time.Now()
	for _, r := range rpcs {
		var err error
		switch q := proto.Clone(r.Request).(type) {
		case *firestorepb.BeginTransactionRequest:
			if rw := q.GetOptions().GetReadWrite(); rw != nil {
				rw.RetryTransaction = nil
			}
			var resp *firestorepb.BeginTransactionResponse
			if resp, err = c.BeginTransaction(ctx, q); err == nil {
				txs[string(r.Began)] = resp.GetTransaction()
			}
		case *firestorepb.BatchGetDocumentsRequest:
			if t, ok := q.ConsistencySelector.(*firestorepb.BatchGetDocumentsRequest_Transaction); ok {
				t.Transaction = mapTx(t.Transaction)
			}
			var s firestorepb.Firestore_BatchGetDocumentsClient
			if s, err = c.BatchGetDocuments(ctx, q); err == nil {
				err = drain(s, func() proto.Message { return &firestorepb.BatchGetDocumentsResponse{} }, r.Began)
			}
		case *firestorepb.RunQueryRequest:
			if t, ok := q.ConsistencySelector.(*firestorepb.RunQueryRequest_Transaction); ok {
				t.Transaction = mapTx(t.Transaction)
			}
			var s firestorepb.Firestore_RunQueryClient
			if s, err = c.RunQuery(ctx, q); err == nil {
				err = drain(s, func() proto.Message { return &firestorepb.RunQueryResponse{} }, r.Began)
			}
		case *firestorepb.RunAggregationQueryRequest:
			if t, ok := q.ConsistencySelector.(*firestorepb.RunAggregationQueryRequest_Transaction); ok {
				t.Transaction = mapTx(t.Transaction)
			}
			var s firestorepb.Firestore_RunAggregationQueryClient
			if s, err = c.RunAggregationQuery(ctx, q); err == nil {
				err = drain(s, func() proto.Message { return &firestorepb.RunAggregationQueryResponse{} }, nil)
			}
		case *firestorepb.CommitRequest:
			if len(q.Transaction) > 0 {
				q.Transaction = mapTx(q.Transaction)
			}
			shadow(q.Writes)
			_, err = c.Commit(ctx, q)
		case *firestorepb.BatchWriteRequest:
			shadow(q.Writes)
			_, err = c.BatchWrite(ctx, q)
		case *firestorepb.RollbackRequest:
			q.Transaction = mapTx(q.Transaction)
			_, err = c.Rollback(ctx, q)
		default:
			err = fmt.Errorf("cannot replay %s", r.Method)
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", r.Method, err)
		}
	}
	return time.Since(start), nil
}

// shadow points writes at the shadow of each top-level collection and
// drops their preconditions.
func shadow(ws []*firestorepb.Write) {
	to := func(name string) string {
		before, after, ok := strings.Cut(name, "/documents/")
		if !ok {
			return name
		}
		return before + "/documents/benchraw-" + after
	}
	for _, w := range ws {
		w.CurrentDocument = nil
		switch op := w.Operation.(type) {
		case *firestorepb.Write_Update:
			op.Update.Name = to(op.Update.Name)
		case *firestorepb.Write_Delete:
			op.Delete = to(op.Delete)
		case *firestorepb.Write_Transform:
			op.Transform.Document = to(op.Transform.Document)
		}
	}
}
