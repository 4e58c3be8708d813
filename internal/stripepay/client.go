// Package stripepay is the Stripe adapter: the payments capability's
// Sessions and Intents (payments.go), webhook events verified and reduced
// (events.go), and the stripe-go (v76) client built the way the project
// uses it everywhere: a value built with options, never the package-level
// globals; an API base that can point at real Stripe, stripe-mock (request
// validity) or the project's local Stripe (stripefake); our own HTTP client
// with a timeout; Stripe's own retries for network errors and 409/429/5xx
// (with the idempotency key kept); and its logs in our logger, at debug.
package stripepay

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// APIVersion is the Stripe API version stripe-go v76 sends (Stripe-Version)
// and expects on webhook events.
const APIVersion = stripe.APIVersion

// Options configure New.
type Options struct {
	// SecretKey is the account's secret or restricted key: sk_test_… or
	// rk_test_… in test mode, sk_live_… / rk_live_… live.
	SecretKey string
	// APIBase overrides https://api.stripe.com, e.g. http://127.0.0.1:12111
	// for stripe-mock or the local Stripe. Empty: real Stripe.
	APIBase string
	// Timeout bounds one HTTP attempt (default 30 s).
	Timeout time.Duration
	// MaxNetworkRetries is Stripe's own retry count (default 2; negative:
	// no retries). Retries keep the request's Idempotency-Key.
	MaxNetworkRetries int64
	Logger            zerolog.Logger
}

// New returns a Stripe client. It refuses a key that is not a Stripe
// secret or restricted key, so that a publishable key or a typo fails at
// start, not at the first payment.
func New(o Options) (*client.API, error) {
	if !validKey(o.SecretKey) {
		return nil, errors.New("stripepay: the secret key must start with sk_test_, sk_live_, rk_test_ or rk_live_")
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	switch {
	case o.MaxNetworkRetries == 0:
		o.MaxNetworkRetries = 2
	case o.MaxNetworkRetries < 0:
		o.MaxNetworkRetries = 0
	}
	cfg := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: o.Timeout},
		LeveledLogger:     logger{o.Logger},
		MaxNetworkRetries: stripe.Int64(o.MaxNetworkRetries),
		EnableTelemetry:   stripe.Bool(false),
	}
	if o.APIBase != "" {
		if !strings.HasPrefix(o.APIBase, "http://") && !strings.HasPrefix(o.APIBase, "https://") {
			return nil, fmt.Errorf("stripepay: API base %q is not an http(s) URL", o.APIBase)
		}
		cfg.URL = stripe.String(strings.TrimSuffix(o.APIBase, "/"))
	}
	return client.New(o.SecretKey, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	}), nil
}

func validKey(k string) bool {
	for _, p := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_"} {
		if strings.HasPrefix(k, p) && len(k) > len(p) {
			return true
		}
	}
	return false
}

// logger sends stripe-go's logs to zerolog at debug (its errors at warn).
// stripe-go logs request paths and ids, never keys.
type logger struct{ l zerolog.Logger }

var _ stripe.LeveledLoggerInterface = logger{}

func (g logger) Debugf(format string, v ...any) {
	g.l.Debug().Str("component", "stripe").Msgf(format, v...)
}
func (g logger) Infof(format string, v ...any) {
	g.l.Debug().Str("component", "stripe").Msgf(format, v...)
}
func (g logger) Warnf(format string, v ...any) {
	g.l.Warn().Str("component", "stripe").Msgf(format, v...)
}
func (g logger) Errorf(format string, v ...any) {
	g.l.Warn().Str("component", "stripe").Msgf(format, v...)
}
