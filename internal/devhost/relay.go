package devhost

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Relay stands between the functions host and everything that calls it
// without a person waiting: the Firestore emulator's trigger deliveries and
// the local fakes' webhooks. It accepts each delivery at once (so the
// emulator, which delivers one event at a time and never retries, is
// never held up or refused) and delivers it to the host with retries and
// backoff, as Eventarc does for a trigger deployed with --retry and as
// Stripe, Intuit, Lulu and ShipEngine do for their webhooks: a host that is
// down, restarting or answering 5xx or 429 gets the delivery again later;
// nothing that arrives while it is down is lost. A 4xx other than 429 is
// the receiver's final word (a bad signature, say) and is not repeated.
//
// For the reliability suite it can also deliver every event or webhook
// twice and webhooks out of order (SetFaults).
type Relay struct {
	URL    string // where deliveries are accepted: http://127.0.0.1:PORT
	target string // the functions host
	client *http.Client
	srv    *http.Server
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	faults  RelayFaults
	stats   RelayStats
	pending int
	flight  map[*delivery]string // what each pending delivery last met
	idle    *sync.Cond
	wg      sync.WaitGroup
}

// RelayFaults are the delivery faults a Relay injects.
type RelayFaults struct {
	// DuplicateEvents delivers every Firestore event twice (as two
	// independent deliveries, each retried on its own).
	DuplicateEvents bool
	// DuplicateWebhooks delivers every webhook twice.
	DuplicateWebhooks bool
	// Reorder delays each webhook delivery by a random time up to this, so
	// that webhooks sent in one order arrive in another.
	Reorder time.Duration
}

// RelayStats count what a Relay did.
type RelayStats struct {
	Events, Webhooks     int // deliveries accepted
	DuplicateEvents      int // extra deliveries made by DuplicateEvents
	DuplicateWebhooks    int // extra deliveries made by DuplicateWebhooks
	Delivered            int // attempts the host answered 2xx
	Retried              int // attempts repeated after a failure (host down, 5xx, 429)
	Refused              int // deliveries the host answered 4xx (not repeated)
	Abandoned            int // deliveries still failing after MaxRetryAge
	ConnectionsRefused   int // attempts that found no host listening
	ServerErrorsAnswered int // attempts answered 5xx or 429
}

// Retry policy: the first retry after relayFirstBackoff, doubling up to
// relayMaxBackoff, for at most relayMaxAge (Eventarc keeps trying for 24
// hours; locally a delivery that fails for ten minutes is a bug to see).
const (
	relayFirstBackoff = 100 * time.Millisecond
	relayMaxBackoff   = 2 * time.Second
	relayMaxAge       = 10 * time.Minute
)

// StartRelay accepts deliveries on l and delivers them to target (the
// functions host's URL).
func StartRelay(l net.Listener, target string) *Relay {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{URL: "http://" + l.Addr().String(), target: target, ctx: ctx, cancel: cancel,
		client: &http.Client{Timeout: 5 * time.Minute}, flight: map[*delivery]string{}}
	r.idle = sync.NewCond(&r.mu)
	r.srv = &http.Server{Handler: http.HandlerFunc(r.accept), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	return r
}

// SetFaults sets the delivery faults from now on.
func (r *Relay) SetFaults(f RelayFaults) { r.mu.Lock(); r.faults = f; r.mu.Unlock() }

// Stats returns what the relay did so far.
func (r *Relay) Stats() RelayStats { r.mu.Lock(); defer r.mu.Unlock(); return r.stats }

// Pending is the number of deliveries not yet done (answered, refused or
// abandoned).
func (r *Relay) Pending() int { r.mu.Lock(); defer r.mu.Unlock(); return r.pending }

// InFlight describes each pending delivery: its path and what its last
// attempt met.
func (r *Relay) InFlight() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for d, last := range r.flight {
		out = append(out, d.method+" "+d.path+": "+last)
	}
	return out
}

// Close stops accepting and abandons what is pending.
func (r *Relay) Close() error {
	r.cancel()
	err := r.srv.Close()
	r.wg.Wait()
	return err
}

type delivery struct {
	method, path string
	header       http.Header
	body         []byte
	event        bool
	delay        time.Duration
}

func (r *Relay) accept(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	d := delivery{method: req.Method, path: req.URL.RequestURI(), header: req.Header.Clone(), body: body,
		event: strings.HasPrefix(req.URL.Path, "/functions/projects/")}
	r.mu.Lock()
	f := r.faults
	copies := 1
	if d.event {
		r.stats.Events++
		if f.DuplicateEvents {
			copies, r.stats.DuplicateEvents = 2, r.stats.DuplicateEvents+1
		}
	} else {
		r.stats.Webhooks++
		if f.DuplicateWebhooks {
			copies, r.stats.DuplicateWebhooks = 2, r.stats.DuplicateWebhooks+1
		}
	}
	r.pending += copies
	r.wg.Add(copies)
	r.mu.Unlock()
	for range copies {
		c := d
		if !d.event && f.Reorder > 0 {
			c.delay = rand.N(f.Reorder)
		}
		go r.deliver(c)
	}
	w.WriteHeader(http.StatusOK)
}

// deliver makes one delivery, retrying until the host answers it.
func (r *Relay) deliver(d delivery) {
	r.mu.Lock()
	r.flight[&d] = "not tried yet"
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.flight, &d)
		r.pending--
		if r.pending == 0 {
			r.idle.Broadcast()
		}
		r.mu.Unlock()
		r.wg.Done()
	}()
	began := time.Now()
	backoff := relayFirstBackoff
	wait := d.delay
	for attempt := 0; ; attempt++ {
		if wait > 0 {
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		status, err := r.attempt(d)
		r.mu.Lock()
		if err != nil {
			r.flight[&d] = fmt.Sprintf("attempt %d: %v", attempt+1, err)
		} else {
			r.flight[&d] = fmt.Sprintf("attempt %d: %d", attempt+1, status)
		}
		switch {
		case err == nil && status < 300:
			r.stats.Delivered++
			r.mu.Unlock()
			return
		case err == nil && status < 500 && status != http.StatusTooManyRequests:
			r.stats.Refused++
			r.mu.Unlock()
			return
		case err != nil && isRefused(err):
			r.stats.ConnectionsRefused++
		case err == nil:
			r.stats.ServerErrorsAnswered++
		}
		if time.Since(began) > relayMaxAge {
			r.stats.Abandoned++
			r.mu.Unlock()
			return
		}
		r.stats.Retried++
		r.mu.Unlock()
		wait = backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, relayMaxBackoff)
	}
}

func (r *Relay) attempt(d delivery) (int, error) {
	req, err := http.NewRequestWithContext(r.ctx, d.method, r.target+d.path, bytes.NewReader(d.body))
	if err != nil {
		return 0, err
	}
	req.Header = d.header.Clone()
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func isRefused(err error) bool { return strings.Contains(err.Error(), "connection refused") }

// WaitIdle waits until nothing is pending, or ctx ends.
func (r *Relay) WaitIdle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { r.mu.Lock(); r.idle.Broadcast(); r.mu.Unlock() })
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.pending > 0 && ctx.Err() == nil {
		r.idle.Wait()
	}
	return ctx.Err()
}
