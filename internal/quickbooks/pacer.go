package quickbooks

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"golang.org/x/time/rate"
)

// QuickBooks' limits per company (reference/quickbooks.md): 500 requests a
// minute, 10 a second.
const (
	PerMinute = 500
	PerSecond = 10
	// Cooldown is how long an instance sends nothing to a company after a
	// 429 without Retry-After: the per-minute window has passed by then.
	Cooldown = 60 * time.Second
)

// Pacer keeps this instance's calls to one company within QuickBooks'
// limits: a token bucket refilled at 500 a minute with bursts of at most
// 10, and, after a 429, no call at all until the cool-down ends (callers
// get UNAVAILABLE at once, so that triggers retry later instead of adding
// to the throttling).
type Pacer struct {
	lim *rate.Limiter
	now func() time.Time

	mu    sync.Mutex
	until time.Time
}

// NewPacer returns a pacer with QuickBooks' limits (perMinute and burst of
// 0 mean PerMinute and PerSecond).
func NewPacer(perMinute, burst int, now func() time.Time) *Pacer {
	if perMinute <= 0 {
		perMinute = PerMinute
	}
	if burst <= 0 {
		burst = PerSecond
	}
	if now == nil {
		now = time.Now
	}
	return &Pacer{lim: rate.NewLimiter(rate.Limit(float64(perMinute)/60), burst), now: now}
}

// Wait blocks until a call may be sent, or says why not.
func (p *Pacer) Wait(ctx context.Context) error {
	p.mu.Lock()
	until := p.until
	p.mu.Unlock()
	if p.now().Before(until) {
		return apperr.New(apperr.Unavailable, "QuickBooks throttled this company; no call until %s", until.UTC().Format(time.RFC3339))
	}
	if err := p.lim.Wait(ctx); err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "QuickBooks' request limit leaves no room before the deadline; will try again")
	}
	return nil
}

// Throttled records a 429: no call until Retry-After (seconds, when
// QuickBooks sent one) or Cooldown has passed.
func (p *Pacer) Throttled(h http.Header) {
	d := Cooldown
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 && s <= 3600 {
		d = time.Duration(s) * time.Second
	}
	p.mu.Lock()
	if until := p.now().Add(d); until.After(p.until) {
		p.until = until
	}
	p.mu.Unlock()
}
