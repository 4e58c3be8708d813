package functions

// Issue 21, part 2: every query the code makes has its index. The
// emulator does not enforce indexes, so this test watches the wire: it
// records every query the App sends (RunQuery, RunAggregationQuery) while
// the sweeper runs all its tasks and the owner reads everything the
// console shows, works out which need a composite index (as Firestore
// does: equality filters alone are served by merging single-field
// indexes; anything sorted or ranged on a field besides equalities needs
// one), and fails for each one firestore.indexes.json lacks.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"
	"google.golang.org/grpc"
)

// needIndex is a composite index a query needs: the collection, its
// equality fields (any order, ascending) and its sort fields in order.
type needIndex struct {
	collection string
	equal      []string
	sort       []string // "field ASCENDING" or "field DESCENDING"
}

func (n needIndex) String() string {
	return fmt.Sprintf("%s: equal %v, then %v", n.collection, n.equal, n.sort)
}

// queryNeeds works out whether a structured query needs a composite
// index, and which.
func queryNeeds(q *firestorepb.StructuredQuery) (needIndex, bool) {
	n := needIndex{}
	if len(q.GetFrom()) > 0 {
		n.collection = q.GetFrom()[0].GetCollectionId()
	}
	var ranged []string
	var walk func(f *firestorepb.StructuredQuery_Filter)
	walk = func(f *firestorepb.StructuredQuery_Filter) {
		switch {
		case f.GetCompositeFilter() != nil:
			for _, g := range f.GetCompositeFilter().GetFilters() {
				walk(g)
			}
		case f.GetFieldFilter() != nil:
			ff := f.GetFieldFilter()
			switch ff.GetOp() {
			case firestorepb.StructuredQuery_FieldFilter_EQUAL, firestorepb.StructuredQuery_FieldFilter_IN, firestorepb.StructuredQuery_FieldFilter_ARRAY_CONTAINS:
				n.equal = append(n.equal, ff.GetField().GetFieldPath())
			default:
				ranged = append(ranged, ff.GetField().GetFieldPath())
			}
		case f.GetUnaryFilter() != nil:
			uf := f.GetUnaryFilter()
			if uf.GetOp() == firestorepb.StructuredQuery_UnaryFilter_IS_NULL || uf.GetOp() == firestorepb.StructuredQuery_UnaryFilter_IS_NAN {
				n.equal = append(n.equal, uf.GetField().GetFieldPath())
			} else {
				ranged = append(ranged, uf.GetField().GetFieldPath())
			}
		}
	}
	if q.GetWhere() != nil {
		walk(q.GetWhere())
	}
	sorted := map[string]bool{}
	for _, o := range q.GetOrderBy() {
		f := o.GetField().GetFieldPath()
		if f == "__name__" {
			continue
		}
		dir := "ASCENDING"
		if o.GetDirection() == firestorepb.StructuredQuery_DESCENDING {
			dir = "DESCENDING"
		}
		n.sort = append(n.sort, f+" "+dir)
		sorted[f] = true
	}
	for _, f := range ranged {
		if !sorted[f] {
			n.sort = append([]string{f + " ASCENDING"}, n.sort...)
			sorted[f] = true
		}
	}
	slices.Sort(n.equal)
	n.equal = slices.Compact(n.equal)
	if len(n.sort) == 0 || len(n.equal) == 0 && len(sorted) == 1 {
		return n, false // merged single-field indexes, or one field's own
	}
	return n, true
}

// declaredIndexes reads firestore.indexes.json.
func declaredIndexes(t *testing.T) []needIndex {
	t.Helper()
	b, err := os.ReadFile("../firestore.indexes.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Indexes []struct {
			CollectionGroup string `json:"collectionGroup"`
			Fields          []struct {
				FieldPath string `json:"fieldPath"`
				Order     string `json:"order"`
			} `json:"fields"`
		} `json:"indexes"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	var out []needIndex
	for _, ix := range file.Indexes {
		var fields []string
		for _, f := range ix.Fields {
			fields = append(fields, f.FieldPath+" "+f.Order)
		}
		out = append(out, needIndex{collection: ix.CollectionGroup, sort: fields})
	}
	return out
}

// served reports whether a declared index (its fields in order) serves n:
// n's equality fields first, in any order, then n's sort fields exactly.
func served(n needIndex, declared []needIndex) bool {
	for _, d := range declared {
		if d.collection != n.collection || len(d.sort) != len(n.equal)+len(n.sort) {
			continue
		}
		var eq []string
		for _, f := range d.sort[:len(n.equal)] {
			eq = append(eq, strings.TrimSuffix(f, " ASCENDING"))
		}
		slices.Sort(eq)
		if slices.Equal(eq, n.equal) && slices.Equal(d.sort[len(n.equal):], n.sort) {
			return true
		}
	}
	return false
}

// recordingStream records the structured query of each query request.
type recordingStream struct {
	grpc.ClientStream
	record func(*firestorepb.StructuredQuery)
}

func (s recordingStream) SendMsg(m any) error {
	switch r := m.(type) {
	case *firestorepb.RunQueryRequest:
		s.record(r.GetStructuredQuery())
	case *firestorepb.RunAggregationQueryRequest:
		s.record(r.GetStructuredAggregationQuery().GetStructuredQuery())
	}
	return s.ClientStream.SendMsg(m)
}

func TestEveryQueryHasItsIndex(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var queries []*firestorepb.StructuredQuery
	a := wiredApp(t, func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return inv(ctx, method, req, reply, cc, opts...)
	}, func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, s grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := s(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return recordingStream{ClientStream: cs, record: func(q *firestorepb.StructuredQuery) {
			mu.Lock()
			queries = append(queries, q)
			mu.Unlock()
		}}, nil
	})
	ctx := context.Background()
	who := &identity.Identity{UID: testenv.ID("owner"), Claims: map[string]any{a.Config.AdminClaim: true}}

	// Everything the sweeper asks, and everything the owner reads.
	a.Sweeper.Run(ctx)
	r := a.OwnerApp.Queries
	if _, err := r.Counts(ctx, who); err != nil {
		t.Fatal(err)
	}
	for _, s := range order.States {
		if _, next, err := r.OrdersInState(ctx, who, s, "", 1); err != nil {
			t.Fatal(err)
		} else if next != "" {
			if _, _, err := r.OrdersInState(ctx, who, s, next, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := r.Waiting(ctx, who, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := r.SKUs(ctx, who); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"ann@example.com", "Ann", order.NewID()} {
		if _, err := r.Search(ctx, who, text); err != nil {
			t.Fatal(err)
		}
	}
	for _, open := range []bool{true, false} {
		if _, _, err := r.Alerts(ctx, who, open, "", 5); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := r.Outbox(ctx, who, 5); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, a, 5, 5)
	if _, err := r.Stock(ctx, who, s.sku["A"], "", 5); err != nil {
		t.Fatal(err)
	}
	_, id := checkedOut(t, a, s, "A", 1)
	if _, err := r.Order(ctx, who, id); err != nil {
		t.Fatal(err)
	}

	declared := declaredIndexes(t)
	seen := map[string]bool{}
	var needed int
	mu.Lock()
	defer mu.Unlock()
	for _, q := range queries {
		n, needs := queryNeeds(q)
		if !needs || seen[n.String()] {
			continue
		}
		seen[n.String()] = true
		needed++
		if !served(n, declared) {
			t.Errorf("no index in firestore.indexes.json for the query on %s", n)
		}
	}
	if len(queries) < 10 || needed < 5 {
		t.Errorf("only %d queries recorded, %d needing a composite index: is the wire still watched?", len(queries), needed)
	}
	t.Logf("%d queries recorded, %d distinct ones needing a composite index", len(queries), needed)
}
