package order

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// Why a refund cannot be made (refundOrder's reasons). Stored nowhere;
// documented.
const (
	ReasonNotCaptured    = "not_captured"     // nothing was charged: cancel the order instead
	ReasonFullyRefunded  = "fully_refunded"   // every cent charged was refunded already
	ReasonAmountInvalid  = "amount_invalid"   // the amount is not a positive number of minor units
	ReasonAmountTooLarge = "amount_too_large" // the amount exceeds what is left to refund (details.refundable)
	ReasonTooManyRefunds = "too_many_refunds" // an order takes at most MaxRefunds refunds
)

// MaxRefunds bounds an order's refunds (the document stays small).
const MaxRefunds = 20

// Refund is money given back after the charge, asked for by the owner. It
// is made at the payment provider (its idempotency key is derived from the
// order and N) and then recorded in the books, each by its own step; each
// outcome is written here.
type Refund struct {
	N      int   // 1, 2, …: its number within the order
	Amount int64 // minor units of the order's currency
	Reason string
	Actor  string
	At     time.Time
	// ProviderID is the provider's refund (Stripe's re_…), and RefundedAt
	// when it was made; zero while it is still to make.
	ProviderID string
	RefundedAt time.Time
	// ReceiptID is the books' record of it (a QuickBooks RefundReceipt),
	// and RecordedAt when it was recorded; zero while it is still to record.
	ReceiptID  string
	RecordedAt time.Time
	// PaymentFailure and BooksFailure say why the provider or the books
	// refused it for good (the owner was told); "" while it is still tried.
	PaymentFailure string
	BooksFailure   string
	// Outside marks a refund made outside the store (in Stripe's
	// dashboard) and found by re-reading the charge's refunds: there is
	// nothing to make, only to record.
	Outside bool
	// Status is the provider's word for the refund (pending, succeeded,
	// failed, canceled); "" until it answered. Only a succeeded refund
	// gave money back (RefundedAt).
	Status string
	// Attempt counts the calls to make it that failed without a clear
	// answer (a 5xx, a timeout): the provider replays such an answer for
	// the same key, so each later call uses a new one (PaymentKey).
	Attempt int
	// TaxDue says the refund's share of the order's tax is still to
	// settle (the order was charged tax): once made, its tax is worked out
	// (Order.RefundTaxShare) or reversed at the tax provider, and only
	// then recorded in the books. Tax is that share, and TaxReversalID
	// the provider's reversal ("" for the rate table).
	TaxDue        bool
	Tax           int64
	TaxReversalID string
	// TaxAttempt counts the calls to give back its tax that the provider
	// answered with a failure it stores for the key (TaxKey); TaxFailure
	// says why the provider refused the reversal for good (the owner was
	// told, and Tax is the order's proportion).
	TaxAttempt int
	TaxFailure string
}

// Key is the refund's key in the books (QuickBooks' requestid) and its
// first idempotency key at the provider: refund-<orderId>-<n>.
func (r Refund) Key(orderID string) string { return fmt.Sprintf("refund-%s-%d", orderID, r.N) }

// PaymentKey is the idempotency key of the next call that makes the
// refund at the provider: Key, then Key-<k> once k calls failed without a
// clear answer (the provider replays a stored 5xx for a key).
func (r Refund) PaymentKey(orderID string) string {
	if r.Attempt == 0 {
		return r.Key(orderID)
	}
	return fmt.Sprintf("%s-%d", r.Key(orderID), r.Attempt)
}

// MaxRefundAttempts bounds the calls to make a refund that may fail
// without a clear answer before it is given up (and the owner told).
const MaxRefundAttempts = 5

// PaymentDue reports whether the refund is still to be made at the
// provider: asked for, not answered, not refused.
func (r Refund) PaymentDue() bool { return r.ProviderID == "" && r.PaymentFailure == "" && !r.Outside }

// Pending reports whether the provider took the refund but has not said
// it succeeded: it is re-read until it does (or fails).
func (r Refund) Pending() bool {
	return r.ProviderID != "" && r.RefundedAt.IsZero() && r.PaymentFailure == ""
}

// Made reports whether the refund gave money back: the provider said it
// succeeded, and nothing since said it failed.
func (r Refund) Made() bool { return !r.RefundedAt.IsZero() && r.PaymentFailure == "" }

// BooksDue reports whether the refund was made, its tax settled, and is
// still to be recorded in the books.
func (r Refund) BooksDue() bool {
	return r.Made() && !r.TaxDue && r.RecordedAt.IsZero() && r.BooksFailure == ""
}

// RefundsDue reports whether a refund is still to be made, re-read, its
// tax settled or recorded.
func (o *Order) RefundsDue() bool {
	return o.Payment != nil && slices.ContainsFunc(o.Payment.Refunds, func(r Refund) bool {
		return r.PaymentDue() || r.Pending() || r.Made() && r.TaxDue || r.BooksDue()
	})
}

// Refundable is what is left to refund: the charge less every refund
// (the order's and those made outside) that the provider did not refuse
// and that did not fail.
func (o *Order) Refundable() int64 {
	if o.Payment == nil {
		return 0
	}
	left := o.Payment.AmountCaptured
	for _, r := range o.Payment.Refunds {
		if r.PaymentFailure == "" {
			left -= r.Amount
		}
	}
	return max(left, 0)
}

// RefundedTotal is what the provider refunded: the refunds made, the
// order's own and those made outside.
func (o *Order) RefundedTotal() int64 {
	if o.Payment == nil {
		return 0
	}
	var sum int64
	for _, r := range o.Payment.Refunds {
		if r.Made() {
			sum += r.Amount
		}
	}
	return sum
}

// AddRefund asks for a refund of amount (0: all that is left) with the
// owner's reason, and wakes the order's work so that the refund steps make
// and record it. The order must have been charged and have that much left
// to refund.
func (o *Order) AddRefund(amount int64, reason, actor string, at time.Time) (Refund, error) {
	if o.Payment == nil || o.Payment.AmountCaptured == 0 {
		return Refund{}, apperr.New(apperr.FailedPrecondition, "order %s was not charged (%s): cancel it instead", o.ID, o.state).
			Because(ReasonNotCaptured).WithDetails(map[string]string{"state": string(o.state)})
	}
	left := o.Refundable()
	switch {
	case amount < 0:
		return Refund{}, apperr.New(apperr.Invalid, "amount must be a positive number of minor units (cents), or absent for all that is left").
			Because(ReasonAmountInvalid).On("amount")
	case left == 0:
		return Refund{}, apperr.New(apperr.FailedPrecondition, "order %s is refunded in full already", o.ID).Because(ReasonFullyRefunded)
	case amount > left:
		return Refund{}, apperr.New(apperr.Invalid, "amount %d exceeds the %d left to refund", amount, left).
			Because(ReasonAmountTooLarge).On("amount").WithDetails(map[string]int64{"refundable": left})
	case len(o.Payment.Refunds) >= MaxRefunds:
		return Refund{}, apperr.New(apperr.FailedPrecondition, "order %s has %d refunds, the most one order takes", o.ID, MaxRefunds).
			Because(ReasonTooManyRefunds)
	}
	if amount == 0 {
		amount = left
	}
	r := Refund{N: len(o.Payment.Refunds) + 1, Amount: amount, Reason: reason, Actor: actor, At: at, TaxDue: o.taxed()}
	o.Payment.Refunds = append(o.Payment.Refunds, r)
	o.Note(actor, fmt.Sprintf("refund %d of %s asked for: %s", r.N, money.New(amount, o.Currency), reason), at)
	o.Work.Wake++
	return r, nil
}

// RefundOf returns a copy of the order's refund number n.
func (o *Order) RefundOf(n int) (Refund, bool) {
	if r := o.refund(n); r != nil {
		return *r, true
	}
	return Refund{}, false
}

// refund returns the order's refund number n, or nil.
func (o *Order) refund(n int) *Refund {
	if o.Payment == nil {
		return nil
	}
	i := slices.IndexFunc(o.Payment.Refunds, func(r Refund) bool { return r.N == n })
	if i < 0 {
		return nil
	}
	return &o.Payment.Refunds[i]
}

// RefundMade records that the provider made refund n (providerID) and
// said it succeeded, wakes the work that records it in the books, and
// moves a charged order whose refunds now reach the charge to refunded, by
// actor. It reports whether anything changed.
func (o *Order) RefundMade(n int, providerID, actor string, at time.Time) (bool, error) {
	r := o.refund(n)
	if r == nil || r.Made() {
		return false, nil
	}
	r.ProviderID, r.RefundedAt, r.PaymentFailure, r.Status = providerID, at, "", "succeeded"
	o.Work.Wake++
	return true, o.refundsChanged(actor, fmt.Sprintf("refund %d of %s made (%s)", n, money.New(r.Amount, o.Currency), providerID), at)
}

// refundsChanged keeps the refunded amount, and the state, in step with
// the refunds made: a charged order whose refunds reach the charge
// becomes refunded; otherwise note is recorded in the history.
func (o *Order) refundsChanged(actor, note string, at time.Time) error {
	o.Payment.AmountRefunded = o.RefundedTotal()
	if o.Payment.AmountRefunded >= o.Payment.AmountCaptured && o.Payment.AmountCaptured > 0 && CanMove(o.state, Refunded) {
		_, err := o.Transition(Move{To: Refunded, Actor: actor, Reason: "refunded in full (" + note + ")"}, at)
		return err
	}
	if note != "" {
		o.Note(actor, note, at)
	}
	return nil
}

// RefundPending records that the provider took refund n (providerID) but
// has not said it succeeded. It reports whether that changed anything.
func (o *Order) RefundPending(n int, providerID string) bool {
	r := o.refund(n)
	if r == nil || r.Made() || r.PaymentFailure != "" || r.ProviderID == providerID && r.Status == "pending" {
		return false // settled meanwhile (a re-read overtook the call's answer)
	}
	r.ProviderID, r.Status = providerID, "pending"
	return true
}

// RefundAnswered records the provider's refund of refund n and its
// status, without counting it made. It reports whether that changed
// anything.
func (o *Order) RefundAnswered(n int, providerID, status string) bool {
	r := o.refund(n)
	if r == nil || r.ProviderID == providerID && r.Status == status {
		return false
	}
	r.ProviderID, r.Status = providerID, status
	return true
}

// RefundAttemptFailed records that the provider answered a call to make
// refund n with a failure it stores for the call's key (a 5xx): the next
// call uses a new key. It reports whether that changed anything.
func (o *Order) RefundAttemptFailed(n int) bool {
	r := o.refund(n)
	if r == nil || !r.PaymentDue() {
		return false
	}
	r.Attempt++
	return true
}

// GiveUpRefund gives refund n up (PaymentFailure: why) once
// MaxRefundAttempts calls failed and the provider's refunds, re-read after
// them, hold none of it. It reports whether it did.
func (o *Order) GiveUpRefund(n int, why string) bool {
	r := o.refund(n)
	if r == nil || !r.PaymentDue() || r.Attempt < MaxRefundAttempts {
		return false
	}
	r.PaymentFailure = why
	return true
}

// ProviderRefund is a refund of the order's charge as the provider lists
// it: its id, amount, status, and the order and refund number its
// metadata names (0 for a refund made outside the store).
type ProviderRefund struct {
	ID      string
	Amount  int64
	Status  string // pending, succeeded, failed, canceled, requires_action
	OrderID string
	N       int
}

// RefundSync is what SyncRefunds changed that the owner must hear of.
type RefundSync struct {
	Changed bool
	// Outside are refunds made outside the store, newly recorded.
	Outside []Refund
	// Failed are refunds the provider now says failed or were canceled:
	// nothing (more) was given back.
	Failed []Refund
}

// SyncRefunds brings the order's refunds in step with the provider's
// refunds of its charge (found, as the provider lists them): the order's
// own refunds (by provider id, or by the order and number in their
// metadata when an answer was lost) take the provider's status; a refund
// the order does not know was made outside the store and is recorded as
// such (its books record follows). Only a succeeded refund counts as made;
// a pending one waits; a failed or canceled one is not counted. The order
// becomes refunded when the refunds made reach the charge. By actor, at
// at.
func (o *Order) SyncRefunds(found []ProviderRefund, actor string, at time.Time) (RefundSync, error) {
	var out RefundSync
	p := o.Payment
	if p == nil || p.AmountCaptured == 0 {
		return out, nil
	}
	var notes []string
	for _, pr := range found {
		r := o.refundOf(pr)
		failed := pr.Status == "failed" || pr.Status == "canceled"
		switch {
		case r == nil && !failed:
			nr := Refund{N: len(p.Refunds) + 1, Amount: pr.Amount, Reason: "refunded outside the store (Stripe's dashboard)", Actor: actor, At: at,
				Outside: true, ProviderID: pr.ID, Status: pr.Status, TaxDue: o.taxed()}
			if pr.Status == "succeeded" {
				nr.RefundedAt = at
			}
			p.Refunds = append(p.Refunds, nr)
			out.Outside = append(out.Outside, nr)
			notes = append(notes, fmt.Sprintf("refund %d of %s made outside the store (%s, %s)", nr.N, money.New(nr.Amount, o.Currency), pr.ID, pr.Status))
		case r == nil:
		case failed && r.Status != pr.Status:
			r.ProviderID, r.Status, r.RefundedAt = pr.ID, pr.Status, time.Time{}
			r.PaymentFailure = fmt.Sprintf("Stripe's refund %s %s: nothing was given back", pr.ID, map[bool]string{true: "failed", false: "was canceled"}[pr.Status == "failed"])
			out.Failed = append(out.Failed, *r)
			notes = append(notes, fmt.Sprintf("refund %d of %s %s at Stripe", r.N, money.New(r.Amount, o.Currency), pr.Status))
		case pr.Status == "succeeded" && !r.Made():
			r.ProviderID, r.Status, r.RefundedAt, r.PaymentFailure = pr.ID, pr.Status, at, ""
			notes = append(notes, fmt.Sprintf("refund %d of %s made (%s)", r.N, money.New(r.Amount, o.Currency), pr.ID))
		case !failed && pr.Status != "succeeded" && (r.ProviderID != pr.ID || r.Status != pr.Status):
			r.ProviderID, r.Status = pr.ID, pr.Status
		default:
			continue
		}
		out.Changed = true
	}
	if !out.Changed {
		return out, nil
	}
	notes = append(notes, o.fitDueRefunds()...)
	o.Work.Wake++
	return out, o.refundsChanged(actor, strings.Join(notes, "; "), at)
}

// refundOf finds the order's refund that the provider's refund is: by its
// id, or by the order and number of its metadata (a refund whose answer
// was lost).
func (o *Order) refundOf(pr ProviderRefund) *Refund {
	for i := range o.Payment.Refunds {
		if o.Payment.Refunds[i].ProviderID == pr.ID {
			return &o.Payment.Refunds[i]
		}
	}
	if pr.OrderID != o.ID {
		return nil // a refund made outside the store carries none of our metadata
	}
	if pr.N == 0 {
		// The store's, made before refunds carried their number: the
		// first of the order's own still unanswered of that amount.
		for i := range o.Payment.Refunds {
			if r := &o.Payment.Refunds[i]; r.ProviderID == "" && r.Amount == pr.Amount && !r.Outside {
				return r
			}
		}
		return nil
	}
	if r := o.refund(pr.N); r != nil && r.ProviderID == "" && r.Amount == pr.Amount && !r.Outside {
		return r
	}
	return nil
}

// fitDueRefunds shrinks the refunds still to make so that, with every
// refund that counts, they do not exceed the charge: a refund made
// outside the store meanwhile took part of what was left. A refund left
// with nothing is ended (PaymentFailure). It returns what it changed, for
// the history.
func (o *Order) fitDueRefunds() []string {
	over := -o.Payment.AmountCaptured
	for _, r := range o.Payment.Refunds {
		if r.PaymentFailure == "" {
			over += r.Amount
		}
	}
	var notes []string
	for i := len(o.Payment.Refunds) - 1; i >= 0 && over > 0; i-- {
		r := &o.Payment.Refunds[i]
		if !r.PaymentDue() {
			continue
		}
		cut := min(over, r.Amount)
		over -= cut
		if r.Amount -= cut; r.Amount == 0 {
			r.Amount = cut
			r.PaymentFailure = "nothing was left to refund: refunds made outside the store took it"
			notes = append(notes, fmt.Sprintf("refund %d not made: refunds made outside the store took what was left", r.N))
			continue
		}
		notes = append(notes, fmt.Sprintf("refund %d lowered to %s: refunds made outside the store took the rest", r.N, money.New(r.Amount, o.Currency)))
	}
	return notes
}

// RefundRecorded records that the books recorded refund n as receiptID. It
// reports whether that changed anything.
func (o *Order) RefundRecorded(n int, receiptID string, at time.Time) bool {
	r := o.refund(n)
	if r == nil || !r.RecordedAt.IsZero() {
		return false
	}
	r.ReceiptID, r.RecordedAt, r.BooksFailure = receiptID, at, ""
	return true
}

// RefundFailed records why the provider (atPayment) or the books refused
// refund n for good. It reports whether that changed anything.
func (o *Order) RefundFailed(n int, atPayment bool, why string) bool {
	r := o.refund(n)
	if r == nil {
		return false
	}
	f := &r.BooksFailure
	if atPayment {
		f = &r.PaymentFailure
	}
	if *f == why {
		return false
	}
	*f = why
	return true
}
