// Package usage counts what a functions host is billed for, as it happens:
// Firestore documents read, written and deleted, counted at the client the
// way Firestore bills them (gRPC interceptors on the host's Firestore
// client), and function invocations, counted where the host dispatches
// them (HTTP middleware). Each operation is attributed to the invocation
// whose request context made it; the time spent calling outside services
// (Stripe, ShipEngine, …) is measured on the same context by a transport.
// Benchmarks (make bench) use it; nothing deployed does.
package usage

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Ops are Firestore's billed operations.
type Ops struct {
	Reads   int64 // documents returned by gets, queries and transactions; 1 for a query that returns none
	Writes  int64 // documents set, updated or transformed in a commit
	Deletes int64 // documents deleted in a commit
}

// Add adds o2 to o.
func (o *Ops) Add(o2 Ops) { o.Reads += o2.Reads; o.Writes += o2.Writes; o.Deletes += o2.Deletes }

// Total is every operation.
func (o Ops) Total() int64 { return o.Reads + o.Writes + o.Deletes }

// Call is one invocation of a function, once it has answered.
type Call struct {
	Function string
	Server   time.Duration // from the request's arrival to the handler's return
	Outside  time.Duration // of Server, the time spent in outside calls (summed)
	Ops      Ops
	RPCs     []RPC // the Firestore calls it made, when the Counter records them
	Status   int   // the HTTP status answered
}

// Function is what a Counter has seen of one function.
type Function struct {
	Invocations int64
	Ops         Ops
	Server      []time.Duration // one per invocation
	Outside     []time.Duration // one per invocation
}

// Counter counts; its zero value is not usable, make one with New.
type Counter struct {
	// Name maps a request path to the function it invokes ("" is not
	// counted as an invocation).
	Name func(path string) string
	// Outside reports whether an outgoing request is to an outside
	// service whose time is measured (nil: none is).
	Outside func(*http.Request) bool
	// Record keeps each invocation's Firestore calls and answers them
	// by Calls.
	Record bool

	inFlight  atomic.Int64
	peak      atomic.Int64
	mu        sync.Mutex
	fns       map[string]*Function
	unclaimed Ops // operations made outside any invocation's context
	calls     []Call
}

// New makes a Counter that names invocations by name.
func New(name func(path string) string) *Counter {
	return &Counter{Name: name, fns: map[string]*Function{}}
}

type callKey struct{}

// active is an invocation in progress.
type active struct {
	mu      sync.Mutex
	ops     Ops
	outside time.Duration
	rpcs    []RPC
}

func from(ctx context.Context) *active {
	a, _ := ctx.Value(callKey{}).(*active)
	return a
}

// add attributes ops to the invocation of ctx (or to no invocation).
func (c *Counter) add(ctx context.Context, o Ops, rpc *RPC) {
	if a := from(ctx); a != nil {
		a.mu.Lock()
		a.ops.Add(o)
		if rpc != nil && c.Record {
			a.rpcs = append(a.rpcs, *rpc)
		}
		a.mu.Unlock()
		return
	}
	c.mu.Lock()
	c.unclaimed.Add(o)
	c.mu.Unlock()
}

// Middleware counts each request to a function as one invocation, with
// its server time and the operations made on its context.
func (c *Counter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := c.Name(r.URL.Path)
		if name == "" {
			next.ServeHTTP(w, r)
			return
		}
		if n := c.inFlight.Add(1); n > c.peak.Load() {
			c.peak.Store(n) // racy by design: a peak, not a count
		}
		defer c.inFlight.Add(-1)
		a := &active{}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		began := time.Now()
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), callKey{}, a)))
		d := time.Since(began)
		a.mu.Lock()
		call := Call{Function: name, Server: d, Outside: a.outside, Ops: a.ops, RPCs: a.rpcs, Status: sw.status}
		a.mu.Unlock()
		c.mu.Lock()
		defer c.mu.Unlock()
		f := c.fns[name]
		if f == nil {
			f = &Function{}
			c.fns[name] = f
		}
		f.Invocations++
		f.Ops.Add(call.Ops)
		f.Server = append(f.Server, call.Server)
		f.Outside = append(f.Outside, call.Outside)
		if c.Record {
			c.calls = append(c.calls, call)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Transport wraps next (http.DefaultTransport when nil) so that the time
// of each outgoing request Outside accepts is added to the invocation of
// its context.
func (c *Counter) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		a := from(r.Context())
		if a == nil || c.Outside == nil || !c.Outside(r) {
			return next.RoundTrip(r)
		}
		began := time.Now()
		resp, err := next.RoundTrip(r)
		a.mu.Lock()
		a.outside += time.Since(began)
		a.mu.Unlock()
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// InFlight is the number of invocations running now.
func (c *Counter) InFlight() int64 { return c.inFlight.Load() }

// Peak is the most invocations seen running at once since New or the
// last Reset (approximate under contention).
func (c *Counter) Peak() int64 { return c.peak.Load() }

// Snapshot is what has been counted since New or the last Reset.
type Snapshot struct {
	Functions map[string]Function
	Unclaimed Ops // Firestore operations made outside any invocation
}

// Snapshot copies the counts.
func (c *Counter) Snapshot() Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Snapshot{Functions: map[string]Function{}, Unclaimed: c.unclaimed}
	for k, f := range c.fns {
		s.Functions[k] = Function{Invocations: f.Invocations, Ops: f.Ops, Server: slices.Clone(f.Server), Outside: slices.Clone(f.Outside)}
	}
	return s
}

// Invocations is the number of invocations of every function.
func (s Snapshot) Invocations() int64 {
	var n int64
	for _, f := range s.Functions {
		n += f.Invocations
	}
	return n
}

// Ops is every operation, the unclaimed ones included.
func (s Snapshot) Ops() Ops {
	o := s.Unclaimed
	for _, f := range s.Functions {
		o.Add(f.Ops)
	}
	return o
}

// Calls answers the recorded invocations and forgets them.
func (c *Counter) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

// Reset forgets every count.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns, c.unclaimed, c.calls = map[string]*Function{}, Ops{}, nil
	c.peak.Store(0)
}
