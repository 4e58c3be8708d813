// Package bookkeeping keeps an order's books in QuickBooks Online: the
// invoice created when the card is authorized, the owner's review and
// approval (recording the invoice paid) arriving as QuickBooks events or
// found by the sweeper's reconcile, the void on cancel, and the owner's
// connect flow. It declares what it needs of QuickBooks and the stores;
// the adapters (internal/quickbooks, internal/firestoredb) implement it.
package bookkeeping

import (
	"context"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/webhook"
)

// ErrNotConnected is the answer of everything that needs QuickBooks while
// it is not connected (never, or its refresh token died): nothing can be
// sent until the owner connects it again. Use errors.Is.
var ErrNotConnected = apperr.New(apperr.FailedPrecondition, "QuickBooks is not connected: the owner must connect (or reconnect) it")

// InvoiceStatus is what the books say of an invoice now.
type InvoiceStatus struct {
	ID        string
	DocNumber string
	Total     money.Money
	Voided    bool
	// Paid: something was due and nothing is any more — the owner
	// recorded the invoice paid (an invoice of nothing is no approval).
	Paid bool
}

// Event is one entity change QuickBooks notified.
type Event struct {
	Realm     string
	Entity    string // Invoice, Payment, Customer, …
	ID        string
	Operation string // Create, Update, Delete, Merge, Void, Emailed
	// Key identifies the event for create-if-absent recording.
	Key string
}

// Books is the accounting system as bookkeeping needs it. Errors:
// ErrNotConnected while disconnected, UNAVAILABLE when it is down or
// throttled (retry), FAILED_PRECONDITION or INVALID_ARGUMENT when it
// refuses (a missing item, a total that differs).
type Books interface {
	// Invoice creates the order's invoice (a repeat returns the same one)
	// and checks its total is the order's to the cent, tax included: what
	// the card was charged. The tax is stated, never left for the books to
	// compute (an accounting system that computes its own, as QuickBooks'
	// Automated Sales Tax does, could arrive at another figure).
	Invoice(ctx context.Context, o *order.Order) (order.Invoice, error)
	InvoiceStatus(ctx context.Context, id, currency string) (InvoiceStatus, error)
	InvoicesOfPayment(ctx context.Context, paymentID string) ([]string, error)
	// FindInvoice finds the order's invoice by its document number (the
	// order id), for an invoice made whose answer never reached the order.
	FindInvoice(ctx context.Context, o *order.Order) (inv order.Invoice, found bool, err error)
	// Void voids the order's invoice unless it is voided already or was
	// paid, and says which (VoidDone, VoidAlready, VoidPaid, VoidNoInvoice,
	// VoidGone).
	Void(ctx context.Context, o *order.Order) (string, error)
	// RecordRefund records refund r of the order, made at the payment
	// provider, as money given back to the invoice's customer (a repeat
	// returns the same record), and returns the record's id. Of r.Amount,
	// r.Tax (settled before the refund is due in the books) is recorded as
	// tax given back, the way the invoice recorded the order's; the
	// record totals r.Amount to the cent.
	RecordRefund(ctx context.Context, o *order.Order, r order.Refund) (string, error)
	// Realm is the company whose events are recorded: the connected one,
	// or the one last connected while it waits to be reconnected.
	Realm(ctx context.Context) (string, error)
	// Connected reports whether calls can be made now.
	Connected(ctx context.Context) (bool, error)
}

// What Books.Void found.
const (
	VoidDone      = "voided"         // the invoice was voided now
	VoidAlready   = "already voided" // voided before (by the owner, or an earlier attempt)
	VoidPaid      = "paid"           // recorded paid: left for the owner
	VoidNoInvoice = "no invoice"     // the order has none
	VoidGone      = "deleted"        // QuickBooks has it no more (deleted)
)

// OrderStore is what bookkeeping needs of the orders.
type OrderStore interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	Update(ctx context.Context, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error)
	ByInvoice(ctx context.Context, invoiceID string) (*order.Order, error)
	// Stale returns up to limit orders in one of states whose last change
	// is before `before`, oldest first.
	Stale(ctx context.Context, states []order.State, before time.Time, limit int) ([]*order.Order, error)
}

// Alerts records the owner's alerts, and resolves them by kind.
type Alerts interface {
	alert.Raiser
	Resolve(ctx context.Context, kind string) (int, error)
}

// Redriver runs an order's due steps again (the order flow).
type Redriver interface {
	Redrive(ctx context.Context, o *order.Order) error
}

// Service is the bookkeeping capability.
type Service struct {
	Books   Books
	Orders  OrderStore
	Events  webhook.Recorder
	Alerts  Alerts
	Flow    Redriver
	Connect *Connect // the owner's connect flow (nil fields answer "not configured")
	// RedriveAfter is how long an invoice waits before the sweeper's
	// reconcile reads it (OMS_REDRIVE_AFTER).
	RedriveAfter time.Duration
	Now          func() time.Time
}

// errNotConfigured is the answer without the Intuit app's credentials.
var errNotConfigured = apperr.New(apperr.Unavailable, "QuickBooks is not configured (QUICKBOOKS_CLIENT_ID, QUICKBOOKS_CLIENT_SECRET)")

// NotConfigured is the Books of an instance without the Intuit app's
// credentials: every call answers UNAVAILABLE naming the missing secrets
// (so a step is retried once they are configured), and it is never
// connected.
type NotConfigured struct{}

var _ Books = NotConfigured{}

// Invoice implements Books.
func (NotConfigured) Invoice(context.Context, *order.Order) (order.Invoice, error) {
	return order.Invoice{}, errNotConfigured
}

// InvoiceStatus implements Books.
func (NotConfigured) InvoiceStatus(context.Context, string, string) (InvoiceStatus, error) {
	return InvoiceStatus{}, errNotConfigured
}

// InvoicesOfPayment implements Books.
func (NotConfigured) InvoicesOfPayment(context.Context, string) ([]string, error) {
	return nil, errNotConfigured
}

// Void implements Books.
func (NotConfigured) Void(context.Context, *order.Order) (string, error) {
	return "", errNotConfigured
}

// FindInvoice implements Books.
func (NotConfigured) FindInvoice(context.Context, *order.Order) (order.Invoice, bool, error) {
	return order.Invoice{}, false, errNotConfigured
}

// RecordRefund implements Books.
func (NotConfigured) RecordRefund(context.Context, *order.Order, order.Refund) (string, error) {
	return "", errNotConfigured
}

// Realm implements Books.
func (NotConfigured) Realm(context.Context) (string, error) { return "", errNotConfigured }

// Connected implements Books.
func (NotConfigured) Connected(context.Context) (bool, error) { return false, nil }
