package stripepay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/tax"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Payments is the payments capability's Stripe: Checkout Sessions that
// only authorize the card, and the PaymentIntents behind them.
type Payments struct{ API *client.API }

var (
	_ payments.Sessions = Payments{}
	_ payments.Intents  = Payments{}
)

// CreateSession implements payments.Sessions: mode payment, manual
// capture, the lines at their discounted unit prices, the shipping as a
// fixed-amount option, the order id as client_reference_id and in both
// metadata, the customer's email for Checkout and for the receipt, the
// given expiry, and the caller's idempotency key.
func (s Payments) CreateSession(ctx context.Context, r payments.SessionRequest) (payments.Session, error) {
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
	if r.Tax > 0 {
		p.LineItems = append(p.LineItems, &stripe.CheckoutSessionLineItemParams{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{Currency: stripe.String(r.Currency), UnitAmount: stripe.Int64(r.Tax),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(TaxLineName)}},
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
		err = fmt.Errorf("%w: %w", payments.ErrSessionFailed, err)
	}
	if err != nil {
		return payments.Session{}, classify(err, "create the payment session")
	}
	return payments.Session{ID: cs.ID, URL: cs.URL}, nil
}

// TaxLineName is the name of the Checkout Session's line that carries the
// order's sales tax.
const TaxLineName = "Sales tax"

func sessionOf(cs *stripe.CheckoutSession) payments.SessionInfo {
	out := payments.SessionInfo{ID: cs.ID, Status: string(cs.Status), OrderID: cs.ClientReferenceID, ExpiresAt: time.Unix(cs.ExpiresAt, 0).UTC()}
	if out.OrderID == "" {
		out.OrderID = cs.Metadata["orderId"]
	}
	if cs.PaymentIntent != nil {
		out.IntentID = cs.PaymentIntent.ID
	}
	return out
}

// Session implements payments.Sessions.
func (s Payments) Session(ctx context.Context, id string) (payments.SessionInfo, error) {
	if id == "" {
		return payments.SessionInfo{}, apperr.New(apperr.Invalid, "no Checkout Session id")
	}
	p := &stripe.CheckoutSessionParams{}
	p.Context = ctx
	cs, err := s.API.CheckoutSessions.Get(id, p)
	if err != nil {
		return payments.SessionInfo{}, classify(err, "read Checkout Session "+id)
	}
	return sessionOf(cs), nil
}

// ExpireSession implements payments.Sessions. Stripe refuses to expire a
// session that is not open (400: "Only Checkout Sessions with a status in
// ["open"] can be expired"); the session is then re-read, so the caller
// learns whether it was paid (complete) or had expired already, without
// depending on the message's words.
func (s Payments) ExpireSession(ctx context.Context, id string) (payments.SessionInfo, error) {
	var cs *stripe.CheckoutSession
	err := retryAnswered5xx("expire-"+id, func(key string) (err error) {
		p := &stripe.CheckoutSessionExpireParams{}
		p.Context = ctx
		if key != "" {
			p.SetIdempotencyKey(key)
		}
		cs, err = s.API.CheckoutSessions.Expire(id, p)
		return err
	})
	if err == nil {
		return sessionOf(cs), nil
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode == 400 {
		return s.Session(ctx, id)
	}
	return payments.SessionInfo{}, classify(err, "expire Checkout Session "+id)
}

// retryAnswered5xx calls call with key, and once more without a key when
// Stripe answered 5xx. Stripe stores an answer for an idempotency key, a
// 5xx included, and replays it for 24 hours, so a key that once met a 5xx
// would block the call for a day. Only calls that are idempotent by
// nature take this second try — expiring a session, canceling an
// authorization: a repeat of either is answered "already expired" or
// "already canceled" — never a call that makes something.
func retryAnswered5xx(key string, call func(key string) error) error {
	err := call(key)
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 500 {
		err = call("")
	}
	return err
}

// Intent implements payments.Intents, with the authorization's deadline
// from the latest charge.
func (s Payments) Intent(ctx context.Context, id string) (payments.Intent, error) {
	if id == "" {
		return payments.Intent{}, apperr.New(apperr.Invalid, "no PaymentIntent id")
	}
	p := &stripe.PaymentIntentParams{}
	p.Context = ctx
	p.AddExpand("latest_charge")
	pi, err := s.API.PaymentIntents.Get(id, p)
	if err != nil {
		return payments.Intent{}, classify(err, "read PaymentIntent "+id)
	}
	in := intentOf(pi)
	if ch := pi.LatestCharge; ch != nil && ch.PaymentMethodDetails != nil && ch.PaymentMethodDetails.Card != nil {
		card := ch.PaymentMethodDetails.Card
		if card.CaptureBefore > 0 {
			in.CaptureBefore = time.Unix(card.CaptureBefore, 0).UTC()
		}
		in.CardBrand, in.CardLast4 = string(card.Brand), card.Last4
	}
	return in, nil
}

func intentOf(pi *stripe.PaymentIntent) payments.Intent {
	return payments.Intent{ID: pi.ID, Status: string(pi.Status), OrderID: pi.Metadata["orderId"],
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

// Capture implements payments.Intents. An intent captured before (a
// re-driven step) answers what was captured then.
func (s Payments) Capture(ctx context.Context, id string, amount int64, key string) (payments.Intent, error) {
	p := &stripe.PaymentIntentCaptureParams{AmountToCapture: stripe.Int64(amount)}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	pi, err := s.API.PaymentIntents.Capture(id, p)
	if err == nil {
		return intentOf(pi), nil
	}
	if unexpectedState(err) == string(stripe.PaymentIntentStatusSucceeded) {
		gp := &stripe.PaymentIntentParams{}
		gp.Context = ctx
		if pi, gerr := s.API.PaymentIntents.Get(id, gp); gerr == nil {
			return intentOf(pi), nil
		}
	}
	return payments.Intent{}, stepError(err, "capture the payment")
}

// Cancel implements payments.Intents.
func (s Payments) Cancel(ctx context.Context, id, key string) (payments.Intent, error) {
	var pi *stripe.PaymentIntent
	err := retryAnswered5xx(key, func(key string) (err error) {
		p := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String(string(stripe.PaymentIntentCancellationReasonAbandoned))}
		p.Context = ctx
		if key != "" {
			p.SetIdempotencyKey(key)
		}
		pi, err = s.API.PaymentIntents.Cancel(id, p)
		return err
	})
	if err == nil {
		return intentOf(pi), nil
	}
	if unexpectedState(err) == string(stripe.PaymentIntentStatusCanceled) {
		return payments.Intent{ID: id, Status: string(stripe.PaymentIntentStatusCanceled)}, nil
	}
	return payments.Intent{}, stepError(err, "cancel the payment")
}

// Refund implements payments.Intents: POST /v1/refunds with the payment
// intent, the amount, reason requested_by_customer, and the order id and
// the owner's words in the refund's metadata (Stripe keeps metadata
// values to 500 characters). The key makes a repeat answer the first
// refund.
func (s Payments) Refund(ctx context.Context, r payments.RefundRequest) (payments.RefundResult, error) {
	p := &stripe.RefundParams{PaymentIntent: stripe.String(r.IntentID), Amount: stripe.Int64(r.Amount),
		Reason: stripe.String(string(stripe.RefundReasonRequestedByCustomer))}
	p.AddMetadata("orderId", r.OrderID)
	p.AddMetadata("refund", strconv.Itoa(r.N))
	if reason := []rune(r.Reason); len(reason) > 0 {
		p.AddMetadata("reason", string(reason[:min(len(reason), 500)]))
	}
	p.Context = ctx
	p.SetIdempotencyKey(r.IdempotencyKey)
	re, err := s.API.Refunds.New(p)
	if err != nil {
		return payments.RefundResult{}, stepError(stored(err), "refund the payment")
	}
	return payments.RefundResult{ID: re.ID, Status: string(re.Status), Amount: re.Amount}, nil
}

// Refunds implements payments.Intents: GET /v1/refunds?payment_intent=…,
// every page, oldest first.
func (s Payments) Refunds(ctx context.Context, intentID string) ([]order.ProviderRefund, error) {
	p := &stripe.RefundListParams{PaymentIntent: stripe.String(intentID)}
	p.Context = ctx
	p.Limit = stripe.Int64(100)
	var out []order.ProviderRefund
	it := s.API.Refunds.List(p)
	for it.Next() {
		re := it.Refund()
		n, _ := strconv.Atoi(re.Metadata["refund"])
		out = append(out, order.ProviderRefund{ID: re.ID, Amount: re.Amount, Status: string(re.Status), OrderID: re.Metadata["orderId"], N: n})
	}
	if err := it.Err(); err != nil {
		return nil, stepError(err, "list the refunds")
	}
	slices.Reverse(out) // Stripe lists newest first
	return out, nil
}

// Dispute implements payments.Intents.
func (s Payments) Dispute(ctx context.Context, id string) (payments.Dispute, error) {
	p := &stripe.DisputeParams{}
	p.Context = ctx
	dp, err := s.API.Disputes.Get(id, p)
	if err != nil {
		return payments.Dispute{}, stepError(err, "read the dispute")
	}
	out := payments.Dispute{ID: dp.ID, Amount: dp.Amount, Reason: string(dp.Reason), Status: string(dp.Status)}
	if dp.PaymentIntent != nil {
		out.IntentID = dp.PaymentIntent.ID
	}
	return out, nil
}

// stepError: Stripe down is UNAVAILABLE (the trigger retries); an object
// Stripe does not know is NOT_FOUND; Stripe's refusal (a lapsed
// authorization, a decline) is FAILED_PRECONDITION with Stripe's message,
// which the order's attention reason then shows.
func stepError(err error, what string) error {
	var se *stripe.Error
	switch {
	case !errors.As(err, &se) || se.HTTPStatusCode >= 500 || se.HTTPStatusCode == 429:
		return apperr.Wrap(err, apperr.Unavailable, "Stripe is unavailable; will %s later", what).Because(payments.ReasonUnavailable)
	case se.HTTPStatusCode == 404:
		return apperr.Wrap(err, apperr.NotFound, "Stripe does not know the object to %s", what)
	}
	return apperr.Wrap(err, apperr.FailedPrecondition, "Stripe refused to %s: %s", what, se.Msg)
}

// classify maps Stripe's errors: its own 5xx, rate limits and network
// failures are UNAVAILABLE (retry later); an object it does not know is
// NOT_FOUND; anything else is a bug on our side (INTERNAL, logged).
func classify(err error, what string) error {
	var se *stripe.Error
	switch {
	case !errors.As(err, &se) || se.HTTPStatusCode >= 500 || se.HTTPStatusCode == 429:
		return apperr.Wrap(err, apperr.Unavailable, "payments are unavailable right now; please try again in a moment").Because(payments.ReasonUnavailable)
	case se.HTTPStatusCode == 404:
		return apperr.Wrap(err, apperr.NotFound, "Stripe has no such object (%s)", what)
	}
	return apperr.Wrap(err, apperr.Internal, "%s", what)
}

// NotConfigured is the payments provider of an instance without a Stripe
// key: every call answers UNAVAILABLE naming the missing secret, so that a
// step is retried once the key is configured and a callable says why.
type NotConfigured struct{}

var (
	_ payments.Sessions = NotConfigured{}
	_ payments.Intents  = NotConfigured{}
)

var errNotConfigured = apperr.New(apperr.Unavailable, "payments are not configured (STRIPE_SECRET_KEY)").Because(payments.ReasonUnavailable)

// CreateSession implements payments.Sessions.
func (NotConfigured) CreateSession(context.Context, payments.SessionRequest) (payments.Session, error) {
	return payments.Session{}, errNotConfigured
}

// ExpireSession implements payments.Sessions.
func (NotConfigured) ExpireSession(context.Context, string) (payments.SessionInfo, error) {
	return payments.SessionInfo{}, errNotConfigured
}

// Session implements payments.Sessions.
func (NotConfigured) Session(context.Context, string) (payments.SessionInfo, error) {
	return payments.SessionInfo{}, errNotConfigured
}

// Refund implements payments.Intents.
func (NotConfigured) Refund(context.Context, payments.RefundRequest) (payments.RefundResult, error) {
	return payments.RefundResult{}, errNotConfigured
}

// Refunds implements payments.Intents.
func (NotConfigured) Refunds(context.Context, string) ([]order.ProviderRefund, error) {
	return nil, errNotConfigured
}

// Dispute implements payments.Intents.
func (NotConfigured) Dispute(context.Context, string) (payments.Dispute, error) {
	return payments.Dispute{}, errNotConfigured
}

// Intent implements payments.Intents.
func (NotConfigured) Intent(context.Context, string) (payments.Intent, error) {
	return payments.Intent{}, errNotConfigured
}

// Capture implements payments.Intents.
func (NotConfigured) Capture(context.Context, string, int64, string) (payments.Intent, error) {
	return payments.Intent{}, errNotConfigured
}

// Cancel implements payments.Intents.
func (NotConfigured) Cancel(context.Context, string, string) (payments.Intent, error) {
	return payments.Intent{}, errNotConfigured
}

// TaxProvider is Stripe Tax as the checkout (Calculate) and payments
// (Record, Reverse) use it: Tax, or NotConfigured without a key.
type TaxProvider interface {
	Calculate(ctx context.Context, s tax.Sale, key string) (tax.Calculation, error)
	payments.TaxRecorder
}

var (
	_ TaxProvider = Tax{}
	_ TaxProvider = NotConfigured{}
)

// Calculate implements TaxProvider.
func (NotConfigured) Calculate(context.Context, tax.Sale, string) (tax.Calculation, error) {
	return tax.Calculation{}, errNotConfigured
}

// Record implements payments.TaxRecorder.
func (NotConfigured) Record(context.Context, string, string, string) (string, error) {
	return "", errNotConfigured
}

// Reverse implements payments.TaxRecorder.
func (NotConfigured) Reverse(context.Context, string, string, int64, string) (tax.Reversal, error) {
	return tax.Reversal{}, errNotConfigured
}
