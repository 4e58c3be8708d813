// Package pricing prices a cart: a pure function of the catalog, the cart
// and the time. Nothing the client says about prices is an input.
package pricing

import (
	"fmt"
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/money"
)

// CartLine is one line of a cart as the storefront wrote it.
type CartLine struct {
	SKU      string
	Quantity int64
}

// Line is a priced order line. Lines of the same SKU are summed into one.
type Line struct {
	SKU         string
	ProductID   string
	Name        string
	Quantity    int64
	UnitPrice   money.Money // what the customer pays per unit (the sale price when on sale)
	ListPrice   money.Money // the list price per unit
	OnSale      bool
	Total       money.Money // UnitPrice × Quantity
	Fulfillment catalog.Fulfillment
	WeightGrams int64 // per unit
	// QuickBooksItem is the QuickBooks item the line is invoiced as.
	QuickBooksItem string
	// TaxCode is the SKU's product tax code at the tax provider ("" : the
	// store's default).
	TaxCode string
}

// Priced is a priced cart.
type Priced struct {
	Lines    []Line // in the order each SKU first appears in the cart
	Subtotal money.Money
}

// LineProblem names what is wrong with one cart line (1-based, as the
// customer sees the cart): a stable Reason a program acts on, the limit
// where one was passed (Max), and a Message for people.
type LineProblem struct {
	Line    int    `json:"line"`
	SKU     string `json:"sku"`
	Reason  string `json:"reason"`
	Max     int64  `json:"max,omitempty"`
	Message string `json:"message"`
}

// Reasons (details.reason, and details.lines[].reason) the pricing of a
// cart gives; stable, documented in docs/api.md.
const (
	ReasonEmptyCart    = "empty_cart"     // the cart has no lines
	ReasonTooManyLines = "too_many_lines" // more than details.max lines
	ReasonBadLines     = "bad_lines"      // details.lines lists every bad line

	LineNoSKU          = "no_sku"             // the line names no SKU
	LineMalformedSKU   = "malformed_sku"      // not 1–64 of A–Z a–z 0–9 . _ -, starting with a letter or digit
	LineBadQuantity    = "bad_quantity"       // not a whole number from 1 to max
	LineUnknownSKU     = "unknown_sku"        // no such SKU in the catalog
	LineInactive       = "inactive"           // the SKU is no longer sold
	LineWrongCurrency  = "wrong_currency"     // the SKU is priced in another currency than the store's
	LineOverMax        = "over_max_per_order" // more than max of the SKU once its lines are summed
	LineMalformedEntry = "malformed"          // the line is not {sku: string, quantity: integer}
)

// Bounds checked before any arithmetic, so that no cart (even one written
// past the security rules) can overflow a sum.
const (
	MaxLines    = 100    // cart lines
	MaxQuantity = 10_000 // units on one cart line
)

// Price prices cart at instant at. skus holds the catalog entries the cart
// names (missing ones are unknown). maxPerLine caps a SKU's total quantity
// where the SKU sets no cap of its own. Every problem is reported at once
// as INVALID_ARGUMENT with details.lines = []LineProblem.
func Price(skus map[string]catalog.SKU, cart []CartLine, currency string, at time.Time, maxPerLine int64) (Priced, error) {
	if len(cart) == 0 {
		return Priced{}, apperr.New(apperr.Invalid, "the cart is empty").Because(ReasonEmptyCart)
	}
	if len(cart) > MaxLines {
		return Priced{}, apperr.New(apperr.Invalid, "the cart has %d lines; at most %d are allowed", len(cart), MaxLines).
			Because(ReasonTooManyLines).WithDetails(map[string]int{"max": MaxLines})
	}
	var (
		problems []LineProblem
		order    []string
		qty      = map[string]int64{}
		firstAt  = map[string]int{}
	)
	for i, cl := range cart {
		n := i + 1
		s, ok := skus[cl.SKU]
		switch {
		case cl.SKU == "":
			problems = append(problems, LineProblem{Line: n, SKU: cl.SKU, Reason: LineNoSKU, Message: "no sku"})
			continue
		case !catalog.ValidSKU(cl.SKU):
			problems = append(problems, LineProblem{Line: n, SKU: cl.SKU, Reason: LineMalformedSKU, Message: "malformed sku"})
			continue
		case cl.Quantity <= 0 || cl.Quantity > MaxQuantity:
			problems = append(problems, LineProblem{Line: n, SKU: cl.SKU, Reason: LineBadQuantity, Max: MaxQuantity,
				Message: fmt.Sprintf("quantity must be a whole number from 1 to %d", MaxQuantity)})
			continue
		case !ok:
			problems = append(problems, LineProblem{Line: n, SKU: cl.SKU, Reason: LineUnknownSKU, Message: "unknown sku"})
			continue
		case !s.Active:
			problems = append(problems, LineProblem{Line: n, SKU: cl.SKU, Reason: LineInactive, Message: "no longer sold"})
			continue
		case s.Price.Currency != currency:
			problems = append(problems, LineProblem{Line: n, SKU: cl.SKU, Reason: LineWrongCurrency,
				Message: fmt.Sprintf("priced in %s, the store sells in %s", s.Price.Currency, currency)})
			continue
		}
		if _, seen := qty[cl.SKU]; !seen {
			order = append(order, cl.SKU)
			firstAt[cl.SKU] = n
		}
		qty[cl.SKU] += cl.Quantity
	}
	for _, id := range order {
		limit := skus[id].MaxPerOrder
		if limit <= 0 {
			limit = maxPerLine
		}
		if qty[id] > limit {
			problems = append(problems, LineProblem{Line: firstAt[id], SKU: id, Reason: LineOverMax, Max: limit,
				Message: fmt.Sprintf("at most %d per order", limit)})
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b LineProblem) int { return a.Line - b.Line })
		p := problems[0]
		return Priced{}, apperr.New(apperr.Invalid, "cart line %d (%s): %s", p.Line, p.SKU, p.Message).
			Because(ReasonBadLines).WithDetails(map[string]any{"lines": problems})
	}

	out := Priced{Subtotal: money.New(0, currency)}
	for _, id := range order {
		s := skus[id]
		unit, onSale := s.PriceAt(at)
		total, err := unit.Mul(qty[id])
		if err != nil {
			return Priced{}, fmt.Errorf("price %s: %w", id, err)
		}
		if out.Subtotal, err = out.Subtotal.Add(total); err != nil {
			return Priced{}, fmt.Errorf("subtotal: %w", err)
		}
		out.Lines = append(out.Lines, Line{SKU: id, ProductID: s.ProductID, Name: s.Name, Quantity: qty[id], UnitPrice: unit,
			ListPrice: s.Price, OnSale: onSale, Total: total, Fulfillment: s.Fulfillment, WeightGrams: s.WeightGrams,
			QuickBooksItem: s.QuickBooksItem, TaxCode: s.TaxCode})
	}
	return out, nil
}
