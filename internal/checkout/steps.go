package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/orderflow"
)

// HoldStore keeps the stock held for orders.
type HoldStore interface {
	// ReleaseHolds gives an order's held stock back, once.
	ReleaseHolds(ctx context.Context, id string, now time.Time) (bool, error)
	// CommitStock takes a shipped order's held units out of stock, once.
	CommitStock(ctx context.Context, id string, now time.Time) (bool, error)
	// Lapsed lists up to limit pending orders whose holds lapsed before now.
	Lapsed(ctx context.Context, now time.Time, limit int) ([]string, error)
	// ExpireIfLapsed moves a pending order whose holds lapsed (and whose
	// payment session is not open) to expired and releases its holds.
	ExpireIfLapsed(ctx context.Context, id string, now time.Time) (bool, error)
}

// RedemptionStore gives an order's promotion redemptions back.
type RedemptionStore interface {
	// Release gives back every live redemption record of the order, once.
	Release(ctx context.Context, orderID string, now time.Time) (bool, error)
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
			_, err := s.Holds.ReleaseHolds(ctx, t.Order.ID, s.Now())
			return err
		},
		orderflow.StepReleaseRedemptions: func(ctx context.Context, t orderflow.Transition) error {
			_, err := s.Redemptions.Release(ctx, t.Order.ID, s.Now())
			return err
		},
		orderflow.StepCommitStock: func(ctx context.Context, t orderflow.Transition) error {
			_, err := s.Holds.CommitStock(ctx, t.Order.ID, s.Now())
			return err
		},
	}
}

// Tasks returns the sweeper tasks by name.
func (s *Steps) Tasks() map[string]func(ctx context.Context, now time.Time) (string, error) {
	return map[string]func(context.Context, time.Time) (string, error){"expireHolds": s.expireHolds}
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
		expired, err := s.Holds.ExpireIfLapsed(ctx, id, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", id, err))
		}
		if expired {
			n++
		}
	}
	return fmt.Sprintf("expired %d of %d lapsed orders", n, len(ids)), errors.Join(errs...)
}
