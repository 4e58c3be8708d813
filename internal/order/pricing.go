package order

import (
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/pricing"
)

// Discounts is a pricing of the order by its promotions, as the promotion
// engine worked it out: what Reprice records.
type Discounts struct {
	Code             string // as typed, "" for none
	CodeStatus       string // applied, unknown, expired, not_eligible, limit_reached
	CodeReason       string
	Promotions       []AppliedPromotion
	LineDiscounts    []money.Money // one per line, in line order
	ShippingDiscount money.Money
}

// SamePromotions reports whether d applies the same promotions for the
// same amounts as the order's pricing p (the code's status aside).
func (d Discounts) SamePromotions(p Pricing) bool {
	if len(d.Promotions) != len(p.Promotions) || d.ShippingDiscount != p.ShippingDiscount || !slices.Equal(d.LineDiscounts, p.LineDiscounts) {
		return false
	}
	for i := range d.Promotions {
		if d.Promotions[i].ID != p.Promotions[i].ID || d.Promotions[i].Discount != p.Promotions[i].Discount {
			return false
		}
	}
	return true
}

// Reprice replaces the order's discounts with d as a new pricing revision,
// keeping what was committed and redeemed. d must price the order as it
// is: one discount per line, none negative or more than its line, and a
// shipping discount no more than the shipping; otherwise it is INTERNAL
// (the engine's promise broken) and nothing changes.
func (o *Order) Reprice(d Discounts) error {
	if len(d.LineDiscounts) != len(o.Lines) {
		return apperr.New(apperr.Internal, "reprice order %s: %d line discounts for %d lines", o.ID, len(d.LineDiscounts), len(o.Lines))
	}
	for i, ld := range d.LineDiscounts {
		if ld.Amount < 0 || ld.Amount > o.Lines[i].Total.Amount {
			return apperr.New(apperr.Internal, "reprice order %s: line %d's discount %d is not within its total %d", o.ID, i, ld.Amount, o.Lines[i].Total.Amount)
		}
	}
	if s := d.ShippingDiscount.Amount; s < 0 || s > o.ShippingAmount().Amount {
		return apperr.New(apperr.Internal, "reprice order %s: the shipping discount %d is not within the shipping %d", o.ID, s, o.ShippingAmount().Amount)
	}
	old := o.Pricing
	o.Pricing = Pricing{Revision: old.Revision + 1, Code: d.Code, CodeStatus: d.CodeStatus, CodeReason: d.CodeReason,
		Promotions: d.Promotions, LineDiscounts: d.LineDiscounts, ShippingDiscount: d.ShippingDiscount,
		CommittedRevision: old.CommittedRevision, Redeemed: old.Redeemed, RedemptionsReleased: old.RedemptionsReleased}
	return nil
}

// CommitPricing records that the order goes to payment with the pricing
// revision it has (its redemptions recorded). It reports whether that
// changed anything.
func (o *Order) CommitPricing() bool {
	if o.Pricing.CommittedRevision == o.Pricing.Revision {
		return false
	}
	o.Pricing.CommittedRevision = o.Pricing.Revision
	return true
}

// Cart is what a pending order is made of when its cart changes: the
// priced lines, where they came from, and the stock held for them.
type Cart struct {
	Lines         []pricing.Line
	Subtotal      money.Money
	Hash          string
	Holds         []Hold
	HoldExpiresAt time.Time
}

// ReplaceCart replaces a pending order's lines with the cart's (its holds
// are the caller's to have placed). The discounts were for the old lines:
// they are cleared (one pricing revision more; the code, what was
// committed and redeemed kept) for the caller to price again; the package
// changed too, so the quote and the shipping choice are cleared. An order
// that is not pending is FAILED_PRECONDITION; one whose session is open,
// ErrSessionOpen.
func (o *Order) ReplaceCart(c Cart, at time.Time) error {
	if o.state != Pending {
		return NotPending(o, "change")
	}
	if o.SessionOpen() {
		return ErrSessionOpen
	}
	o.Lines, o.Subtotal, o.CartHash = c.Lines, c.Subtotal, c.Hash
	o.Holds, o.HoldExpiresAt, o.UpdatedAt = c.Holds, c.HoldExpiresAt, at
	old := o.Pricing
	o.Pricing = Pricing{Revision: old.Revision + 1, Code: old.Code,
		CommittedRevision: old.CommittedRevision, Redeemed: old.Redeemed, RedemptionsReleased: old.RedemptionsReleased}
	o.Quote, o.Shipping = nil, nil
	return nil
}

// RecordRedeemed records ids as the promotions whose redemptions are
// recorded for the order (the checkout's commit, or what a re-pricing
// keeps). It reports whether that changed anything.
func (o *Order) RecordRedeemed(ids []string) bool {
	changed := !slices.Equal(o.Pricing.Redeemed, ids)
	o.Pricing.Redeemed = slices.Clone(ids)
	return changed
}

// ReleaseRedemptions records that the order's redemptions were given back
// (it expired or was canceled), once. It reports whether that changed
// anything.
func (o *Order) ReleaseRedemptions() bool {
	if o.Pricing.RedemptionsReleased {
		return false
	}
	o.Pricing.RedemptionsReleased = true
	return true
}
