package checkout

import (
	"context"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
)

// PaymentEvent is a verified payment-provider event, reduced to the fields
// that are stable across API versions.
type PaymentEvent struct {
	ID        string
	Type      string
	Created   time.Time
	OrderID   string // client_reference_id or metadata.orderId, when the object carries it
	SessionID string // checkout.session.* events
	IntentID  string // the PaymentIntent the object belongs to
	// AmountRefunded is a charge's refunded total (charge.refunded).
	AmountRefunded int64
}

// Intent is a PaymentIntent as re-read from the provider.
type Intent struct {
	ID               string
	Status           string // requires_capture, succeeded, canceled, …
	OrderID          string // metadata.orderId
	AmountCapturable int64
	AmountReceived   int64
	CaptureBefore    time.Time
}

// IntentReader re-reads PaymentIntents (webhooks never trust the event's
// copy of an object).
type IntentReader interface {
	Intent(ctx context.Context, id string) (Intent, error)
}

// EventRecorder records webhook events create-if-absent.
type EventRecorder interface {
	Record(ctx context.Context, source, id string, fields map[string]any, now time.Time) (processed bool, err error)
	Processed(ctx context.Context, source, id, outcome string, now time.Time) error
}

// StripeEvents handles Stripe's webhook events: record, re-read, transition.
// It never acts on the outside world; the order trigger does.
type StripeEvents struct {
	Orders   OrderStore
	Intents  IntentReader
	Recorder EventRecorder
	Now      func() time.Time
}

// Handle processes one verified event. An error means "answer 5xx so that
// Stripe delivers it again"; everything else, including events for unknown
// orders and stale events, is recorded and answered 2xx.
func (s *StripeEvents) Handle(ctx context.Context, ev PaymentEvent) (outcome string, err error) {
	now := s.Now()
	processed, err := s.Recorder.Record(ctx, "stripe", ev.ID, map[string]any{"type": ev.Type, "orderId": ev.OrderID, "intentId": ev.IntentID}, now)
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
	return outcome, s.Recorder.Processed(ctx, "stripe", ev.ID, outcome, s.Now())
}

func (s *StripeEvents) apply(ctx context.Context, ev PaymentEvent) (string, error) {
	switch ev.Type {
	case "checkout.session.completed":
		return s.completed(ctx, ev)
	case "checkout.session.expired":
		return s.transition(ctx, ev.OrderID, order.Move{From: []order.State{order.Pending}, To: order.Expired, Actor: "stripe",
			Reason: "the payment session expired"}, nil)
	case "payment_intent.canceled", "charge.expired":
		in, err := s.Intents.Intent(ctx, ev.IntentID)
		if err != nil {
			return "", err
		}
		if in.Status != "canceled" {
			return "stale: the intent is " + in.Status, nil
		}
		return s.transition(ctx, in.OrderID, order.Move{From: []order.State{order.Authorized, order.Invoiced, order.Approved, order.NeedsAttention},
			To: order.Canceled, Actor: "stripe", Reason: "the card authorization was canceled or lapsed"}, nil)
	case "charge.refunded":
		in, err := s.Intents.Intent(ctx, ev.IntentID)
		if err != nil {
			return "", err
		}
		return s.update(ctx, in.OrderID, func(o *order.Order) bool {
			if o.Payment == nil || o.Payment.IntentID != in.ID || ev.AmountRefunded <= o.Payment.AmountRefunded {
				return false // refunds only grow: an older event changes nothing
			}
			o.Payment.AmountRefunded = ev.AmountRefunded
			return true
		}, "refund recorded")
	}
	return "ignored", nil
}

// completed: the customer finished Checkout. Under manual capture the
// session's own status says little: re-read the PaymentIntent, and only
// requires_capture authorizes the order.
func (s *StripeEvents) completed(ctx context.Context, ev PaymentEvent) (string, error) {
	if ev.IntentID == "" {
		return "no payment intent", nil
	}
	in, err := s.Intents.Intent(ctx, ev.IntentID)
	if err != nil {
		return "", err
	}
	if in.Status != "requires_capture" {
		return "not authorized: the intent is " + in.Status, nil
	}
	return s.transition(ctx, ev.OrderID, order.Move{From: []order.State{order.Pending}, To: order.Authorized, Actor: "stripe",
		Reason: "the card was authorized"}, func(o *order.Order) {
		if o.Payment == nil {
			o.Payment = &order.Payment{}
		}
		o.Payment.SessionID, o.Payment.IntentID = ev.SessionID, in.ID
		o.Payment.AmountCapturable, o.Payment.CaptureBefore = in.AmountCapturable, in.CaptureBefore
	})
}

// transition applies m (and with it, in the same transaction, set) to the
// order. Unknown orders and transitions that cannot apply (a stale event)
// are outcomes, not errors.
func (s *StripeEvents) transition(ctx context.Context, orderID string, m order.Move, set func(*order.Order)) (string, error) {
	if orderID == "" {
		return "no order", nil
	}
	now := s.Now().UTC()
	_, applied, err := s.Orders.Update(ctx, orderID, func(o *order.Order) (bool, error) {
		applied, err := o.Transition(m, now)
		if err != nil || !applied {
			return false, err
		}
		if set != nil {
			set(o)
		}
		return true, nil
	})
	switch apperr.CodeOf(err) {
	case "":
	case apperr.NotFound:
		return "unknown order", nil
	case apperr.FailedPrecondition:
		logging.FromContext(ctx).Warn().Err(err).Msg("stripe event does not apply to the order's state; recorded and ignored")
		return "does not apply: " + apperr.As(err).Message, nil
	default:
		return "", err
	}
	if !applied {
		return "already " + string(m.To), nil
	}
	return string(m.To), nil
}

func (s *StripeEvents) update(ctx context.Context, orderID string, fn func(*order.Order) bool, what string) (string, error) {
	if orderID == "" {
		return "no order", nil
	}
	_, changed, err := s.Orders.Update(ctx, orderID, func(o *order.Order) (bool, error) { return fn(o), nil })
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown order", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if !changed {
		return "nothing new", nil
	}
	return what, nil
}
