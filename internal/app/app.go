// Package app wires the application once: configuration, clients, stores,
// the capabilities (checkout, payments, bookkeeping, messages), the
// callable server, the order flow and the sweeper. It only wires: every
// decision lives in a capability's package. The deployed functions, the
// local host and the tests all build the same App.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	firebase "firebase.google.com/go/v4"
	"github.com/readyplanner/oms/internal/alerthook"
	"github.com/readyplanner/oms/internal/bookkeeping"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/console"
	"github.com/readyplanner/oms/internal/firebaseauth"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/fulfilment"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/lulu"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/owner"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/shipengine"
	"github.com/readyplanner/oms/internal/smtpmail"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/sweep"
	"github.com/readyplanner/oms/internal/tax"
	"github.com/rs/zerolog"
)

// Secrets (environment variables, from Secret Manager when deployed).
const (
	ShipEngineKey = "SHIPENGINE_API_KEY" // the ShipEngine API key
	StripeKey     = "STRIPE_SECRET_KEY"  // Stripe's secret (or restricted) key
	// StripeWebhookSecret is the webhook endpoint's signing secret (whsec_…).
	StripeWebhookSecret = "STRIPE_WEBHOOK_SECRET"
	// QuickBooksClientID and QuickBooksClientSecret are the Intuit app's
	// OAuth credentials.
	QuickBooksClientID     = "QUICKBOOKS_CLIENT_ID"
	QuickBooksClientSecret = "QUICKBOOKS_CLIENT_SECRET"
	// QuickBooksWebhookVerifier is the app's webhook verifier token.
	QuickBooksWebhookVerifier = "QUICKBOOKS_WEBHOOK_VERIFIER"
	// PrinterKey and PrinterSecret are Lulu's client key and secret (the
	// secret also signs its webhooks).
	PrinterKey    = "LULU_CLIENT_KEY"
	PrinterSecret = "LULU_CLIENT_SECRET"
	// SMTPURL is the mail server the built-in sender delivers through:
	// smtp://user:password@host:587 (STARTTLS when offered),
	// smtp+starttls://… (required) or smtps://…:465.
	SMTPURL = "SMTP_URL"
	// GoogleClientSecret is the Google OAuth web client's secret, for the
	// console's Google sign-in (with OMS_GOOGLE_CLIENT_ID).
	GoogleClientSecret = "GOOGLE_CLIENT_SECRET"
	// AlertWebhookURL is a Slack-compatible incoming webhook the owner's
	// alerts are also posted to (optional).
	AlertWebhookURL = "OMS_ALERT_WEBHOOK_URL"
)

// App is one instance's wired application.
type App struct {
	Config    config.Config
	Log       zerolog.Logger
	Firestore *firestore.Client
	Orders    *firestoredb.Orders
	Checkouts *firestoredb.Checkouts
	Checkout  *checkout.Service
	Promos    *firestoredb.Promotions
	Customers *checkout.Customers
	Quotes    *checkout.Quotes
	// CheckoutSteps are the checkout's order-flow steps and sweeper tasks
	// (stock holds, redemptions).
	CheckoutSteps *checkout.Steps
	// Payments is the card payment: sessions, Stripe's events, capture,
	// cancel, stray authorizations (answering UNAVAILABLE for everything
	// that needs Stripe when no Stripe key is configured).
	Payments *payments.Service
	// Bookkeeping keeps the books in QuickBooks (invoices, the owner's
	// approval, voids, the connect flow); without the Intuit app's
	// credentials its Books answer "not configured".
	Bookkeeping *bookkeeping.Service
	// QuickBooksTokens keeps the QuickBooks connection (nil without the
	// Intuit app's credentials).
	QuickBooksTokens *firestoredb.QuickBooksTokens
	// QuickBooksAccess gives QuickBooks access tokens over QuickBooksTokens,
	// with the refresh policy (nil without the Intuit app's credentials).
	QuickBooksAccess *bookkeeping.Tokens
	// Stock is the owner's stock adjustments and the low-stock alert.
	Stock *fulfilment.Stock
	// Parts splits paid orders into the parts they ship in and ships the
	// owner's parcels.
	Parts *fulfilment.Parts
	// Console is the owner's console (nil when the token verifier cannot
	// make sessions: a test's).
	Console *console.Console
	// TrackWebhooks verifies ShipEngine's track webhooks.
	TrackWebhooks *shipengine.Verifier
	// Owner is the owner's operations on orders (retry, cancel, refund).
	Owner *owner.Operations
	// OwnerApp is the owner's side of the application: every owner
	// command in one place (the owner's callables, the console next).
	OwnerApp owner.Application
	// Messages raises the order flow's owner alerts.
	Messages *messages.Alerts
	// Mail is the outbox (mail/{id}); Emails queues the customer's
	// emails into it; Sender delivers it through SMTP_URL (nil with the
	// Trigger Email extension, or without SMTP_URL).
	Mail   *firestoredb.Mail
	Emails *messages.Customers
	Sender *messages.Sender
	// Extension watches the outbox while the Trigger Email extension
	// delivers it (OMS_MAIL_SENDER=extension; nil otherwise): its failures
	// alerted, its lost attempts ended, the built-in sender's leftovers
	// handed over.
	Extension *messages.Extension
	// Hooks posts the owner's alerts to OMS_ALERT_WEBHOOK_URL (nil
	// without one).
	Hooks *messages.Hooks
	// Alerts records the owner's alerts and mails them (OMS_OWNER_EMAIL).
	Alerts *firestoredb.Alerts
	// WebhookEvents records webhook deliveries.
	WebhookEvents *firestoredb.WebhookEvents
	Callables     *callable.Server
	Flow          *orderflow.Dispatcher
	Sweeper       *sweep.Sweeper
	Now           func() time.Time

	closers []func() error
}

// Options adjust New for tests and the local host.
type Options struct {
	LogOutput io.Writer        // where logs go; required
	Now       func() time.Time // the clock; time.Now when nil
	// Tokens replaces the Firebase Auth verifier (unit tests only; the
	// deployed functions and the local host always use the real one).
	Tokens callable.TokenVerifier
	// Firestore, if set, is used instead of a new client (benchmarks pass
	// one that counts round trips); the App does not close it.
	Firestore *firestore.Client
}

// New builds the App from a validated configuration.
func New(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	if o.LogOutput == nil {
		return nil, errors.New("app: Options.LogOutput is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &App{Config: cfg, Log: logging.New(o.LogOutput, cfg.LogLevel), Now: o.Now}

	fs := o.Firestore
	if fs == nil {
		var err error
		if fs, err = firestore.NewClient(ctx, cfg.ProjectID); err != nil {
			return nil, fmt.Errorf("app: firestore client: %w", err)
		}
		a.closers = append(a.closers, fs.Close)
	}
	a.Firestore = fs
	a.Orders = firestoredb.NewOrders(fs, o.Now)
	a.Checkouts = firestoredb.NewCheckouts(a.Orders, cfg.TimeZone)
	a.Promos = firestoredb.NewPromotions(a.Orders, cfg.TimeZone)
	builtIn := cfg.MailSender == config.MailBuiltIn
	a.Mail = firestoredb.NewMail(fs, builtIn)
	a.Alerts = firestoredb.NewAlerts(fs, cfg.OwnerEmail, builtIn, o.Now)
	a.WebhookEvents = firestoredb.NewWebhookEvents(fs)

	var printer fulfilment.Printer = fulfilment.NoPrinter{}
	if key := cfg.Secret(PrinterKey).Reveal(); key != "" {
		printer = lulu.New(lulu.Options{BaseURL: cfg.PrinterURL, Key: key, Secret: cfg.Secret(PrinterSecret).Reveal(), Now: o.Now})
	}
	se := shipengine.New(shipengine.Options{BaseURL: cfg.ShipEngineURL, APIKey: cfg.Secret(ShipEngineKey).Reveal()})
	a.TrackWebhooks = &shipengine.Verifier{JWKSURL: cfg.ShipEngineJWKSURL, Now: o.Now}
	a.Parts = &fulfilment.Parts{Orders: a.Orders, Alerts: a.Alerts, AdminClaim: cfg.AdminClaim, Printer: printer, Catalog: a.Checkouts,
		Reader: a.Orders, Events: a.WebhookEvents,
		Settings: fulfilment.PrintSettings{Levels: cfg.PrinterShippingLevels, DefaultLevel: cfg.PrinterShippingLevel, Phone: cfg.PrinterPhone,
			ContactEmail: cfg.OwnerEmail, UnpaidAlertAfter: cfg.PrinterUnpaidAlertAfter},
		Labels:        shipengine.Parcels{Client: se, CarrierIDs: cfg.Carriers, Options: shipengine.LabelOptions{Format: cfg.LabelFormat}},
		LabelSettings: fulfilment.LabelSettings{From: cfg.ShipFrom, Box: cfg.DefaultBox}, Now: o.Now}
	var sessions payments.Sessions = stripepay.NotConfigured{}
	var intents payments.Intents = stripepay.NotConfigured{}
	var stripeTax stripepay.TaxProvider = stripepay.NotConfigured{}
	if key := cfg.Secret(StripeKey); key.IsSet() {
		// Only the functions that list the Stripe key get it.
		api, err := stripepay.New(stripepay.Options{SecretKey: key.Reveal(), APIBase: cfg.StripeAPIBase, Logger: a.Log})
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("app: %w", err)
		}
		sessions, intents, stripeTax = stripepay.Payments{API: api}, stripepay.Payments{API: api}, stripepay.Tax{API: api}
	}
	taxes := taxesOf(cfg, a.Orders, stripeTax, o.Now)
	// An order taxed by Stripe Tax is recorded there even if the store
	// has since chosen another way (its calculation is Stripe's).
	var taxRecords payments.TaxRecorder = stripeTax
	commits := &checkout.Commits{Orders: a.Orders, Promotions: a.Promos, PlusAddressing: cfg.PlusAddressing, Now: o.Now}
	a.Payments = &payments.Service{Orders: a.Orders, Recorder: a.WebhookEvents, Alerts: a.Alerts, Payable: a.Parts.Printable,
		Redemptions: commits, Sessions: sessions, Intents: intents, SessionTTL: cfg.SessionTTL, Origins: cfg.StorefrontOrigins,
		Taxes: taxes, TaxRecords: taxRecords, Now: o.Now}
	a.Customers = &checkout.Customers{Orders: a.Orders, Promotions: a.Promos, Sessions: a.Payments, Taxes: taxes,
		PlusAddressing: cfg.PlusAddressing, Now: o.Now}
	a.Checkout = &checkout.Service{Store: a.Checkouts, Customers: a.Customers, Sessions: a.Payments, Currency: cfg.Currency,
		HoldTTL: cfg.HoldTTL, MaxPerLine: cfg.MaxPerLine, Now: o.Now}
	a.Quotes = &checkout.Quotes{Orders: a.Orders, Carrier: shipengine.Carrier{Client: se, CarrierIDs: cfg.Carriers}, Customers: a.Customers,
		From: cfg.ShipFrom, Box: cfg.DefaultBox, TTL: cfg.QuoteTTL, Now: o.Now}
	a.CheckoutSteps = &checkout.Steps{Holds: a.Checkouts, Redemptions: a.Promos, Sessions: a.Payments, Now: o.Now}

	fb, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.ProjectID})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("app: firebase: %w", err)
	}
	tokens := o.Tokens
	if tokens == nil {
		if tokens, err = firebaseauth.New(ctx, fb); err != nil {
			a.Close()
			return nil, fmt.Errorf("app: %w", err)
		}
	}
	var appCheck callable.AppCheckVerifier // nil unless App Check is enforced
	if cfg.EnforceAppCheck {
		ac, err := firebaseauth.NewAppCheck(ctx, fb)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("app: %w", err)
		}
		appCheck = ac
	}
	a.Callables = &callable.Server{Project: cfg.ProjectID, Origins: cfg.StorefrontOrigins, Tokens: tokens, AppCheck: appCheck,
		EnforceAppCheck: cfg.EnforceAppCheck, Logger: a.Log, Now: o.Now}

	a.Messages = &messages.Alerts{Alerts: a.Alerts}
	a.Flow = orderflow.New(a.Orders, o.Now, a.Messages.StepFailed)
	a.Emails = &messages.Customers{Outbox: a.Mail, Now: o.Now, Store: messages.Store{Name: cfg.StoreName, Address: cfg.StoreAddress,
		SupportEmail: cfg.SupportEmail, URL: cfg.StoreURL, BrandColor: cfg.BrandColor, From: cfg.MailFrom}}
	if smtpURL := cfg.Secret(SMTPURL).Reveal(); builtIn && smtpURL != "" {
		if cfg.MailFrom == "" {
			a.Close()
			return nil, fmt.Errorf("app: SMTP_URL is set but OMS_MAIL_FROM is not: mail needs a sender address")
		}
		tr, err := smtpmail.New(smtpURL, cfg.MailFrom)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("app: %w", err)
		}
		// The lease outlasts an attempt (tr.Bound(): 5.5 minutes, a slow
		// server's final answer waited for) with room to spare.
		a.Sender = &messages.Sender{Mail: a.Mail, Transport: tr, Alerts: a.Alerts, Lease: 10 * time.Minute, MaxAttempts: 8, Now: o.Now}
	} else if builtIn {
		a.Log.Warn().Msg("SMTP_URL is not set: emails are queued in mail/ and sent once it is (or set OMS_MAIL_SENDER=extension)")
	} else {
		a.Extension = &messages.Extension{Mail: a.Mail, Alerts: a.Alerts, Grace: 5 * time.Minute}
	}
	if hook := cfg.Secret(AlertWebhookURL).Reveal(); hook != "" {
		a.Hooks = &messages.Hooks{Alerts: a.Alerts, Transport: alerthook.New(hook), Lease: 30 * time.Second, MaxAttempts: 8, Now: o.Now}
	}
	a.Stock = &fulfilment.Stock{Store: a.Checkouts, Alerts: a.Alerts, AdminClaim: cfg.AdminClaim}
	var books bookkeeping.Books = bookkeeping.NotConfigured{}
	connect := &bookkeeping.Connect{Owners: tokens, AdminClaim: cfg.AdminClaim}
	if id, secret := cfg.Secret(QuickBooksClientID), cfg.Secret(QuickBooksClientSecret); id.IsSet() && secret.IsSet() {
		oauth := quickbooks.OAuth{Endpoint: cfg.QuickBooksTokenURL, ClientID: id.Reveal(), ClientSecret: secret.Reveal()}
		a.QuickBooksTokens = firestoredb.NewQuickBooksTokens(fs, o.Now)
		a.QuickBooksAccess = bookkeeping.NewTokens(a.QuickBooksTokens, oauth, o.Now, bookkeeping.DisconnectAlert(a.Alerts))
		books = &quickbooks.Books{BaseURL: cfg.QuickBooksBaseURL, Tokens: a.QuickBooksAccess, ShippingItem: cfg.ShippingItem, ItemMapping: cfg.QuickBooksItems,
			RefundItem: cfg.RefundItem, RefundAccount: cfg.RefundAccount, TaxCode: cfg.QuickBooksTaxCode, TaxItem: cfg.QuickBooksTaxItem}
		connect = &bookkeeping.Connect{Owners: tokens, AdminClaim: cfg.AdminClaim, States: bookkeeping.NewStates(secret.Reveal()),
			Connector: quickbooks.Connector{OAuth: oauth, AuthorizeEndpoint: cfg.QuickBooksAuthorizeURL,
				RedirectURL: cfg.QuickBooksRedirectURL, Store: a.QuickBooksTokens}}
	}
	a.Bookkeeping = &bookkeeping.Service{Books: books, Orders: a.Orders, Events: a.WebhookEvents, Alerts: a.Alerts,
		Flow: a.Flow, Connect: connect, RedriveAfter: cfg.RedriveAfter, Now: o.Now}

	// Every step of the flow implemented exactly once, or no App.
	if err := orderflow.Register(a.Flow, a.Payments.Steps(), a.CheckoutSteps.Steps(), a.Bookkeeping.Steps(), a.Messages.Steps(),
		a.Emails.Steps(), a.Parts.Steps()); err != nil {
		a.Close()
		return nil, fmt.Errorf("app: %w", err)
	}

	a.Owner = &owner.Operations{Orders: a.Orders, Print: a.Parts, Money: a.Payments, AdminClaim: cfg.AdminClaim, Now: o.Now}
	var taxOrders messages.TaxOrders // the day's tax collected: only a store that collects tax shows it
	if cfg.Tax != config.TaxNone {
		taxOrders = a.Orders
	}
	a.OwnerApp = owner.NewApplication(a.Owner, a.Parts, a.Stock, &owner.Reads{Catalog: a.Checkouts, Orders: a.Orders, Inbox: a.Alerts, Mail: a.Mail, Ledger: a.Checkouts, AdminClaim: cfg.AdminClaim, Now: o.Now, Tax: taxOrders,
		Location: cfg.TimeZone, Mailbox: func(email string) string { return checkout.MailboxKey(email, cfg.PlusAddressing) }},
		&owner.Promotions{Store: a.Promos, AdminClaim: cfg.AdminClaim, Now: o.Now},
		&owner.Catalog{Store: firestoredb.NewCatalog(a.Checkouts), AdminClaim: cfg.AdminClaim, Now: o.Now})
	if sessions, ok := tokens.(console.Sessions); ok {
		consoleURL, err := url.Parse(cfg.ConsoleURL)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("app: OMS_CONSOLE_URL: %w", err)
		}
		authBase := "https://identitytoolkit.googleapis.com"
		if host := os.Getenv("FIREBASE_AUTH_EMULATOR_HOST"); host != "" {
			authBase = "http://" + host + "/identitytoolkit.googleapis.com"
		}
		var qbPage *console.QuickBooks
		if qb := a.QuickBooksTokens; qb != nil {
			qbPage = &console.QuickBooks{
				Status: func(ctx context.Context) (console.QuickBooksStatus, error) {
					st, err := qb.Status(ctx)
					return console.QuickBooksStatus{RealmID: st.RealmID, Connected: st.Connected, Reason: st.DisconnectedReason, Since: st.UpdatedAt}, err
				},
				MintKey: func(ctx context.Context) (string, time.Time, error) {
					return qb.MintConnectKey(ctx, firestoredb.ConnectKeyTTL)
				},
				// quickbooksConnect is quickbooksCallback's sibling.
				ConnectURL: strings.TrimSuffix(cfg.QuickBooksRedirectURL, "quickbooksCallback") + "quickbooksConnect",
			}
		}
		var google console.Google
		if secret := cfg.Secret(GoogleClientSecret); cfg.GoogleClientID != "" && secret.IsSet() {
			google = &firebaseauth.GoogleSignIn{ClientID: cfg.GoogleClientID, ClientSecret: secret.Reveal(), AuthURL: cfg.GoogleAuthURL,
				TokenURL: cfg.GoogleTokenURL, IdentityBase: authBase, APIKey: cfg.FirebaseAPIKey}
		}
		a.Console = &console.Console{App: a.OwnerApp, Sessions: sessions, AdminClaim: cfg.AdminClaim, URL: consoleURL, AuthBase: authBase,
			APIKey: cfg.FirebaseAPIKey, QuickBooks: qbPage, InvoiceURL: func(id string) string { return quickbooks.InvoicePage(cfg.QuickBooksBaseURL, id) },
			Google: google, Now: o.Now}
	}
	// Every task of every capability, each name once, or no App: no task
	// is picked out of a capability's list by name.
	tasks := []map[string]sweep.TaskFunc{a.CheckoutSteps.Tasks(), a.Payments.Tasks(),
		{"redriveStaleOrders": a.Flow.RedriveTask(a.Orders, cfg.RedriveAfter)},
		a.Bookkeeping.Tasks(), a.Stock.Tasks(), a.Parts.Tasks(cfg.RedriveAfter)}
	if a.Sender != nil {
		tasks = append(tasks, a.Sender.Tasks())
	}
	if a.Extension != nil {
		tasks = append(tasks, a.Extension.Tasks())
	}
	if a.Hooks != nil {
		tasks = append(tasks, a.Hooks.Tasks())
	}
	summary := &messages.Summary{Outbox: a.Mail, Orders: a.Orders, Tax: taxOrders, OwnerEmail: cfg.OwnerEmail, Hour: cfg.SummaryHour, Location: cfg.TimeZone, Store: a.Emails.Store}
	tasks = append(tasks, summary.Tasks())
	if a.Sweeper, err = sweep.New(o.Now, tasks...); err != nil {
		a.Close()
		return nil, fmt.Errorf("app: %w", err)
	}
	return a, nil
}

// Close releases the App's clients.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// taxesOf is the checkout's tax worker the configuration asks for (OMS_TAX):
// none, Stripe Tax (stripeTax: the Stripe adapter, or NotConfigured in a
// function without the key), or the store's rate table.
func taxesOf(cfg config.Config, orders checkout.OrderStore, stripeTax checkout.TaxCalculator, now func() time.Time) *checkout.Taxes {
	t := &checkout.Taxes{Orders: orders, DefaultCode: cfg.TaxCode, Now: now,
		From: tax.Address{Country: cfg.ShipFrom.CountryCode, State: cfg.ShipFrom.StateProvince, PostalCode: cfg.ShipFrom.PostalCode,
			Line1: cfg.ShipFrom.AddressLine1, City: cfg.ShipFrom.CityLocality}}
	switch cfg.Tax {
	case config.TaxStripe:
		t.Calculator, t.Provider = stripeTax, order.TaxByStripe
	case config.TaxTable:
		t.Calculator, t.Provider = cfg.TaxTable, order.TaxByTable
	}
	return t
}
