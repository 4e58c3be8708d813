package checkout

import (
	"context"
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
)

// Redemptions is what the store loaded, in one transaction, for a decision
// about an order's promotion redemptions: the order, its live redemption
// records, and the usage counters of the candidates and of the live
// records' promotions, for the order's mailbox and the live records'
// mailboxes (a missing counter reads 0).
type Redemptions struct {
	Order    *order.Order
	Live     []promotion.Redemption
	Counters promotion.Counters
}

// RedemptionWrite is what a decision tells the store to save in the same
// transaction: the order (as the decision left it) when WriteOrder, and
// the redemption records and counters of Change.
type RedemptionWrite struct {
	WriteOrder bool
	Change     promotion.RedemptionChange
}

// RedemptionStore loads an order with its redemptions and saves what a
// decision returns.
type RedemptionStore interface {
	// UpdateRedemptions loads order orderID, its live redemption records
	// and the counters of candidates (see Redemptions) in a transaction,
	// calls decide, and saves what it returns in the same transaction; it
	// writes nothing when decide fails. It returns the order as decide
	// left it. decide may run more than once (the transaction retried).
	UpdateRedemptions(ctx context.Context, orderID string, candidates []string,
		decide func(*Redemptions) (RedemptionWrite, error)) (*order.Order, error)
}

// PaidStates are the states of an order that got as far as payment: a
// mailbox with one has had its first order.
var PaidStates = []order.State{order.Authorized, order.Invoiced, order.Approved, order.Paid,
	order.Fulfilling, order.Shipped, order.Refunded}

func appliedIDs(o *order.Order) []string {
	ids := make([]string, 0, len(o.Pricing.Promotions))
	for _, a := range o.Pricing.Promotions {
		ids = append(ids, a.ID)
	}
	return ids
}

func mailboxOf(o *order.Order) string {
	if o.Customer == nil {
		return ""
	}
	return o.Customer.MailboxKey
}

// followPricing decides a re-pricing: change (which reports whether it
// changed the order) runs on the order and, when it did, the live records
// of promotions the order no longer applies (or applies for another
// mailbox) are given back, so that a dropped code never keeps a limited
// promotion from the next customer.
func followPricing(l *Redemptions, change func(*order.Order) (bool, error)) (RedemptionWrite, error) {
	changed, err := change(l.Order)
	if err != nil || !changed {
		return RedemptionWrite{}, err
	}
	ch, kept := promotion.Follow(l.Counters, l.Live, appliedIDs(l.Order), mailboxOf(l.Order))
	l.Order.RecordRedeemed(kept)
	return RedemptionWrite{WriteOrder: true, Change: ch}, nil
}

// commitInput is what a commit decides from besides what was loaded.
type commitInput struct {
	Candidates     []string // the promotions whose usage was loaded
	Promotions     []promotion.Promotion
	Paid           bool // the mailbox has an earlier paid order
	PlusAddressing bool
	Now            time.Time
	OnCommit       func(*order.Order) (bool, error) // may be nil
}

// decideCommit decides a commit of the order's redemptions (see
// Customers.CommitRedemptions) with the usage as loaded, the order's own
// live records not counted. An order that applies or holds a promotion
// outside the candidates was re-priced meanwhile: ABORTED. It reports
// whether the order was re-priced instead of committed.
func decideCommit(l *Redemptions, in commitInput) (w RedemptionWrite, repriced bool, err error) {
	o := l.Order
	for _, r := range l.Live {
		if !slices.Contains(in.Candidates, r.PromotionID) {
			return RedemptionWrite{}, false, errRepricedMeanwhile(o.ID)
		}
	}
	for _, id := range appliedIDs(o) {
		if !slices.Contains(in.Candidates, id) {
			return RedemptionWrite{}, false, errRepricedMeanwhile(o.ID)
		}
	}
	if o.Pricing.Revision > 0 && o.Pricing.CommittedRevision == o.Pricing.Revision {
		// Already committed: only what follows the commit may be left.
		if in.OnCommit == nil {
			return RedemptionWrite{}, false, nil
		}
		changed, err := in.OnCommit(o)
		return RedemptionWrite{WriteOrder: changed}, false, err
	}
	if o.Customer == nil {
		return RedemptionWrite{}, false, apperr.New(apperr.FailedPrecondition, "order %s has no customer yet", o.ID).Because("no_customer")
	}
	key := o.Customer.MailboxKey
	usage := l.Counters.Usage(in.Candidates, key, l.Live)
	if d := discounts(o, in.Promotions, usage, !in.Paid, in.PlusAddressing, o.Pricing.Code, in.Now); !d.SamePromotions(o.Pricing) {
		if err := o.Reprice(d); err != nil {
			return RedemptionWrite{}, false, err
		}
		return RedemptionWrite{WriteOrder: true}, true, nil
	}
	o.CommitPricing()
	if in.OnCommit != nil {
		if _, err := in.OnCommit(o); err != nil {
			return RedemptionWrite{}, false, err
		}
	}
	applied := appliedIDs(o)
	o.RecordRedeemed(applied)
	return RedemptionWrite{WriteOrder: true, Change: promotion.Commit(l.Counters, l.Live, applied, key)}, false, nil
}

func errRepricedMeanwhile(orderID string) error {
	return apperr.New(apperr.Aborted, "order %s was re-priced meanwhile; try again", orderID).Because("order_changed")
}

// decideRelease gives back every live redemption record of the order (it
// expired or was canceled) and marks its redemptions released, once: a
// second time finds nothing live and changes nothing. It reports whether
// it released a record.
func decideRelease(l *Redemptions) (RedemptionWrite, bool) {
	o := l.Order
	if len(l.Live) == 0 {
		if o.Pricing.RedemptionsReleased || len(o.Pricing.Redeemed) == 0 {
			return RedemptionWrite{}, false
		}
		o.ReleaseRedemptions()
		return RedemptionWrite{WriteOrder: true}, false
	}
	o.ReleaseRedemptions()
	return RedemptionWrite{WriteOrder: true, Change: promotion.ReleaseAll(l.Counters, l.Live)}, true
}

// releaseRedemptions gives back every live redemption record of order id,
// once (see decideRelease), and reports whether it released one.
func releaseRedemptions(ctx context.Context, store RedemptionStore, id string) (bool, error) {
	var released bool
	_, err := store.UpdateRedemptions(ctx, id, nil, func(l *Redemptions) (RedemptionWrite, error) {
		var w RedemptionWrite
		w, released = decideRelease(l)
		return w, nil
	})
	return released, err
}
