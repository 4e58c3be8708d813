// Package promotion is the promotions engine: which promotions a customer's
// order gets, and exactly how much each line and the shipping are
// discounted. It is pure (no I/O, no clock): the same order, customer,
// code, promotions, usage and instant always give the same result, whatever
// order the promotions come in.
package promotion

import (
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/money"
)

// Kind is what a promotion takes off.
type Kind string

// The kinds of promotion.
const (
	PercentOffOrder Kind = "percent_off_order" // Percent off the lines' total
	AmountOffOrder  Kind = "amount_off_order"  // Amount off the lines' total
	PercentOffItems Kind = "percent_off_items" // Percent off the lines of the chosen SKUs or products
	AmountOffItems  Kind = "amount_off_items"  // Amount off each unit of the chosen SKUs or products
	FreeShipping    Kind = "free_shipping"     // the shipping
)

// Promotion is one promotion as the owner sets it (docs/api.md lists the
// fields).
type Promotion struct {
	ID          string
	Name        string
	Description string // customer-facing
	Active      bool
	Kind        Kind
	Percent     int64       // 1–100, for percent kinds
	Amount      money.Money // for amount kinds
	SKUs        []string    // item kinds: the SKUs it applies to
	Products    []string    // item kinds: the products it applies to

	// Eligibility. A promotion with Emails applies only to those emails; one
	// with a Code only when the customer types it; one with neither applies
	// to everyone. Zero times mean no limit.
	Emails         []string
	Code           string
	StartsAt       time.Time
	EndsAt         time.Time
	MinSubtotal    money.Money
	FirstOrderOnly bool

	// Limits (0: none).
	MaxRedemptions         int64
	MaxRedemptionsPerEmail int64

	// Stacking: stackable promotions apply together in Priority order
	// (lower first, then ID); an exclusive one applies alone, and is chosen
	// when it saves the customer more than the stack.
	Exclusive bool
	Priority  int64
}

// NormalizeEmail returns the mailbox an email names, for comparison: trimmed
// and lower-cased; with plusAddressing, "ann+shop@example.com" is
// "ann@example.com".
func NormalizeEmail(email string, plusAddressing bool) string {
	e := strings.ToLower(strings.TrimSpace(email))
	if plusAddressing {
		if local, domain, ok := strings.Cut(e, "@"); ok {
			if i := strings.IndexByte(local, '+'); i > 0 {
				e = local[:i] + "@" + domain
			}
		}
	}
	return e
}

// NormalizeCode returns a code for comparison: trimmed, upper case.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }
