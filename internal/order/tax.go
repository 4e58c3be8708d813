package order

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/tax"
)

// Tax is the order's sales tax: the figures a provider (or the store's
// rate table) worked out for what the order would be paid for (Basis), and
// once the order is paid, the provider's record of the sale.
type Tax struct {
	// Provider is who made the figures: "table" or "stripe".
	Provider string
	// Basis identifies what the figures were made for (TaxBasis): a tax
	// whose basis is not the order's is stale and counts for nothing.
	Basis string
	// CalculationID is the provider's calculation ("" for the table).
	CalculationID string
	Figures       tax.Figures
	ComputedAt    time.Time
	// TransactionID is the provider's record of the paid sale ("" until
	// recorded, and always for the table).
	TransactionID string
	// RecordAttempt counts the calls to record it that the provider
	// answered with a failure it stores for the call's key (a 5xx): the
	// next call uses a new key (RecordKey).
	RecordAttempt int
	// RecordFailure says why the provider refused for good to record the
	// sale (the owner was told); "" while it is still to record.
	RecordFailure string
}

// RecordKey is the idempotency key of the next call that records the
// order's paid sale at the provider: taxtx-<orderId>, then
// taxtx-<orderId>-<k> once k calls were answered with a stored failure.
func (o *Order) RecordKey() string {
	if o.Tax == nil || o.Tax.RecordAttempt == 0 {
		return "taxtx-" + o.ID
	}
	return fmt.Sprintf("taxtx-%s-%d", o.ID, o.Tax.RecordAttempt)
}

// TaxRecordFailed records that the provider answered the call made with
// key with a failure it stores for that key: the next call uses a new
// one. A key already moved past changes nothing. It reports whether that
// changed anything.
func (o *Order) TaxRecordFailed(key string) bool {
	if !o.TaxToRecord() || o.RecordKey() != key {
		return false
	}
	o.Tax.RecordAttempt++
	return true
}

// TaxKey is the idempotency key of the next call that gives back refund
// n's share of the tax at the provider: taxrev-refund-<orderId>-<n>, then
// with -<k> once k calls were answered with a stored failure.
func (r Refund) TaxKey(orderID string) string {
	if r.TaxAttempt == 0 {
		return "taxrev-" + r.Key(orderID)
	}
	return fmt.Sprintf("taxrev-%s-%d", r.Key(orderID), r.TaxAttempt)
}

// RefundTaxFailed records that the provider answered the call made for
// refund n's tax with key with a failure it stores for that key: the next
// call uses a new one. It reports whether that changed anything.
func (o *Order) RefundTaxFailed(n int, key string) bool {
	r := o.refund(n)
	if r == nil || !r.TaxDue || r.TaxKey(o.ID) != key {
		return false
	}
	r.TaxAttempt++
	return true
}

// Tax providers.
const (
	TaxByTable  = "table"
	TaxByStripe = "stripe"
)

// TaxSale is what the order would be paid for, as a tax provider is asked
// about it: each line after its discount, the shipping after its
// discount, to the chosen address (the ship-from is the caller's). An
// order without a shipping choice has nothing to tax yet (false).
func (o *Order) TaxSale() (tax.Sale, bool) {
	if o.Shipping == nil {
		return tax.Sale{}, false
	}
	a := o.Shipping.Address
	s := tax.Sale{Currency: o.Currency, Shipping: o.ShippingAmount().Amount - o.Pricing.ShippingDiscount.Amount,
		To: tax.Address{Country: a.CountryCode, State: a.StateProvince, PostalCode: a.PostalCode, Line1: a.AddressLine1, City: a.CityLocality}}
	for i, l := range o.Lines {
		net := l.Total.Amount
		if i < len(o.Pricing.LineDiscounts) {
			net -= o.Pricing.LineDiscounts[i].Amount
		}
		s.Lines = append(s.Lines, tax.SaleLine{Reference: l.SKU, Amount: net, Quantity: l.Quantity, TaxCode: l.TaxCode})
	}
	return s, true
}

// TaxBasis identifies the order's TaxSale: it changes whenever anything
// the tax depends on changes ("" when there is nothing to tax yet).
func (o *Order) TaxBasis() string {
	s, ok := o.TaxSale()
	if !ok {
		return ""
	}
	b, _ := json.Marshal(s) // plain values: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// TaxCurrent reports whether the order carries tax figures made for what
// it would be paid for now.
func (o *Order) TaxCurrent() bool {
	return o.Tax != nil && o.Tax.Basis != "" && o.Tax.Basis == o.TaxBasis()
}

// taxCounts reports whether the order's tax figures count: while it is
// pending, when they are current (none configured, or not yet worked out:
// they do not); once it went to payment, the figures it was paid with
// (figures that were not current then were dropped as it left pending).
func (o *Order) taxCounts() bool {
	return o.Tax != nil && (o.state != Pending || o.TaxCurrent())
}

// TaxAmount is the order's tax: its figures' total when they count
// (taxCounts), zero otherwise.
func (o *Order) TaxAmount() money.Money {
	return money.New(o.TaxFigures().Total, o.Currency)
}

// TaxFigures are the order's tax figures when they count, and zero
// figures (one per line) otherwise.
func (o *Order) TaxFigures() tax.Figures {
	if !o.taxCounts() {
		return tax.Figures{Lines: make([]int64, len(o.Lines))}
	}
	f := o.Tax.Figures
	f.Lines = slices.Clone(f.Lines)
	return f
}

// SetTax records tax figures made for basis by provider (calculationID:
// the provider's calculation, "" for the table). It refuses figures that
// do not add up or do not fit the order's lines, and figures for a basis
// the order has moved past (false, nil). It reports whether anything
// changed.
func (o *Order) SetTax(provider, basis, calculationID string, f tax.Figures, at time.Time) (bool, error) {
	if o.state != Pending {
		return false, NotPending(o, "be taxed")
	}
	if basis == "" || basis != o.TaxBasis() {
		return false, nil // the order changed meanwhile: its own tax is worked out by that change
	}
	if !f.AddsUp() || len(f.Lines) != len(o.Lines) {
		return false, fmt.Errorf("order %s: the tax figures do not add up (lines %v, shipping %d, total %d for %d lines)", o.ID, f.Lines, f.Shipping, f.Total, len(o.Lines))
	}
	if o.Tax != nil && o.Tax.Basis == basis && o.Tax.Provider == provider &&
		slices.Equal(o.Tax.Figures.Lines, f.Lines) && o.Tax.Figures.Shipping == f.Shipping && o.Tax.Figures.Total == f.Total {
		return false, nil // the same figures (another tab's calculation of the same sale): the first one stands
	}
	if o.SessionOpen() {
		return false, ErrSessionOpen // what would be paid changes: close the session first
	}
	o.Tax = &Tax{Provider: provider, Basis: basis, CalculationID: calculationID, Figures: f, ComputedAt: at}
	return true, nil
}

// TaxToRecord reports whether the order's paid sale is still to be
// recorded at its tax provider (Stripe Tax's transaction): it was charged,
// its tax came from a provider calculation, and no transaction is known.
func (o *Order) TaxToRecord() bool {
	return o.Tax != nil && o.Tax.CalculationID != "" && o.Tax.TransactionID == "" && o.Tax.RecordFailure == "" &&
		o.Payment != nil && o.Payment.AmountCaptured > 0
}

// TaxRecordRefused records that the provider refused for good to record
// the paid sale (why): nothing more is asked of it, and refunds give back
// the order's proportion of the tax. It reports whether that changed
// anything.
func (o *Order) TaxRecordRefused(why string) bool {
	if !o.TaxToRecord() {
		return false
	}
	o.Tax.RecordFailure = why
	o.Work.Wake++ // refunds waiting for the record settle without it
	return true
}

// TaxRecorded records the provider's transaction of the paid sale. It
// reports whether that changed anything.
func (o *Order) TaxRecorded(transactionID string) bool {
	if o.Tax == nil || o.Tax.TransactionID == transactionID {
		return false
	}
	o.Tax.TransactionID = transactionID
	o.Work.Wake++ // refunds' reversals waited for it
	return true
}

// taxed reports whether the order's refunds each settle a share of its
// tax: it was charged tax, or its sale is recorded at a tax provider (a
// sale taxed nothing there is still on its record, and a refund must be
// taken off it).
func (o *Order) taxed() bool {
	return o.Tax != nil && (o.Tax.Figures.Total > 0 || o.Tax.CalculationID != "")
}

// RefundTaxShare is the tax refund n gives back: its share of the order's
// tax (tax.RefundShare), counting what the refunds whose share is settled
// gave back already, so that refunds of the whole charge give back the
// whole tax.
func (o *Order) RefundTaxShare(n int) int64 {
	r := o.refund(n)
	if r == nil || !o.taxed() || o.Payment.AmountCaptured == 0 {
		return 0
	}
	var before, taxBefore int64
	for _, x := range o.Payment.Refunds {
		if x.N != n && x.Made() && !x.TaxDue {
			before += x.Amount
			taxBefore += x.Tax
		}
	}
	return tax.RefundShare(r.Amount, before, o.Payment.AmountCaptured, o.Tax.Figures.Total, taxBefore)
}

// RefundTaxSettled records the tax refund n gave back (at the provider:
// its reversal, reversalID; by the table: ""; failure: why the provider
// refused the reversal for good, the share then being the order's
// proportion) and wakes the work that records the refund in the books. It
// reports whether that changed anything.
func (o *Order) RefundTaxSettled(n int, taxAmount int64, reversalID, failure string) bool {
	r := o.refund(n)
	if r == nil || !r.TaxDue {
		return false
	}
	r.TaxDue, r.Tax, r.TaxReversalID, r.TaxFailure = false, taxAmount, reversalID, failure
	o.Work.Wake++
	return true
}

// RefundsTaxDue returns the refunds made whose share of the tax is still
// to settle, in order.
func (o *Order) RefundsTaxDue() []Refund {
	if o.Payment == nil {
		return nil
	}
	var out []Refund
	for _, r := range o.Payment.Refunds {
		if r.Made() && r.TaxDue {
			out = append(out, r)
		}
	}
	return out
}

// TaxRefunded is the tax the order's settled refunds gave back.
func (o *Order) TaxRefunded() int64 {
	var sum int64
	if o.Payment != nil {
		for _, r := range o.Payment.Refunds {
			if r.Made() && !r.TaxDue {
				sum += r.Tax
			}
		}
	}
	return sum
}
