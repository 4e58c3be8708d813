package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/sweep"
)

// HoldStore keeps the stock held for orders.
type HoldStore interface {
	// Holds runs fn on the order and the stock levels of its holds in one
	// transaction, writing the order and next when fn says so.
	// reason is the stock ledger's (inventory.Move…) for the levels fn returns.
	Holds(ctx context.Context, id, reason string, fn func(o *order.Order, levels map[string]inventory.Level) (write bool, next map[string]inventory.Level, err error)) (bool, error)
	// Lapsed lists up to limit pending orders whose holds lapsed before now.
	Lapsed(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// Steps are the checkout's order-flow steps and sweeper tasks: the stock
// and the redemptions an order holds.
type Steps struct {
	Holds       HoldStore
	Redemptions RedemptionStore
	Sessions    SessionCloser
	Now         func() time.Time
}

// Steps returns the order-flow steps by name.
func (s *Steps) Steps() map[string]orderflow.StepFunc {
	return map[string]orderflow.StepFunc{
		orderflow.StepReleaseHolds: func(ctx context.Context, t orderflow.Transition) error {
			_, err := s.ReleaseHolds(ctx, t.Order.ID)
			return err
		},
		orderflow.StepReleaseRedemptions: func(ctx context.Context, t orderflow.Transition) error {
			_, err := s.ReleaseRedemptions(ctx, t.Order.ID)
			return err
		},
		orderflow.StepCommitStock: func(ctx context.Context, t orderflow.Transition) error {
			_, err := s.CommitStock(ctx, t.Order.ID)
			return err
		},
		orderflow.StepSettleStock: s.settleStock,
	}
}

// ReleaseRedemptions gives back every live redemption record of order id
// (it expired or was canceled), once, and reports whether it released
// one.
func (s *Steps) ReleaseRedemptions(ctx context.Context, id string) (bool, error) {
	return releaseRedemptions(ctx, s.Redemptions, id)
}

// settleStock settles a refunded order's holds: the held units left stock
// if its parcel shipped (the refund did not bring them back; the owner
// adjusts the stock for a return), otherwise they go back to be sold.
// Either happens once (commit and release each do nothing after the other).
func (s *Steps) settleStock(ctx context.Context, t orderflow.Transition) error {
	if p := t.Order.Part(order.PartParcel); p != nil && p.Shipped() {
		_, err := s.CommitStock(ctx, t.Order.ID)
		return err
	}
	_, err := s.ReleaseHolds(ctx, t.Order.ID)
	return err
}

// Tasks returns the sweeper tasks by name.
func (s *Steps) Tasks() map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"expireHolds": s.expireHolds}
}

// expireBatch bounds one sweep's expiries; the next sweep takes the rest.
const expireBatch = 100

// expireHolds moves pending orders whose holds lapsed to expired and gives
// their stock back. An order's open payment session is expired at the
// provider first, so that nobody pays an order that expired; one the
// customer paid just before is left for its payment to authorize.
func (s *Steps) expireHolds(ctx context.Context, now time.Time) (string, error) {
	ids, err := s.Holds.Lapsed(ctx, now, expireBatch)
	if err != nil {
		return "", err
	}
	n := 0
	var errs []error
	for _, id := range ids {
		if err := s.Sessions.CloseSession(ctx, id); err != nil {
			if apperr.CodeOf(err) != apperr.FailedPrecondition {
				errs = append(errs, fmt.Errorf("order %s: %w", id, err))
			}
			continue
		}
		expired, err := s.ExpireIfLapsed(ctx, id, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", id, err))
		}
		if expired {
			n++
		}
	}
	return fmt.Sprintf("expired %d of %d lapsed orders", n, len(ids)), errors.Join(errs...)
}

// ReleaseHolds gives an order's held stock back, once: a second call (or a
// call for an order that shipped) changes nothing. It reports whether it
// released anything.
func (s *Steps) ReleaseHolds(ctx context.Context, id string) (bool, error) {
	return s.Holds.Holds(ctx, id, inventory.MoveRelease, func(o *order.Order, levels map[string]inventory.Level) (bool, map[string]inventory.Level, error) {
		if o.HoldsReleased || o.StockCommitted || len(o.Holds) == 0 {
			return false, nil, nil
		}
		o.HoldsReleased = true
		return true, inventory.Release(levels, o.HoldQuantities()), nil
	})
}

// ExpireIfLapsed moves a pending order whose holds lapsed before now to
// expired and releases its holds, in one transaction. An order that was
// checked out again (new expiry), paid for, already expired, or whose
// payment session is still open (it must be closed at the provider first)
// is left alone. It reports whether it expired the order.
func (s *Steps) ExpireIfLapsed(ctx context.Context, id string, now time.Time) (bool, error) {
	return s.Holds.Holds(ctx, id, inventory.MoveRelease, func(o *order.Order, levels map[string]inventory.Level) (bool, map[string]inventory.Level, error) {
		if o.State() != order.Pending || o.HoldExpiresAt.IsZero() || o.HoldExpiresAt.After(now) || o.SessionOpen() {
			return false, nil, nil
		}
		if _, err := o.Transition(order.Move{From: []order.State{order.Pending}, To: order.Expired, Actor: "sweeper",
			Reason: "holds expired before payment"}, now.UTC()); err != nil {
			return false, nil, err
		}
		var next map[string]inventory.Level
		if !o.HoldsReleased {
			next = inventory.Release(levels, o.HoldQuantities())
			o.HoldsReleased = true
		}
		return true, next, nil
	})
}

// CommitStock takes a shipped order's held units out of stock (on hand and
// held), once.
func (s *Steps) CommitStock(ctx context.Context, id string) (bool, error) {
	return s.Holds.Holds(ctx, id, inventory.MoveShip, func(o *order.Order, levels map[string]inventory.Level) (bool, map[string]inventory.Level, error) {
		if o.StockCommitted || o.HoldsReleased || len(o.Holds) == 0 {
			return false, nil, nil
		}
		o.StockCommitted = true
		return true, inventory.Commit(levels, o.HoldQuantities()), nil
	})
}
