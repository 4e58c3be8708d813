package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/sweep"
)

// Steps returns this capability's order-flow steps by name.
func (s *Service) Steps() map[string]orderflow.StepFunc {
	return map[string]orderflow.StepFunc{
		orderflow.StepCapturePayment:      s.capture,
		orderflow.StepCancelPayment:       s.cancel,
		orderflow.StepClosePaymentSession: s.closeStep,
		orderflow.StepReleaseStrays:       s.releaseStrays,
		orderflow.StepRefundPayment:       s.refundPayment,
		orderflow.StepRecordTax:           s.recordTax,
	}
}

// capture captures an approved order's authorization for the order total
// under the order's capture key (capture-<orderId>, so a retried or
// re-driven step replays instead of capturing twice), checks that what the
// provider captured is that total of that order's intent, and records the
// capture: the order moves to paid (Stripe sends the receipt), or, if the
// owner canceled it meanwhile, is refunded everything captured.
//
// Stripe replays a stored 5xx for the same key, so a call that failed
// without a clear answer is recorded on the order (CaptureFailed: the next
// call uses a new key) and the next run first reads what Stripe has; after
// order.MaxCaptureFailures in a row the order needs the owner.
func (s *Service) capture(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if o.Payment == nil || o.Payment.IntentID == "" {
		return apperr.New(apperr.FailedPrecondition, "order %s has no authorized payment to capture", o.ID)
	}
	if o.Payment.AmountCaptured > 0 {
		return nil // recorded (a re-read found it): the order moved on
	}
	amount := o.Total().Amount
	if amount > o.Payment.AmountCapturable {
		return apperr.New(apperr.FailedPrecondition, "the order total %d exceeds the authorized %d", amount, o.Payment.AmountCapturable)
	}
	if o.Payment.CaptureAttempt > 0 {
		// An earlier call failed without a clear answer: what does Stripe have?
		in, err := s.Intents.Intent(ctx, o.Payment.IntentID)
		if apperr.Transient(err) {
			return s.captureFailed(ctx, o, err)
		}
		if err != nil {
			return err
		}
		switch in.Status {
		case "succeeded":
			return s.recordCapture(ctx, o, in)
		case "requires_capture":
		default:
			return apperr.New(apperr.FailedPrecondition, "the card authorization is %s at Stripe: nothing can be captured", in.Status)
		}
	}
	in, err := s.Intents.Capture(ctx, o.Payment.IntentID, amount, o.CaptureKey())
	if apperr.Transient(err) {
		return s.captureFailed(ctx, o, err)
	}
	if err != nil {
		return err
	}
	return s.recordCapture(ctx, o, in)
}

// captureFailed records a capture run that failed without a clear answer
// (the next call uses a new key) and returns the error to retry with, or
// nil once the order, failing again and again, was moved to the owner.
func (s *Service) captureFailed(ctx context.Context, o *order.Order, cause error) error {
	why := cause.Error()
	if e := apperr.As(cause); e != nil {
		why = e.Message
	}
	var gaveUp bool
	if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		if cur.Payment == nil || cur.Payment.CaptureAttempt != o.Payment.CaptureAttempt {
			return false, nil // another run recorded this attempt
		}
		var err error
		gaveUp, err = cur.CaptureFailed(why, "trigger", s.Now().UTC())
		return true, err
	}); err != nil {
		return errors.Join(cause, err)
	}
	if gaveUp {
		logging.FromContext(ctx).Error().Err(cause).Msg("the capture kept failing: the order needs the owner")
		return nil
	}
	return cause
}

// recordCapture records what the provider captured of the order's intent.
// A capture of another amount or intent is refused (the order needs the
// owner), unless the order was canceled meanwhile: then whatever was
// captured is refunded.
func (s *Service) recordCapture(ctx context.Context, o *order.Order, in Intent) error {
	amount := o.Total().Amount
	_, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		if in.ID != cur.Payment.IntentID || in.OrderID != cur.ID {
			return false, apperr.New(apperr.FailedPrecondition, "Stripe captured payment %s (order %q), not the order's", in.ID, in.OrderID)
		}
		if in.AmountReceived != amount && cur.State() != order.Canceled {
			return false, apperr.New(apperr.FailedPrecondition, "Stripe captured %s of payment %s (order %q); the order total is %s",
				money.New(in.AmountReceived, o.Currency).Display(), in.ID, in.OrderID, money.New(amount, o.Currency).Display())
		}
		if cur.State() == order.Canceled && cur.Payment.AmountCaptured == 0 {
			logging.FromContext(ctx).Warn().Int64("captured", in.AmountReceived).Msg("the payment was captured as the order was canceled: it is refunded")
		}
		return cur.Captured(in.AmountReceived, "trigger", s.Now().UTC())
	})
	return err
}

// cancel releases a canceled order's uncaptured authorization (key
// cancel-<orderId>). Stripe refusing because the payment was captured
// meanwhile (a capture in flight as the owner canceled) is not "nothing to
// release": the capture is recorded and everything captured refunded.
func (s *Service) cancel(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if o.Payment == nil || o.Payment.IntentID == "" || o.Payment.AmountCaptured > 0 {
		return nil // nothing authorized, or captured (its refund is on the order)
	}
	_, err := s.Intents.Cancel(ctx, o.Payment.IntentID, "cancel-"+o.ID)
	if apperr.CodeOf(err) != apperr.FailedPrecondition {
		return err
	}
	in, err := s.Intents.Intent(ctx, o.Payment.IntentID)
	if err != nil || in.Status != "succeeded" {
		return err // canceled elsewhere (or lapsed): nothing to release
	}
	return s.recordCapture(ctx, o, in)
}

// Captured is what the provider has captured of the order's payment: what
// the order recorded, or, when it recorded nothing, the intent re-read (a
// capture whose answer was lost, or that is still on its way). The owner's
// cancel decides from it. Stripe down is UNAVAILABLE.
func (s *Service) Captured(ctx context.Context, o *order.Order) (int64, error) {
	p := o.Payment
	switch {
	case p == nil || p.IntentID == "":
		return 0, nil
	case p.AmountCaptured > 0:
		return p.AmountCaptured, nil
	}
	in, err := s.Intents.Intent(ctx, p.IntentID)
	if err != nil {
		return 0, err
	}
	if in.Status == "succeeded" && in.ID == p.IntentID {
		return in.AmountReceived, nil
	}
	return 0, nil
}

// closeStep makes sure an expired or canceled order's session can no
// longer be paid. A session paid just before is not an error here: its
// payment arrives as a stray and is released.
func (s *Service) closeStep(ctx context.Context, t orderflow.Transition) error {
	err := s.CloseSession(ctx, t.Order.ID)
	if apperr.CodeOf(err) == apperr.FailedPrecondition {
		return nil
	}
	return err
}

// releaseStrays cancels every stray authorization of the order (key
// cancel-<intentId>), records how each ended, and tells the owner once per
// stray: money was held on a card for nothing.
func (s *Service) releaseStrays(ctx context.Context, t orderflow.Transition) error {
	var errs []error
	for _, st := range t.Order.OpenStrays() {
		outcome := "canceled"
		in, err := s.Intents.Cancel(ctx, st.IntentID, "cancel-"+st.IntentID)
		switch {
		case apperr.CodeOf(err) == apperr.FailedPrecondition:
			// Captured (by hand in the dashboard?) or canceled meanwhile.
			in, err = s.Intents.Intent(ctx, st.IntentID)
			if err == nil && in.Status != "canceled" {
				outcome = "could not be canceled: the payment is " + in.Status + "; refund it in the Stripe dashboard"
			}
		case apperr.CodeOf(err) == apperr.NotFound:
			outcome, err = "unknown to Stripe", nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("release stray payment %s: %w", st.IntentID, err))
			continue
		}
		o := t.Order
		text := fmt.Sprintf("A card payment of %s reached order %s through a way that may not pay for it (%s: payment session %s, payment %s).\n"+
			"The authorization was released: %s.\nThe order stays %s.", money.New(st.Amount, o.Currency).Display(), o.ID, st.Reason, st.SessionID, st.IntentID, outcome, o.State())
		if _, err := s.Alerts.Raise(ctx, alert.Alert{Key: "stray-" + st.IntentID, Kind: alert.StrayPayment, OrderID: o.ID,
			Subject: "A stray payment on order " + o.ID + " was released", Text: text}); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
			return cur.SettleStray(st.IntentID, outcome, s.Now().UTC()), nil
		}); err != nil {
			errs = append(errs, err)
			continue
		}
		logging.FromContext(ctx).Warn().Str("intent", st.IntentID).Str("reason", st.Reason).Str("outcome", outcome).Msg("stray payment released")
	}
	return errors.Join(errs...)
}

// lapseWarning is how long before an authorization lapses the owner is
// told that the order still waits for capture.
const lapseWarning = 24 * time.Hour

// lapseBatch bounds one sweep's lapse checks; the next sweep takes the rest.
const lapseBatch = 100

// Tasks returns this capability's sweeper tasks by name.
func (s *Service) Tasks() map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"authorizationLapse": s.lapse}
}

// lapse flags orders whose card authorization lapses within a day without
// a capture (once per order, with a WARNING log line the owner's alerting
// picks up), and cancels those whose authorization has lapsed: the cancel
// steps then release the holds and redemptions.
func (s *Service) lapse(ctx context.Context, now time.Time) (string, error) {
	orders, err := s.Orders.Lapsing(ctx, now.Add(lapseWarning), lapseBatch)
	if err != nil {
		return "", err
	}
	var warned, canceled int
	var errs []error
	for _, o := range orders {
		id := o.ID
		if o.PaymentStatus() != order.PaymentAuthorized {
			continue // charged (say, a paid order needing the owner): there is no authorization left to lapse
		}
		if !now.Before(o.Payment.CaptureBefore) {
			_, applied, err := s.Orders.Update(ctx, id, func(cur *order.Order) (bool, error) {
				if cur.PaymentStatus() != order.PaymentAuthorized {
					return false, nil // captured since it was read
				}
				return cur.Transition(order.Move{From: []order.State{order.Authorized, order.Invoiced, order.Approved, order.NeedsAttention},
					To: order.Canceled, Actor: "sweeper", Reason: "the card authorization lapsed before capture"}, now.UTC())
			})
			if err == nil && applied {
				canceled++
				_, err = s.Alerts.Raise(ctx, alert.Alert{Key: "lapsed-" + id, Kind: alert.AuthorizationLapsed, OrderID: id,
					Subject: "Order " + id + ": the card authorization lapsed; the order is canceled",
					Text: fmt.Sprintf("The card authorization of order %s (%s) lapsed at %s before it was captured, so the order was canceled and its stock and promotions released.\n"+
						"Nothing was charged. If you still want to ship it, ask the customer to order again.", id, money.New(o.Payment.AmountCapturable, o.Currency).Display(),
						o.Payment.CaptureBefore.UTC().Format(time.RFC1123))})
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("order %s: %w", id, err))
			}
			continue
		}
		if !o.Payment.LapseWarnedAt.IsZero() {
			continue // flagged, and its alert raised, on an earlier sweep
		}
		// The alert first (create-if-absent), then the flag: a sweep that
		// dies between them raises nothing twice and loses nothing.
		if _, err := s.Alerts.Raise(ctx, alert.Alert{Key: "lapsing-" + id, Kind: alert.AuthorizationLapsing, OrderID: id,
			Subject: "Order " + id + ": the card authorization lapses within 24 hours",
			Text: fmt.Sprintf("Order %s (%s) is %s and its card authorization lapses at %s.\n"+
				"Approve it (record its invoice paid in QuickBooks) before then so that the card is charged; after that the order is canceled and nothing can be charged.",
				id, money.New(o.Payment.AmountCapturable, o.Currency).Display(), o.State(), o.Payment.CaptureBefore.UTC().Format(time.RFC1123))}); err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", id, err))
			continue
		}
		_, changed, err := s.Orders.Update(ctx, id, func(cur *order.Order) (bool, error) {
			return cur.LapseWarned(now.UTC()), nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", id, err))
			continue
		}
		if changed {
			warned++
			logging.FromContext(logging.WithOrder(ctx, id)).Warn().Time("captureBefore", o.Payment.CaptureBefore).
				Msg("the card authorization lapses within a day: approve the invoice so that the payment is captured")
		}
	}
	return fmt.Sprintf("flagged %d, canceled %d of %d lapsing authorizations", warned, canceled, len(orders)), errors.Join(errs...)
}
