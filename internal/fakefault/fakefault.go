// Package fakefault injects an outside service's failures into a local
// fake at random, for the reliability suite: 5xx answers, 429 throttling,
// timeouts (the request is carried out and its answer lost) and expired
// access tokens. Each fake says which of its requests are API calls and
// writes each fault in its own service's shape (its faults.go); this
// package decides when, and counts what it injected.
package fakefault

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The kinds of fault.
const (
	ServerError  Kind = "5xx"
	Throttled    Kind = "429"
	Timeout      Kind = "timeout"       // carried out, the answer lost (the connection closes unanswered)
	ExpiredToken Kind = "expired_token" // the caller's access token expires before the request
)

// Kinds are every kind, in the order tables list them.
var Kinds = []Kind{ServerError, Throttled, Timeout, ExpiredToken}

// Shape is how a fake answers a fault: for ServerError and Throttled it
// writes the answer; for ExpiredToken it expires the tokens it issued
// (the request then meets its own 401). It returns false for a kind the
// service does not have (the request then goes through).
type Shape func(w http.ResponseWriter, r *http.Request, k Kind) bool

// Injector injects faults into one fake's API requests. The zero value
// injects nothing.
type Injector struct {
	mu     sync.Mutex
	rate   float64
	kinds  []Kind
	counts map[Kind]int
	limits map[Kind]int // Limit
	last   bool         // the previous API request got a fault
}

// Set makes each API request fail with probability rate, with one of
// kinds chosen at random; never two API requests in a row, so that a
// caller's retry can succeed. Set(0) stops injecting.
func (in *Injector) Set(rate float64, kinds ...Kind) {
	in.mu.Lock()
	in.rate, in.kinds = rate, slices.Clone(kinds)
	in.mu.Unlock()
}

// Limit injects at most n faults of kind k from now on (counting those
// injected already): for a fault that costs much, such as QuickBooks'
// 429, after which a caller waits out the minute.
func (in *Injector) Limit(k Kind, n int) {
	in.mu.Lock()
	if in.limits == nil {
		in.limits = map[Kind]int{}
	}
	in.limits[k] = n
	in.mu.Unlock()
}

// Counts returns how many faults of each kind were injected.
func (in *Injector) Counts() map[Kind]int {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := map[Kind]int{}
	for k, n := range in.counts {
		out[k] = n
	}
	return out
}

// draw decides the fault for one API request ("" for none).
func (in *Injector) draw() Kind {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rate <= 0 || len(in.kinds) == 0 || in.last || rand.Float64() >= in.rate {
		in.last = false
		return ""
	}
	k := in.kinds[rand.N(len(in.kinds))]
	if n, limited := in.limits[k]; limited && in.counts[k] >= n {
		in.last = false
		return ""
	}
	in.last = true
	return k
}

func (in *Injector) count(k Kind) {
	in.mu.Lock()
	if in.counts == nil {
		in.counts = map[Kind]int{}
	}
	in.counts[k]++
	in.mu.Unlock()
}

// Wrap injects faults into the requests of next for which api is true,
// answered in shape.
func (in *Injector) Wrap(next http.Handler, api func(*http.Request) bool, shape Shape) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !api(r) {
			next.ServeHTTP(w, r)
			return
		}
		switch k := in.draw(); k {
		case "":
		case Timeout:
			hj, ok := w.(http.Hijacker)
			if !ok {
				break
			}
			in.count(k)
			next.ServeHTTP(httptest.NewRecorder(), r) // carried out…
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close() // …and never answered
			}
			return
		case ExpiredToken:
			if shape(w, r, k) {
				in.count(k)
			}
		default:
			if shape(w, r, k) {
				in.count(k)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// ExpireToken expires the request's bearer token in tokens (token →
// expiry; the fake holds its lock), unless the token is unknown or was
// issued within the last minute of a lifetime-long life: a service does
// not expire the token a caller has just refreshed. It reports whether it
// expired one.
func ExpireToken(tokens map[string]time.Time, r *http.Request, now time.Time, lifetime time.Duration) bool {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if until, ok := tokens[token]; !ok || until.Sub(now) > lifetime-time.Minute {
		return false
	}
	tokens[token] = now.Add(-time.Second)
	return true
}
