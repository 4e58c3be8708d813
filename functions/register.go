package functions

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/httpedge"
)

// Registrar is the Functions Framework's registration API
// (functions.HTTP and functions.CloudEvent), passed in by the root package.
type Registrar struct {
	HTTP       func(name string, fn func(http.ResponseWriter, *http.Request))
	CloudEvent func(name string, fn func(context.Context, cloudevents.Event) error)
}

// Register registers every function of List. The App is built lazily, once
// per instance, on the first request: configuration problems then answer
// 500 and are logged, rather than crashing the instance at start, and a
// build (or the buildpack's own check) needs no configuration.
func Register(r Registrar) {
	for _, f := range List {
		f := f
		if f.Kind.HTTP() {
			var (
				once sync.Once
				h    http.Handler
			)
			r.HTTP(f.Name, func(w http.ResponseWriter, req *http.Request) {
				a, err := instance.get(req.Context())
				if err != nil {
					httpedge.WriteError(w, err) // INTERNAL; the cause is logged by get
					return
				}
				once.Do(func() { h = f.Handler(a) })
				h.ServeHTTP(w, req)
			})
			continue
		}
		var (
			once sync.Once
			fn   func(context.Context, cloudevents.Event) error
		)
		r.CloudEvent(f.Name, func(ctx context.Context, e cloudevents.Event) error {
			a, err := instance.get(ctx)
			if err != nil {
				return err
			}
			once.Do(func() { fn = f.EventHandler(a) })
			return fn(ctx, e)
		})
	}
}

// instance is this process's App, built on first use. A failed build is
// retried on the next request (a transient failure must not poison the
// instance); a configuration error simply fails again.
var instance lazyApp

type lazyApp struct {
	mu  sync.Mutex
	app *app.App
}

func (l *lazyApp) get(ctx context.Context) (*app.App, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.app != nil {
		return l.app, nil
	}
	a, err := FromEnv(ctx, os.Getenv("FUNCTION_TARGET"))
	if err != nil {
		// Logs go to stderr as one Cloud Logging line; the App's logger
		// does not exist yet.
		fmt.Fprintf(os.Stderr, "{\"severity\":\"CRITICAL\",\"message\":%q}\n", "cannot start: "+err.Error())
		return nil, err
	}
	l.app = a
	return a, nil
}

// FromEnv builds the App from the environment for the function named
// target (whose secrets are then required), or for every function when
// target is empty (the local host).
func FromEnv(ctx context.Context, target string) (*app.App, error) {
	secrets := AllSecrets()
	if target != "" {
		f, ok := Lookup(target)
		if !ok {
			return nil, fmt.Errorf("FUNCTION_TARGET=%q is not in the list of functions", target)
		}
		secrets = f.Secrets
	}
	cfg, err := config.Load(os.LookupEnv, secrets...)
	if err != nil {
		return nil, err
	}
	return app.New(ctx, cfg, app.Options{LogOutput: os.Stdout})
}
