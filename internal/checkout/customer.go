package checkout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
)

// PromotionStore is what applyCustomer needs of the promotions.
type PromotionStore interface {
	Active(ctx context.Context) ([]promotion.Promotion, error)
	Usage(ctx context.Context, ids []string, mailboxKey string) (map[string]promotion.Usage, error)
	HasPaidOrder(ctx context.Context, mailboxKey string) (bool, error)
	Commit(ctx context.Context, orderID string, now time.Time, limited []string, reprice func(*order.Order, map[string]promotion.Usage) error,
		onCommit func(*order.Order) (bool, error)) (bool, error)
}

// OrderStore is what applyCustomer needs of the orders.
type OrderStore interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	Update(ctx context.Context, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error)
}

// Customers is applyCustomer's logic and the redemption commit.
type Customers struct {
	Orders         OrderStore
	Promotions     PromotionStore
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
	if name == "" || len([]rune(name)) > 100 || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", "", apperr.New(apperr.Invalid, "name must be 1 to 100 characters").WithDetails(map[string]string{"field": "name"})
	}
	addr, err := mail.ParseAddress(email)
	_, domain, _ := strings.Cut(email, "@")
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", "", apperr.New(apperr.Invalid, "email %q is not an email address", email).WithDetails(map[string]string{"field": "email"})
	}
	return name, email, nil
}

// Reprice prices o with the promotions as they are now: it replaces the
// pricing (one revision more), keeping what was committed.
func Reprice(o *order.Order, promos []promotion.Promotion, usage map[string]promotion.Usage, firstOrder, plus bool, code string, now time.Time) {
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
	p := order.Pricing{Revision: o.Pricing.Revision + 1, Code: strings.TrimSpace(code), CodeStatus: string(r.Code), CodeReason: r.CodeReason,
		LineDiscounts: r.LineDiscounts, ShippingDiscount: r.ShippingDiscount, Discount: r.Discount,
		CommittedRevision: o.Pricing.CommittedRevision, Redeemed: o.Pricing.Redeemed, RedemptionsReleased: o.Pricing.RedemptionsReleased}
	for _, a := range r.Applied {
		p.Promotions = append(p.Promotions, order.AppliedPromotion{ID: a.ID, Name: a.Name, Description: a.Description, Discount: a.Discount})
	}
	o.Pricing = p
}

// Apply stores the customer on the caller's pending order and prices it
// with the promotions tied to the email or the code. An order that is not
// the caller's is NOT_FOUND; one that is not pending, FAILED_PRECONDITION.
// Calling it again replaces the earlier pricing.
func (c *Customers) Apply(ctx context.Context, uid, orderID, name, email, code string) (*order.Order, error) {
	name, email, err := ValidateCustomer(name, email)
	if err != nil {
		return nil, err
	}
	if len(code) > 64 {
		return nil, apperr.New(apperr.Invalid, "code is longer than 64 characters").WithDetails(map[string]string{"field": "code"})
	}
	if strings.TrimSpace(orderID) == "" {
		return nil, apperr.New(apperr.Invalid, "orderId is required").WithDetails(map[string]string{"field": "orderId"})
	}
	o, err := c.own(ctx, uid, orderID)
	if err != nil {
		return nil, err
	}
	key := MailboxKey(email, c.PlusAddressing)
	promos, err := c.Promotions.Active(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(promos))
	for i, p := range promos {
		ids[i] = p.ID
	}
	usage, err := c.Promotions.Usage(ctx, ids, key)
	if err != nil {
		return nil, err
	}
	paid, err := c.Promotions.HasPaidOrder(ctx, key)
	if err != nil {
		return nil, err
	}
	now := c.Now()
	o, _, err = c.Orders.Update(ctx, orderID, func(cur *order.Order) (bool, error) {
		if cur.State() != order.Pending {
			return false, apperr.New(apperr.FailedPrecondition, "order %s is %s; only a pending order takes customer details", orderID, cur.State())
		}
		if cur.CartHash != o.CartHash {
			return false, apperr.New(apperr.Aborted, "the order changed while it was priced; call again")
		}
		cur.Customer = &order.Customer{Name: name, Email: email, MailboxKey: key}
		Reprice(cur, promos, usage, !paid, c.PlusAddressing, code, now)
		cur.UpdatedAt = now.UTC()
		return true, nil
	})
	return o, err
}

func (c *Customers) own(ctx context.Context, uid, orderID string) (*order.Order, error) {
	o, err := c.Orders.Get(ctx, orderID)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && o.UID != uid) {
		// Whether someone else's order exists is not the caller's business.
		return nil, apperr.New(apperr.NotFound, "order %s not found", orderID)
	}
	if err != nil {
		return nil, err
	}
	if o.State() != order.Pending {
		return nil, apperr.New(apperr.FailedPrecondition, "order %s is %s; only a pending order takes customer details", orderID, o.State())
	}
	return o, nil
}

// CommitRedemptions records the order's promotion redemptions as it goes to
// payment, with the limits checked in the same transaction; onCommit (may be
// nil) changes the order in that transaction once the pricing is committed.
// repriced means a promotion ran out in between: the order now carries the
// new pricing and the customer must be told before paying.
func (c *Customers) CommitRedemptions(ctx context.Context, orderID string, onCommit func(*order.Order) (bool, error)) (repriced bool, err error) {
	promos, err := c.Promotions.Active(ctx)
	if err != nil {
		return false, err
	}
	var limited []string
	for _, p := range promos {
		if p.MaxRedemptions > 0 || p.MaxRedemptionsPerEmail > 0 {
			limited = append(limited, p.ID)
		}
	}
	now := c.Now()
	return c.Promotions.Commit(ctx, orderID, now, limited, func(o *order.Order, usage map[string]promotion.Usage) error {
		paid, err := c.Promotions.HasPaidOrder(ctx, o.Customer.MailboxKey)
		if err != nil {
			return err
		}
		Reprice(o, promos, usage, !paid, c.PlusAddressing, o.Pricing.Code, now)
		return nil
	}, onCommit)
}
