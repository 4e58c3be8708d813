package catalog

import (
	"github.com/readyplanner/oms/internal/apperr"
)

// ReasonPricingInvalid is why the owner's pricing of a SKU is refused
// (field says which).
const ReasonPricingInvalid = "pricing_invalid"

// MaxAmount bounds a price (10^10 minor units): no price times the
// largest quantity, summed over the most lines, can overflow.
const MaxAmount = 10_000_000_000

// CheckPricing applies the rules the checkout prices by to a SKU's
// price and sale: a positive list price within MaxAmount with its
// currency, and a sale (if any) in the same currency, cheaper than the
// list price, whose window ends after it starts. INVALID_ARGUMENT
// (pricing_invalid) naming the field otherwise.
func CheckPricing(s SKU) error {
	bad := func(field, format string, args ...any) error {
		return apperr.New(apperr.Invalid, format, args...).Because(ReasonPricingInvalid).On(field)
	}
	switch {
	case s.Price.Amount <= 0 || s.Price.Amount > MaxAmount || len(s.Price.Currency) != 3:
		return bad("price", "price must be 1 to %d minor units with its currency", int64(MaxAmount))
	case s.Sale == nil:
		return nil
	case s.Sale.Price.Currency != s.Price.Currency:
		return bad("sale.price", "the sale price must be in the list price's currency (%s)", s.Price.Currency)
	case s.Sale.Price.Amount <= 0 || s.Sale.Price.Amount >= s.Price.Amount:
		return bad("sale.price", "the sale price must be more than 0 and less than the list price")
	case s.Sale.StartsAt.IsZero() || s.Sale.EndsAt.IsZero() || !s.Sale.EndsAt.After(s.Sale.StartsAt):
		return bad("sale.endsAt", "a sale needs a window: startsAt, and endsAt after it")
	}
	return nil
}
