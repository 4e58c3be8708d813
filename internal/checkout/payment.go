package checkout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
)

// SessionLine is one line of a payment session: a name, a unit amount in
// cents and a quantity.
type SessionLine struct {
	Name       string
	UnitAmount int64
	Quantity   int64
}

// SessionLines turns the order's discounted lines into session lines whose
// amounts add up to the lines' total after discounts to the cent: each line
// at its discounted unit price, and when its discounted total does not
// divide by the quantity, the units that carry the remainder (one cent
// more each) as a line of their own.
func SessionLines(o *order.Order) []SessionLine {
	var out []SessionLine
	for i, l := range o.Lines {
		net := l.Total.Amount
		if i < len(o.Pricing.LineDiscounts) {
			net -= o.Pricing.LineDiscounts[i].Amount
		}
		unit, rem := net/l.Quantity, net%l.Quantity
		if rem == 0 {
			out = append(out, SessionLine{Name: l.Name, UnitAmount: unit, Quantity: l.Quantity})
			continue
		}
		out = append(out, SessionLine{Name: l.Name, UnitAmount: unit, Quantity: l.Quantity - rem},
			SessionLine{Name: l.Name, UnitAmount: unit + 1, Quantity: rem})
	}
	return out
}

// SessionRequest is what the payment provider needs to make a session.
type SessionRequest struct {
	OrderID        string
	IdempotencyKey string
	Email          string
	Currency       string // lower case for Stripe
	Lines          []SessionLine
	ShippingName   string
	ShippingAmount int64 // after its discount
	ExpiresAt      time.Time
	SuccessURL     string
	CancelURL      string
}

// ErrSessionFailed marks a provider error that the provider answered (a
// 5xx): Stripe replays such an answer for the same idempotency key, so the
// next attempt must plan a new session (a new key). A failure without an
// answer (network, timeout) keeps the plan, so that a session the provider
// did make is returned by the retry instead of made twice.
var ErrSessionFailed = errors.New("the payment provider answered with a failure")

// Session is a made payment session.
type Session struct {
	ID  string
	URL string
}

// PaymentProvider makes payment sessions that only authorize the card.
type PaymentProvider interface {
	CreateSession(ctx context.Context, r SessionRequest) (Session, error)
}

// Payments is createPaymentSession's logic.
type Payments struct {
	Orders     OrderStore
	Customers  *Customers
	Provider   PaymentProvider
	SessionTTL time.Duration // 30m–24h, as Stripe allows
	Origins    []string      // the storefront's origins: return URLs must be on one
	Now        func() time.Time
}

// checkURL accepts a return URL on one of the storefront's origins; empty
// gets def.
func (p *Payments) checkURL(field, u, def string) (string, error) {
	if u == "" {
		return def, nil
	}
	for _, o := range p.Origins {
		if u == o || strings.HasPrefix(u, o+"/") || strings.HasPrefix(u, o+"?") {
			return u, nil
		}
	}
	return "", apperr.New(apperr.Invalid, "%s must be on the storefront (%s)", field, strings.Join(p.Origins, ", ")).WithDetails(map[string]string{"field": field})
}

// Start makes (or answers again) the Checkout Session for the caller's
// pending order, which must have a customer and a chosen shipping rate. It
// first records the promotion redemptions with their limits checked (if a
// promotion ran out, the order is re-priced and the answer is
// FAILED_PRECONDITION with details.reason "repriced"), then stretches the
// holds to the session's expiry, then asks the provider with an
// idempotency key derived from the order and its pricing revision, and
// stores the session.
func (p *Payments) Start(ctx context.Context, uid, orderID, successURL, cancelURL string) (*order.Order, error) {
	def := ""
	if len(p.Origins) > 0 {
		def = p.Origins[0]
	}
	success, err := p.checkURL("successUrl", successURL, def+"/checkout/success?session_id={CHECKOUT_SESSION_ID}")
	if err != nil {
		return nil, err
	}
	cancel, err := p.checkURL("cancelUrl", cancelURL, def+"/checkout")
	if err != nil {
		return nil, err
	}
	o, err := p.Customers.own(ctx, uid, orderID)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Customer == nil:
		return nil, apperr.New(apperr.FailedPrecondition, "add the customer's name and email first (applyCustomer)").WithDetails(map[string]string{"reason": "no_customer"})
	case o.Shipping == nil:
		return nil, apperr.New(apperr.FailedPrecondition, "choose shipping first (quoteShipping, selectShipping)").WithDetails(map[string]string{"reason": "no_shipping"})
	}
	if pay := o.Payment; pay != nil && pay.SessionID != "" && pay.Revision == o.Pricing.Revision && p.Now().Before(pay.ExpiresAt) {
		return o, nil // the same unchanged order: the same session
	}
	// One transaction commits the pricing (the redemptions, limits checked)
	// and plans the session on the order — revision, attempt, expiry — with
	// the holds stretched to that expiry. The same plan always asks Stripe
	// with the same parameters, so a retry replays, never duplicates.
	now := p.Now().UTC()
	repriced, err := p.Customers.CommitRedemptions(ctx, orderID, func(cur *order.Order) (bool, error) {
		if cur.State() != order.Pending {
			return false, apperr.New(apperr.FailedPrecondition, "order %s is %s", orderID, cur.State())
		}
		if pay := cur.Payment; pay != nil && pay.Revision == cur.Pricing.Revision && now.Add(30*time.Minute).Before(pay.ExpiresAt) {
			return false, nil
		}
		attempt := int64(1)
		if cur.Payment != nil {
			attempt = cur.Payment.Attempt + 1
		}
		expires := now.Add(p.SessionTTL).Truncate(time.Second)
		cur.Payment = &order.Payment{Revision: cur.Pricing.Revision, Attempt: attempt, ExpiresAt: expires}
		if cur.HoldExpiresAt.Before(expires) {
			cur.HoldExpiresAt = expires // the holds last as long as the session
		}
		cur.UpdatedAt = now
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if repriced {
		return nil, apperr.New(apperr.FailedPrecondition, "a promotion on this order has just run out; the order was priced again, please review the new total").
			WithDetails(map[string]string{"reason": "repriced"})
	}
	if o, err = p.Orders.Get(ctx, orderID); err != nil {
		return nil, err
	}
	shipName := o.Shipping.Rate.Carrier + " " + o.Shipping.Rate.Service
	sess, err := p.Provider.CreateSession(ctx, SessionRequest{
		OrderID: o.ID, IdempotencyKey: fmt.Sprintf("session-%s-r%d-a%d", o.ID, o.Payment.Revision, o.Payment.Attempt),
		Email: o.Customer.Email, Currency: strings.ToLower(o.Currency), Lines: SessionLines(o),
		ShippingName: strings.TrimSpace(shipName), ShippingAmount: o.ShippingAmount().Amount - o.Pricing.ShippingDiscount.Amount,
		ExpiresAt: o.Payment.ExpiresAt, SuccessURL: success, CancelURL: cancel,
	})
	if errors.Is(err, ErrSessionFailed) {
		attempt := o.Payment.Attempt
		if _, _, uerr := p.Orders.Update(ctx, orderID, func(cur *order.Order) (bool, error) {
			if cur.Payment == nil || cur.Payment.SessionID != "" || cur.Payment.Attempt != attempt {
				return false, nil
			}
			cur.Payment.ExpiresAt = time.Time{} // plan anew next time
			return true, nil
		}); uerr != nil {
			return nil, errors.Join(err, uerr)
		}
	}
	if err != nil {
		return nil, err
	}
	o, _, err = p.Orders.Update(ctx, orderID, func(cur *order.Order) (bool, error) {
		if cur.Payment == nil || cur.Payment.Revision != o.Payment.Revision {
			return false, apperr.New(apperr.Aborted, "the order changed while the payment session was made; call again")
		}
		if cur.Payment.SessionID == sess.ID {
			return false, nil
		}
		cur.Payment.SessionID, cur.Payment.URL, cur.UpdatedAt = sess.ID, sess.URL, p.Now().UTC()
		return true, nil
	})
	return o, err
}

// PaymentActions captures and cancels authorized PaymentIntents. Errors:
// UNAVAILABLE when the provider is down (retry), FAILED_PRECONDITION when
// the intent cannot be captured or canceled any more (its message says why).
type PaymentActions interface {
	// Capture captures amount; an intent already captured is a success.
	Capture(ctx context.Context, intentID string, amount int64, idempotencyKey string) (Intent, error)
	// Cancel releases an uncaptured authorization; an intent already
	// canceled is a success.
	Cancel(ctx context.Context, intentID, idempotencyKey string) (Intent, error)
}

// Capture is the order trigger's step on approved: capture the
// authorization for the order total (key capture-<orderId>, so a retried
// or re-driven step replays instead of capturing twice) and move the order
// to paid with what was captured. Stripe sends the receipt.
func (p *Payments) Capture(ctx context.Context, actions PaymentActions, o *order.Order) error {
	if o.Payment == nil || o.Payment.IntentID == "" {
		return apperr.New(apperr.FailedPrecondition, "order %s has no authorized payment to capture", o.ID)
	}
	amount := o.Total().Amount
	if amount > o.Payment.AmountCapturable {
		return apperr.New(apperr.FailedPrecondition, "the order total %d exceeds the authorized %d", amount, o.Payment.AmountCapturable)
	}
	in, err := actions.Capture(ctx, o.Payment.IntentID, amount, "capture-"+o.ID)
	if err != nil {
		return err
	}
	now := p.Now().UTC()
	_, _, err = p.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		applied, err := cur.Transition(order.Move{From: []order.State{order.Approved}, To: order.Paid, Actor: "trigger", Reason: "payment captured"}, now)
		if err != nil || !applied {
			return false, err
		}
		cur.Payment.AmountCaptured, cur.Payment.AmountCapturable = in.AmountReceived, 0
		return true, nil
	})
	return err
}

// CancelPayment is the order trigger's step on canceled: release the
// card's authorization if it was not captured (key cancel-<orderId>).
func (p *Payments) CancelPayment(ctx context.Context, actions PaymentActions, o *order.Order) error {
	if o.Payment == nil || o.Payment.IntentID == "" || o.Payment.AmountCaptured > 0 {
		return nil // nothing authorized, or captured (refunds are the owner's decision)
	}
	_, err := actions.Cancel(ctx, o.Payment.IntentID, "cancel-"+o.ID)
	if apperr.CodeOf(err) == apperr.FailedPrecondition {
		return nil // already captured or canceled elsewhere: nothing to release
	}
	return err
}
