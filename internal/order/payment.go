package order

import (
	"fmt"
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// Why an authorization does not authorize the order (StrayPayment.Reason
// and the webhook's outcomes). The values are stored and documented.
const (
	RefusedNotCurrent    = "not_current_session"     // the session is not the order's current one
	RefusedSessionClosed = "session_closed"          // the order closed the session (it changed) before it was paid
	RefusedNotPending    = "order_not_pending"       // the order is not waiting for payment any more
	RefusedNoCustomer    = "no_customer"             // nothing to invoice: the order has no customer
	RefusedNoShipping    = "no_shipping"             // nowhere to ship: the order has no shipping choice
	RefusedUncommitted   = "pricing_not_committed"   // the pricing changed since the session was made
	RefusedAmount        = "amount_mismatch"         // the authorized amount is not the committed total
	RefusedOtherOrder    = "intent_of_another_order" // the session's PaymentIntent names another order (its metadata edited)
)

// StrayPayment is a card authorization that reached the order but may not
// authorize it (an old session paid in another tab, say). It is recorded on
// the order and canceled at the provider by the cancelStrayPayments step.
type StrayPayment struct {
	IntentID  string
	SessionID string
	Amount    int64 // minor units, as authorized
	Reason    string
	At        time.Time
	// CanceledAt is when the authorization was released (zero: still to
	// do); Outcome says how it ended ("canceled", or why it could not be).
	CanceledAt time.Time
	Outcome    string
}

// Open reports whether the stray authorization still waits to be released.
func (s StrayPayment) Open() bool { return s.CanceledAt.IsZero() }

// SessionOpen reports whether the order has a current payment session that
// may still be paid: one was made and the order has not closed it. A
// session past its expiry counts as open until the provider confirms it
// expired, so that a late payment can never meet an order that moved on.
func (o *Order) SessionOpen() bool {
	return o.Payment != nil && o.Payment.SessionID != "" && !o.Payment.SessionClosed
}

// AuthorizationRefusal says why an authorization of amount through session
// sessionID may not authorize the order, or "" when it may: only the
// order's current, open session authorizes a pending order that has its
// customer and shipping choice, for exactly the total of the pricing
// revision that was committed and that the session was made for.
func (o *Order) AuthorizationRefusal(sessionID string, amount int64) string {
	p := o.Payment
	switch {
	case p == nil || p.SessionID == "" || p.SessionID != sessionID:
		return RefusedNotCurrent
	case p.SessionClosed:
		return RefusedSessionClosed
	case o.state != Pending:
		return RefusedNotPending
	case o.Customer == nil:
		return RefusedNoCustomer
	case o.Shipping == nil:
		return RefusedNoShipping
	case o.Pricing.Revision == 0 || o.Pricing.CommittedRevision != o.Pricing.Revision || p.Revision != o.Pricing.Revision:
		return RefusedUncommitted
	case amount != o.Total().Amount:
		return RefusedAmount
	}
	return ""
}

// AddStray records a stray authorization once (by intent) and wakes the
// order's work so that the trigger releases it. It reports whether it was
// new.
func (o *Order) AddStray(s StrayPayment) bool {
	if o.Payment == nil {
		o.Payment = &Payment{}
	}
	if slices.ContainsFunc(o.Payment.Strays, func(x StrayPayment) bool { return x.IntentID == s.IntentID }) {
		return false
	}
	o.Payment.Strays = append(o.Payment.Strays, s)
	o.Work.Wake++
	return true
}

// OpenStrays returns the stray authorizations still to release.
func (o *Order) OpenStrays() []StrayPayment {
	if o.Payment == nil {
		return nil
	}
	var out []StrayPayment
	for _, s := range o.Payment.Strays {
		if s.Open() {
			out = append(out, s)
		}
	}
	return out
}

// SettleStray records how the stray authorization of intentID ended. It
// reports whether that changed anything.
func (o *Order) SettleStray(intentID, outcome string, at time.Time) bool {
	if o.Payment == nil {
		return false
	}
	for i := range o.Payment.Strays {
		s := &o.Payment.Strays[i]
		if s.IntentID == intentID && s.Open() {
			s.CanceledAt, s.Outcome = at, outcome
			return true
		}
	}
	return false
}

// ErrSessionOpen is what a change to something that would be paid (the
// lines, the customer or code, the shipping choice, a new session) answers
// while the order's current session is open: the session must be expired
// at the provider first (payments.Service.CloseSession), then the change
// tried again. Use errors.Is.
var ErrSessionOpen = apperr.New(apperr.Aborted, "the order's payment session is still open; it is closed first, try again").Because("session_open")

// PaymentStatus is where the order's money stands, as the customer's page
// shows it. The values are stored on the order and documented.
type PaymentStatus string

// The payment statuses.
const (
	PaymentNone              PaymentStatus = "none"               // no payment session open (none yet, or closed for a change)
	PaymentAwaiting          PaymentStatus = "awaiting_payment"   // a payment session is open; the customer may pay it
	PaymentAuthorized        PaymentStatus = "authorized"         // the card is authorized, not charged
	PaymentCaptured          PaymentStatus = "captured"           // the card is charged
	PaymentPartiallyRefunded PaymentStatus = "partially_refunded" // charged, and part of it refunded
	PaymentRefunded          PaymentStatus = "refunded"           // charged, and all of it refunded
	PaymentCanceled          PaymentStatus = "canceled"           // the authorization was released; nothing was charged
)

// PaymentStatuses lists every payment status.
var PaymentStatuses = []PaymentStatus{PaymentNone, PaymentAwaiting, PaymentAuthorized, PaymentCaptured, PaymentPartiallyRefunded, PaymentRefunded, PaymentCanceled}

// PaymentStatus says where the order's money stands: captured (and how
// much of it refunded) once charged; an authorization is canceled when the
// order ended without a charge; before any authorization, whether a
// session is open. Stray authorizations are not the order's payment.
func (o *Order) PaymentStatus() PaymentStatus {
	p := o.Payment
	switch {
	case p == nil:
		return PaymentNone
	case p.AmountCaptured > 0 && p.AmountRefunded >= p.AmountCaptured:
		return PaymentRefunded
	case p.AmountCaptured > 0 && p.AmountRefunded > 0:
		return PaymentPartiallyRefunded
	case p.AmountCaptured > 0:
		return PaymentCaptured
	case p.IntentID != "" && (o.state == Canceled || o.state == Expired):
		return PaymentCanceled
	case p.IntentID != "":
		return PaymentAuthorized
	case o.state == Pending && o.SessionOpen():
		return PaymentAwaiting
	}
	return PaymentNone
}

// MaxCaptureFailures bounds the capture calls that may fail without a
// clear answer in a row before the order needs the owner.
const MaxCaptureFailures = 5

// CaptureKey is the idempotency key of the next capture call:
// capture-<orderId>, then capture-<orderId>-<n> once n calls failed
// without a clear answer (the provider replays a stored 5xx for a key).
func (o *Order) CaptureKey() string {
	if o.Payment == nil || o.Payment.CaptureAttempt == 0 {
		return "capture-" + o.ID
	}
	return fmt.Sprintf("capture-%s-%d", o.ID, o.Payment.CaptureAttempt)
}

// CaptureFailed records that a capture call failed without a clear
// answer (why): the next call uses a new key. The MaxCaptureFailures-th
// such failure in a row moves an approved order to needs_attention, by
// actor; it reports whether it did.
func (o *Order) CaptureFailed(why, actor string, at time.Time) (bool, error) {
	p := o.Payment
	if p == nil || p.AmountCaptured > 0 {
		return false, nil
	}
	p.CaptureAttempt++
	p.CaptureFailures++
	if p.CaptureFailures < MaxCaptureFailures || o.state != Approved {
		return false, nil
	}
	p.CaptureFailures = 0
	_, err := o.Transition(Move{From: []State{Approved}, To: NeedsAttention, Actor: actor,
		Reason: fmt.Sprintf("the payment could not be captured: Stripe failed %d times in a row (%s); retry the order once Stripe answers again", MaxCaptureFailures, why)}, at)
	return err == nil, err
}

// Captured records that the provider captured amount of the order's
// authorization: the capture step's answer, or a re-read that found a
// capture whose answer was lost or is still on its way. An approved order
// (or one that needs the owner after its capture failed) moves to paid; a
// canceled order is refunded everything captured (a refund asked for by
// actor, which the refund steps make), so that its money never stays with
// the store. It reports whether anything changed.
func (o *Order) Captured(amount int64, actor string, at time.Time) (bool, error) {
	p := o.Payment
	if p == nil || amount <= 0 || p.AmountCaptured > 0 {
		return false, nil
	}
	p.AmountCaptured, p.AmountCapturable, p.CaptureFailures = amount, 0, 0
	if o.TaxToRecord() {
		o.Work.Wake++ // the sale's tax is recorded at the provider (recordTax)
	}
	last, _ := o.LastTransition()
	switch {
	case o.state == Approved, o.state == NeedsAttention && last.From == Approved:
		_, err := o.Transition(Move{To: Paid, Actor: actor, Reason: "payment captured"}, at)
		return true, err
	case o.state == Canceled:
		_, err := o.AddRefund(amount, "the order was canceled while its payment was being captured: everything captured is refunded", actor, at)
		return true, err
	}
	o.Note(actor, fmt.Sprintf("payment of %s captured", money.New(amount, o.Currency)), at)
	return true, nil
}

// Disputed records the customer's dispute of the charge as the provider
// reports it. It reports whether the dispute is new to the order and
// whether anything changed.
func (o *Order) Disputed(d Dispute, at time.Time) (isNew, changed bool) {
	if o.Payment == nil {
		return false, false
	}
	cur := o.Payment.Dispute
	switch {
	case cur == nil || cur.ID != d.ID:
		o.Payment.Dispute = &d
		o.Note("stripe", fmt.Sprintf("the charge is disputed (%s, %s): %s", d.Reason, money.New(d.Amount, o.Currency), d.Status), at)
		return true, true
	case cur.Status != d.Status || cur.Amount != d.Amount || cur.Reason != d.Reason:
		d.At = cur.At
		o.Payment.Dispute = &d
		o.Note("stripe", "the dispute is "+d.Status, at)
		return false, true
	}
	return false, false
}
