// Package tax is the sales tax an order carries: a figure for each line
// and for shipping that add up to the order's tax, from a provider's
// calculation or from the store's own rate table (Table), and the share of
// that tax a refund gives back. Amounts are integer minor units; rates are
// parts per million of the amount (8.25% is 82,500). Pure: no SDK.
package tax

import (
	"math/big"
	"time"

	"github.com/readyplanner/oms/internal/money"
)

// Address is where tax is sourced from: a country (ISO 3166-1 alpha-2), a
// state or province, a postal code; a provider also takes the street and
// city (the rate table needs neither).
type Address struct {
	Country, State, PostalCode string
	Line1, City                string
}

// Sale is what a tax provider is asked to tax: the lines' amounts after
// their discounts, the shipping after its discount, in a currency (ISO
// 4217, any case), shipped from From to To.
type Sale struct {
	Currency string
	Lines    []SaleLine
	Shipping int64
	From, To Address
}

// SaleLine is one line of a Sale: a reference unique within it (the SKU),
// its amount after discounts, its quantity and its tax code (the
// provider's product tax category; "" for the store's default).
type SaleLine struct {
	Reference        string
	Amount, Quantity int64
	TaxCode          string
}

// Calculation is a provider's answer for a Sale: its id (to record the
// sale once it is paid), the figures, and until when it can be recorded.
type Calculation struct {
	ID        string
	Figures   Figures
	ExpiresAt time.Time
}

// Reversal is a refund's record at the provider: what it reversed of the
// sale, tax included, and the tax of it.
type Reversal struct {
	ID          string
	Amount, Tax int64
}

// Figures are an order's tax: one figure per line (in line order), one
// for shipping, and their sum. Rate and Jurisdiction say how the figures
// were made (a rate-table rule; zero and "" where no tax is due).
type Figures struct {
	Lines        []int64
	Shipping     int64
	Total        int64
	Rate         int64 // parts per million
	Jurisdiction string
}

// AddsUp reports whether the figures add up: the lines and shipping sum
// to the total, none negative. A provider's answer that does not is not
// believed.
func (f Figures) AddsUp() bool {
	sum := f.Shipping
	ok := f.Shipping >= 0 && f.Total >= 0
	for _, l := range f.Lines {
		sum += l
		ok = ok && l >= 0
	}
	return ok && sum == f.Total
}

// ReasonAddress is the reason of a provider's refusal to tax a sale at
// its address (it cannot place it): the customer checks the address.
const ReasonAddress = "tax_address"

// PPM is a rate of one hundred percent, in parts per million.
const PPM = 1_000_000

// Apply computes the tax at rate (parts per million; above PPM counts as
// PPM) on lines and, when taxShipping, on shipping — amounts an order can
// have, whose sum is far inside int64: the tax of their sum, rounded half
// up, split over them in proportion (largest remainder), so that the
// figures add up to the total exactly.
func Apply(rate int64, lines []int64, shipping int64, taxShipping bool) Figures {
	f := Figures{Lines: make([]int64, len(lines)), Rate: rate}
	weights := make([]int64, 0, len(lines)+1)
	var base int64
	for _, a := range lines {
		a = max(a, 0)
		weights = append(weights, a)
		base += a
	}
	if taxShipping {
		weights = append(weights, max(shipping, 0))
		base += max(shipping, 0)
	}
	if rate <= 0 || base <= 0 {
		return f
	}
	rate = min(rate, PPM) // never more tax than the amount
	f.Total = mulDivHalfUp(base, rate, PPM)
	parts := money.Allocate(f.Total, weights)
	copy(f.Lines, parts[:len(lines)])
	if taxShipping {
		f.Shipping = parts[len(lines)]
	}
	return f
}

// RefundShare is the tax a refund of amount gives back, of an order whose
// total (tax included) is total and whose tax is tax, after refundedBefore
// of the total and taxRefundedBefore of the tax went back already. Shares
// are cumulative — what the refunds so far have given back is the tax of
// what they refunded, rounded half up — so that refunding the whole total,
// in any number of parts, gives back exactly the tax.
func RefundShare(amount, refundedBefore, total, tax, taxRefundedBefore int64) int64 {
	if amount <= 0 || total <= 0 || tax <= 0 || taxRefundedBefore >= tax {
		return 0
	}
	after := refundedBefore + amount
	target := tax
	if after < total {
		target = mulDivHalfUp(after, tax, total)
	}
	return min(max(target-taxRefundedBefore, 0), tax-taxRefundedBefore)
}

// mulDivHalfUp is a×b/c rounded half up, without overflow (a, b ≥ 0, c > 0).
func mulDivHalfUp(a, b, c int64) int64 {
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	q, r := new(big.Int).QuoRem(n, big.NewInt(c), new(big.Int))
	if r.Mul(r, big.NewInt(2)).Cmp(big.NewInt(c)) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}
