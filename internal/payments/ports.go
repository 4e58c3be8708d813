// Package payments is an order's card payment: the Checkout Session that
// only authorizes the card (createPaymentSession), the rule that an order
// has at most one current session and that only it can authorize the
// order, Stripe's webhook events, the order flow's capture, cancel and
// stray-release steps, and the sweeper's authorization-lapse task. It
// declares what it needs of the payment provider and the stores; the
// adapters (internal/stripepay, internal/firestoredb) implement it.
package payments

import (
	"context"
	"errors"
	"time"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/tax"
)

// SessionLine is one line of a payment session: a name, a unit amount in
// minor units and a quantity.
type SessionLine struct {
	Name       string
	UnitAmount int64
	Quantity   int64
}

// SessionRequest is what the provider needs to make a session.
type SessionRequest struct {
	OrderID        string
	IdempotencyKey string
	Email          string
	Currency       string // lower case for Stripe
	Lines          []SessionLine
	ShippingName   string
	ShippingAmount int64 // after its discount
	Tax            int64 // the order's sales tax: a line of its own ("Sales tax"); 0: none
	ExpiresAt      time.Time
	SuccessURL     string
	CancelURL      string
}

// TaxWorker works out an order's sales tax before it is paid (the
// checkout's Taxes): Collects says whether the store collects tax at all;
// EnsureFor gives the order, as just read, current figures (UNAVAILABLE,
// reason tax_unavailable, when the provider is down) and answers it.
type TaxWorker interface {
	Collects() bool
	EnsureFor(ctx context.Context, o *order.Order) (*order.Order, error)
}

// TaxRecorder is the tax provider's record of paid sales (Stripe Tax):
// Record turns the order's calculation into the sale's transaction
// (reference: the order id, so a repeat is the same transaction); Reverse
// records a refund of amount (tax included) against it, reference unique
// per refund, and answers the tax it gave back. Each call carries key.
type TaxRecorder interface {
	Record(ctx context.Context, calculationID, reference, key string) (string, error)
	Reverse(ctx context.Context, transactionID, reference string, amount int64, key string) (tax.Reversal, error)
}

// Session is a made payment session.
type Session struct {
	ID  string
	URL string
}

// Session statuses, as Stripe names them.
const (
	SessionOpen     = "open"
	SessionComplete = "complete"
	SessionExpired  = "expired"
)

// SessionInfo is a session as re-read from the provider.
type SessionInfo struct {
	ID        string
	Status    string // open, complete, expired
	OrderID   string // client_reference_id (or metadata.orderId)
	IntentID  string // the PaymentIntent, once the session is complete
	ExpiresAt time.Time
}

// Intent is a PaymentIntent as re-read from the provider.
type Intent struct {
	ID               string
	Status           string // requires_capture, succeeded, canceled, …
	OrderID          string // metadata.orderId
	AmountCapturable int64
	AmountReceived   int64
	CaptureBefore    time.Time
	// CardBrand and CardLast4 are the card's (the latest charge's
	// payment_method_details.card: "visa", "4242"), for the receipt.
	CardBrand string
	CardLast4 string
}

// Event is a verified provider event, reduced to the fields that are
// stable across API versions; the objects themselves are re-read.
type Event struct {
	ID        string
	Type      string
	Created   time.Time
	OrderID   string // client_reference_id or metadata.orderId, when the object carries it
	SessionID string // checkout.session.* events
	IntentID  string // the PaymentIntent the object belongs to
	DisputeID string // charge.dispute.* events
}

// ErrSessionFailed marks a provider error that the provider answered (a
// 5xx): Stripe replays such an answer for the same idempotency key, so the
// next attempt must plan a new session (a new key). A failure without an
// answer (network, timeout) keeps the plan, so that a session the provider
// did make is returned by the retry instead of made twice.
var ErrSessionFailed = errors.New("the payment provider answered with a failure")

// ErrFailureStored marks a provider failure answered for a call that
// makes something (a refund): Stripe stores a 5xx for the call's
// idempotency key and replays it, so the next call must use a new key
// (once what exists was re-read). A failure without an answer (network,
// timeout) or a rate limit keeps the key: Stripe replays the outcome of
// what it did, or did nothing.
var ErrFailureStored = errors.New("the payment provider answered with a failure it stores for the key")

// Sessions makes, expires and re-reads Checkout Sessions. Errors:
// UNAVAILABLE when the provider is down, NOT_FOUND for a session it does
// not know.
type Sessions interface {
	CreateSession(ctx context.Context, r SessionRequest) (Session, error)
	// ExpireSession expires an open session so that it can no longer be
	// paid, and answers the session as it then stands: expired (now or
	// before), or complete when the customer paid it first.
	ExpireSession(ctx context.Context, id string) (SessionInfo, error)
	Session(ctx context.Context, id string) (SessionInfo, error)
}

// Intents re-reads, captures and cancels PaymentIntents. Errors:
// UNAVAILABLE when the provider is down (retry), NOT_FOUND for an intent
// it does not know, FAILED_PRECONDITION when the intent cannot be captured
// or canceled any more (its message says why).
type Intents interface {
	Intent(ctx context.Context, id string) (Intent, error)
	// Capture captures amount; an intent already captured is a success
	// (it answers what was captured then).
	Capture(ctx context.Context, intentID string, amount int64, idempotencyKey string) (Intent, error)
	// Cancel releases an uncaptured authorization; an intent already
	// canceled is a success.
	Cancel(ctx context.Context, intentID, idempotencyKey string) (Intent, error)
	// Refund gives back part or all of a captured intent's charge. The
	// same key again answers the refund made the first time.
	Refund(ctx context.Context, r RefundRequest) (RefundResult, error)
	// Refunds lists every refund of the intent's charge, oldest first,
	// with the order and refund number their metadata names (none for a
	// refund made in the provider's dashboard).
	Refunds(ctx context.Context, intentID string) ([]order.ProviderRefund, error)
	// Dispute re-reads a dispute of a charge.
	Dispute(ctx context.Context, id string) (Dispute, error)
}

// Dispute is a charge's dispute as re-read from the provider.
type Dispute struct {
	ID       string
	IntentID string
	Amount   int64
	Reason   string
	Status   string
}

// RefundRequest is a refund to make at the provider.
type RefundRequest struct {
	IntentID       string
	Amount         int64 // minor units
	OrderID        string
	N              int    // the refund's number within the order (kept in its metadata)
	Reason         string // the owner's words (kept in the refund's metadata)
	IdempotencyKey string
}

// Refund statuses, as Stripe names them: a card refund is succeeded (or
// pending for a while); failed and canceled refunds gave nothing back.
const (
	RefundSucceeded = "succeeded"
	RefundPending   = "pending"
	RefundFailed    = "failed"
	RefundCanceled  = "canceled"
)

// RefundResult is a refund as the provider made it.
type RefundResult struct {
	ID     string
	Status string // succeeded, pending, requires_action, failed, canceled
	Amount int64
}

// OrderStore is what payments needs of the orders.
type OrderStore interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	Update(ctx context.Context, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error)
	// Lapsing returns up to limit orders waiting for capture whose
	// authorization lapses before `before`, soonest first.
	Lapsing(ctx context.Context, before time.Time, limit int) ([]*order.Order, error)
}

// Committer records an order's promotion redemptions as it goes to
// payment (limits checked) and, in the same transaction, lets onCommit
// change the order; repriced means a promotion ran out and the customer
// must see the new total first.
type Committer interface {
	CommitRedemptions(ctx context.Context, orderID string, onCommit func(*order.Order) (bool, error)) (repriced bool, err error)
}
