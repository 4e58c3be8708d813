package promotion

import (
	"math/big"
	"slices"
	"sort"
	"time"

	"github.com/readyplanner/oms/internal/money"
)

// Line is an order line as the engine sees it.
type Line struct {
	SKU       string
	ProductID string
	Quantity  int64
	Total     money.Money // before discounts
}

// Usage is how often a promotion was redeemed: in all, and by the
// customer's mailbox.
type Usage struct {
	Total   int64
	ByEmail int64
}

// Input is everything Apply decides from.
type Input struct {
	Currency   string
	Lines      []Line
	Shipping   money.Money // the chosen shipping, or zero before one is chosen
	Email      string
	Code       string // as typed; "" for none
	Now        time.Time
	FirstOrder bool // the customer has no earlier order that was paid for
	// PlusAddressing treats "ann+x@" as "ann@" when matching emails and
	// counting per-email redemptions (the owner's choice).
	PlusAddressing bool
	Promotions     []Promotion
	Usage          map[string]Usage // by promotion id
}

// CodeStatus says what became of a typed code.
type CodeStatus string

// Code outcomes.
const (
	CodeApplied      CodeStatus = "applied"
	CodeUnknown      CodeStatus = "unknown"
	CodeExpired      CodeStatus = "expired"
	CodeNotEligible  CodeStatus = "not_eligible"
	CodeLimitReached CodeStatus = "limit_reached"
)

// Applied is one promotion that applies, with what it takes off.
type Applied struct {
	ID          string
	Name        string
	Description string
	Discount    money.Money
}

// Result is how an order is discounted.
type Result struct {
	Applied          []Applied     // in the order they were applied
	LineDiscounts    []money.Money // one per input line; never more than the line
	ShippingDiscount money.Money   // never more than the shipping
	Discount         money.Money   // the sum of all the above
	Code             CodeStatus    // "" when no code was typed
	CodeReason       string        // for the customer, when Code is not applied
}

// Apply decides which promotions apply to the order and allocates their
// discounts. Stackable promotions apply in (Priority, ID) order, each to
// what the previous ones left; each exclusive promotion is tried alone; the
// larger total discount wins (the stack on a tie).
func Apply(in Input) Result {
	email := NormalizeEmail(in.Email, in.PlusAddressing)
	code := NormalizeCode(in.Code)
	promos := slices.Clone(in.Promotions)
	sort.SliceStable(promos, func(i, j int) bool {
		if promos[i].Priority != promos[j].Priority {
			return promos[i].Priority < promos[j].Priority
		}
		return promos[i].ID < promos[j].ID
	})
	subtotal := int64(0)
	for _, l := range in.Lines {
		subtotal += l.Total.Amount
	}

	var stack, exclusive []Promotion
	codeStatus, codeReason := CodeStatus(""), ""
	if code != "" {
		codeStatus, codeReason = CodeUnknown, "We don't know this code."
	}
	for _, p := range promos {
		status, reason := eligible(p, in, email, code, subtotal)
		if code != "" && NormalizeCode(p.Code) == code && rank(status) > rank(codeStatus) {
			codeStatus, codeReason = status, reason
		}
		if status != CodeApplied {
			continue
		}
		if p.Exclusive {
			exclusive = append(exclusive, p)
		} else {
			stack = append(stack, p)
		}
	}

	best := run(stack, in)
	for _, p := range exclusive {
		if r := run([]Promotion{p}, in); r.Discount.Amount > best.Discount.Amount {
			best = r
		}
	}
	if code != "" && codeStatus == CodeApplied {
		used := false
		for _, a := range best.Applied {
			for _, p := range promos {
				if p.ID == a.ID && NormalizeCode(p.Code) == code {
					used = true
				}
			}
		}
		if !used {
			codeStatus, codeReason = CodeNotEligible, "A better offer already applies to this order."
		}
	}
	best.Code, best.CodeReason = codeStatus, codeReason
	if codeStatus == CodeApplied {
		best.CodeReason = ""
	}
	return best
}

// rank orders code outcomes so that the most favourable reason is shown
// when several promotions share a code.
func rank(s CodeStatus) int {
	return map[CodeStatus]int{"": 0, CodeUnknown: 1, CodeExpired: 2, CodeNotEligible: 3, CodeLimitReached: 4, CodeApplied: 5}[s]
}

func eligible(p Promotion, in Input, email, code string, subtotal int64) (CodeStatus, string) {
	switch {
	case !p.Active || (!p.EndsAt.IsZero() && !in.Now.Before(p.EndsAt)):
		return CodeExpired, "This code has expired."
	case !p.StartsAt.IsZero() && in.Now.Before(p.StartsAt):
		return CodeNotEligible, "This code is not valid yet."
	case p.Code != "" && NormalizeCode(p.Code) != code:
		return CodeNotEligible, "needs its code"
	case len(p.Emails) > 0 && !slices.ContainsFunc(p.Emails, func(e string) bool { return NormalizeEmail(e, in.PlusAddressing) == email }):
		return CodeNotEligible, "This code is not valid for this email address."
	case p.FirstOrderOnly && !in.FirstOrder:
		return CodeNotEligible, "This code is for a first order only."
	case p.MinSubtotal.Amount > 0 && subtotal < p.MinSubtotal.Amount:
		return CodeNotEligible, "The order is below this code's minimum of " + p.MinSubtotal.Decimal() + " " + p.MinSubtotal.Currency + "."
	case p.MaxRedemptions > 0 && in.Usage[p.ID].Total >= p.MaxRedemptions:
		return CodeLimitReached, "This code has been used up."
	case p.MaxRedemptionsPerEmail > 0 && in.Usage[p.ID].ByEmail >= p.MaxRedemptionsPerEmail:
		return CodeLimitReached, "You have already used this code as often as it allows."
	case p.Kind == FreeShipping && in.Shipping.Amount == 0:
		// Nothing to take off yet; it applies once shipping is chosen.
		return CodeApplied, ""
	}
	if (p.Amount.Amount > 0 && p.Amount.Currency != in.Currency) || (p.MinSubtotal.Amount > 0 && p.MinSubtotal.Currency != in.Currency) {
		return CodeNotEligible, "This code is for another currency."
	}
	return CodeApplied, ""
}

// run applies promotions in order, each to what is left.
func run(promos []Promotion, in Input) Result {
	left := make([]int64, len(in.Lines))
	for i, l := range in.Lines {
		left[i] = l.Total.Amount
	}
	shipLeft := in.Shipping.Amount
	res := Result{LineDiscounts: make([]money.Money, len(in.Lines)), ShippingDiscount: money.New(0, in.Currency), Discount: money.New(0, in.Currency)}
	for i := range res.LineDiscounts {
		res.LineDiscounts[i] = money.New(0, in.Currency)
	}
	for _, p := range promos {
		per, ship := discount(p, in.Lines, left, shipLeft)
		total := ship
		for i, d := range per {
			left[i] -= d
			res.LineDiscounts[i].Amount += d
			total += d
		}
		shipLeft -= ship
		res.ShippingDiscount.Amount += ship
		if total == 0 && p.Kind != FreeShipping {
			continue
		}
		res.Discount.Amount += total
		res.Applied = append(res.Applied, Applied{ID: p.ID, Name: p.Name, Description: p.Description, Discount: money.New(total, in.Currency)})
	}
	return res
}

// discount returns what p takes off each line (given what is left of each)
// and off the shipping.
func discount(p Promotion, lines []Line, left []int64, shipLeft int64) ([]int64, int64) {
	per := make([]int64, len(lines))
	targeted := func(l Line) bool {
		switch p.Kind {
		case PercentOffItems, AmountOffItems:
			return slices.Contains(p.SKUs, l.SKU) || (l.ProductID != "" && slices.Contains(p.Products, l.ProductID))
		}
		return true
	}
	weights := make([]int64, len(lines))
	var base int64
	for i, l := range lines {
		if targeted(l) {
			weights[i] = left[i]
			base += left[i]
		}
	}
	switch p.Kind {
	case FreeShipping:
		return per, shipLeft
	case AmountOffItems:
		for i, l := range lines {
			if targeted(l) {
				per[i] = min(left[i], p.Amount.Amount*l.Quantity)
			}
		}
		return per, 0
	case PercentOffOrder, PercentOffItems:
		pct := min(max(p.Percent, 0), 100)
		// Round half up, in exact arithmetic.
		d := new(big.Int).Mul(big.NewInt(base), big.NewInt(pct))
		d.Add(d, big.NewInt(50))
		d.Quo(d, big.NewInt(100))
		return money.Allocate(min(d.Int64(), base), weights), 0
	case AmountOffOrder:
		return money.Allocate(min(max(p.Amount.Amount, 0), base), weights), 0
	}
	return per, 0
}
