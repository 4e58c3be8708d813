package stripepay

import (
	"context"
	"errors"
	"fmt"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Sessions makes Checkout Sessions that only authorize the card.
type Sessions struct{ API *client.API }

var _ checkout.PaymentProvider = Sessions{}

// CreateSession implements checkout.PaymentProvider: mode payment, manual
// capture, the lines at their discounted unit prices, the shipping as a
// fixed-amount option, the order id as client_reference_id and in both
// metadata, the customer's email for Checkout and for the receipt, the
// given expiry, and the caller's idempotency key.
func (s Sessions) CreateSession(ctx context.Context, r checkout.SessionRequest) (checkout.Session, error) {
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		SuccessURL:        stripe.String(r.SuccessURL),
		CancelURL:         stripe.String(r.CancelURL),
		CustomerEmail:     stripe.String(r.Email),
		ClientReferenceID: stripe.String(r.OrderID),
		ExpiresAt:         stripe.Int64(r.ExpiresAt.Unix()),
		Metadata:          map[string]string{"orderId": r.OrderID},
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			CaptureMethod: stripe.String(string(stripe.PaymentIntentCaptureMethodManual)),
			ReceiptEmail:  stripe.String(r.Email),
			Metadata:      map[string]string{"orderId": r.OrderID},
		},
	}
	for _, l := range r.Lines {
		p.LineItems = append(p.LineItems, &stripe.CheckoutSessionLineItemParams{
			Quantity: stripe.Int64(l.Quantity),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{Currency: stripe.String(r.Currency), UnitAmount: stripe.Int64(l.UnitAmount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(l.Name)}},
		})
	}
	p.ShippingOptions = []*stripe.CheckoutSessionShippingOptionParams{{ShippingRateData: &stripe.CheckoutSessionShippingOptionShippingRateDataParams{
		Type:        stripe.String("fixed_amount"),
		DisplayName: stripe.String(r.ShippingName),
		FixedAmount: &stripe.CheckoutSessionShippingOptionShippingRateDataFixedAmountParams{Amount: stripe.Int64(r.ShippingAmount), Currency: stripe.String(r.Currency)},
	}}}
	p.Context = ctx
	p.SetIdempotencyKey(r.IdempotencyKey)
	cs, err := s.API.CheckoutSessions.New(p)
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 500 {
		err = fmt.Errorf("%w: %w", checkout.ErrSessionFailed, err)
	}
	if err != nil {
		return checkout.Session{}, classify(err, "create the payment session")
	}
	return checkout.Session{ID: cs.ID, URL: cs.URL}, nil
}

// classify maps Stripe's errors: its own 5xx, rate limits and network
// failures are UNAVAILABLE (retry later); anything else is a bug on our
// side (INTERNAL, logged).
func classify(err error, what string) error {
	var se *stripe.Error
	if errors.As(err, &se) && (se.HTTPStatusCode >= 500 || se.HTTPStatusCode == 429) || !errors.As(err, &se) {
		return apperr.Wrap(err, apperr.Unavailable, "payments are unavailable right now; please try again in a moment")
	}
	return apperr.Wrap(err, apperr.Internal, "%s", what)
}
