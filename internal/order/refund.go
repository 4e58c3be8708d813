package order

import (
	"fmt"
	"slices"
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
}

// Key is the refund's idempotency key at the provider and in the books:
// refund-<orderId>-<n>.
func (r Refund) Key(orderID string) string { return fmt.Sprintf("refund-%s-%d", orderID, r.N) }

// PaymentDue reports whether the refund is still to be made at the
// provider.
func (r Refund) PaymentDue() bool { return r.RefundedAt.IsZero() && r.PaymentFailure == "" }

// BooksDue reports whether the refund was made and is still to be
// recorded in the books.
func (r Refund) BooksDue() bool {
	return !r.RefundedAt.IsZero() && r.RecordedAt.IsZero() && r.BooksFailure == ""
}

// RefundsDue reports whether a refund is still to be made or recorded.
func (o *Order) RefundsDue() bool {
	return o.Payment != nil && slices.ContainsFunc(o.Payment.Refunds, func(r Refund) bool { return r.PaymentDue() || r.BooksDue() })
}

// Refundable is what is left to refund: the charge less every refund
// asked for that the provider did not refuse.
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

// RefundedTotal is what the provider refunded: the order's refunds made,
// or what the provider reported refunded on the charge (a refund made in
// its dashboard), whichever is more.
func (o *Order) RefundedTotal() int64 {
	if o.Payment == nil {
		return 0
	}
	var sum int64
	for _, r := range o.Payment.Refunds {
		if !r.RefundedAt.IsZero() {
			sum += r.Amount
		}
	}
	return max(sum, o.Payment.AmountRefunded)
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
	r := Refund{N: len(o.Payment.Refunds) + 1, Amount: amount, Reason: reason, Actor: actor, At: at}
	o.Payment.Refunds = append(o.Payment.Refunds, r)
	o.Note(actor, fmt.Sprintf("refund %d of %s asked for: %s", r.N, money.New(amount, o.Currency), reason), at)
	o.Work.Wake++
	return r, nil
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

// RefundMade records that the provider made refund n (providerID), wakes
// the work that records it in the books, and moves a charged order whose
// refunds now reach the charge to refunded, by actor. It reports whether
// anything changed.
func (o *Order) RefundMade(n int, providerID, actor string, at time.Time) (bool, error) {
	r := o.refund(n)
	if r == nil || !r.RefundedAt.IsZero() {
		return false, nil
	}
	r.ProviderID, r.RefundedAt, r.PaymentFailure = providerID, at, ""
	o.Payment.AmountRefunded = max(o.Payment.AmountRefunded, o.RefundedTotal())
	o.Work.Wake++
	if o.RefundedTotal() >= o.Payment.AmountCaptured && CanMove(o.state, Refunded) {
		_, err := o.Transition(Move{To: Refunded, Actor: actor, Reason: fmt.Sprintf("refunded in full (refund %d, %s)", n, providerID)}, at)
		return err == nil, err
	}
	o.Note(actor, fmt.Sprintf("refund %d of %s made (%s)", n, money.New(r.Amount, o.Currency), providerID), at)
	return true, nil
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
