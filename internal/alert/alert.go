// Package alert is what the owner must hear about: one alert per key,
// raised by the use cases and recorded (and mailed) by the alert store.
// It imports nothing of the infrastructure.
package alert

import "context"

// Kinds of alerts. The values are stored in alerts/{key}.kind.
const (
	OrderReview            = "order_review"            // an invoice waits for the owner's review
	NeedsAttention         = "needs_attention"         // a step failed for good; the order waits for the owner
	StepFailed             = "step_failed"             // a step failed for good in a terminal state (expired, canceled, shipped)
	StrayPayment           = "stray_payment"           // an authorization reached an order by a way that may not authorize it
	QuickBooksDisconnected = "quickbooks_disconnected" // the QuickBooks connection is dead; orders wait
	LowStock               = "low_stock"               // a SKU's available units fell below its lowStockAt
	ParcelToShip           = "parcel_to_ship"          // a paid order's stock lines wait to be packed and shipped
	PrintJob               = "print_job"               // the printer refused, lost or canceled a job, or it waits unpaid
	RefundFailed           = "refund_failed"           // Stripe refused a refund, or the books refused to record one
	MailFailed             = "mail_failed"             // an email to a customer was not delivered (refused, or its outcome unknown)
	AuthorizationLapsing   = "authorization_lapsing"   // a card authorization lapses within 24 hours without a capture
	AuthorizationLapsed    = "authorization_lapsed"    // a card authorization lapsed before capture: the order was canceled
	RefundedOutside        = "refunded_outside"        // a refund made outside the store (Stripe's dashboard) refunded an order with parts still to ship
	PaymentDisputed        = "payment_disputed"        // the customer disputed the charge (a chargeback)
	InvoiceVoided          = "invoice_voided"          // an approved or charged order's invoice was voided in QuickBooks: the books and the money disagree
	BooksMismatch          = "books_mismatch"          // a canceled order's invoice recorded paid, or an invoice that names no order
	ParcelException        = "parcel_exception"        // the carrier reports a problem with a parcel (tracking's exception)
	LabelNotVoided         = "label_not_voided"        // a label nothing will use could not be voided (its cost stays spent)
	TaxNotRecorded         = "tax_not_recorded"        // the tax provider refused for good to record a paid sale or a refund's reversal: its tax filing needs the owner
)

// Alert is one thing the owner must hear about.
type Alert struct {
	// Key identifies the alert: raising the same key again (a duplicate
	// delivery, a re-drive, another instance) records and mails nothing
	// new.
	Key     string
	Kind    string
	OrderID string // the order it is about, if any
	Subject string
	Text    string
}

// Raiser records an alert once per key and reports whether it was new.
type Raiser interface {
	Raise(ctx context.Context, a Alert) (bool, error)
}
