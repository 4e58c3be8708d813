package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/webhook"
)

// Service is the payments capability.
type Service struct {
	Orders      OrderStore
	Sessions    Sessions
	Intents     Intents
	Redemptions Committer
	Recorder    webhook.Recorder
	Alerts      alert.Raiser
	SessionTTL  time.Duration // 30m–24h, as Stripe allows
	Origins     []string      // the storefront's origins: return URLs must be on one
	// Payable, when set, says whether the order can be fulfilled as it
	// stands (the printer's requirements of its address): it is checked
	// before the card is authorized, never after.
	Payable func(*order.Order) error
	// Taxes works out the order's tax before its session is made (nil:
	// no tax collected); TaxRecords records the paid sale and reverses
	// refunds at the tax provider (nil: the rate table or no tax, nothing
	// to record).
	Taxes      TaxWorker
	TaxRecords TaxRecorder
	Now        func() time.Time
}

// minSessionLeft is how much time a session must have left to be answered
// again; one closer to its end is replaced (Stripe makes none shorter than
// 30 minutes).
const minSessionLeft = 30 * time.Minute

// closeAttempts bounds how often a change closes a session that another
// tab opened meanwhile before giving up with ABORTED.
const closeAttempts = 3

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

// checkURL accepts a return URL on one of the storefront's origins; empty
// gets def.
func (s *Service) checkURL(field, u, def string) (string, error) {
	if u == "" {
		return def, nil
	}
	for _, o := range s.Origins {
		if u == o || strings.HasPrefix(u, o+"/") || strings.HasPrefix(u, o+"?") {
			return u, nil
		}
	}
	return "", apperr.New(apperr.Invalid, "%s must be on the storefront (%s)", field, strings.Join(s.Origins, ", ")).Because("off_storefront").On(field)
}

// reusable reports whether the order's current session can be answered
// again: open, made for the pricing as it is, and not about to end.
func reusable(o *order.Order, now time.Time) bool {
	p := o.Payment
	return o.SessionOpen() && p.Revision == o.Pricing.Revision && o.Pricing.CommittedRevision == p.Revision && now.Add(minSessionLeft).Before(p.ExpiresAt)
}

// Start makes (or answers again) the Checkout Session for the caller's
// pending order, which must have a customer and a chosen shipping rate.
//
// An order has at most one current session. The same unchanged order gets
// the same session. Otherwise the open one is expired at the provider
// first (CloseSession); then one transaction records the promotion
// redemptions with their limits checked (if a promotion ran out the order
// is re-priced and the answer is FAILED_PRECONDITION, reason "repriced"),
// plans the session (revision, attempt, expiry) and stretches the holds to
// its expiry; then the provider is asked with an idempotency key derived
// from the plan, and the session becomes the order's current one.
func (s *Service) Start(ctx context.Context, uid, orderID, successURL, cancelURL string) (*order.Order, error) {
	def := ""
	if len(s.Origins) > 0 {
		def = s.Origins[0]
	}
	success, err := s.checkURL("successUrl", successURL, def+"/checkout/success?session_id={CHECKOUT_SESSION_ID}")
	if err != nil {
		return nil, err
	}
	cancel, err := s.checkURL("cancelUrl", cancelURL, def+"/checkout")
	if err != nil {
		return nil, err
	}
	o, err := s.own(ctx, uid, orderID)
	if err != nil {
		return nil, err
	}
	switch {
	case o.Customer == nil:
		return nil, apperr.New(apperr.FailedPrecondition, "add the customer's name and email first (applyCustomer)").Because("no_customer")
	case o.Shipping == nil:
		return nil, apperr.New(apperr.FailedPrecondition, "choose shipping first (quoteShipping, selectShipping)").Because("no_shipping")
	}
	if s.Payable != nil {
		if err := s.Payable(o); err != nil {
			return nil, err
		}
	}
	taxes := s.Taxes != nil && s.Taxes.Collects()
	if taxes {
		if o, err = s.Taxes.EnsureFor(ctx, o); err != nil { // the order just read: no second read
			return nil, err
		}
	}
	if reusable(o, s.Now()) {
		return o, nil // the same unchanged order: the same session
	}
	var plan order.Payment
	for attempt := 0; ; attempt++ {
		if attempt == closeAttempts {
			return nil, apperr.New(apperr.Aborted, "the order keeps changing in another tab; try again").Because(order.ReasonChangingElsewhere)
		}
		// The order just read has no open session: nothing to close (one
		// opened meanwhile by another tab is refused by the transaction
		// below, ErrSessionOpen, and closed on the next attempt).
		if attempt > 0 || o.SessionOpen() {
			if err := s.CloseSession(ctx, orderID); err != nil {
				return nil, err
			}
		}
		now := s.Now().UTC()
		var reuse bool
		repriced, err := s.Redemptions.CommitRedemptions(ctx, orderID, func(cur *order.Order) (bool, error) {
			reuse = false
			if cur.State() != order.Pending {
				return false, order.NotPending(cur, "be paid")
			}
			if reusable(cur, now) {
				reuse = true // another tab made it meanwhile
				return false, nil
			}
			if cur.SessionOpen() {
				return false, order.ErrSessionOpen
			}
			if taxes && !cur.TaxCurrent() {
				return false, errTaxChanged // another tab changed what is taxed meanwhile
			}
			if p := cur.Payment; p != nil && p.SessionID == "" && p.Revision == cur.Pricing.Revision && now.Add(minSessionLeft).Before(p.ExpiresAt) {
				plan = *p // a planned session whose answer was lost: ask again with the same key
				return false, nil
			}
			var err error
			plan, err = cur.PlanSession(now.Add(s.SessionTTL).Truncate(time.Second))
			return err == nil, err
		})
		if errors.Is(err, order.ErrSessionOpen) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if repriced && taxes {
			cur, err := s.Orders.Get(ctx, orderID)
			if err == nil {
				_, err = s.Taxes.EnsureFor(ctx, cur)
			}
			if err != nil {
				return nil, err
			}
		}
		if repriced {
			return nil, apperr.New(apperr.FailedPrecondition, "a promotion on this order has just run out; the order was priced again, please review the new total").
				Because("repriced")
		}
		if reuse {
			return s.Orders.Get(ctx, orderID)
		}
		break
	}
	return s.create(ctx, orderID, plan, success, cancel)
}

// create asks the provider for the planned session and makes it the
// order's current one. A plan the order has moved past meanwhile (another
// tab changed it) expires the new session again at once.
func (s *Service) create(ctx context.Context, orderID string, plan order.Payment, success, cancel string) (*order.Order, error) {
	o, err := s.Orders.Get(ctx, orderID)
	if err != nil {
		return nil, err
	}
	shipName := o.Shipping.Rate.Name()
	sess, err := s.Sessions.CreateSession(ctx, SessionRequest{
		OrderID: o.ID, IdempotencyKey: fmt.Sprintf("session-%s-r%d-a%d", o.ID, plan.Revision, plan.Attempt),
		Email: o.Customer.Email, Currency: strings.ToLower(o.Currency), Lines: SessionLines(o),
		ShippingName: shipName, ShippingAmount: o.ShippingAmount().Amount - o.Pricing.ShippingDiscount.Amount, Tax: o.TaxAmount().Amount,
		ExpiresAt: plan.ExpiresAt, SuccessURL: success, CancelURL: cancel,
	})
	if errors.Is(err, ErrSessionFailed) {
		if _, _, uerr := s.Orders.Update(ctx, orderID, func(cur *order.Order) (bool, error) {
			return cur.SessionPlanFailed(plan.Attempt), nil // plan anew next time
		}); uerr != nil {
			return nil, errors.Join(err, uerr)
		}
	}
	if err != nil {
		return nil, err
	}
	o, _, err = s.Orders.Update(ctx, orderID, func(cur *order.Order) (bool, error) {
		return cur.SessionMade(plan, sess.ID, sess.URL)
	})
	if errors.Is(err, order.ErrSessionSuperseded) {
		// Nobody will be sent to this session: make sure nobody can pay it.
		// Should the expiry fail, a payment of it is a stray and released.
		if _, xerr := s.Sessions.ExpireSession(ctx, sess.ID); xerr != nil {
			logging.FromContext(ctx).Warn().Err(xerr).Str("session", sess.ID).Msg("a superseded session was not expired; a payment of it will be released")
		}
		return nil, apperr.New(apperr.Aborted, "the order changed while the payment session was made; call again").Because("order_changed")
	}
	return o, err
}

// CloseSession makes sure the order's current session can no longer be
// paid before anything that would be paid changes: it expires an open
// session at the provider and records it closed. A session the customer
// already paid cannot be closed: FAILED_PRECONDITION, reason
// "payment_completed" (the payment's webhook is on its way). The provider
// down is UNAVAILABLE, and nothing changed.
func (s *Service) CloseSession(ctx context.Context, orderID string) error {
	o, err := s.Orders.Get(ctx, orderID)
	if err != nil {
		return err
	}
	if !o.SessionOpen() {
		return nil
	}
	id := o.Payment.SessionID
	info, err := s.Sessions.ExpireSession(ctx, id)
	switch {
	case apperr.CodeOf(err) == apperr.NotFound:
		// The provider does not know it (another account's key now): it
		// cannot be paid.
	case err != nil:
		return err
	case info.Status == SessionComplete:
		return apperr.New(apperr.FailedPrecondition, "this order's payment was just completed; it can no longer be changed").
			Because("payment_completed")
	case info.Status != SessionExpired:
		return apperr.New(apperr.Unavailable, "the payment session %s could not be expired (it is %s); try again", id, info.Status).Because(ReasonUnavailable)
	}
	_, _, err = s.Orders.Update(ctx, orderID, func(cur *order.Order) (bool, error) {
		return cur.CloseSession(id), nil
	})
	return err
}

// own returns the caller's pending order; someone else's is NOT_FOUND.
func (s *Service) own(ctx context.Context, uid, orderID string) (*order.Order, error) {
	return order.OwnPending(ctx, s.Orders.Get, uid, orderID, "be paid")
}

// errTaxChanged answers a payment session asked for while another tab
// changed what the order's tax is worked out on.
var errTaxChanged = apperr.New(apperr.Aborted, "the order changed while its payment session was made; call again").Because("order_changed")

// ReasonUnavailable is the UNAVAILABLE reason when the payment provider
// is down, throttled or not configured: nothing changed, call again.
const ReasonUnavailable = "payment_provider_unavailable"
