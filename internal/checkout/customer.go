package checkout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/mail"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
)

// PromotionStore is what the checkout needs of the promotions.
type PromotionStore interface {
	Active(ctx context.Context) ([]promotion.Promotion, error)
	Usage(ctx context.Context, ids []string, mailboxKey string) (map[string]promotion.Usage, error)
	// HasOrderIn reports whether the mailbox has an order in one of
	// states.
	HasOrderIn(ctx context.Context, mailboxKey string, states []order.State) (bool, error)
	// UpdateRedemptions (RedemptionStore) loads an order with its
	// redemptions; the checkout decides (followPricing, decideCommit).
	RedemptionStore
}

// OrderStore is what the checkout needs of the orders.
type OrderStore interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	Update(ctx context.Context, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error)
}

// Customers is applyCustomer's logic, every re-pricing of an order, and
// the redemption commit.
type Customers struct {
	Orders     OrderStore
	Promotions PromotionStore
	Sessions   SessionCloser
	// Taxes works out the tax again once a change is written (nil: no
	// tax collected).
	Taxes          *Taxes
	PlusAddressing bool
	Now            func() time.Time
}

// MailboxKey identifies a mailbox without storing its address again: the
// normalised email, hashed.
func MailboxKey(email string, plusAddressing bool) string {
	sum := sha256.Sum256([]byte(promotion.NormalizeEmail(email, plusAddressing)))
	return hex.EncodeToString(sum[:16])
}

// ValidateCustomer checks a name and an email as the customer typed them
// and returns them trimmed; INVALID_ARGUMENT names the field.
func ValidateCustomer(name, email string) (string, string, error) {
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	switch {
	case name == "":
		return "", "", apperr.New(apperr.Invalid, "name is required").Because(order.ReasonRequired).On("name")
	case len([]rune(name)) > 100:
		return "", "", apperr.New(apperr.Invalid, "name must be at most 100 characters").Because(order.ReasonTooLong).On("name").
			WithDetails(map[string]int{"max": 100})
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", "", apperr.New(apperr.Invalid, "name must not hold control characters").Because(order.ReasonMalformed).On("name")
	}
	addr, err := mail.ParseAddress(email)
	_, domain, _ := strings.Cut(email, "@")
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		reason := order.ReasonMalformed
		if email == "" {
			reason = order.ReasonRequired
		}
		return "", "", apperr.New(apperr.Invalid, "email %q is not an email address", email).Because(reason).On("email")
	}
	return name, email, nil
}

// Reprice prices o with the promotions as they are now: it replaces the
// pricing (one revision more), keeping what was committed (see
// order.Order.Reprice, which refuses discounts that do not fit the order).
func Reprice(o *order.Order, promos []promotion.Promotion, usage map[string]promotion.Usage, firstOrder, plus bool, code string, now time.Time) error {
	return o.Reprice(discounts(o, promos, usage, firstOrder, plus, code, now))
}

// discounts works out o's discounts by the promotions as they are now.
func discounts(o *order.Order, promos []promotion.Promotion, usage map[string]promotion.Usage, firstOrder, plus bool, code string, now time.Time) order.Discounts {
	lines := make([]promotion.Line, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = promotion.Line{SKU: l.SKU, ProductID: l.ProductID, Quantity: l.Quantity, Total: l.Total}
	}
	email := ""
	if o.Customer != nil {
		email = o.Customer.Email
	}
	r := promotion.Apply(promotion.Input{Currency: o.Currency, Lines: lines, Shipping: o.ShippingAmount(), Email: email,
		Code: code, Now: now, FirstOrder: firstOrder, PlusAddressing: plus, Promotions: promos, Usage: usage})
	d := order.Discounts{Code: strings.TrimSpace(code), CodeStatus: string(r.Code), CodeReason: r.CodeReason,
		LineDiscounts: r.LineDiscounts, ShippingDiscount: r.ShippingDiscount}
	for _, a := range r.Applied {
		d.Promotions = append(d.Promotions, order.AppliedPromotion{ID: a.ID, Name: a.Name, Description: a.Description, Discount: a.Discount})
	}
	return d
}

// payable is what a customer would pay for, to compare an order before and
// after a change: a change that leaves it alone writes nothing and keeps
// the payment session.
type payable struct {
	Lines    any
	Customer *order.Customer
	Shipping *order.ShippingChoice
	Pricing  order.Pricing
}

func payableOf(o *order.Order) payable {
	p := o.Pricing
	p.Revision = 0
	return payable{Lines: o.Lines, Customer: o.Customer, Shipping: o.Shipping, Pricing: p}
}

// Apply stores the customer on the caller's pending order and prices it
// with the promotions tied to the email or the code. An order that is not
// the caller's is NOT_FOUND; one that is not pending, FAILED_PRECONDITION.
// Calling it again replaces the earlier pricing; calling it with what the
// order already has changes nothing.
func (c *Customers) Apply(ctx context.Context, uid, orderID, name, email, code string) (*order.Order, error) {
	if err := order.ValidID(orderID); err != nil {
		return nil, err
	}
	name, email, err := ValidateCustomer(name, email)
	if err != nil {
		return nil, err
	}
	if len(code) > 64 {
		return nil, apperr.New(apperr.Invalid, "code is longer than 64 characters").Because(order.ReasonTooLong).On("code").
			WithDetails(map[string]int{"max": 64})
	}
	return c.change(ctx, uid, orderID, email, &code, func(cur *order.Order) error {
		cur.Customer = &order.Customer{Name: name, Email: email, MailboxKey: MailboxKey(email, c.PlusAddressing)}
		return nil
	})
}

// Reprice prices the caller's pending order again with its customer's
// promotions and code (after its lines changed).
func (c *Customers) Reprice(ctx context.Context, uid, orderID string) (*order.Order, error) {
	o, err := c.own(ctx, uid, orderID)
	if err != nil || o.Customer == nil {
		return o, err
	}
	return c.change(ctx, uid, orderID, o.Customer.Email, nil, func(*order.Order) error { return nil })
}

// change applies mutate to the caller's pending order and, when it has a
// customer, prices it with the promotions for email and code (nil: the
// code the order has, as read in the transaction) — in one
// transaction that also gives back the redemptions of promotions the
// order no longer gets. If that changes what would be paid while the
// order's payment session is open, the session is closed first (expired
// at the provider) and the change tried again. A change that leaves the
// order as it was writes nothing. When the store collects tax, the
// order's tax is then worked out for what it would be paid for now
// (Taxes.EnsureFor): the provider down is UNAVAILABLE, reason
// tax_unavailable, with the change kept — calling again works the tax out.
func (c *Customers) change(ctx context.Context, uid, orderID, email string, code *string, mutate func(*order.Order) error) (*order.Order, error) {
	o, err := c.own(ctx, uid, orderID)
	if err != nil {
		return nil, err
	}
	return c.changeOwned(ctx, o, email, code, mutate)
}

// changeOwned is change of o, the caller's pending order just read (own).
func (c *Customers) changeOwned(ctx context.Context, o *order.Order, email string, code *string, mutate func(*order.Order) error) (*order.Order, error) {
	orderID := o.ID
	var (
		promos []promotion.Promotion
		usage  map[string]promotion.Usage
		paid   bool
		err    error
	)
	if email != "" { // an order without a customer is not priced with promotions
		key := MailboxKey(email, c.PlusAddressing)
		if promos, err = c.Promotions.Active(ctx); err != nil {
			return nil, err
		}
		ids, firstOnly := limited(promos)
		if usage, err = c.Promotions.Usage(ctx, ids, key); err != nil {
			return nil, err
		}
		if firstOnly {
			if paid, err = c.Promotions.HasOrderIn(ctx, key, PaidStates); err != nil {
				return nil, err
			}
		}
	}
	now := c.Now()
	for attempt := 0; attempt < closeAttempts; attempt++ {
		res, err := c.Promotions.UpdateRedemptions(ctx, orderID, nil, func(l *Redemptions) (RedemptionWrite, error) {
			return followPricing(l, func(cur *order.Order) (bool, error) {
				if cur.State() != order.Pending {
					return false, order.NotPending(cur, "change")
				}
				if cur.CartHash != o.CartHash {
					return false, apperr.New(apperr.Aborted, "the order changed while it was priced; call again").Because("order_changed")
				}
				saved, before := *cur, payableOf(cur)
				if err := mutate(cur); err != nil {
					return false, err
				}
				if cur.Customer != nil {
					typed := cur.Pricing.Code
					if code != nil {
						typed = *code
					}
					if err := Reprice(cur, promos, usage, !paid, c.PlusAddressing, typed, now); err != nil {
						return false, err
					}
				}
				taxed, err := c.Taxes.InTransaction(cur)
				if err != nil {
					return false, err
				}
				if reflect.DeepEqual(before, payableOf(cur)) && !taxed {
					*cur = saved // nothing that would be paid changed
					return false, nil
				}
				if cur.SessionOpen() {
					return false, order.ErrSessionOpen
				}
				return true, nil
			})
		})
		if !errors.Is(err, order.ErrSessionOpen) {
			if err == nil && c.Taxes.Collects() {
				return c.Taxes.EnsureFor(ctx, res)
			}
			return res, err
		}
		if err := c.Sessions.CloseSession(ctx, orderID); err != nil {
			return nil, err
		}
	}
	return nil, errChangingElsewhere
}

// limited returns the ids of the promotions whose usage pricing consults
// (those with a limit: promotion.Apply reads no other's) and whether any
// is for a first order only (only then does it matter whether the customer
// has paid before), so that a change reads no usage counter and runs no
// query whose answer cannot change the price. The limits are checked again
// from Firestore, in the transaction, when the order goes to payment
// (CommitRedemptions).
func limited(promos []promotion.Promotion) (ids []string, firstOnly bool) {
	for _, p := range promos {
		if p.MaxRedemptions > 0 || p.MaxRedemptionsPerEmail > 0 {
			ids = append(ids, p.ID)
		}
		firstOnly = firstOnly || p.FirstOrderOnly
	}
	return ids, firstOnly
}

// own returns the caller's pending order; someone else's is NOT_FOUND.
func (c *Customers) own(ctx context.Context, uid, orderID string) (*order.Order, error) {
	return order.OwnPending(ctx, c.Orders.Get, uid, orderID, "change")
}

// CommitRedemptions records the order's promotion redemptions as it goes to
// payment, with the limits checked in the same transaction: the order is
// priced again with the usage as it is now (what others redeemed); if that
// changes its promotions (one ran out, or one freed up) the new pricing is
// written, nothing is redeemed and repriced is true — the customer must see
// the new total before paying. Otherwise the pricing is committed: its
// redemptions recorded, any the order held and no longer uses given back,
// and onCommit (may be nil) changes the order in the same transaction.
// Committing the same pricing again redeems nothing more (only onCommit
// runs).
func (c *Customers) CommitRedemptions(ctx context.Context, orderID string, onCommit func(*order.Order) (bool, error)) (repriced bool, err error) {
	return (&Commits{Orders: c.Orders, Promotions: c.Promotions, PlusAddressing: c.PlusAddressing, Now: c.Now}).CommitRedemptions(ctx, orderID, onCommit)
}

// Commits commits orders' redemptions as they go to payment: payments'
// Committer, which needs nothing of payments (so that payments gets it at
// construction; Customers, which closes sessions, needs payments).
type Commits struct {
	Orders         OrderStore
	Promotions     PromotionStore
	PlusAddressing bool
	Now            func() time.Time
}

// CommitRedemptions is Customers.CommitRedemptions.
func (c *Commits) CommitRedemptions(ctx context.Context, orderID string, onCommit func(*order.Order) (bool, error)) (repriced bool, err error) {
	promos, err := c.Promotions.Active(ctx)
	if err != nil {
		return false, err
	}
	o, err := c.Orders.Get(ctx, orderID)
	if err != nil {
		return false, err
	}
	var candidates []string
	for _, p := range promos {
		if p.MaxRedemptions > 0 || p.MaxRedemptionsPerEmail > 0 {
			candidates = append(candidates, p.ID)
		}
	}
	for _, a := range o.Pricing.Promotions {
		candidates = append(candidates, a.ID)
	}
	candidates = append(candidates, o.Pricing.Redeemed...)
	paid := false
	if o.Customer != nil {
		if paid, err = c.Promotions.HasOrderIn(ctx, o.Customer.MailboxKey, PaidStates); err != nil {
			return false, err
		}
	}
	in := commitInput{Candidates: candidates, Promotions: promos, Paid: paid, PlusAddressing: c.PlusAddressing, Now: c.Now(), OnCommit: onCommit}
	_, err = c.Promotions.UpdateRedemptions(ctx, orderID, candidates, func(l *Redemptions) (RedemptionWrite, error) {
		w, r, err := decideCommit(l, in)
		repriced = r
		return w, err
	})
	return repriced, err
}
