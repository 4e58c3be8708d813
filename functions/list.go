// Package functions is the one list of the project's Cloud Functions: name,
// kind, trigger, schedule and secrets, with the thin entry point of each.
// Registration with the Functions Framework (the root package), the local
// host (make dev) and the deploy commands are all derived from List; a test
// fails if any of them disagrees with it.
package functions

import (
	"context"
	"fmt"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/docevent"
)

// Kind is how a function is invoked.
type Kind string

// The kinds of function.
const (
	Callable  Kind = "callable"  // Firebase onCall over HTTPS, from the storefront
	Webhook   Kind = "webhook"   // HTTPS POSTs from an outside service, signature-checked
	Trigger   Kind = "trigger"   // Firestore document CloudEvents (Eventarc)
	Scheduled Kind = "scheduled" // HTTPS POSTs from Cloud Scheduler (IAM-protected)
	Owner     Kind = "owner"     // HTTPS pages for the owner's browser; the function checks it is the owner
)

// HTTP reports whether the kind is served as a plain HTTP function.
func (k Kind) HTTP() bool { return k != Trigger }

// Function is one entry of the list.
type Function struct {
	Name string // the entry point and the deployed name
	Kind Kind
	Doc  string // one line, for docs and the local host's banner

	// Trigger only: the event type and the document path pattern.
	EventType string
	Document  string

	// Scheduled only: the Cloud Scheduler cron expression (UTC).
	Schedule string

	// Secrets are the Secret Manager secrets the function reads, mounted
	// as environment variables of the same name.
	Secrets []string

	// Timeout is how long one invocation may run (0: the platform's 60 s);
	// at most 9 minutes for a trigger.
	Timeout time.Duration

	// Subpaths: an HTTP function that serves pages below its own path
	// (/owner/orders/…); the platform passes it the path under its name.
	Subpaths bool

	// Resources are what each deployed instance gets (zero fields: the
	// defaults).
	Resources Resources

	handler func(*app.App) http.Handler                                   // HTTP kinds
	event   func(*app.App) func(context.Context, cloudevents.Event) error // Trigger
}

// List is every function of the project.
var List = []Function{
	{
		Name: "whoami", Kind: Callable,
		Doc:     "Diagnostic callable: who the backend thinks the caller is (checks storefront wiring, tokens, App Check).",
		handler: whoami,
	},
	{
		Name: "startCheckout", Kind: Callable,
		Doc: "Prices the caller's cart and, in one transaction, holds its stock and creates (or reuses) the pending order.",
		// The hot-SKU path: a sale brings many buyers of one SKU at once,
		// and each instance takes its waiting checkouts of a SKU together,
		// so few instances each serving many requests (docs/deploy.md,
		// "Resources").
		Resources: Resources{Memory: "512Mi", CPU: "1", Concurrency: 250, MaxInstances: 8},
		handler:   startCheckout,
	},
	{
		Name: "applyCustomer", Kind: Callable,
		Doc:     "Stores the customer's name and email on their pending order and prices it with the promotions tied to the email or a code.",
		Secrets: []string{app.StripeKey}, // Stripe Tax, when OMS_TAX=stripe
		handler: applyCustomer,
	},
	{
		Name: "quoteShipping", Kind: Callable,
		Doc:     "Verifies the customer's address and quotes shipping rates through ShipEngine; stores the quote on the order.",
		Secrets: []string{app.ShipEngineKey},
		handler: quoteShipping,
	},
	{
		Name: "selectShipping", Kind: Callable,
		Doc:     "Chooses a quoted rate by id (the price comes from the stored quote) and the typed or verified address.",
		Secrets: []string{app.StripeKey}, // Stripe Tax, when OMS_TAX=stripe
		handler: selectShipping,
	},
	{
		Name: "createPaymentSession", Kind: Callable,
		Doc:     "Records the promotions, stretches the holds and makes a Stripe Checkout Session that only authorizes the card.",
		Secrets: []string{app.StripeKey},
		handler: createPaymentSession,
	},
	{
		Name: "adjustStock", Kind: Callable,
		Doc:     "The owner's stock adjustment (restock, damage, count): never below what open orders hold; written to the stock ledger.",
		handler: adjustStock,
	},
	{
		Name: "buyLabel", Kind: Callable,
		Doc:     "The owner buys the label of an order's parcel through ShipEngine, once (the chosen rate, or a fresh one for the same service); the parcel waits for the carrier's first scan.",
		Secrets: []string{app.ShipEngineKey},
		handler: buyLabel,
	},
	{
		Name: "voidLabel", Kind: Callable,
		Doc:     "The owner voids the label of an order's parcel before the carrier scanned it; its cost comes back and the parcel waits for a label again.",
		Secrets: []string{app.ShipEngineKey},
		handler: voidLabel,
	},
	{
		Name: "markShipped", Kind: Callable,
		Doc:     "The owner records the carrier and tracking of an order's parcel; the order is shipped once every part is.",
		handler: markShipped,
	},
	{
		Name: "retryOrder", Kind: Callable,
		Doc:     "The owner sends an order that needs attention back to the state whose step failed; the step runs again.",
		handler: retryOrder,
	},
	{
		Name: "cancelOrder", Kind: Callable,
		Doc:     "The owner cancels an order before anything ships: authorization, invoice, holds and redemptions released; a charged order's print job canceled and its charge refunded.",
		Secrets: []string{app.StripeKey, app.PrinterKey, app.PrinterSecret}, // it re-reads the PaymentIntent and refunds, and stops the print job
		handler: cancelOrder,
	},
	{
		Name: "refundOrder", Kind: Callable,
		Doc:     "The owner refunds part or all of a charged order: made at Stripe, recorded in QuickBooks, the order refunded once its refunds reach the charge.",
		Secrets: []string{app.StripeKey}, // it re-reads the charge's refunds before it decides
		handler: refundOrder,
	},
	{
		Name: "stripeWebhook", Kind: Webhook,
		Doc:     "Stripe's events: verifies the signature, records the event, re-reads the PaymentIntent, moves the order (authorized, expired, canceled).",
		Secrets: []string{app.StripeKey, app.StripeWebhookSecret},
		handler: stripeWebhook,
	},
	{
		Name: "quickbooksWebhook", Kind: Webhook,
		Doc:     "QuickBooks' notifications: verifies intuit-signature, records each event of the connected company, answers at once.",
		Secrets: []string{app.QuickBooksClientID, app.QuickBooksClientSecret, app.QuickBooksWebhookVerifier},
		handler: quickbooksWebhook,
	},
	{
		Name: "owner", Kind: Owner, Subpaths: true,
		Doc:     "The owner's console: sign-in, what needs the owner now, orders by state and search, an order's page with the owner's actions.",
		Secrets: []string{app.StripeKey, app.PrinterKey, app.PrinterSecret, app.ShipEngineKey, app.GoogleClientSecret}, // the owner's commands: cancel, refund, labels; Google sign-in
		handler: ownerConsole,
	},
	{
		Name: "quickbooksConnect", Kind: Owner,
		Doc:     "Starts connecting QuickBooks (owner only: admin claim or one-time key): redirects to Intuit's consent page with a signed state.",
		Secrets: []string{app.QuickBooksClientID, app.QuickBooksClientSecret},
		handler: quickbooksConnect,
	},
	{
		Name: "quickbooksCallback", Kind: Owner,
		Doc:     "Intuit's redirect after consent: checks the state, exchanges the code, stores the tokens and company; waiting orders go on.",
		Secrets: []string{app.QuickBooksClientID, app.QuickBooksClientSecret},
		handler: quickbooksCallback,
	},
	{
		Name: "onQuickBooksEvent", Kind: Trigger,
		Doc:       "Acts on a recorded QuickBooks event: re-reads the invoice; paid → approved (then the capture), voided → canceled.",
		EventType: docevent.TypeCreated, Document: "webhookEvents/quickbooks/events/{eventId}",
		Secrets: []string{app.QuickBooksClientID, app.QuickBooksClientSecret},
		event:   onQuickBooksEvent,
	},
	{
		Name: "printerWebhook", Kind: Webhook,
		Doc:     "The printer's job status changes: verifies Lulu-HMAC-SHA256, records the delivery, answers at once.",
		Secrets: []string{app.PrinterKey, app.PrinterSecret},
		handler: printerWebhook,
	},
	{
		Name: "shipengineWebhook", Kind: Webhook,
		Doc:     "ShipEngine's track events: verifies the RSA-SHA256 signature with ShipEngine's published keys, records the delivery, answers at once.",
		handler: shipengineWebhook,
	},
	{
		Name: "onShipEngineEvent", Kind: Trigger,
		Doc:       "Acts on a recorded track event: re-reads the label's tracking; the parcel moves in transit → out for delivery → delivered (an exception alerts the owner).",
		EventType: docevent.TypeCreated, Document: "webhookEvents/shipengine/events/{eventId}",
		Secrets: []string{app.ShipEngineKey},
		event:   onShipEngineEvent,
	},
	{
		Name: "onPrinterEvent", Kind: Trigger,
		Doc:       "Acts on a recorded printer event: re-reads the job; shipped → the part shipped (the order when every part is); refused → needs attention.",
		EventType: docevent.TypeCreated, Document: "webhookEvents/printer/events/{eventId}",
		Secrets: []string{app.PrinterKey, app.PrinterSecret},
		event:   onPrinterEvent,
	},
	{
		Name: "onMailWritten", Kind: Trigger,
		Doc:       "The built-in sender: delivers a queued email (mail/{id}, the Trigger Email extension's schema) through SMTP_URL, keeping its delivery record.",
		EventType: docevent.TypeWritten, Document: "mail/{mailId}",
		Secrets: []string{app.SMTPURL},
		// An attempt waits up to smtpmail.DataTimeout for a slow server's
		// answer (its bound is 5.5 minutes; the mail's lease 10).
		Timeout: 9 * time.Minute,
		event:   onMailWritten,
	},
	{
		Name: "onAlertWritten", Kind: Trigger,
		Doc:       "Posts a newly raised owner alert to the Slack-compatible webhook OMS_ALERT_WEBHOOK_URL (its mail is queued with the alert).",
		EventType: docevent.TypeWritten, Document: "alerts/{alertId}",
		Secrets: []string{app.AlertWebhookURL},
		event:   onAlertWritten,
	},
	{
		Name: "onOrderWritten", Kind: Trigger,
		Doc:       "Moves orders along: runs the steps for the state an order entered.",
		EventType: docevent.TypeWritten, Document: "orders/{orderId}",
		Secrets: []string{app.StripeKey, app.QuickBooksClientID, app.QuickBooksClientSecret, app.PrinterKey, app.PrinterSecret, app.ShipEngineKey},
		event:   onOrderWritten,
	},
	{
		Name: "sweep", Kind: Scheduled,
		Doc:      "The sweeper: expires lapsed holds, warns before authorizations lapse, re-drives lost steps, re-reads waiting invoices, retries mail.",
		Schedule: "*/5 * * * *",
		Secrets:  []string{app.StripeKey, app.QuickBooksClientID, app.QuickBooksClientSecret, app.PrinterKey, app.PrinterSecret, app.ShipEngineKey, app.SMTPURL, app.AlertWebhookURL},
		// deliverMail starts attempts for 2 minutes, each bounded by 5.5.
		Timeout: 15 * time.Minute,
		// One sweep at a time: a run that overlaps a long one waits for
		// the next.
		Resources: Resources{Concurrency: 1, MaxInstances: 1},
		handler:   sweepHandler,
	},
}

// Resources are a deployed function's instances: memory, vCPUs, the
// requests one instance serves at once, and the fewest and most instances.
type Resources struct {
	Memory       string // e.g. 512Mi
	CPU          string // e.g. 1, 2 or 0.5
	Concurrency  int
	MinInstances int
	MaxInstances int
}

// The resources of a function that names none: Go answers many requests
// on one instance at once (a concurrency above 1 needs a whole vCPU), and
// a small store needs few instances; the cap also bounds what a burst can
// cost and how fast the outside services are called.
const (
	DefaultMemory       = "256Mi"
	DefaultCPU          = "1"
	DefaultConcurrency  = 80
	DefaultMaxInstances = 10
)

// WithDefaults returns r with the defaults where it names nothing.
func (r Resources) WithDefaults() Resources {
	if r.Memory == "" {
		r.Memory = DefaultMemory
	}
	if r.CPU == "" {
		r.CPU = DefaultCPU
	}
	if r.Concurrency == 0 {
		r.Concurrency = DefaultConcurrency
	}
	if r.MaxInstances == 0 {
		r.MaxInstances = DefaultMaxInstances
	}
	return r
}

// Lookup returns the function named name.
func Lookup(name string) (Function, bool) {
	for _, f := range List {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Handler returns the HTTP handler of an HTTP-kind function built on a.
func (f Function) Handler(a *app.App) http.Handler {
	if f.handler == nil {
		panic(fmt.Sprintf("functions: %s (%s) has no HTTP handler", f.Name, f.Kind))
	}
	return f.handler(a)
}

// EventHandler returns the CloudEvent handler of a Trigger built on a.
func (f Function) EventHandler(a *app.App) func(context.Context, cloudevents.Event) error {
	if f.event == nil {
		panic(fmt.Sprintf("functions: %s (%s) has no event handler", f.Name, f.Kind))
	}
	return f.event(a)
}

// AllSecrets returns every secret any function needs, each once.
func AllSecrets() []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range List {
		for _, s := range f.Secrets {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}
