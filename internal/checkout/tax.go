package checkout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/tax"
)

// TaxCalculator works out the tax of a sale: Stripe Tax (a Tax
// Calculation, its id to record once paid) or the store's rate table (no
// id). key is the call's idempotency key. A provider that is down is
// UNAVAILABLE; one that refuses the sale (an address it cannot place) is
// FAILED_PRECONDITION.
type TaxCalculator interface {
	Calculate(ctx context.Context, s tax.Sale, key string) (tax.Calculation, error)
}

// Why the tax could not be worked out (selectShipping's, applyCustomer's
// and createPaymentSession's reasons).
const (
	ReasonTaxUnavailable = "tax_unavailable" // UNAVAILABLE: the tax provider is down or answered figures that do not add up; call again
	ReasonTaxAddress     = tax.ReasonAddress // FAILED_PRECONDITION: the tax provider cannot place the shipping address; check it
)

// Taxes works out an order's sales tax whenever what it would be paid for
// has changed: the sale (each line after its discount, the shipping after
// its discount, the chosen address) goes to the calculator with the
// store's ship-from address and the default tax code for lines whose SKU
// names none. A nil Calculator collects no tax (the order carries none).
type Taxes struct {
	Orders      OrderStore
	Calculator  TaxCalculator
	Provider    string // order.TaxByStripe or order.TaxByTable: recorded on the order
	From        tax.Address
	DefaultCode string // the tax code of lines whose SKU names none ("" : the provider's default)
	Now         func() time.Time
}

// Collects reports whether the store collects sales tax: then no order is
// paid without a current tax figure.
func (t *Taxes) Collects() bool { return t != nil && t.Calculator != nil }

// localCalculator is a calculator that needs no outside call (the rate
// table): its figures are worked out inside the change's own transaction
// (InTransaction).
type localCalculator interface {
	TaxCalculator
	Local() bool
}

// InTransaction works the tax out for cur inside the transaction that
// changes it, when the calculator needs no outside call (the rate table):
// the change writes its figures with it, and EnsureFor has nothing left to
// do. It reports whether it did (false: EnsureFor works it out after the
// write).
func (t *Taxes) InTransaction(cur *order.Order) (bool, error) {
	if !t.Collects() || cur.TaxCurrent() {
		return false, nil
	}
	local, ok := t.Calculator.(localCalculator)
	if !ok || !local.Local() {
		return false, nil
	}
	sale, ok := t.sale(cur)
	if !ok {
		return false, nil
	}
	calc, err := local.Calculate(context.Background(), sale, "")
	if err != nil {
		return false, err
	}
	_, err = cur.SetTax(t.Provider, cur.TaxBasis(), calc.ID, calc.Figures, t.Now().UTC())
	return err == nil, err
}

// sale is what the calculator is asked about o: its TaxSale from the
// store's ship-from address, lines without a tax code of their own taking
// the default one.
func (t *Taxes) sale(o *order.Order) (tax.Sale, bool) {
	sale, ok := o.TaxSale()
	if !ok {
		return sale, false
	}
	sale.From = t.From
	for i := range sale.Lines {
		if sale.Lines[i].TaxCode == "" {
			sale.Lines[i].TaxCode = t.DefaultCode
		}
	}
	return sale, true
}

// EnsureFor gives the pending order o (as just read or written) current
// tax figures, when the store collects tax and the order has a shipping
// choice: figures that are current are kept; otherwise the calculator is
// asked (its idempotency key derived from the order and what is taxed, so
// that asking again for the same sale is the same calculation) and the
// figures are recorded, unless the order changed meanwhile (that change
// works out its own). It answers the order as it is.
func (t *Taxes) EnsureFor(ctx context.Context, o *order.Order) (*order.Order, error) {
	for attempt := 0; attempt < closeAttempts; attempt++ {
		if !t.Collects() || o.State() != order.Pending || o.TaxCurrent() {
			return o, nil
		}
		sale, ok := t.sale(o)
		if !ok {
			return o, nil
		}
		basis := o.TaxBasis()
		calc, err := t.calculate(ctx, o, sale, basis)
		if err != nil {
			return nil, err
		}
		now := t.Now().UTC()
		o, _, err = t.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
			return cur.SetTax(t.Provider, basis, calc.ID, calc.Figures, now)
		})
		if errors.Is(err, order.ErrSessionOpen) {
			// Only a tab that saw these figures opens a session: the order
			// changed under this call.
			return nil, apperr.New(apperr.Aborted, "the order changed while its tax was worked out; call again").Because("order_changed")
		}
		if err != nil {
			return nil, err
		}
		// Another tab changed what is taxed while the provider answered:
		// the figures were not taken; work out the order as it is now.
	}
	return nil, apperr.New(apperr.Aborted, "the order keeps changing in another tab; call again").Because("order_changed")
}

// calculate asks the calculator for the tax of sale, o's for basis, and
// believes figures that add up.
func (t *Taxes) calculate(ctx context.Context, o *order.Order, sale tax.Sale, basis string) (tax.Calculation, error) {
	// A calculation makes nothing at the provider (only a transaction
	// does), so its key only keeps one call's own retries to one
	// calculation: derived from the order, what is taxed and a ten-second
	// window, so that a 5xx the provider stores for a key holds the sale
	// up for seconds, not for the day it keeps the key.
	key := fmt.Sprintf("tax-%s-%s-%d", o.ID, basis, t.Now().Unix()/10)
	calc, err := t.Calculator.Calculate(ctx, sale, key)
	switch e := apperr.As(err); {
	case err == nil:
	case e != nil && e.Reason == ReasonTaxAddress:
		return calc, apperr.Wrap(err, apperr.FailedPrecondition, "the sales tax for this address could not be worked out; check the address or use another").
			Because(ReasonTaxAddress).On("address")
	default:
		// Down, throttled, or refusing for a reason of the store's own (a
		// key without Tax, Stripe Tax not set up): the customer can only
		// try again; the cause is logged for the owner.
		if !apperr.Transient(err) {
			logging.FromContext(ctx).Error().Err(err).Str("order", o.ID).Msg("the tax provider refused the calculation")
		}
		return calc, apperr.Wrap(err, apperr.Unavailable, "the sales tax could not be worked out just now; please try again in a moment").
			Because(ReasonTaxUnavailable)
	}
	if !calc.Figures.AddsUp() || len(calc.Figures.Lines) != len(o.Lines) {
		logging.FromContext(ctx).Error().Str("order", o.ID).Str("calculation", calc.ID).Interface("figures", calc.Figures).
			Msg("the tax provider's figures do not add up; not believed")
		return calc, apperr.New(apperr.Unavailable, "the sales tax could not be worked out just now; please try again in a moment").
			Because(ReasonTaxUnavailable)
	}
	return calc, nil
}
