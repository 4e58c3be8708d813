package promotion

import (
	"strings"
	"unicode/utf8"

	"github.com/readyplanner/oms/internal/apperr"
)

// Why a promotion is refused (the owner's commands' reasons; field says
// which).
const (
	ReasonInvalid = "promotion_invalid"
)

// Check applies the rules a promotion must keep to be applied at all —
// the same the checkout's engine relies on: a name, a known kind with its
// figure (a percent of 1–100, a positive amount with its currency), the
// targets of an item kind, a window that ends after it starts, limits
// that are not negative, a code of letters, digits, '-' and '_'.
// INVALID_ARGUMENT (promotion_invalid) naming the field otherwise.
func Check(p Promotion) error {
	bad := func(field, format string, args ...any) error {
		return apperr.New(apperr.Invalid, format, args...).Because(ReasonInvalid).On(field)
	}
	switch {
	case p.ID == "" || len(p.ID) > 64 || strings.Trim(p.ID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "":
		return bad("id", "id must be 1–64 letters, digits, '-' or '_'")
	case strings.TrimSpace(p.Name) == "" || utf8.RuneCountInString(p.Name) > 100:
		return bad("name", "name is required, at most 100 characters")
	case utf8.RuneCountInString(p.Description) > 300:
		return bad("description", "description must be at most 300 characters")
	}
	switch p.Kind {
	case PercentOffOrder, PercentOffItems:
		if p.Percent < 1 || p.Percent > 100 {
			return bad("percent", "percent must be a whole number from 1 to 100")
		}
	case AmountOffOrder, AmountOffItems:
		if p.Amount.Amount <= 0 || len(p.Amount.Currency) != 3 {
			return bad("amount", "amount must be a positive number of minor units with its currency")
		}
	case FreeShipping:
	default:
		return bad("kind", "kind must be one of percent_off_order, amount_off_order, percent_off_items, amount_off_items, free_shipping")
	}
	switch {
	case (p.Kind == PercentOffItems || p.Kind == AmountOffItems) && len(p.SKUs)+len(p.Products) == 0:
		return bad("skus", "an item promotion needs the SKUs or products it applies to")
	case !p.StartsAt.IsZero() && !p.EndsAt.IsZero() && !p.EndsAt.After(p.StartsAt):
		return bad("endsAt", "endsAt must be after startsAt")
	case p.MaxRedemptions < 0:
		return bad("maxRedemptions", "maxRedemptions must be 0 (no limit) or more")
	case p.MaxRedemptionsPerEmail < 0:
		return bad("maxRedemptionsPerEmail", "maxRedemptionsPerEmail must be 0 (no limit) or more")
	case p.MinSubtotal.Amount < 0:
		return bad("minSubtotal", "minSubtotal must not be negative")
	case p.Code != "" && (len(p.Code) > 40 || strings.Trim(NormalizeCode(p.Code), "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != ""):
		return bad("code", "code must be at most 40 letters, digits, '-' or '_'")
	}
	for _, e := range p.Emails {
		if !strings.Contains(e, "@") || len(e) > 254 {
			return bad("emails", "emails must be email addresses")
		}
	}
	return nil
}
