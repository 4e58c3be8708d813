// Package devhost is the local system behind `make dev`: it starts the
// Firestore and Auth emulators, builds the App exactly as a deployed
// instance does, serves every function of functions.List on one port
// (callables also at /<project>/<region>/<name>, the URL the Firebase JS
// SDK uses with connectFunctionsEmulator), registers every Firestore trigger
// with the emulator so that writes arrive as CloudEvents, and seeds the
// demo store.
package devhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/firestore"
	firebase "firebase.google.com/go/v4"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/functions"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/firebaseauth"
	"github.com/readyplanner/oms/internal/firebaseauth/googlefake"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/localfakes"
	"github.com/readyplanner/oms/internal/lulu/lulufake"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/seed"
	"github.com/readyplanner/oms/internal/shipengine/shipenginefake"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
)

// Options configure Start. Zero ports mean free ones.
type Options struct {
	Project       string // default demo-oms ("demo-" projects never reach Google)
	Region        string // default us-central1
	Port          int    // the functions host
	FirestorePort int
	AuthPort      int
	// AuthHost reuses a running Auth emulator instead of starting one.
	AuthHost string
	Rules    string // firestore.rules; default ./firestore.rules
	NoSeed   bool
	// Logs receives the functions' logs; EmulatorLogs the emulators' own
	// output (nil discards it).
	Logs         io.Writer
	EmulatorLogs io.Writer
	// Configure, if set, is called with the App before anything is served
	// (tests add probes to the order flow here).
	Configure func(*app.App)
	// QuickBooksWebhooks is the format the local QuickBooks posts its
	// webhooks in: qbfake.Legacy (default) or qbfake.CloudEvents.
	QuickBooksWebhooks string
	// PrintAdvance, when not 0, makes the local printer advance every open
	// print job one status this often (a demo order then reaches shipped
	// untouched); 0 leaves that to its tester's page.
	PrintAdvance time.Duration
	// Shop, when set, is the repository's folder (clients/shop and
	// node_modules under it): the demo shop is compiled and served at
	// /shop/. Empty serves no shop.
	Shop string
	// Firestore, if set, makes the App's Firestore client on the started
	// emulator (benchmarks count the operations on its connection).
	Firestore func(ctx context.Context, host, project string) (*firestore.Client, error)
	// Middleware, if set, wraps every function the host serves.
	Middleware func(http.Handler) http.Handler
	// Detached starts everything but the functions host: the emulators,
	// the fakes, mailpit and a Relay that the Firestore emulator's events
	// and the fakes' webhooks go through. The functions host runs apart
	// (Attach, oms-dev -attach) at URL, and may stop and start again: the
	// relay holds what arrives meanwhile and delivers it with retries.
	Detached bool
}

// Host is the running local system.
type Host struct {
	URL       string // the functions host, http://127.0.0.1:PORT
	Project   string
	Region    string
	Firestore *emulator.Firestore
	AuthHost  string
	App       *app.App
	Seeded    seed.Report
	// ShipEngine is the local ShipEngine, started when no
	// SHIPENGINE_API_KEY is configured (nil otherwise: the real one).
	ShipEngine *shipenginefake.Server
	// Stripe is the local Stripe, started when no STRIPE_SECRET_KEY is
	// configured (nil otherwise: Stripe's test mode).
	Stripe *stripefake.Server
	// QuickBooks is the local QuickBooks, started and connected when no
	// QUICKBOOKS_CLIENT_ID is configured.
	QuickBooks *qbfake.Server
	// Printer is the local printer (nil when LULU_CLIENT_KEY is set).
	Printer *lulufake.Server
	// Google is the local Google sign-in of the owner's console (nil when
	// OMS_GOOGLE_CLIENT_ID is set: Google's own).
	Google *googlefake.Server
	// Mailpit is the local mail server the built-in sender delivers to,
	// started when no SMTP_URL is configured: read the mail at its API.
	Mailpit *emulator.Mailpit
	// QuickBooksConnectLink is a one-time link to connect a real
	// (sandbox) company, when QUICKBOOKS_CLIENT_ID is configured and no
	// company is connected yet.
	QuickBooksConnectLink string
	// ConsoleURL is the owner's console; OwnerEmail and OwnerPassword sign
	// in to it (a demo owner made in the Auth emulator).
	ConsoleURL, OwnerEmail, OwnerPassword string
	// ShopURL is the demo shop ("" unless Options.Shop is set).
	ShopURL string
	// Relay delivers the emulator's events and the fakes' webhooks to a
	// detached functions host (nil unless Options.Detached).
	Relay        *Relay
	vars         map[string]string // the configuration set for the App
	Ready        time.Duration     // from Start's call to serving
	Routes       []string          // every path served
	srv          *http.Server
	stops        []func() error
	stopOnce     sync.Once
	restoreEnvFn func()
}

// Start brings the local system up. On error, whatever it started is
// stopped again.
func Start(ctx context.Context, o Options) (_ *Host, err error) {
	began := time.Now()
	if o.Project == "" {
		o.Project = "demo-oms"
	}
	if o.Region == "" {
		o.Region = "us-central1"
	}
	if o.Rules == "" {
		o.Rules = "firestore.rules"
	}
	h := &Host{Project: o.Project, Region: o.Region}
	defer func() {
		if err != nil {
			h.Stop()
		}
	}()

	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)))
	if err != nil {
		return nil, fmt.Errorf("functions host: %w", err)
	}
	h.URL = "http://" + l.Addr().String()
	h.stops = append(h.stops, l.Close)
	// Where the emulator delivers events and the fakes post webhooks: the
	// host itself, or the relay in front of a detached host.
	deliverTo := l.Addr().String()
	var relayL net.Listener
	if o.Detached {
		if relayL, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		h.stops = append(h.stops, relayL.Close)
		deliverTo = relayL.Addr().String()
		l.Close() // the detached host listens there
	}
	hooks := "http://" + deliverTo

	// The emulators start in parallel: Auth (Node) takes several seconds,
	// Firestore (Java) about one.
	var (
		wg      sync.WaitGroup
		fsErr   error
		authErr error
		auth    *emulator.Auth
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.Firestore, fsErr = emulator.StartFirestore(ctx, emulator.FirestoreOptions{Project: o.Project, Port: o.FirestorePort,
			Rules: o.Rules, FunctionsHost: deliverTo, Logs: o.EmulatorLogs})
	}()
	if o.AuthHost == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			auth, authErr = emulator.StartAuth(ctx, emulator.AuthOptions{Project: o.Project, Port: o.AuthPort, Logs: o.EmulatorLogs})
		}()
	}
	wg.Wait()
	if h.Firestore != nil {
		h.stops = append(h.stops, h.Firestore.Stop)
	}
	if auth != nil {
		h.stops = append(h.stops, auth.Stop)
		h.AuthHost = auth.Host
	} else {
		h.AuthHost = o.AuthHost
	}
	if err := errors.Join(fsErr, authErr); err != nil {
		return nil, err
	}

	// The SDKs read these from the process environment.
	vars := map[string]string{
		"FIRESTORE_EMULATOR_HOST": h.Firestore.Host, "FIREBASE_AUTH_EMULATOR_HOST": h.AuthHost,
		"OMS_ENV": config.Development, "OMS_PROJECT_ID": o.Project, "OMS_REGION": o.Region,
	}
	consoleURL := os.Getenv("OMS_CONSOLE_URL")
	if consoleURL == "" {
		consoleURL = strings.Replace(h.URL, "127.0.0.1", "localhost", 1) + "/owner/"
		vars["OMS_CONSOLE_URL"] = consoleURL
	}
	// The local stand-ins of every paid service whose key is not
	// configured (real test-mode keys in .env use the real services). The
	// environment wins: webhook secrets set there are what the local
	// Stripe and QuickBooks sign with, so that a developer's own signed
	// test webhooks verify.
	fakes, err := localfakes.Start(localfakes.Options{ShipEngine: os.Getenv(app.ShipEngineKey) == "", Stripe: os.Getenv(app.StripeKey) == "",
		QuickBooks: os.Getenv(app.QuickBooksClientID) == "", Printer: os.Getenv(app.PrinterKey) == "", StripeWebhook: hooks + "/stripeWebhook",
		QuickBooksRedirect: h.URL + "/quickbooksCallback", StripeWebhookSecret: os.Getenv(app.StripeWebhookSecret),
		QuickBooksVerifier: os.Getenv(app.QuickBooksWebhookVerifier), Google: os.Getenv("OMS_GOOGLE_CLIENT_ID") == "",
		GoogleRedirect: consoleURL + "signin/google/callback"})
	if err != nil {
		return nil, err
	}
	h.stops = append(h.stops, fakes.Close)
	h.ShipEngine, h.Stripe, h.QuickBooks, h.Printer, h.Google = fakes.ShipEngine, fakes.Stripe, fakes.QuickBooks, fakes.Printer, fakes.Google
	maps.Copy(vars, fakes.Vars(h.URL+"/quickbooksCallback"))
	if os.Getenv(app.SMTPURL) == "" {
		mp, err := emulator.StartMailpit(ctx)
		if err != nil {
			return nil, err
		}
		h.stops = append(h.stops, mp.Stop)
		h.Mailpit = mp
		vars[app.SMTPURL] = mp.SMTPURL()
	}
	// The storefront's origins (a Next.js dev server's by default), and
	// always this host's own: the demo shop calls from it.
	origins := os.Getenv("OMS_STOREFRONT_ORIGINS")
	if origins == "" {
		origins = "http://localhost:3000,http://127.0.0.1:3000"
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	vars["OMS_STOREFRONT_ORIGINS"] = origins + ",http://localhost:" + port + ",http://127.0.0.1:" + port
	if os.Getenv("OMS_OWNER_EMAIL") == "" {
		vars["OMS_OWNER_EMAIL"] = "owner@readyplanner.example" // the owner's alerts, readable in mailpit
	}
	if h.QuickBooks == nil && os.Getenv("OMS_QUICKBOOKS_REDIRECT_URL") == "" {
		// The URI to register with the Intuit app for a sandbox company.
		vars["OMS_QUICKBOOKS_REDIRECT_URL"] = "http://localhost:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port) + "/quickbooksCallback"
	}
	if err := h.newApp(ctx, vars, o.Logs, o.Firestore); err != nil {
		return nil, err
	}
	if h.QuickBooks != nil {
		if err := h.QuickBooks.ConnectTo(ctx, h.App.QuickBooksTokens); err != nil {
			return nil, err
		}
		format := o.QuickBooksWebhooks
		if format == "" {
			format = qbfake.Legacy
		}
		h.QuickBooks.SetWebhook(hooks+"/quickbooksWebhook", format)
	} else if st, err := h.App.QuickBooksTokens.Status(ctx); err == nil && !st.Connected {
		key, _, err := h.App.QuickBooksTokens.MintConnectKey(ctx, firestoredb.ConnectKeyTTL)
		if err != nil {
			return nil, err
		}
		h.QuickBooksConnectLink = strings.Replace(h.URL, "127.0.0.1", "localhost", 1) + "/quickbooksConnect?key=" + key
	}
	if h.ShipEngine != nil {
		h.ShipEngine.SetWebhook(hooks + "/shipengineWebhook")
	}
	if h.Printer != nil {
		h.Printer.SetWebhook(hooks + "/printerWebhook")
		if o.PrintAdvance > 0 {
			h.Printer.AutoAdvance(o.PrintAdvance)
		}
	}
	if o.Configure != nil {
		o.Configure(h.App)
	}

	if o.Detached {
		h.Relay = StartRelay(relayL, h.URL)
		h.stops = append(h.stops, h.Relay.Close)
	} else if err := h.serve(ctx, o, l); err != nil {
		return nil, err
	}

	for _, f := range functions.List {
		if f.Kind == functions.Trigger {
			if err := h.Firestore.RegisterTrigger(ctx, f.Name, f.EventType, f.Document); err != nil {
				return nil, fmt.Errorf("register trigger %s: %w", f.Name, err)
			}
		}
	}
	// The demo owner, so that the console can be signed in to at once.
	fb, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: h.App.Config.ProjectID})
	if err != nil {
		return nil, err
	}
	owners, err := firebaseauth.NewOwners(ctx, fb, h.App.Config.AdminClaim)
	if err != nil {
		return nil, err
	}
	h.ConsoleURL, h.OwnerEmail, h.OwnerPassword = h.App.Config.ConsoleURL, LocalOwnerEmail, LocalOwnerPassword
	if _, err := owners.EnsureAccount(ctx, LocalOwnerEmail, LocalOwnerPassword); err != nil {
		return nil, fmt.Errorf("the demo owner: %w", err)
	}
	if _, _, err := owners.Grant(ctx, LocalOwnerEmail); err != nil {
		return nil, fmt.Errorf("the demo owner: %w", err)
	}
	if !o.NoSeed {
		if h.Seeded, err = seed.Seed(ctx, h.App.Firestore, time.Now()); err != nil {
			return nil, err
		}
	}
	h.Ready = time.Since(began)
	return h, nil
}

// newApp sets vars in the process environment (restored by Stop), where
// the SDKs and config.Load read them, and builds the App from it.
func (h *Host) newApp(ctx context.Context, vars map[string]string, logs io.Writer, dial func(ctx context.Context, host, project string) (*firestore.Client, error)) error {
	h.vars = vars
	h.restoreEnvFn = setEnv(vars)
	cfg, err := config.Load(os.LookupEnv, functions.AllSecrets()...)
	if err != nil {
		return err
	}
	if logs == nil {
		logs = io.Discard
	}
	ao := app.Options{LogOutput: logs}
	if dial != nil {
		if ao.Firestore, err = dial(ctx, h.Firestore.Host, cfg.ProjectID); err != nil {
			return err
		}
		h.stops = append(h.stops, ao.Firestore.Close)
	}
	if h.App, err = app.New(ctx, cfg, ao); err != nil {
		return err
	}
	h.stops = append(h.stops, h.App.Close)
	return nil
}

// serve serves every function of the App on l (and the demo shop, if asked).
func (h *Host) serve(ctx context.Context, o Options, l net.Listener) error {
	mux, routes, err := Mux(ctx, h.App)
	if err != nil {
		return err
	}
	if o.Shop != "" {
		s, stop, err := newShop(ctx, o.Shop, h)
		if err != nil {
			return err
		}
		h.stops = append(h.stops, stop)
		mux.Handle("/shop/", http.StripPrefix("/shop", s))
		mux.Handle("GET /shop", http.RedirectHandler("/shop/", http.StatusFound))
		routes = append(routes, "/shop/")
		h.ShopURL = strings.Replace(h.URL, "127.0.0.1", "localhost", 1) + "/shop/"
	}
	h.Routes = routes
	var served http.Handler = mux
	if o.Middleware != nil {
		served = o.Middleware(mux)
	}
	h.srv = &http.Server{Handler: served, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.srv.Serve(l) }()
	h.stops = append(h.stops, func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return h.srv.Shutdown(sctx)
	})

	return nil
}

// The local system's demo owner (an account in the Auth emulator with the
// owner's claim), for signing in to the console.
const (
	LocalOwnerEmail    = "owner@readyplanner.example"
	LocalOwnerPassword = "local-owner-password"
)

// Stop shuts the host down and stops exactly the emulators it started, in
// reverse order. Safe to call twice.
func (h *Host) Stop() error {
	var errs []error
	h.stopOnce.Do(func() {
		for i := len(h.stops) - 1; i >= 0; i-- {
			if err := h.stops[i](); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		if h.restoreEnvFn != nil {
			h.restoreEnvFn()
		}
	})
	return errors.Join(errs...)
}

// Mux serves every function of functions.List built on a: HTTP kinds at
// /<name> and /<project>/<region>/<name>; triggers at the emulator's
// delivery path and at /<name>. It returns the paths it serves.
func Mux(ctx context.Context, a *app.App) (*http.ServeMux, []string, error) {
	mux := http.NewServeMux()
	var routes []string
	handle := func(path string, h http.Handler) {
		mux.Handle(path, h)
		routes = append(routes, path)
	}
	type entry struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
		Path string `json:"path"`
		Doc  string `json:"doc"`
	}
	var index []entry
	for _, f := range functions.List {
		if f.Kind.HTTP() {
			h := f.Handler(a)
			for _, base := range []string{"/" + f.Name, "/" + a.Config.ProjectID + "/" + a.Config.Region + "/" + f.Name} {
				if !f.Subpaths {
					handle(base, h)
					continue
				}
				// As the platform does: the function sees the path under its name.
				handle(base, http.StripPrefix(base, h))
				mux.Handle(base+"/", http.StripPrefix(base, h))
			}
			index = append(index, entry{f.Name, string(f.Kind), "/" + a.Config.ProjectID + "/" + a.Config.Region + "/" + f.Name, f.Doc})
			continue
		}
		h := emulatorEvents(eventHandler(f.EventHandler(a)))
		handle(emulator.TriggerURLPath(a.Config.ProjectID, f.Name), h)
		handle("/"+f.Name, h)
		index = append(index, entry{f.Name, string(f.Kind), emulator.TriggerURLPath(a.Config.ProjectID, f.Name), f.Doc})
	}
	mux.HandleFunc("GET /mail/preview/{template}", preview(a))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"project": a.Config.ProjectID, "region": a.Config.Region, "functions": index})
	})
	return mux, routes, nil
}

// eventHandler serves a CloudEvent function: each request's own event,
// under that request's context; 200 when fn succeeds, 500 when it fails
// (the sender retries), 400 for a request that is not a CloudEvent. Not
// the SDK's receive handler: it hands events to goroutines through one
// channel shared by every request, so with deliveries in flight at once
// (as the relay makes) one request's event can run under another's
// context, and a delivery can wait until some later one arrives.
func eventHandler(fn func(context.Context, cloudevents.Event) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cloudevents.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := fn(r.Context(), *e); err != nil {
			http.Error(w, "the function failed (see its log); deliver again", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// emulatorEvents adapts the Firestore emulator's deliveries to the
// CloudEvents binary mode that the CloudEvents SDK (and so the Functions
// Framework) accepts: the emulator also sends a ce-datacontenttype header,
// which binary mode does not allow (the content type travels in
// Content-Type), and the SDK answers 500 without calling the function.
func emulatorEvents(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Ce-Datacontenttype"); ct != "" {
			if r.Header.Get("Content-Type") == "" {
				r.Header.Set("Content-Type", ct)
			}
			r.Header.Del("Ce-Datacontenttype")
		}
		next.ServeHTTP(w, r)
	})
}

// setEnv sets variables and returns a function that restores them.
func setEnv(vars map[string]string) func() {
	old := map[string]*string{}
	for k, v := range vars {
		if prev, ok := os.LookupEnv(k); ok {
			old[k] = &prev
		} else {
			old[k] = nil
		}
		os.Setenv(k, v)
	}
	return func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
}

// preview serves every customer email's template rendered with sample
// data and the configured store: /mail/preview/{template} as HTML,
// /mail/preview/{template}.txt as text, /mail/preview/index lists them.
func preview(a *app.App) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("template")
		if name == "index" || name == "" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<!doctype html><title>Email previews</title><h1>Email previews</h1><ul>")
			for _, t := range messages.Templates {
				fmt.Fprintf(w, `<li>%[1]s: <a href="/mail/preview/%[1]s">HTML</a> · <a href="/mail/preview/%[1]s.txt">text</a></li>`, t)
			}
			fmt.Fprint(w, "</ul>")
			return
		}
		text := strings.HasSuffix(name, ".txt")
		out, err := messages.Render(strings.TrimSuffix(name, ".txt"), messages.Sample(a.Emails.Store))
		if err != nil {
			http.Error(w, "no such template: "+name+" (see /mail/preview/index)", http.StatusNotFound)
			return
		}
		if text {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "Subject: %s\n\n%s", out.Subject, out.Text)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, out.HTML)
	}
}
