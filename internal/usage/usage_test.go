package usage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/testenv"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// A client on the real emulator whose connection c counts.
func countedClient(t *testing.T, c *Counter) *firestore.Client {
	t.Helper()
	env := testenv.Firestore(t)
	conn, err := testenv.DialFirestore(env.Firestore.Host, c.DialOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := firestore.NewClient(context.Background(), testenv.Project, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// Each kind of operation is counted as Firestore bills it.
func TestCountsAsFirestoreBills(t *testing.T) {
	c := New(func(string) string { return "" })
	c.Record = true
	fs := countedClient(t, c)
	ctx := context.Background()
	col := fs.Collection(testenv.ID("usage"))
	step := func(what string, want Ops, f func() error) {
		t.Helper()
		before := c.Snapshot().Ops()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got := c.Snapshot().Ops()
		got.Reads, got.Writes, got.Deletes = got.Reads-before.Reads, got.Writes-before.Writes, got.Deletes-before.Deletes
		if got != want {
			t.Errorf("%s: counted %+v, want %+v", what, got, want)
		}
	}
	step("a transaction of two sets and a delete", Ops{Writes: 2, Deletes: 1}, func() error {
		return fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
			return errors.Join(tx.Set(col.Doc("a"), map[string]any{"n": 1, "at": firestore.ServerTimestamp}),
				tx.Set(col.Doc("b"), map[string]any{"n": 2}), tx.Delete(col.Doc("gone")))
		})
	})
	step("a get", Ops{Reads: 1}, func() error { _, err := col.Doc("a").Get(ctx); return err })
	step("a get of a missing document", Ops{Reads: 1}, func() error {
		_, err := col.Doc("nothing").Get(ctx)
		if err != nil && !isNotFound(err) {
			return err
		}
		return nil
	})
	step("GetAll of three, one missing", Ops{Reads: 3}, func() error {
		_, err := fs.GetAll(ctx, []*firestore.DocumentRef{col.Doc("a"), col.Doc("b"), col.Doc("nothing")})
		return err
	})
	step("a query returning two", Ops{Reads: 2}, func() error { _, err := col.Documents(ctx).GetAll(); return err })
	step("a query returning nothing", Ops{Reads: 1}, func() error {
		_, err := col.Where("n", "==", 99).Documents(ctx).GetAll()
		return err
	})
	step("a transaction reading one and updating it", Ops{Reads: 1, Writes: 1}, func() error {
		return fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
			if _, err := tx.Get(col.Doc("a")); err != nil {
				return err
			}
			return tx.Update(col.Doc("a"), []firestore.Update{{Path: "n", Value: firestore.Increment(1)}})
		})
	})
	step("a query stopped after its first document", Ops{Reads: 1}, func() error {
		it := col.Documents(ctx)
		defer it.Stop()
		_, err := it.Next()
		if err == iterator.Done {
			return nil
		}
		return err
	})
	if s := c.Snapshot(); s.Invocations() != 0 || s.Unclaimed != s.Ops() {
		t.Errorf("outside any invocation: %+v", s)
	}
}

func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }

// Operations made on an invocation's context are its own; its outside
// calls' time is measured; other requests are not invocations.
func TestInvocationsClaimTheirOperations(t *testing.T) {
	c := New(func(p string) string {
		if p == "/fn" {
			return "fn"
		}
		return ""
	})
	c.Record = true
	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { time.Sleep(20 * time.Millisecond) }))
	defer outside.Close()
	c.Outside = func(r *http.Request) bool { return r.URL.Host == outside.Listener.Addr().String() }
	hc := &http.Client{Transport: c.Transport(nil)}
	fs := countedClient(t, c)
	doc := fs.Collection(testenv.ID("usage")).Doc("x")
	srv := httptest.NewServer(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := doc.Set(r.Context(), map[string]any{"n": 1}); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), "GET", outside.URL, nil)
		resp, err := hc.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		resp.Body.Close()
		w.WriteHeader(http.StatusAccepted)
	})))
	defer srv.Close()
	for _, p := range []string{"/fn", "/other"} {
		resp, err := http.Post(srv.URL+p, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	s := c.Snapshot()
	f := s.Functions["fn"]
	if s.Invocations() != 1 || f.Invocations != 1 || f.Ops != (Ops{Writes: 1}) || s.Unclaimed != (Ops{Writes: 1}) {
		t.Errorf("counted %+v", s)
	}
	calls := c.Calls()
	if len(calls) != 1 || calls[0].Status != http.StatusAccepted || len(calls[0].RPCs) != 1 || calls[0].Outside < 20*time.Millisecond ||
		calls[0].Outside > calls[0].Server {
		t.Errorf("the call: %+v", calls)
	}
}
