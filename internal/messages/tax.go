package messages

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/order"
)

// TaxOrders finds the orders whose money moved in a window, from which
// the sales tax it collected is worked out (TaxCollectedIn). The store
// answers at least the orders asked for; TaxCollectedIn checks every
// order and refund against the window itself, so an order answered too
// many counts for nothing.
type TaxOrders interface {
	// ChargedBetween lists up to limit orders charged (that entered paid)
	// at or after from and before to.
	ChargedBetween(ctx context.Context, from, to time.Time, limit int) ([]*order.Order, error)
	// RefundedSince lists up to limit orders with a refund made (the
	// provider said it succeeded) at or after from.
	RefundedSince(ctx context.Context, from time.Time, limit int) ([]*order.Order, error)
}

// TaxCollected is the sales tax a window [From, To) collected, in minor
// units of Currency (the store's: checkout prices every order in it):
//
//   - Charged is the tax of the orders charged in the window: each
//     order's tax (order.TaxAmount) counts at the moment it entered paid,
//     when its card was charged; Orders is how many orders were charged.
//   - Refunded is the tax given back by the refunds made in the window
//     (Refund.RefundedAt) of orders that were charged: each refund's
//     settled share (Refund.Tax); Refunds is how many gave tax back.
//     Unsettled counts the refunds made in the window whose share is still
//     to settle (Refund.TaxDue): they are not in Refunded, and are shown
//     as such.
//
// An order whose capture was found only after it was canceled never
// entered paid: its charge and its refund of everything cancel out, so
// neither counts. Partial says the store answered as many orders as one
// read takes: the figures count those only.
type TaxCollected struct {
	From, To  time.Time
	Currency  string
	Charged   int64
	Orders    int
	Refunded  int64
	Refunds   int
	Unsettled int
	Partial   bool
}

// Net is the tax collected: what the charges collected less what the
// refunds gave back.
func (t TaxCollected) Net() int64 { return t.Charged - t.Refunded }

// TaxReadLimit bounds the orders one read of a window's tax takes, of
// each kind (a small store's day is far below it).
const TaxReadLimit = 500

// ReadTaxCollected reads the orders whose money moved in [from, to) and
// answers the tax they collected (TaxCollectedIn).
func ReadTaxCollected(ctx context.Context, r TaxOrders, from, to time.Time) (TaxCollected, error) {
	var (
		charged, refunded []*order.Order
		errs              [2]error
		wg                sync.WaitGroup
	)
	wg.Add(2)
	go func() { defer wg.Done(); charged, errs[0] = r.ChargedBetween(ctx, from, to, TaxReadLimit) }()
	go func() { defer wg.Done(); refunded, errs[1] = r.RefundedSince(ctx, from, TaxReadLimit) }()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return TaxCollected{}, err
	}
	t := TaxCollectedIn(charged, refunded, from, to)
	t.Partial = len(charged) >= TaxReadLimit || len(refunded) >= TaxReadLimit
	return t, nil
}

// TaxCollectedIn is the tax collected in [from, to) (TaxCollected) by
// the orders charged and the orders refunded given: each order counts
// once however often it is given, and only for what happened in the
// window. The currency is the orders' ("USD" when there are none).
func TaxCollectedIn(charged, refunded []*order.Order, from, to time.Time) TaxCollected {
	t := TaxCollected{From: from, To: to, Currency: "USD"}
	in := func(at time.Time) bool { return !at.IsZero() && !at.Before(from) && at.Before(to) }
	seen := map[string]bool{}
	for _, o := range charged {
		if seen[o.ID] || !in(chargedAt(o)) {
			continue
		}
		seen[o.ID] = true
		t.Currency = o.Currency
		t.Charged += o.TaxAmount().Amount
		t.Orders++
	}
	seen = map[string]bool{}
	for _, o := range refunded {
		if seen[o.ID] || o.Payment == nil || chargedAt(o).IsZero() {
			continue
		}
		seen[o.ID] = true
		for _, r := range o.Payment.Refunds {
			switch {
			case !r.Made() || !in(r.RefundedAt):
			case r.TaxDue:
				t.Unsettled++
			case r.Tax > 0:
				t.Currency = o.Currency
				t.Refunded += r.Tax
				t.Refunds++
			}
		}
	}
	return t
}

// chargedAt is when o was charged: its first entry into paid (zero if it
// never entered it).
func chargedAt(o *order.Order) time.Time {
	for _, c := range o.History() {
		if c.To == order.Paid && c.From != order.Paid {
			return c.At
		}
	}
	return time.Time{}
}
