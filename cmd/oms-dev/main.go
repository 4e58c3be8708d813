// Command oms-dev runs the whole backend locally (make dev): the Firestore
// and Auth emulators, every function on one port, Firestore triggers wired
// to the emulator, and the demo store seeded. Ctrl-C stops all of it.
//
// Ports default to Firebase's usual ones, so a storefront configured for the
// Firebase emulators works unchanged: functions 5001, Firestore 8080, Auth 9099.
// make dev passes its ARGS: make dev ARGS="-port 0 -print-advance 10s".
//
// The functions host can also run apart from the emulators and fakes, so
// that it can be stopped, killed and started again while they keep their
// state: `oms-dev -services FILE` starts everything but the functions host
// and writes their addresses to FILE; `oms-dev -attach FILE` runs only the
// functions host, attached to them. The services' relay holds the
// Firestore events and webhooks that arrive while no host runs and
// delivers them, with retries, once one does.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/readyplanner/oms/functions"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/devhost"
)

func main() {
	if err := config.LoadDotEnv(".env"); err != nil {
		fmt.Fprintln(os.Stderr, "oms-dev:", err)
		os.Exit(2)
	}
	var o devhost.Options
	flag.StringVar(&o.Project, "project", envOr("OMS_PROJECT_ID", "demo-oms"), "project id (keep the demo- prefix locally)")
	flag.StringVar(&o.Region, "region", envOr("OMS_REGION", "us-central1"), "region in the callable URLs")
	flag.IntVar(&o.Port, "port", 5001, "functions host port (0: any free port)")
	flag.IntVar(&o.FirestorePort, "firestore-port", 8080, "Firestore emulator port (0: any free port)")
	flag.IntVar(&o.AuthPort, "auth-port", 9099, "Auth emulator port (0: any free port)")
	flag.BoolVar(&o.NoSeed, "no-seed", false, "do not seed the demo store")
	flag.StringVar(&o.Shop, "shop", ".", "the repository folder whose clients/shop is served at /shop/ (empty: no demo shop)")
	emuLogs := flag.Bool("emulator-logs", false, "show the emulators' own output")
	sweepEvery := flag.Duration("sweep-every", 5*time.Minute, "run the sweeper this often, as Cloud Scheduler does (0: only on POST /sweep)")
	services := flag.String("services", "", "start everything but the functions host and write the addresses a host needs to this file (run the host with -attach)")
	attach := flag.String("attach", "", "run only the functions host, attached to the services described in this file (written by -services)")
	flag.DurationVar(&o.PrintAdvance, "print-advance", 0, "the local printer advances every open print job one status this often, so that a demo order reaches shipped by itself (0: advance them on its page)")
	flag.Parse()

	o.Logs = os.Stdout
	if *emuLogs {
		o.EmulatorLogs = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *attach != "" {
		os.Exit(runAttached(ctx, *attach))
	}
	o.Detached = *services != ""
	if o.Detached {
		o.Shop = "" // served by the functions host, which runs apart
	}

	h, err := devhost.Start(ctx, o)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "oms-dev: interrupted while starting; everything it started is stopped")
		os.Exit(130)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oms-dev: could not start:", err)
		if strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "not ready") {
			fmt.Fprintln(os.Stderr, "oms-dev: is another `make dev` running? Choose other ports with -port, -firestore-port, -auth-port (0 picks free ones).")
		}
		os.Exit(1)
	}
	banner(os.Stderr, h)
	if o.Detached {
		if err := h.WriteServices(*services); err != nil {
			fmt.Fprintln(os.Stderr, "oms-dev:", err)
			h.Stop()
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "Services only: the functions host is not running. Start it with\n  oms-dev -attach %s\n"+
			"Events and webhooks wait in the relay (%s) until it answers.\n", *services, h.Relay.URL)
	}
	if *sweepEvery > 0 {
		fmt.Fprintf(os.Stderr, "The sweeper runs every %s (as Cloud Scheduler does); POST /sweep runs it now.\n", *sweepEvery)
		go sweepLoop(ctx, h, *sweepEvery)
	}

	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\noms-dev: stopping…")
	if err := h.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "oms-dev:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "oms-dev: stopped")
}

func banner(w io.Writer, h *devhost.Host) {
	host, port, _ := strings.Cut(strings.TrimPrefix(h.URL, "http://"), ":")
	fmt.Fprintf(w, "\nOMS local system ready in %s\n\n", h.Ready.Round(10*time.Millisecond))
	fmt.Fprintf(w, "  project id        %s\n  region            %s\n", h.Project, h.Region)
	fmt.Fprintf(w, "  functions host    %s   (index of functions at /)\n", h.URL)
	fmt.Fprintf(w, "  callable base     %s/%s/%s/<name>\n", h.URL, h.Project, h.Region)
	fmt.Fprintf(w, "  Firestore         %s   (FIRESTORE_EMULATOR_HOST)\n", h.Firestore.Host)
	fmt.Fprintf(w, "  Auth              %s   (FIREBASE_AUTH_EMULATOR_HOST)\n", h.AuthHost)
	if h.ShipEngine != nil {
		fmt.Fprintf(w, "  ShipEngine        %s   (local; labels: %s/_local/labels; set SHIPENGINE_API_KEY to use the real one)\n", h.ShipEngine.URL, h.ShipEngine.URL)
	} else {
		fmt.Fprintf(w, "  ShipEngine        %s\n", h.App.Config.ShipEngineURL)
	}
	// signed prints the secret a local fake signs its webhooks with (the
	// environment's when set there), so that a developer can sign a test
	// webhook by hand.
	signed := func(name string) {
		fmt.Fprintf(w, "                    webhooks signed with %s=%s\n", name, h.App.Config.Secret(name).Reveal())
	}
	if h.Stripe != nil {
		fmt.Fprintf(w, "  Stripe            %s   (local; pay at the session URL; set STRIPE_SECRET_KEY for test mode)\n", h.Stripe.URL)
		signed(app.StripeWebhookSecret)
	}
	if h.QuickBooks != nil {
		fmt.Fprintf(w, "  QuickBooks        %s   (local, connected; mark invoices paid at %s/app/invoices; set QUICKBOOKS_CLIENT_ID for a sandbox company)\n", h.QuickBooks.URL, h.QuickBooks.URL)
		signed(app.QuickBooksWebhookVerifier)
	} else if h.QuickBooksConnectLink != "" {
		fmt.Fprintf(w, "  QuickBooks        not connected: open %s   (one-time link; redirect URI %s)\n", h.QuickBooksConnectLink, h.App.Config.QuickBooksRedirectURL)
	}
	if h.Printer != nil {
		fmt.Fprintf(w, "  Printer           %s   (local; advance, ship or reject print jobs at %s/app/print-jobs; set LULU_CLIENT_KEY for Lulu's sandbox)\n", h.Printer.URL, h.Printer.URL)
		signed(app.PrinterSecret)
	}
	if h.Mailpit != nil {
		fmt.Fprintf(w, "  Mail              %s (SMTP)   (local mailpit: read what was sent at %s/api/v1/messages; set SMTP_URL for a real server)\n", h.Mailpit.SMTP, h.Mailpit.URL)
	}
	switch cfg := h.App.Config; cfg.Tax {
	case config.TaxStripe:
		where := "Stripe Tax"
		if h.Stripe != nil {
			where = "the local Stripe Tax (demo rates: TX 8.25%, NY 8.875%, CA 7.25%, IL 6.25%)"
		}
		fmt.Fprintf(w, "  Sales tax         OMS_TAX=stripe: %s works it out at selectShipping\n", where)
	case config.TaxTable:
		fmt.Fprintf(w, "  Sales tax         OMS_TAX=table: the store's own rate table (%d rules, OMS_TAX_TABLE); its figures are the store's responsibility\n", len(cfg.TaxTable.Rules))
	default:
		fmt.Fprintf(w, "  Sales tax         none collected (OMS_TAX=none; set OMS_TAX=stripe or table: docs/tax.md)\n")
	}
	fmt.Fprintf(w, "  Owner's console   %s   (sign in as %s, password %s)\n", h.ConsoleURL, h.OwnerEmail, h.OwnerPassword)
	if h.Google != nil {
		fmt.Fprintf(w, "                    or with Google: the local Google at %s takes any email; make it the owner with\n", h.Google.URL)
		fmt.Fprintf(w, "                    FIREBASE_AUTH_EMULATOR_HOST=%s OMS_PROJECT_ID=%s go run ./cmd/owner grant EMAIL\n", h.AuthHost, h.Project)
	}
	if h.ShopURL != "" {
		fmt.Fprintf(w, "  Demo shop         %s   (a customer's side: cart, checkout with code WELCOME10, pay, the live status page)\n", h.ShopURL)
	}
	fmt.Fprintf(w, "  Email previews    %s/mail/preview/index   (every customer email with sample data, HTML and text)\n", h.URL)
	fmt.Fprintf(w, "  seeded            %d products, %d SKUs, %d promotions\n\n", h.Seeded.Products, h.Seeded.SKUs, h.Seeded.Promotions)
	fmt.Fprintln(w, "Functions:")
	for _, f := range functions.List {
		fmt.Fprintf(w, "  %-21s %-10s %s\n", f.Name, f.Kind, f.Doc)
	}
	fsHost, fsPort, _ := strings.Cut(h.Firestore.Host, ":")
	fmt.Fprintf(w, `
Storefront (Firebase JS SDK):
  const app = initializeApp({ projectId: "%s", apiKey: "fake-api-key" });
  connectFirestoreEmulator(getFirestore(app), "%s", %s);
  connectAuthEmulator(getAuth(app), "http://%s");
  connectFunctionsEmulator(getFunctions(app, "%s"), "%s", %s);

Try it:  curl -s -X POST %s/%s/%s/whoami -H 'Content-Type: application/json' -d '{"data":{}}'
Ctrl-C stops everything.
`, h.Project, fsHost, fsPort, h.AuthHost, h.Region, host, port, h.URL, h.Project, h.Region)
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// sweepLoop runs the sweeper every d until ctx ends; each run is logged by
// its tasks like a deployed sweep.
func sweepLoop(ctx context.Context, h *devhost.Host, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if h.Relay != nil { // detached: sweep the functions host as Cloud Scheduler does
				if err := sweepHost(ctx, h.URL); err != nil {
					fmt.Fprintln(os.Stderr, "oms-dev: sweep:", err)
				}
				continue
			}
			for _, r := range h.App.Sweeper.Run(h.App.Log.With().Str("function", "sweep").Logger().WithContext(ctx)) {
				if !r.OK {
					fmt.Fprintf(os.Stderr, "oms-dev: sweep task %s failed: %s\n", r.Task, r.Error)
				}
			}
		}
	}
}

// sweepHost asks a detached functions host to sweep (POST /sweep).
func sweepHost(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/sweep", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	return nil
}

// runAttached runs only the functions host, attached to the services in
// file, until ctx ends; it returns the exit code.
func runAttached(ctx context.Context, file string) int {
	s, err := devhost.ReadServices(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oms-dev:", err)
		return 2
	}
	h, err := devhost.Attach(ctx, s, devhost.AttachOptions{Logs: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "oms-dev: could not attach:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "OMS functions host ready in %s at %s (attached to Firestore %s, Auth %s)\n", h.Ready.Round(10*time.Millisecond), h.URL, s.Firestore, s.Auth)
	<-ctx.Done()
	if err := h.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "oms-dev:", err)
		return 1
	}
	return 0
}
