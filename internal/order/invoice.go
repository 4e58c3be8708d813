package order

import "time"

// How a canceled order's invoice ended (Invoice.Settled).
const (
	InvoiceVoided = "voided"                                                                 // voided, by the order flow or in the books
	InvoiceLeft   = "left as it is: it was recorded paid in the books (the owner's to undo)" // a paid invoice is never voided by the store
	// InvoiceBalanced: a charged order's invoice, paid, stays; the refund
	// receipts of its refunds balance it in the books.
	InvoiceBalanced = "left paid: the charge is refunded, and the refund receipts balance it"
)

// InvoiceMade records the order's invoice, made by the invoice step or
// found in the books by its document number (an answer that came back
// after the order moved on, or never came): an authorized order moves to
// invoiced, by actor; a canceled order keeps it to be voided (its work is
// woken). It reports whether anything changed.
func (o *Order) InvoiceMade(inv Invoice, actor string, at time.Time) (bool, error) {
	if o.Invoice != nil && o.Invoice.ID != "" {
		if o.Invoice.ID != inv.ID || o.state != Authorized {
			return false, nil
		}
		// Recorded meanwhile (a QuickBooks event found it); the invoice
		// step still moves the order on.
	} else {
		o.Invoice = &inv
	}
	switch o.state {
	case Authorized:
		_, err := o.Transition(Move{From: []State{Authorized}, To: Invoiced, Actor: actor, Reason: "QuickBooks invoice " + inv.DocNumber}, at)
		return true, err
	case Canceled:
		o.Work.Wake++
		o.Note(actor, "QuickBooks invoice "+inv.DocNumber+" was made as the order was canceled: it is voided next", at)
		return true, nil
	}
	o.Note(actor, "QuickBooks invoice "+inv.DocNumber+" recorded", at)
	return true, nil
}

// InvoiceSettled records how a canceled order's invoice ended (Voided, or
// why it was left). It reports whether that changed anything.
func (o *Order) InvoiceSettled(how string) bool {
	if o.Invoice == nil || o.Invoice.Settled == how {
		return false
	}
	o.Invoice.Settled = how
	return true
}

// InvoiceVoidDue reports whether a canceled order's invoice is still to
// be voided.
func (o *Order) InvoiceVoidDue() bool {
	return o.state == Canceled && o.Invoice != nil && o.Invoice.ID != "" && o.Invoice.Settled == ""
}
