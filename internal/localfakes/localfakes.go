// Package localfakes starts the local stand-ins of the paid services —
// ShipEngine, Stripe, QuickBooks, the printer, and Google's sign-in for the
// owner's console — and names the configuration that points
// the App at them: the one wiring that make dev and the tests share.
package localfakes

import (
	"errors"
	"fmt"
	"strings"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/firebaseauth/googlefake"
	"github.com/readyplanner/oms/internal/lulu/lulufake"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/shipengine/shipenginefake"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
)

// ShipEngineKey is the key the local ShipEngine accepts (a sandbox-shaped
// key, so that nothing mistakes it for a live one).
const ShipEngineKey = "TEST_local_shipengine"

// StripeKey is the test-mode key given to the App for the local Stripe.
const StripeKey = "sk_test_local_stripe"

// PrinterKey and PrinterSecret are the client key and secret of the local
// printer.
const (
	PrinterKey    = "local-printer-key"
	PrinterSecret = "local-printer-secret"
)

// Options say which fakes to start.
type Options struct {
	ShipEngine, Stripe, QuickBooks, Printer bool
	// Google starts the local Google sign-in; GoogleRedirect is the
	// console's redirect URI it accepts.
	Google         bool
	GoogleRedirect string
	// StripeWebhook is where the local Stripe delivers its events ("" to
	// set it later with Stripe.SetEndpoint).
	StripeWebhook string
	// QuickBooksRedirect is the callback URL the local QuickBooks' consent
	// page accepts and the App registers ("" for none).
	QuickBooksRedirect string
	// StripeWebhookSecret and QuickBooksVerifier, when set, are what the
	// local Stripe and QuickBooks sign their webhooks with (the
	// developer's own, from the environment); random ones otherwise.
	StripeWebhookSecret string
	QuickBooksVerifier  string
}

// Fakes are the running fakes (nil: not started).
type Fakes struct {
	ShipEngine *shipenginefake.Server
	Stripe     *stripefake.Server
	QuickBooks *qbfake.Server
	Printer    *lulufake.Server
	Google     *googlefake.Server
}

// DemoTaxRates are the local Stripe Tax's rates (OMS_TAX=stripe under
// make dev): made-up figures for a few states, not any real place's;
// elsewhere no tax is due, as Stripe answers where an account has no
// registration.
var DemoTaxRates = map[string]stripefake.TaxRate{
	"US-TX": {PPM: 82_500, Shipping: true},
	"US-NY": {PPM: 88_750, Shipping: true},
	"US-CA": {PPM: 72_500},
	"US-IL": {PPM: 62_500},
}

// Start starts the fakes asked for; on error, the ones started are closed.
func Start(o Options) (_ *Fakes, err error) {
	f := &Fakes{}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if o.ShipEngine {
		if f.ShipEngine, err = shipenginefake.Start(ShipEngineKey); err != nil {
			return nil, fmt.Errorf("local ShipEngine: %w", err)
		}
	}
	if o.Stripe {
		if f.Stripe, err = stripefake.Start(o.StripeWebhook); err != nil {
			return nil, fmt.Errorf("local Stripe: %w", err)
		}
		if o.StripeWebhookSecret != "" {
			f.Stripe.WebhookSecret = o.StripeWebhookSecret // before any event: nothing is signed yet
		}
		f.Stripe.SetTaxRates(DemoTaxRates)
	}
	if o.QuickBooks {
		if f.QuickBooks, err = qbfake.Start(); err != nil {
			return nil, fmt.Errorf("local QuickBooks: %w", err)
		}
		if o.QuickBooksRedirect != "" {
			f.QuickBooks.AllowRedirect(o.QuickBooksRedirect)
		}
		if o.QuickBooksVerifier != "" {
			f.QuickBooks.VerifierToken = o.QuickBooksVerifier // before any webhook: nothing is signed yet
		}
	}
	if o.Google {
		if f.Google, err = googlefake.Start(); err != nil {
			return nil, fmt.Errorf("local Google sign-in: %w", err)
		}
		if o.GoogleRedirect != "" {
			f.Google.AllowRedirect(o.GoogleRedirect)
		}
	}
	if o.Printer {
		if f.Printer, err = lulufake.Start(PrinterKey, PrinterSecret); err != nil {
			return nil, fmt.Errorf("local printer: %w", err)
		}
	}
	return f, nil
}

// Vars are the configuration variables (secrets included) that point the
// App at the fakes started; redirect is quickbooksCallback's URL. The
// webhook secrets are the ones the fakes sign with (Options' when given).
func (f *Fakes) Vars(redirect string) map[string]string {
	v := map[string]string{}
	if s := f.ShipEngine; s != nil {
		v[app.ShipEngineKey], v["OMS_SHIPENGINE_URL"] = ShipEngineKey, s.URL
		v["OMS_SHIPENGINE_CARRIERS"] = strings.Join(shipenginefake.Carriers, ",")
		v["OMS_SHIPENGINE_JWKS_URL"] = s.JWKSURL()
	}
	if s := f.Stripe; s != nil {
		v[app.StripeKey], v[app.StripeWebhookSecret], v["OMS_STRIPE_API_BASE"] = StripeKey, s.WebhookSecret, s.URL
	}
	if q := f.QuickBooks; q != nil {
		v[app.QuickBooksClientID], v[app.QuickBooksClientSecret] = q.ClientID, q.ClientSecret
		v["OMS_QUICKBOOKS_BASE_URL"], v["OMS_QUICKBOOKS_TOKEN_URL"] = q.URL, q.TokenURL()
		v[app.QuickBooksWebhookVerifier] = q.VerifierToken
		v["OMS_QUICKBOOKS_AUTHORIZE_URL"] = q.AuthorizeURL()
		if redirect != "" {
			v["OMS_QUICKBOOKS_REDIRECT_URL"] = redirect
		}
	}
	if p := f.Printer; p != nil {
		v[app.PrinterKey], v[app.PrinterSecret], v["OMS_PRINTER_URL"] = p.Key, p.Secret, p.URL
	}
	if g := f.Google; g != nil {
		v["OMS_GOOGLE_CLIENT_ID"], v[app.GoogleClientSecret] = g.ClientID, g.ClientSecret
		v["OMS_GOOGLE_AUTH_URL"], v["OMS_GOOGLE_TOKEN_URL"] = g.AuthorizeURL(), g.TokenURL()
	}
	return v
}

// Close stops every fake started.
func (f *Fakes) Close() error {
	var errs []error
	if f.ShipEngine != nil {
		errs = append(errs, f.ShipEngine.Close())
	}
	if f.Stripe != nil {
		errs = append(errs, f.Stripe.Close())
	}
	if f.QuickBooks != nil {
		errs = append(errs, f.QuickBooks.Close())
	}
	if f.Printer != nil {
		errs = append(errs, f.Printer.Close())
	}
	if f.Google != nil {
		errs = append(errs, f.Google.Close())
	}
	return errors.Join(errs...)
}
