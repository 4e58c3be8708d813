package stripepay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/tax"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Tax is Stripe Tax: a Tax Calculation for a sale, the Tax Transaction
// that records it once paid (its reference the order's id, so that a
// repeat is the same transaction), and a reversal of it for each refund.
// Every call carries the caller's idempotency key, derived from the order.
type Tax struct{ API *client.API }

// Calculate asks Stripe for the tax of a sale (POST /v1/tax/calculations,
// line items expanded): tax-exclusive amounts, the customer's shipping
// address, the ship-from address. Stripe down is UNAVAILABLE; an address
// Stripe Tax cannot place is FAILED_PRECONDITION, reason tax.ReasonAddress;
// any other refusal FAILED_PRECONDITION.
func (t Tax) Calculate(ctx context.Context, s tax.Sale, key string) (tax.Calculation, error) {
	p := &stripe.TaxCalculationParams{Currency: stripe.String(strings.ToLower(s.Currency)),
		CustomerDetails: &stripe.TaxCalculationCustomerDetailsParams{Address: addressParams(s.To), AddressSource: stripe.String("shipping")},
		ShippingCost:    &stripe.TaxCalculationShippingCostParams{Amount: stripe.Int64(s.Shipping), TaxBehavior: stripe.String("exclusive")}}
	for _, l := range s.Lines {
		lp := &stripe.TaxCalculationLineItemParams{Amount: stripe.Int64(l.Amount), Quantity: stripe.Int64(max(l.Quantity, 1)),
			Reference: stripe.String(l.Reference), TaxBehavior: stripe.String("exclusive")}
		if l.TaxCode != "" {
			lp.TaxCode = stripe.String(l.TaxCode)
		}
		p.LineItems = append(p.LineItems, lp)
	}
	// ship_from_details is newer than stripe-go v76's types: sent as extra
	// form fields, as Stripe's API reference names them.
	for _, kv := range [][2]string{{"line1", s.From.Line1}, {"city", s.From.City}, {"state", s.From.State}, {"postal_code", s.From.PostalCode}, {"country", s.From.Country}} {
		if kv[1] != "" {
			p.AddExtra("ship_from_details[address]["+kv[0]+"]", kv[1])
		}
	}
	p.AddExpand("line_items")
	p.Context = ctx
	p.SetIdempotencyKey(key)
	c, err := t.API.TaxCalculations.New(p)
	var se *stripe.Error
	if errors.As(err, &se) && (se.Code == stripe.ErrorCodeCustomerTaxLocationInvalid || se.Code == stripe.ErrorCodeInvalidTaxLocation) {
		return tax.Calculation{}, apperr.Wrap(err, apperr.FailedPrecondition, "Stripe Tax cannot place the address: %s", se.Msg).Because(tax.ReasonAddress)
	}
	if err != nil {
		return tax.Calculation{}, stepError(stored(err), "calculate the tax")
	}
	out := tax.Calculation{ID: c.ID, ExpiresAt: time.Unix(c.ExpiresAt, 0).UTC(), Figures: tax.Figures{Lines: make([]int64, len(s.Lines))}}
	// An expanded list holds the first page only: read them all.
	var items []*stripe.TaxCalculationLineItem
	if c.LineItems != nil && !c.LineItems.HasMore {
		items = c.LineItems.Data
	} else {
		lp := &stripe.TaxCalculationListLineItemsParams{Calculation: stripe.String(c.ID)}
		lp.Context, lp.Limit = ctx, stripe.Int64(100)
		it := t.API.TaxCalculations.ListLineItems(lp)
		if items, err = all(it.Next, it.TaxCalculationLineItem, it.Err); err != nil {
			return tax.Calculation{}, stepError(err, "read the tax calculation's lines")
		}
	}
	byRef := map[string]int{}
	for i, l := range s.Lines {
		byRef[l.Reference] = i
	}
	for _, li := range items {
		if i, ok := byRef[li.Reference]; ok {
			out.Figures.Lines[i] = li.AmountTax
		}
	}
	if c.ShippingCost != nil {
		out.Figures.Shipping = c.ShippingCost.AmountTax
	}
	// Stripe's total as Stripe gives it: the caller checks that the
	// figures add up (tax.Figures.AddsUp) before it believes them.
	out.Figures.Total = c.TaxAmountExclusive
	return out, nil
}

func addressParams(a tax.Address) *stripe.AddressParams {
	p := &stripe.AddressParams{Country: stripe.String(strings.ToUpper(a.Country))}
	for dst, v := range map[**string]string{&p.Line1: a.Line1, &p.City: a.City, &p.State: a.State, &p.PostalCode: a.PostalCode} {
		if v != "" {
			*dst = stripe.String(v)
		}
	}
	return p
}

// Record turns a calculation into the sale's Tax Transaction
// (POST /v1/tax/transactions/create_from_calculation, reference = the
// order's id): the tax Stripe reports as collected. It answers the
// transaction's id.
func (t Tax) Record(ctx context.Context, calculationID, reference, key string) (string, error) {
	p := &stripe.TaxTransactionCreateFromCalculationParams{Calculation: stripe.String(calculationID), Reference: stripe.String(reference)}
	p.Context = ctx
	p.SetIdempotencyKey(key)
	tx, err := t.API.TaxTransactions.CreateFromCalculation(p)
	if err != nil {
		return "", stepError(stored(err), "record the tax")
	}
	return tx.ID, nil
}

// Reverse records a refund of amount (tax included) against the sale's
// transaction (POST /v1/tax/transactions/create_reversal, mode partial,
// flat_amount −amount; reference unique per refund): Stripe spreads it
// over the sale and answers what it reversed and the tax of it.
func (t Tax) Reverse(ctx context.Context, transactionID, reference string, amount int64, key string) (tax.Reversal, error) {
	p := &stripe.TaxTransactionCreateReversalParams{OriginalTransaction: stripe.String(transactionID), Reference: stripe.String(reference),
		Mode: stripe.String("partial"), FlatAmount: stripe.Int64(-amount)}
	p.AddExpand("line_items")
	p.Context = ctx
	p.SetIdempotencyKey(key)
	tx, err := t.API.TaxTransactions.CreateReversal(p)
	if err != nil {
		return tax.Reversal{}, stepError(stored(err), "reverse the tax")
	}
	out := tax.Reversal{ID: tx.ID}
	var items []*stripe.TaxTransactionLineItem
	if tx.LineItems != nil && !tx.LineItems.HasMore {
		items = tx.LineItems.Data
	} else {
		lp := &stripe.TaxTransactionListLineItemsParams{Transaction: stripe.String(tx.ID)}
		lp.Context, lp.Limit = ctx, stripe.Int64(100)
		it := t.API.TaxTransactions.ListLineItems(lp)
		if items, err = all(it.Next, it.TaxTransactionLineItem, it.Err); err != nil {
			return tax.Reversal{}, stepError(err, "read the tax reversal's lines")
		}
	}
	for _, li := range items {
		out.Amount -= li.Amount
		out.Tax -= li.AmountTax
	}
	if tx.ShippingCost != nil {
		out.Amount -= tx.ShippingCost.Amount
		out.Tax -= tx.ShippingCost.AmountTax
	}
	out.Amount += out.Tax // what Stripe reversed, tax included
	return out, nil
}

// stored marks a 5xx answer as one Stripe stores for the call's key
// (payments.ErrFailureStored): the next call must use another key.
func stored(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 500 {
		return fmt.Errorf("%w: %w", payments.ErrFailureStored, err)
	}
	return err
}

// all reads every item of a stripe-go list iterator, page after page.
func all[T any](next func() bool, item func() T, err func() error) ([]T, error) {
	var out []T
	for next() {
		out = append(out, item())
	}
	return out, err()
}
