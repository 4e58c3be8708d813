package bookkeeping

import (
	"context"
	"fmt"
	"strings"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/webhook"
)

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
		rec := webhook.Event{ID: e.Key, QuickBooks: &webhook.QuickBooksEvent{Realm: e.Realm, Entity: e.Entity, EntityID: e.ID, Operation: e.Operation}}
		if _, err := s.Events.Record(ctx, rec, s.Now()); err != nil {
			return r, err
		}
		r.Recorded++
	}
	return r, nil
}

// HandleRecorded acts on a newly recorded webhook event (its trigger hands
// over only records just created; another source's are not its work): it
// re-reads the invoices involved and moves their orders, then marks the
// event processed. An error means "retry".
func (s *Service) HandleRecorded(ctx context.Context, ev webhook.Event) (outcome string, err error) {
	q := ev.QuickBooks
	if q == nil {
		return "not a QuickBooks event", nil
	}
	outcome, err = s.HandleEvent(ctx, q.Entity, q.EntityID, q.Operation)
	if err != nil {
		return "", err
	}
	return outcome, s.Events.Processed(ctx, webhook.QuickBooks, ev.ID, outcome, s.Now())
}

// HandleEvent acts on one QuickBooks entity event: it re-reads the invoices
// involved (an Invoice event's, or the invoices a Payment applies to) and
// moves their orders: paid → approved (the owner recorded the invoice
// paid; the capture follows), voided or deleted → canceled. An invoice the
// store has no order for is found by its document number (the order id):
// the order's if it exists (an invoice whose answer never reached it),
// otherwise the owner is alerted; an invoice whose number is no order id
// is not the store's and is ignored, as are other entities. The outcome
// says what happened; an error means "retry".
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
	var outcomes []string
	for _, inv := range invoices {
		o, err := s.Orders.ByInvoice(ctx, inv)
		if apperr.CodeOf(err) == apperr.NotFound {
			var outcome string
			if o, outcome, err = s.orderByNumber(ctx, inv); err != nil {
				return "", err
			}
			if o == nil {
				outcomes = append(outcomes, outcome)
				continue
			}
		}
		if err != nil {
			return "", err
		}
		outcome, _, err := s.settle(logging.WithOrder(ctx, o.ID), o, inv, operation)
		if err != nil {
			return "", err
		}
		outcomes = append(outcomes, outcome)
	}
	if len(outcomes) == 0 {
		return "no invoice", nil
	}
	return strings.Join(outcomes, "; "), nil
}

// orderByNumber finds the order of an invoice no order records, by the
// invoice's document number. No order for a number that is an order id
// alerts the owner (the outcome says so); a number that is not one is
// another of the owner's invoices.
func (s *Service) orderByNumber(ctx context.Context, inv string) (*order.Order, string, error) {
	st, err := s.Books.InvoiceStatus(ctx, inv, "")
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, "invoice " + inv + " is gone", nil
	}
	if err != nil {
		return nil, "", err
	}
	if order.ValidID(st.DocNumber) != nil {
		return nil, "ignored: invoice " + st.DocNumber + " is not the store's", nil
	}
	o, err := s.Orders.Get(ctx, st.DocNumber)
	if apperr.CodeOf(err) != apperr.NotFound {
		return o, "", err
	}
	_, err = s.Alerts.Raise(ctx, alert.Alert{Key: "invoice-orphan-" + inv, Kind: alert.BooksMismatch, OrderID: st.DocNumber,
		Subject: "QuickBooks invoice " + st.DocNumber + " names an order the store does not have",
		Text: fmt.Sprintf("QuickBooks invoice %s (id %s) names order %s, which the store does not have, and it changed in QuickBooks.\n"+
			"No card was charged for it by the store. Void it in QuickBooks if it is a mistake.", st.DocNumber, inv, st.DocNumber)})
	return nil, "no order " + st.DocNumber + ": the owner was alerted", err
}

// settle moves order o as its invoice inv now stands (re-read; a Delete or
// Void operation needs no read): paid → approved, voided or deleted →
// canceled. An order that had not recorded the invoice records it. A
// canceled order's invoice still open is voided next; one recorded paid
// alerts the owner, and so does the invoice of an approved or charged
// order voided in QuickBooks: the books and the money disagree. It says
// what happened and whether the order moved.
func (s *Service) settle(ctx context.Context, o *order.Order, inv, operation string) (outcome string, moved bool, err error) {
	if o.Invoice != nil && o.Invoice.ID != "" && o.Invoice.ID != inv {
		// Another invoice with the order's number (numbers can be typed):
		// it says nothing of the order's money, and must not move it.
		_, err := s.Alerts.Raise(ctx, alert.Alert{Key: "invoice-other-" + inv, Kind: alert.BooksMismatch, OrderID: o.ID,
			Subject: "A second QuickBooks invoice carries order " + o.ID + "'s number",
			Text: fmt.Sprintf("QuickBooks invoice id %s has the document number of order %s, whose invoice is id %s. The store ignores it: the order follows its own invoice only.\n"+
				"If it was made by mistake, void it in QuickBooks.", inv, o.ID, o.Invoice.ID)})
		return "invoice " + inv + " is not order " + o.ID + "'s: the owner was alerted", false, err
	}
	gone := operation == "Delete" || operation == "Deleted" || operation == "Void" || operation == "Voided"
	found := order.Invoice{ID: inv}
	var st InvoiceStatus
	if !gone || o.Invoice == nil {
		if st, err = s.Books.InvoiceStatus(ctx, inv, o.Currency); err != nil && !(gone && apperr.CodeOf(err) == apperr.NotFound) {
			return "", false, err
		}
		gone = gone || st.Voided
		found = order.Invoice{ID: inv, DocNumber: st.DocNumber, Total: st.Total}
	}
	now := s.Now().UTC()
	var alertVoided, alertPaid bool
	cur, changed, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		outcome, alertVoided, alertPaid = "", false, false
		recorded, err := cur.InvoiceMade(found, "quickbooks", now)
		if err != nil {
			return false, err
		}
		var moved bool
		switch state := cur.State(); {
		case gone && (state == order.Invoiced || state == order.Authorized):
			moved, err = cur.Transition(order.Move{To: order.Canceled, Actor: "quickbooks", Reason: "the invoice was voided or deleted in QuickBooks"}, now)
			cur.InvoiceSettled(order.InvoiceVoided)
			outcome = "order " + cur.ID + " " + string(order.Canceled)
		case gone && (state == order.Canceled || state == order.Expired):
			moved = cur.InvoiceSettled(order.InvoiceVoided)
			outcome = "order " + cur.ID + " already " + string(state)
		case gone:
			alertVoided = true
			outcome = "order " + cur.ID + " is " + string(state) + ": its invoice was voided (the owner was alerted)"
		case state == order.Canceled && st.Paid && cur.Payment != nil && cur.Payment.AmountCaptured > 0:
			moved = cur.InvoiceSettled(order.InvoiceBalanced)
			outcome = "order " + cur.ID + " is canceled after its charge: its paid invoice stays, balanced by the refund"
		case state == order.Canceled && st.Paid:
			alertPaid = true
			moved = cur.InvoiceSettled(order.InvoiceLeft)
			outcome = "order " + cur.ID + " is canceled but its invoice was recorded paid (the owner was alerted)"
		case state == order.Canceled:
			if cur.InvoiceVoidDue() {
				cur.Note("quickbooks", "QuickBooks invoice "+found.DocNumber+" changed after the cancel: it is voided next", now)
				cur.Work.Wake++
				moved = true
			}
			outcome = "order " + cur.ID + " is canceled: its invoice is voided"
		case !st.Paid:
			outcome = "invoice " + inv + " still open"
		default:
			moved, err = cur.Transition(order.Move{From: []order.State{order.Invoiced}, To: order.Approved, Actor: "quickbooks",
				Reason: "the owner recorded invoice " + found.DocNumber + " paid"}, now)
			switch {
			case apperr.CodeOf(err) == apperr.FailedPrecondition:
				outcome, err = "does not apply to order "+cur.ID, nil
			case err == nil && moved:
				outcome = "order " + cur.ID + " " + string(order.Approved)
			case err == nil:
				outcome = "order " + cur.ID + " already " + string(order.Approved)
			}
		}
		return moved || recorded, err
	})
	if err != nil {
		return "", false, err
	}
	switch {
	case alertVoided:
		err = s.booksMismatch(ctx, cur, alert.InvoiceVoided, "invoice-voided-"+cur.ID, "Order "+cur.ID+": its invoice was voided in QuickBooks, but the order is "+string(cur.State()),
			fmt.Sprintf("QuickBooks invoice %s of order %s was voided, but the order is %s. %s\n"+
				"The books no longer record the sale: cancel or refund the order if that was meant, or record the sale again in QuickBooks.", found.DocNumber, cur.ID, cur.State(), moneyNote(cur)))
	case alertPaid:
		err = s.alertPaidCanceled(ctx, cur)
	}
	return outcome, changed, err
}
