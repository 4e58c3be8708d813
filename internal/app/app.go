// Package app wires the application once: configuration, clients, stores,
// the callable server, the order flow and the sweeper. The deployed
// functions, the local host and the tests all build the same App.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"cloud.google.com/go/firestore"
	firebase "firebase.google.com/go/v4"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/firebaseauth"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/shipengine"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/sweep"
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
	// QuickBooksTokens keeps the QuickBooks connection; Books invoices
	// (both nil without the Intuit app's credentials).
	QuickBooksTokens *firestoredb.QuickBooksTokens
	Books            *quickbooks.Books
	// QuickBooksOAuth exchanges the owner's authorization codes; states
	// signs the connect flow's state (both unset without the credentials).
	QuickBooksOAuth quickbooks.OAuth
	states          quickbooks.States
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
	a.Alerts = firestoredb.NewAlerts(fs, cfg.OwnerEmail, o.Now)
	a.WebhookEvents = firestoredb.NewWebhookEvents(fs)

	a.Payments = &payments.Service{Orders: a.Orders, Recorder: a.WebhookEvents, Alerts: a.Alerts,
		SessionTTL: cfg.SessionTTL, Origins: cfg.StorefrontOrigins, Now: o.Now}
	if key := cfg.Secret(StripeKey); key.IsSet() {
		// Only the functions that list the Stripe key get it.
		api, err := stripepay.New(stripepay.Options{SecretKey: key.Reveal(), APIBase: cfg.StripeAPIBase, Logger: a.Log})
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("app: %w", err)
		}
		a.Payments.Sessions, a.Payments.Intents = stripepay.Payments{API: api}, stripepay.Payments{API: api}
	} else {
		a.Payments.Sessions, a.Payments.Intents = stripepay.NotConfigured{}, stripepay.NotConfigured{}
	}
	a.Customers = &checkout.Customers{Orders: a.Orders, Promotions: a.Promos, Sessions: a.Payments, PlusAddressing: cfg.PlusAddressing, Now: o.Now}
	a.Payments.Redemptions = a.Customers
	a.Checkout = &checkout.Service{Store: a.Checkouts, Customers: a.Customers, Sessions: a.Payments, Currency: cfg.Currency,
		HoldTTL: cfg.HoldTTL, MaxPerLine: cfg.MaxPerLine, Now: o.Now}
	se := shipengine.New(shipengine.Options{BaseURL: cfg.ShipEngineURL, APIKey: cfg.Secret(ShipEngineKey).Reveal()})
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
	a.Callables = &callable.Server{Project: cfg.ProjectID, Origins: cfg.StorefrontOrigins, Tokens: tokens,
		EnforceAppCheck: cfg.EnforceAppCheck, Logger: a.Log, Now: o.Now}
	if cfg.EnforceAppCheck {
		if a.Callables.AppCheck, err = firebaseauth.NewAppCheck(ctx, fb); err != nil {
			a.Close()
			return nil, fmt.Errorf("app: %w", err)
		}
	}

	if id, secret := cfg.Secret(QuickBooksClientID), cfg.Secret(QuickBooksClientSecret); id.IsSet() && secret.IsSet() {
		a.QuickBooksOAuth = quickbooks.OAuth{Endpoint: cfg.QuickBooksTokenURL, ClientID: id.Reveal(), ClientSecret: secret.Reveal()}
		a.states = quickbooks.NewStates(secret.Reveal())
		a.QuickBooksTokens = firestoredb.NewQuickBooksTokens(fs, a.QuickBooksOAuth, o.Now)
		a.QuickBooksTokens.Alerts = a.Alerts
		a.Books = &quickbooks.Books{BaseURL: cfg.QuickBooksBaseURL, Tokens: a.QuickBooksTokens, ShippingItem: cfg.ShippingItem, ItemMapping: cfg.QuickBooksItems}
	}

	a.Flow = orderflow.New(a.Orders, o.Now)
	a.Flow.Failed = a.alertStepFailed
	steps := map[string]orderflow.StepFunc{
		orderflow.StepCreateInvoice: a.createInvoice,
		orderflow.StepVoidInvoice:   a.voidInvoice,
		orderflow.StepAlertReview:   a.alertReview,
		orderflow.StepAlertOwner:    a.alertAttention,
	}
	maps.Copy(steps, a.Payments.Steps())
	maps.Copy(steps, a.CheckoutSteps.Steps())
	orderflow.Register(a.Flow, steps)

	a.Sweeper = sweep.New(o.Now)
	a.Sweeper.Add("expireHolds", a.CheckoutSteps.Tasks()["expireHolds"])
	a.Sweeper.Add("authorizationLapse", a.Payments.Tasks()["authorizationLapse"])
	a.Sweeper.Add("redriveStaleOrders", a.Flow.RedriveTask(a.Orders, cfg.RedriveAfter))
	a.Sweeper.Add("reconcileInvoices", a.ReconcileInvoices)
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

// createInvoice invoices an authorized order in QuickBooks (requestid
// derived from the order, so a repeated step creates nothing new) and moves
// it to invoiced with the invoice's id and number. While QuickBooks is
// disconnected the order waits in authorized (the sweeper and reconnecting
// send it on); a missing item or a total that differs are permanent
// (needs_attention with the reason); QuickBooks busy or down is retried.
func (a *App) createInvoice(ctx context.Context, t orderflow.Transition) error {
	if a.Books == nil {
		return apperr.New(apperr.Unavailable, "no QuickBooks app credentials are configured for the order trigger (QUICKBOOKS_CLIENT_ID, QUICKBOOKS_CLIENT_SECRET)")
	}
	inv, err := a.Books.Invoice(ctx, t.Order)
	if errors.Is(err, firestoredb.ErrDisconnected) {
		// Not the order's fault: it waits in authorized (the owner has
		// been alerted) and goes on when QuickBooks is connected again.
		return fmt.Errorf("%w: QuickBooks is not connected; the order waits in authorized until it is", orderflow.ErrWaiting)
	}
	if err != nil {
		return err
	}
	_, _, err = a.Orders.Update(ctx, t.Order.ID, func(o *order.Order) (bool, error) {
		applied, err := o.Transition(order.Move{From: []order.State{order.Authorized}, To: order.Invoiced, Actor: "trigger",
			Reason: "QuickBooks invoice " + inv.DocNumber}, a.Now().UTC())
		if err != nil || !applied {
			return false, err
		}
		o.Invoice = &inv
		return true, nil
	})
	return err
}

// HandleQuickBooksEvent acts on one recorded QuickBooks entity event:
// it re-reads the invoices involved (an Invoice event's, or the invoices a
// Payment applies to) and moves their orders: Balance 0 → approved (the
// owner recorded the invoice paid; the capture follows), voided or deleted
// → canceled. Invoices of no order, and other entities, are ignored. The
// outcome says what happened; an error means "retry".
func (a *App) HandleQuickBooksEvent(ctx context.Context, entity, id, operation string) (string, error) {
	if a.Books == nil {
		return "", apperr.New(apperr.Unavailable, "QuickBooks is not configured")
	}
	var invoices []string
	switch entity {
	case "Invoice":
		invoices = []string{id}
	case "Payment":
		if operation == "Delete" || operation == "Deleted" {
			return "ignored: a deleted payment", nil
		}
		ids, err := a.Books.InvoicesOfPayment(ctx, id)
		if err != nil {
			return "", err
		}
		invoices = ids
	default:
		return "ignored: " + entity, nil
	}
	outcome := "no order"
	for _, inv := range invoices {
		o, err := a.Orders.ByInvoice(ctx, inv)
		if apperr.CodeOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return "", err
		}
		if outcome, _, err = a.settleInvoice(ctx, o, inv, operation); err != nil {
			return "", err
		}
	}
	return outcome, nil
}

// settleInvoice moves order o as its QuickBooks invoice inv now stands
// (re-read; a Delete or Void operation needs no read): paid → approved,
// voided or deleted → canceled. It says what happened and whether the
// order moved.
func (a *App) settleInvoice(ctx context.Context, o *order.Order, inv, operation string) (outcome string, moved bool, err error) {
	var m order.Move
	if operation == "Delete" || operation == "Deleted" || operation == "Void" || operation == "Voided" {
		m = order.Move{From: []order.State{order.Invoiced}, To: order.Canceled, Actor: "quickbooks", Reason: "the invoice was voided or deleted in QuickBooks"}
	} else {
		qi, err := a.Books.ReadInvoice(ctx, inv, o.Currency)
		if err != nil {
			return "", false, err
		}
		switch {
		case qi.Voided:
			m = order.Move{From: []order.State{order.Invoiced}, To: order.Canceled, Actor: "quickbooks", Reason: "the invoice was voided in QuickBooks"}
		case qi.Paid():
			m = order.Move{From: []order.State{order.Invoiced}, To: order.Approved, Actor: "quickbooks", Reason: "the owner recorded invoice " + qi.DocNumber + " paid"}
		default:
			return "invoice " + inv + " still open", false, nil
		}
	}
	_, applied, err := a.Orders.Transition(ctx, o.ID, m)
	switch {
	case apperr.CodeOf(err) == apperr.FailedPrecondition:
		return "does not apply to order " + o.ID, false, nil
	case err != nil:
		return "", false, err
	case applied:
		return "order " + o.ID + " " + string(m.To), true, nil
	}
	return "order " + o.ID + " already " + string(m.To), false, nil
}

// reconcileBatch bounds one sweep's invoice reads (QuickBooks allows 500 a
// minute per company; the pacer keeps within it).
const reconcileBatch = 200

// ReconcileInvoices is the sweeper's safety net for the owner's approval:
// it re-reads the invoices of orders that waited in invoiced longer than
// OMS_REDRIVE_AFTER and settles them as a webhook event would, so that an
// approval or void whose webhook was lost (or never configured) still
// arrives, within a sweep. Nothing is read while QuickBooks is
// disconnected.
func (a *App) ReconcileInvoices(ctx context.Context, now time.Time) (string, error) {
	if a.Books == nil {
		return "QuickBooks is not configured", nil
	}
	if st, err := a.QuickBooksTokens.Status(ctx); err != nil || !st.Connected {
		return "QuickBooks is not connected: nothing read", err
	}
	waiting, err := a.Orders.Stale(ctx, []order.State{order.Invoiced}, now.Add(-a.Config.RedriveAfter), reconcileBatch)
	if err != nil {
		return "", err
	}
	var moved int
	var errs []error
	for _, o := range waiting {
		if o.Invoice == nil {
			continue
		}
		_, ok, err := a.settleInvoice(logging.WithOrder(ctx, o.ID), o, o.Invoice.ID, "Reconcile")
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", o.ID, err))
			continue
		}
		if ok {
			moved++
		}
	}
	return fmt.Sprintf("moved %d of %d invoiced orders", moved, len(waiting)), errors.Join(errs...)
}

// voidInvoice voids a canceled order's QuickBooks invoice (once: a voided
// invoice is left alone, and so is one the owner recorded paid).
func (a *App) voidInvoice(ctx context.Context, t orderflow.Transition) error {
	if t.Order.Invoice == nil {
		return nil
	}
	if a.Books == nil {
		return apperr.New(apperr.Unavailable, "QuickBooks is not configured")
	}
	_, err := a.Books.Void(ctx, t.Order)
	if errors.Is(err, firestoredb.ErrDisconnected) {
		return apperr.Wrap(err, apperr.Unavailable, "the invoice is voided once QuickBooks is connected again")
	}
	return err
}
