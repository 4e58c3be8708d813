package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/devhost"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/lulu/lulufake"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
)

// The banner prints the webhook secrets in use with the local Stripe,
// QuickBooks and printer, so that a developer can send a signed test
// webhook.
func TestBannerPrintsTheWebhookSecrets(t *testing.T) {
	cfg := config.Config{Secrets: map[string]config.Secret{
		app.StripeWebhookSecret:       config.NewSecret("whsec_in_use"),
		app.QuickBooksWebhookVerifier: config.NewSecret("verifier-in-use"),
		app.PrinterSecret:             config.NewSecret("printer-secret-in-use"),
	}}
	h := &devhost.Host{URL: "http://127.0.0.1:5001", Project: "demo-oms", Region: "us-central1", AuthHost: "127.0.0.1:9099",
		Firestore: &emulator.Firestore{Host: "127.0.0.1:8080"}, App: &app.App{Config: cfg},
		Stripe: &stripefake.Server{URL: "http://127.0.0.1:4001"}, QuickBooks: &qbfake.Server{URL: "http://127.0.0.1:4002"},
		Printer: &lulufake.Server{URL: "http://127.0.0.1:4003"}}
	var out bytes.Buffer
	banner(&out, h)
	for _, want := range []string{"STRIPE_WEBHOOK_SECRET=whsec_in_use", "QUICKBOOKS_WEBHOOK_VERIFIER=verifier-in-use", "LULU_CLIENT_SECRET=printer-secret-in-use",
		"Sales tax         none collected (OMS_TAX=none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the banner does not print %s:\n%s", want, out.String())
		}
	}
	// Who works the sales tax out, as configured.
	for tax, want := range map[string]string{config.TaxStripe: "OMS_TAX=stripe: the local Stripe Tax (demo rates", config.TaxTable: "OMS_TAX=table: the store's own rate table (0 rules"} {
		cfg.Tax = tax
		h.App = &app.App{Config: cfg}
		out.Reset()
		banner(&out, h)
		if !strings.Contains(out.String(), want) {
			t.Errorf("OMS_TAX=%s: the banner does not say %q:\n%s", tax, want, out.String())
		}
	}
}

// make dev passes ARGS to oms-dev: make dev ARGS="-port 0".
func TestMakeDevPassesArgs(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	out, err := exec.Command("make", "-n", "--no-print-directory", "-C", "../..", "dev", "ARGS=-port 0 -no-seed").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n dev: %v\n%s", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); !strings.HasSuffix(lines[len(lines)-1], "oms-dev -port 0 -no-seed") {
		t.Errorf("make dev ARGS=... runs %q", lines[len(lines)-1])
	}
}
