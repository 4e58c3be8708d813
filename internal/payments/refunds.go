package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
)

// refundPayment makes the order's refunds still to make at the provider,
// oldest first, each with the key refund-<orderId>-<n> (so a retried or
// re-driven step, or a crash after the provider answered, makes each
// refund once), and records each on the order: made (the order becomes
// refunded when its refunds reach the charge), or refused for good (the
// provider's words, and one owner alert). The provider down is retried.
func (s *Service) refundPayment(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if o.Payment == nil || o.Payment.IntentID == "" {
		return nil
	}
	var errs []error
	for _, r := range o.Payment.Refunds {
		if !r.PaymentDue() {
			continue
		}
		re, err := s.Intents.Refund(ctx, RefundRequest{IntentID: o.Payment.IntentID, Amount: r.Amount, OrderID: o.ID, Reason: r.Reason,
			IdempotencyKey: r.Key(o.ID)})
		if err == nil && (re.Status == RefundFailed || re.Status == RefundCanceled) {
			err = apperr.New(apperr.FailedPrecondition, "Stripe's refund %s is %s", re.ID, re.Status)
		}
		switch {
		case apperr.Transient(err):
			errs = append(errs, fmt.Errorf("refund %d: %w", r.N, err))
		case err != nil:
			errs = append(errs, s.refundRefused(ctx, o, r, err))
		default:
			if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
				return cur.RefundMade(r.N, re.ID, "trigger", s.Now().UTC())
			}); err != nil {
				errs = append(errs, fmt.Errorf("record refund %d: %w", r.N, err))
				continue
			}
			logging.FromContext(ctx).Info().Int("refund", r.N).Int64("amount", r.Amount).Str("stripeRefund", re.ID).Msg("refund made")
		}
	}
	return errors.Join(errs...)
}

// refundRefused records that the provider refused refund r for good and
// tells the owner once.
func (s *Service) refundRefused(ctx context.Context, o *order.Order, r order.Refund, cause error) error {
	why := cause.Error()
	if e := apperr.As(cause); e != nil {
		why = e.Message
	}
	logging.FromContext(ctx).Error().Err(cause).Int("refund", r.N).Msg("the refund was refused")
	if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		return cur.RefundFailed(r.N, true, why), nil
	}); err != nil {
		return err
	}
	_, err := s.Alerts.Raise(ctx, alert.Alert{Key: r.Key(o.ID) + "-payment", Kind: alert.RefundFailed, OrderID: o.ID,
		Subject: fmt.Sprintf("Order %s: the refund of %s was refused", o.ID, money.New(r.Amount, o.Currency).Display()),
		Text: fmt.Sprintf("Refund %d of order %s (%s, \"%s\") could not be made: %s\n"+
			"Nothing was given back. Refund it in the Stripe dashboard if it should be, or ask for a smaller amount.",
			r.N, o.ID, money.New(r.Amount, o.Currency).Display(), r.Reason, why)})
	return err
}
