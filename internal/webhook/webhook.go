// Package webhook is the record of webhook deliveries that the use cases
// keep and the port that keeps it: every webhook event is recorded
// create-if-absent before it is acted on (webhookEvents/{source}/events/{id}),
// and marked processed with its outcome once it has been.
//
// A record is typed: one part per source (Stripe, QuickBooks, the printer),
// exactly one of them set. The store encodes and decodes it; no use case
// and no entry point reads a record's fields by name.
package webhook

import (
	"context"
	"fmt"
	"time"
)

// Source names a webhook sender; it prefixes the record's id.
type Source string

// The sources of recorded events.
const (
	Stripe     Source = "stripe"
	QuickBooks Source = "quickbooks"
	Printer    Source = "printer"
	ShipEngine Source = "shipengine"
)

// Event is a webhook event as recorded. ID is the sender's id for the
// event (unique per source); exactly one of the parts is set, and it says
// the source.
type Event struct {
	ID         string
	Stripe     *StripeEvent
	QuickBooks *QuickBooksEvent
	Printer    *PrinterEvent
	ShipEngine *TrackEvent
}

// StripeEvent is what is recorded of a Stripe event (its objects are
// re-read from Stripe when it is acted on).
type StripeEvent struct {
	Type     string // checkout.session.completed, charge.refunded, …
	OrderID  string // the order the object names, when it names one
	IntentID string // the PaymentIntent the object belongs to, when it has one
}

// QuickBooksEvent is what is recorded of one entity event of a QuickBooks
// notification.
type QuickBooksEvent struct {
	Realm     string // the company
	Entity    string // Invoice, Payment, Customer, …
	EntityID  string
	Operation string // Create, Update, Delete, Merge, Void, Emailed (or their past tense)
}

// PrinterEvent is what is recorded of a PRINT_JOB_STATUS_CHANGED delivery
// of the printer's webhook (the job is re-read when it is acted on).
type PrinterEvent struct {
	JobID      string
	ExternalID string // the order id, as the delivery says
	Status     string
}

// TrackEvent is what is recorded of a delivery of ShipEngine's track
// webhook (the label's tracking is re-read when it is acted on).
type TrackEvent struct {
	TrackingNumber string
	StatusCode     string // as the delivery says: AC, IT, DE, EX, …
}

// Source returns the source of the part that is set ("" if none is).
func (e Event) Source() Source {
	switch {
	case e.Stripe != nil:
		return Stripe
	case e.QuickBooks != nil:
		return QuickBooks
	case e.Printer != nil:
		return Printer
	case e.ShipEngine != nil:
		return ShipEngine
	}
	return ""
}

// Validate reports an event that cannot be recorded: no id, or not exactly
// one part set.
func (e Event) Validate() error {
	n := 0
	for _, set := range []bool{e.Stripe != nil, e.QuickBooks != nil, e.Printer != nil, e.ShipEngine != nil} {
		if set {
			n++
		}
	}
	switch {
	case e.ID == "":
		return fmt.Errorf("webhook event of %q has no id", e.Source())
	case n != 1:
		return fmt.Errorf("webhook event %s has %d sources set, not one", e.ID, n)
	}
	return nil
}

// Recorder records webhook events create-if-absent and marks them
// processed: the one port every use case that receives webhooks records
// through (firestoredb.WebhookEvents implements it).
type Recorder interface {
	// Record stores e unless it is recorded already and reports whether an
	// earlier delivery of it was processed completely (then there is
	// nothing to do); a recorded but unprocessed event is processed again.
	Record(ctx context.Context, e Event, now time.Time) (processed bool, err error)
	// Create stores e unless it is recorded already and reports whether
	// this call stored it: of concurrent deliveries, exactly one does (the
	// one a trigger on the record acts on).
	Create(ctx context.Context, e Event, now time.Time) (created bool, err error)
	// Processed marks the event done, with what came of it.
	Processed(ctx context.Context, source Source, id, outcome string, now time.Time) error
}
