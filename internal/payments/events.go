package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/webhook"
)

// HandleEvent processes one verified provider event: it records it
// create-if-absent, re-reads the objects it names, and changes the order.
// It never acts on the outside world (the order flow's steps do). An error
// means "answer 5xx so that the provider delivers it again"; everything
// else, unknown orders and objects and stale events included, is recorded
// with its outcome.
func (s *Service) HandleEvent(ctx context.Context, ev Event) (outcome string, err error) {
	processed, err := s.Recorder.Record(ctx, webhook.Event{ID: ev.ID,
		Stripe: &webhook.StripeEvent{Type: ev.Type, OrderID: ev.OrderID, IntentID: ev.IntentID}}, s.Now())
	if err != nil {
		return "", err
	}
	if processed {
		return "duplicate", nil
	}
	if ev.OrderID != "" {
		ctx = logging.WithOrder(ctx, ev.OrderID)
	}
	outcome, err = s.apply(ctx, ev)
	if err != nil {
		return "", err
	}
	return outcome, s.Recorder.Processed(ctx, webhook.Stripe, ev.ID, outcome, s.Now())
}

func (s *Service) apply(ctx context.Context, ev Event) (string, error) {
	switch ev.Type {
	case "checkout.session.completed":
		return s.completed(ctx, ev.SessionID)
	case "checkout.session.expired":
		return s.expired(ctx, ev.SessionID)
	case "payment_intent.canceled", "charge.expired":
		return s.canceled(ctx, ev.IntentID)
	case "charge.refunded", "refund.created", "refund.updated", "refund.failed", "charge.refund.updated":
		return s.refunded(ctx, ev.IntentID)
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed":
		return s.disputed(ctx, ev.DisputeID)
	}
	return "ignored", nil
}

// unknown turns the provider's NOT_FOUND into an outcome: an object the
// provider does not know is not this project's (or was forged), and
// retrying will not make it known.
func unknown(err error, what string) (string, error) {
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown " + what, nil
	}
	return "", err
}

// completed: the customer finished Checkout. The session and its
// PaymentIntent are re-read (the event's copy is not trusted). Only the
// order's current, open session, for exactly the committed total,
// authorizes it; an authorization of the order's that arrives any other
// way is recorded as a stray and released by the order flow.
func (s *Service) completed(ctx context.Context, sessionID string) (string, error) {
	if sessionID == "" {
		return "no session", nil
	}
	sess, err := s.Sessions.Session(ctx, sessionID)
	if err != nil {
		return unknown(err, "session")
	}
	switch {
	case sess.Status != SessionComplete:
		return "stale: the session is " + sess.Status, nil
	case sess.IntentID == "":
		return "no payment intent", nil
	case sess.OrderID == "":
		return "not an order's session", nil
	}
	in, err := s.Intents.Intent(ctx, sess.IntentID)
	if err != nil {
		return unknown(err, "payment intent")
	}
	if in.Status != "requires_capture" {
		return "not authorized: the intent is " + in.Status, nil
	}
	ctx = logging.WithOrder(ctx, sess.OrderID)
	now := s.Now().UTC()
	if in.OrderID != sess.OrderID {
		return s.otherOrders(ctx, sess, in, now)
	}
	var outcome string
	_, _, err = s.Orders.Update(ctx, sess.OrderID, func(o *order.Order) (bool, error) {
		if o.Payment != nil && o.Payment.IntentID == in.ID {
			outcome = "already authorized"
			return false, nil
		}
		if reason := o.AuthorizationRefusal(sess.ID, in.AmountCapturable); reason != "" {
			outcome = "stray: " + reason
			return o.AddStray(order.StrayPayment{IntentID: in.ID, SessionID: sess.ID, Amount: in.AmountCapturable, Reason: reason, At: now}), nil
		}
		applied, err := o.Authorize(order.Authorization{SessionID: sess.ID, IntentID: in.ID, Amount: in.AmountCapturable,
			CaptureBefore: in.CaptureBefore, CardBrand: in.CardBrand, CardLast4: in.CardLast4}, "stripe", now)
		if err != nil || !applied {
			return false, err
		}
		outcome = string(order.Authorized)
		return true, nil
	})
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown order", nil
	}
	if err != nil {
		return "", err
	}
	if outcome != string(order.Authorized) {
		logging.FromContext(ctx).Warn().Str("intent", in.ID).Str("session", sess.ID).Str("outcome", outcome).Msg("a payment that does not authorize the order")
	}
	return outcome, nil
}

// otherOrders: a completed session whose PaymentIntent names another
// order. If the intent is that order's own payment, it pays for that
// order and is left alone; otherwise nothing may capture it, and it is a
// stray of the session's order: released, and the owner told.
func (s *Service) otherOrders(ctx context.Context, sess SessionInfo, in Intent, now time.Time) (string, error) {
	if in.OrderID != "" {
		named, err := s.Orders.Get(ctx, in.OrderID)
		if err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return "", err
		}
		if err == nil && named.Payment != nil && named.Payment.IntentID == in.ID {
			return fmt.Sprintf("does not apply: the payment intent is order %q's payment, the session order %q's", in.OrderID, sess.OrderID), nil
		}
	}
	outcome := "stray: " + order.RefusedOtherOrder
	_, _, err := s.Orders.Update(ctx, sess.OrderID, func(o *order.Order) (bool, error) {
		return o.AddStray(order.StrayPayment{IntentID: in.ID, SessionID: sess.ID, Amount: in.AmountCapturable, Reason: order.RefusedOtherOrder, At: now}), nil
	})
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown order", nil
	}
	if err != nil {
		return "", err
	}
	logging.FromContext(ctx).Warn().Str("intent", in.ID).Str("session", sess.ID).Str("intentOrder", in.OrderID).Msg("a session whose payment names another order")
	return outcome, nil
}

// expired: a session can no longer be paid. Only the order's current
// session matters: it is recorded closed, and when its time ran out (the
// order did not close it for a change) the pending order expires.
func (s *Service) expired(ctx context.Context, sessionID string) (string, error) {
	if sessionID == "" {
		return "no session", nil
	}
	sess, err := s.Sessions.Session(ctx, sessionID)
	if err != nil {
		return unknown(err, "session")
	}
	if sess.Status != SessionExpired {
		return "stale: the session is " + sess.Status, nil
	}
	if sess.OrderID == "" {
		return "not an order's session", nil
	}
	now := s.Now().UTC()
	outcome := "not the order's current session: ignored"
	_, _, err = s.Orders.Update(ctx, sess.OrderID, func(o *order.Order) (bool, error) {
		if o.Payment == nil || o.Payment.SessionID != sess.ID {
			return false, nil
		}
		changed := o.CloseSession(sess.ID)
		outcome = "session closed"
		if o.State() == order.Pending && !now.Before(sess.ExpiresAt) {
			if _, err := o.Transition(order.Move{From: []order.State{order.Pending}, To: order.Expired, Actor: "stripe",
				Reason: "the payment session expired"}, now); err != nil {
				return false, err
			}
			outcome, changed = string(order.Expired), true
		}
		return changed, nil
	})
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown order", nil
	}
	return outcome, err
}

// canceled: an authorization was canceled or lapsed. If it is the one the
// order waits to capture, the order is canceled (its steps release the
// rest); a stray's cancellation is recorded on it.
func (s *Service) canceled(ctx context.Context, intentID string) (string, error) {
	in, err := s.Intents.Intent(ctx, intentID)
	if err != nil {
		return unknown(err, "payment intent")
	}
	if in.Status != "canceled" {
		return "stale: the intent is " + in.Status, nil
	}
	if in.OrderID == "" {
		return "no order", nil
	}
	now := s.Now().UTC()
	outcome := "not the order's payment: ignored"
	_, _, err = s.Orders.Update(ctx, in.OrderID, func(o *order.Order) (bool, error) {
		if o.Payment == nil {
			return false, nil
		}
		if o.Payment.IntentID != in.ID {
			if o.SettleStray(in.ID, "canceled", now) {
				outcome = "stray canceled"
				return true, nil
			}
			return false, nil
		}
		applied, err := o.Transition(order.Move{From: []order.State{order.Authorized, order.Invoiced, order.Approved, order.NeedsAttention},
			To: order.Canceled, Actor: "stripe", Reason: "the card authorization was canceled or lapsed"}, now)
		switch {
		case apperr.CodeOf(err) == apperr.FailedPrecondition:
			outcome = "does not apply: " + apperr.As(err).Message
			return false, nil
		case err != nil:
			return false, err
		case !applied:
			outcome = "already " + string(order.Canceled)
			return false, nil
		}
		outcome = string(order.Canceled)
		return true, nil
	})
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown order", nil
	}
	return outcome, err
}

// refunded: a refund of a charge was made, changed or failed — the
// store's own or one made in Stripe's dashboard. The charge's refunds are
// re-read and the order's brought in step (SyncRefunds); the events'
// copies are not trusted, and their order does not matter.
func (s *Service) refunded(ctx context.Context, intentID string) (string, error) {
	in, err := s.Intents.Intent(ctx, intentID)
	if err != nil {
		return unknown(err, "payment intent")
	}
	if in.OrderID == "" {
		return "no order", nil
	}
	o, err := s.Orders.Get(ctx, in.OrderID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown order", nil
	}
	if err != nil {
		return "", err
	}
	if o.Payment == nil || o.Payment.IntentID != in.ID {
		return "not the order's payment: ignored", nil
	}
	before := o.RefundedTotal()
	o, err = s.SyncRefunds(logging.WithOrder(ctx, o.ID), o.ID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("refunds re-read: %d refunded (was %d)", o.RefundedTotal(), before), nil
}

// disputed: the customer disputed the charge (or the dispute changed).
// The dispute is re-read and marked on the order whose payment it is; the
// owner hears of each dispute once.
func (s *Service) disputed(ctx context.Context, disputeID string) (string, error) {
	if disputeID == "" {
		return "no dispute", nil
	}
	dp, err := s.Intents.Dispute(ctx, disputeID)
	if err != nil {
		return unknown(err, "dispute")
	}
	in, err := s.Intents.Intent(ctx, dp.IntentID)
	if err != nil {
		return unknown(err, "payment intent")
	}
	if in.OrderID == "" {
		return "no order", nil
	}
	ctx = logging.WithOrder(ctx, in.OrderID)
	var isNew bool
	outcome := "not the order's payment: ignored"
	o, _, err := s.Orders.Update(ctx, in.OrderID, func(o *order.Order) (bool, error) {
		if o.Payment == nil || o.Payment.IntentID != in.ID {
			return false, nil
		}
		var changed bool
		isNew, changed = o.Disputed(order.Dispute{ID: dp.ID, Amount: dp.Amount, Reason: dp.Reason, Status: dp.Status, At: s.Now().UTC()}, s.Now().UTC())
		outcome = "dispute " + dp.Status
		return changed, nil
	})
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown order", nil
	}
	if err != nil || !isNew {
		return outcome, err
	}
	logging.FromContext(ctx).Warn().Str("dispute", dp.ID).Str("reason", dp.Reason).Msg("the charge is disputed")
	_, err = s.Alerts.Raise(ctx, alert.Alert{Key: "dispute-" + dp.ID, Kind: alert.PaymentDisputed, OrderID: o.ID,
		Subject: fmt.Sprintf("Order %s: the customer disputed the charge of %s", o.ID, money.New(dp.Amount, o.Currency).Display()),
		Text: fmt.Sprintf("The customer's bank opened dispute %s (%s) on the charge of order %s (%s); its status is %s.\n"+
			"Stripe has taken the amount and a dispute fee from your balance until it is decided. Answer it in the Stripe dashboard with your evidence (the order, its tracking) before the deadline Stripe shows.\n"+
			"While the charge is disputed it cannot be refunded.", dp.ID, dp.Reason, o.ID, money.New(dp.Amount, o.Currency).Display(), dp.Status)})
	return outcome, err
}
