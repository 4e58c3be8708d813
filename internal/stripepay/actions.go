package stripepay

import (
	"context"
	"errors"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Actions captures and cancels PaymentIntents.
type Actions struct{ API *client.API }

var _ checkout.PaymentActions = Actions{}

func intentOf(pi *stripe.PaymentIntent) checkout.Intent {
	return checkout.Intent{ID: pi.ID, Status: string(pi.Status), OrderID: pi.Metadata["orderId"],
		AmountCapturable: pi.AmountCapturable, AmountReceived: pi.AmountReceived}
}

// unexpectedState returns the intent's status from a
// payment_intent_unexpected_state error, or "".
func unexpectedState(err error) string {
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodePaymentIntentUnexpectedState && se.PaymentIntent != nil {
		return string(se.PaymentIntent.Status)
	}
	return ""
}

// Capture implements checkout.PaymentActions.
func (s Actions) Capture(ctx context.Context, id string, amount int64, key string) (checkout.Intent, error) {
	p := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(amount)}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	pi, err := s.API.PaymentIntents.Capture(id, p)
	if err == nil {
		return intentOf(pi), nil
	}
	if unexpectedState(err) == string(stripe.PaymentIntentStatusSucceeded) {
		// Captured before (a re-driven step): read what was captured.
		gp := &stripe.PaymentIntentParams{}
		gp.Context = ctx
		if pi, gerr := s.API.PaymentIntents.Get(id, gp); gerr == nil {
			return intentOf(pi), nil
		}
	}
	return checkout.Intent{}, stepError(err, "capture the payment")
}

// Cancel implements checkout.PaymentActions.
func (s Actions) Cancel(ctx context.Context, id, key string) (checkout.Intent, error) {
	p := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String(string(stripe.PaymentIntentCancellationReasonAbandoned))}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	pi, err := s.API.PaymentIntents.Cancel(id, p)
	if err == nil {
		return intentOf(pi), nil
	}
	if unexpectedState(err) == string(stripe.PaymentIntentStatusCanceled) {
		return checkout.Intent{ID: id, Status: string(stripe.PaymentIntentStatusCanceled)}, nil
	}
	return checkout.Intent{}, stepError(err, "cancel the payment")
}

// stepError: Stripe down is UNAVAILABLE (the trigger retries); Stripe's
// refusal (a lapsed authorization, a decline) is FAILED_PRECONDITION with
// Stripe's message, which the order's attention reason then shows.
func stepError(err error, what string) error {
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode >= 500 || se.HTTPStatusCode == 429 {
		return apperr.Wrap(err, apperr.Unavailable, "Stripe is unavailable; will %s later", what)
	}
	return apperr.Wrap(err, apperr.FailedPrecondition, "Stripe refused to %s: %s", what, se.Msg)
}
