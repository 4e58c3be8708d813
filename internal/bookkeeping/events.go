package bookkeeping

import (
	"context"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
)

// source is the webhook events' source name (webhookEvents/quickbooks:…).
const source = "quickbooks"

// Recorded counts what RecordEvents did.
type Recorded struct {
	Recorded int // events of the connected company, recorded create-if-absent
	Ignored  int // another company's events
}

// RecordEvents records each verified event of the connected company
// create-if-absent (the webhook answers at once; onQuickBooksEvent acts on
// each record). Events of another company are ignored. An error means
// "answer 5xx so that QuickBooks delivers again"; events recorded before
// it are found again (create-if-absent).
func (s *Service) RecordEvents(ctx context.Context, events []Event) (Recorded, error) {
	realm, err := s.Books.Realm(ctx)
	if err != nil {
		return Recorded{}, err
	}
	var r Recorded
	for _, e := range events {
		if e.Realm != realm {
			r.Ignored++
			continue
		}
		if _, err := s.Events.Record(ctx, source, e.Key, map[string]any{"entity": e.Entity, "entityId": e.ID,
			"operation": e.Operation, "realmId": e.Realm}, s.Now()); err != nil {
			return r, err
		}
		r.Recorded++
	}
	return r, nil
}

// RecordedEvent is a webhook event record as its trigger sees it.
type RecordedEvent struct {
	New       bool // the record was just created (not an update of it)
	Source    string
	EventID   string
	Entity    string
	EntityID  string
	Operation string
}

// HandleRecorded acts on a newly recorded QuickBooks event (other records
// and other sources are not its work): it re-reads the invoices involved
// and moves their orders, then marks the event processed. An error means
// "retry".
func (s *Service) HandleRecorded(ctx context.Context, ev RecordedEvent) (outcome string, err error) {
	if !ev.New || ev.Source != source {
		return "not a new QuickBooks event", nil
	}
	outcome, err = s.HandleEvent(ctx, ev.Entity, ev.EntityID, ev.Operation)
	if err != nil {
		return "", err
	}
	return outcome, s.Events.Processed(ctx, source, ev.EventID, outcome, s.Now())
}

// HandleEvent acts on one QuickBooks entity event: it re-reads the invoices
// involved (an Invoice event's, or the invoices a Payment applies to) and
// moves their orders: paid → approved (the owner recorded the invoice
// paid; the capture follows), voided or deleted → canceled. Invoices of no
// order, and other entities, are ignored. The outcome says what happened;
// an error means "retry".
func (s *Service) HandleEvent(ctx context.Context, entity, id, operation string) (string, error) {
	var invoices []string
	switch entity {
	case "Invoice":
		invoices = []string{id}
	case "Payment":
		if operation == "Delete" || operation == "Deleted" {
			return "ignored: a deleted payment", nil
		}
		ids, err := s.Books.InvoicesOfPayment(ctx, id)
		if err != nil {
			return "", err
		}
		invoices = ids
	default:
		return "ignored: " + entity, nil
	}
	outcome := "no order"
	for _, inv := range invoices {
		o, err := s.Orders.ByInvoice(ctx, inv)
		if apperr.CodeOf(err) == apperr.NotFound {
			continue
		}
		if err != nil {
			return "", err
		}
		if outcome, _, err = s.settle(logging.WithOrder(ctx, o.ID), o, inv, operation); err != nil {
			return "", err
		}
	}
	return outcome, nil
}

// settle moves order o as its invoice inv now stands (re-read; a Delete or
// Void operation needs no read): paid → approved, voided or deleted →
// canceled. It says what happened and whether the order moved.
func (s *Service) settle(ctx context.Context, o *order.Order, inv, operation string) (outcome string, moved bool, err error) {
	var m order.Move
	if operation == "Delete" || operation == "Deleted" || operation == "Void" || operation == "Voided" {
		m = order.Move{From: []order.State{order.Invoiced}, To: order.Canceled, Actor: "quickbooks", Reason: "the invoice was voided or deleted in QuickBooks"}
	} else {
		st, err := s.Books.InvoiceStatus(ctx, inv, o.Currency)
		if err != nil {
			return "", false, err
		}
		switch {
		case st.Voided:
			m = order.Move{From: []order.State{order.Invoiced}, To: order.Canceled, Actor: "quickbooks", Reason: "the invoice was voided in QuickBooks"}
		case st.Paid:
			m = order.Move{From: []order.State{order.Invoiced}, To: order.Approved, Actor: "quickbooks", Reason: "the owner recorded invoice " + st.DocNumber + " paid"}
		default:
			return "invoice " + inv + " still open", false, nil
		}
	}
	_, applied, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		return cur.Transition(m, s.Now().UTC())
	})
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
