package payments

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
)

// refundPayment makes the order's refunds still to make at the provider,
// oldest first, each under its key (refund-<orderId>-<n>, so a retried or
// re-driven step, or a crash after the provider answered, makes each
// refund once), with the order and the refund's number in its metadata,
// and records the provider's answer on the order: succeeded (made; the
// order becomes refunded when its refunds reach the charge), pending
// (re-read until it settles), or refused for good (the provider's words,
// and one owner alert). The provider down is retried.
//
// Before any call the charge's refunds are re-read (SyncRefunds): a refund
// a lost answer made is found by its metadata, a pending one settles, and
// one made in the dashboard meanwhile is counted (what is still to make
// is lowered to what is left). Stripe stores a 5xx for the call's key and
// replays it, so such an answer is recorded on the refund and the next
// call uses a new key; no answer at all keeps the key (Stripe replays
// what it did). After order.MaxRefundAttempts answered failures, with the
// refunds re-read and none of it there, the refund is given up, with one
// owner alert; the owner may ask again.
func (s *Service) refundPayment(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if o.Payment == nil || o.Payment.IntentID == "" ||
		!slices.ContainsFunc(o.Payment.Refunds, func(r order.Refund) bool { return r.Pending() || r.PaymentDue() }) {
		return nil
	}
	o, err := s.SyncRefunds(ctx, o.ID)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range o.Payment.Refunds {
		if !r.PaymentDue() {
			continue
		}
		if r.Attempt >= order.MaxRefundAttempts {
			errs = append(errs, s.giveUpRefund(ctx, o, r))
			continue
		}
		re, err := s.Intents.Refund(ctx, RefundRequest{IntentID: o.Payment.IntentID, Amount: r.Amount, OrderID: o.ID, N: r.N, Reason: r.Reason,
			IdempotencyKey: r.PaymentKey(o.ID)})
		if err == nil && (re.Status == RefundFailed || re.Status == RefundCanceled) {
			err = apperr.New(apperr.FailedPrecondition, "Stripe's refund %s is %s", re.ID, re.Status)
		}
		switch {
		case errors.Is(err, ErrFailureStored):
			if _, _, uerr := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
				rf, ok := cur.RefundOf(r.N)
				return ok && rf.Attempt == r.Attempt && cur.RefundAttemptFailed(r.N), nil // another run may have recorded it
			}); uerr != nil {
				err = errors.Join(err, uerr)
			}
			errs = append(errs, fmt.Errorf("refund %d: %w", r.N, err))
		case apperr.Transient(err):
			errs = append(errs, fmt.Errorf("refund %d: %w", r.N, err))
		case err != nil:
			errs = append(errs, s.refundRefused(ctx, o, r, re, err))
		case re.Status == RefundSucceeded:
			if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
				return cur.RefundMade(r.N, re.ID, "trigger", s.Now().UTC())
			}); err != nil {
				errs = append(errs, fmt.Errorf("record refund %d: %w", r.N, err))
				continue
			}
			logging.FromContext(ctx).Info().Int("refund", r.N).Int64("amount", r.Amount).Str("stripeRefund", re.ID).Msg("refund made")
		default: // pending, requires_action: re-read until it settles
			if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
				return cur.RefundPending(r.N, re.ID), nil
			}); err != nil {
				errs = append(errs, fmt.Errorf("record refund %d: %w", r.N, err))
			}
		}
	}
	return errors.Join(errs...)
}

// giveUpRefund gives refund r up — its calls failed
// order.MaxRefundAttempts times and the charge's refunds, just re-read,
// hold none of it — with one owner alert.
func (s *Service) giveUpRefund(ctx context.Context, o *order.Order, r order.Refund) error {
	why := fmt.Sprintf("Stripe answered %d calls to make it with a failure, and its refunds of the charge, re-read after, hold none of it", r.Attempt)
	if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		return cur.GiveUpRefund(r.N, why), nil
	}); err != nil {
		return err
	}
	logging.FromContext(ctx).Error().Int("refund", r.N).Msg("the refund kept failing: given up")
	_, err := s.Alerts.Raise(ctx, alert.Alert{Key: r.Key(o.ID) + "-payment", Kind: alert.RefundFailed, OrderID: o.ID,
		Subject: fmt.Sprintf("Order %s: the refund of %s could not be made", o.ID, money.New(r.Amount, o.Currency).Display()),
		Text: fmt.Sprintf("Refund %d of order %s (%s, \"%s\") could not be made: %s.\n"+
			"Nothing was given back. Ask for the refund again once Stripe answers, or refund it in the Stripe dashboard (the store then records that refund too).",
			r.N, o.ID, money.New(r.Amount, o.Currency).Display(), r.Reason, why)})
	return err
}

// SyncRefunds re-reads the refunds of the order's charge at the provider
// and brings the order's in step (order.SyncRefunds): refunds made
// outside the store are recorded (and then recorded in the books), pending
// ones settle, failed ones stop counting. The owner hears once of each
// refund that failed, and of an order refunded in full outside the store
// while it still had parts to ship. It answers the order as it now stands;
// Stripe down is UNAVAILABLE.
func (s *Service) SyncRefunds(ctx context.Context, orderID string) (*order.Order, error) {
	o, err := s.Orders.Get(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if o.Payment == nil || o.Payment.IntentID == "" || o.Payment.AmountCaptured == 0 {
		return o, nil
	}
	found, err := s.Intents.Refunds(ctx, o.Payment.IntentID)
	if err != nil {
		return nil, err
	}
	var res order.RefundSync
	var before order.State
	cur, _, err := s.Orders.Update(ctx, orderID, func(cur *order.Order) (bool, error) {
		before = cur.State()
		var err error
		res, err = cur.SyncRefunds(found, "stripe", s.Now().UTC())
		return res.Changed, err
	})
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range res.Failed {
		_, err := s.Alerts.Raise(ctx, alert.Alert{Key: "refund-failed-" + r.ProviderID, Kind: alert.RefundFailed, OrderID: orderID,
			Subject: fmt.Sprintf("Order %s: Stripe's refund of %s %s", orderID, money.New(r.Amount, cur.Currency).Display(), r.Status),
			Text: fmt.Sprintf("Refund %d of order %s (%s, Stripe refund %s) %s at Stripe: nothing was given back, and it no longer counts as refunded.\n"+
				"%s\nRefund the customer another way, or ask for the refund again.", r.N, orderID, money.New(r.Amount, cur.Currency).Display(), r.ProviderID, r.Status,
				booksNote(r))})
		errs = append(errs, err)
	}
	if len(res.Outside) > 0 && cur.State() == order.Refunded && before != order.Refunded && unshipped(cur) {
		_, err := s.Alerts.Raise(ctx, alert.Alert{Key: "refunded-outside-" + orderID, Kind: alert.RefundedOutside, OrderID: orderID,
			Subject: "Order " + orderID + " was refunded in full outside the store before it shipped",
			Text: fmt.Sprintf("Order %s was refunded in full in Stripe's dashboard (%s) while parts of it were still to ship, so the order is now refunded and its held stock goes back on the shelf.\n"+
				"Do not ship its parcel; if a print job was sent to the printer, cancel it there. To ship it after all, ask the customer to order again.",
				orderID, money.New(cur.RefundedTotal(), cur.Currency).Display())})
		errs = append(errs, err)
	}
	return cur, errors.Join(errs...)
}

// booksNote is what an alert about a failed refund says of the books.
func booksNote(r order.Refund) string {
	if r.ReceiptID != "" {
		return "QuickBooks recorded it as refund receipt " + r.ReceiptID + ": delete or void that receipt."
	}
	return "It was not recorded in QuickBooks."
}

// unshipped reports whether part of the order had yet to ship (or had no
// parts yet: it was paid and not fulfilled).
func unshipped(o *order.Order) bool {
	if len(o.Parts) == 0 {
		return true
	}
	return slices.ContainsFunc(o.Parts, func(p order.Part) bool { return !p.Shipped() && p.Status != order.PartCanceled })
}

// refundRefused records that the provider refused refund r for good (re,
// when it answered a refund that failed) and tells the owner once.
func (s *Service) refundRefused(ctx context.Context, o *order.Order, r order.Refund, re RefundResult, cause error) error {
	why := cause.Error()
	if e := apperr.As(cause); e != nil {
		why = e.Message
	}
	logging.FromContext(ctx).Error().Err(cause).Int("refund", r.N).Msg("the refund was refused")
	if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		// A refund Stripe made and answered failed keeps its id, so that
		// a re-read knows it (and alerts nothing twice).
		answered := re.ID != "" && cur.RefundAnswered(r.N, re.ID, re.Status)
		return cur.RefundFailed(r.N, true, why) || answered, nil
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
