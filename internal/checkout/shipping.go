package checkout

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/shipping"
)

// Carrier validates addresses and rates packages (the ShipEngine adapter).
type Carrier interface {
	ValidateAddress(ctx context.Context, a shipping.Address) (shipping.Validation, error)
	Rates(ctx context.Context, from, to shipping.Address, p shipping.Package) ([]shipping.Rate, error)
}

// Quotes is quoteShipping's and selectShipping's logic.
type Quotes struct {
	Orders    OrderStore
	Carrier   Carrier
	Customers *Customers // re-applies promotions once shipping is chosen
	From      shipping.Address
	Box       shipping.Box
	TTL       time.Duration
	Now       func() time.Time
}

// QuoteResult is a stored quote and how the verified address differs from
// the typed one.
type QuoteResult struct {
	Order       *order.Order
	Differences []string
}

// Quote validates the address and rates the order's package in parallel,
// stores the quote on the caller's pending order (valid for TTL) and
// returns it. An address that cannot be verified is an answer (status and
// messages), not an error; ShipEngine failing after its retries is
// UNAVAILABLE.
func (q *Quotes) Quote(ctx context.Context, uid, orderID string, typed shipping.Address) (QuoteResult, error) {
	addr, err := typed.Validate()
	if e := apperr.As(err); e != nil && e.Reason == shipping.ReasonBadAddress {
		// The address's fields are under "address" in the request.
		var fields []string
		if d, ok := e.Details.(map[string]any); ok {
			fields, _ = d["fields"].([]string)
		}
		for i := range fields {
			fields[i] = "address." + fields[i]
		}
		return QuoteResult{}, e.On("address." + e.Field).WithDetails(map[string]any{"fields": fields})
	}
	if err != nil {
		return QuoteResult{}, err
	}
	o, err := q.Customers.own(ctx, uid, orderID)
	if err != nil {
		return QuoteResult{}, err
	}
	var grams int64
	for _, l := range o.Lines {
		grams += l.WeightGrams * l.Quantity
	}
	pkg := shipping.PackageFor(grams, q.Box)

	var (
		wg           sync.WaitGroup
		val          shipping.Validation
		rates        []shipping.Rate
		valErr, rErr error
	)
	wg.Add(2)
	go func() { defer wg.Done(); val, valErr = q.Carrier.ValidateAddress(ctx, addr) }()
	go func() { defer wg.Done(); rates, rErr = q.Carrier.Rates(ctx, q.From, addr, pkg) }()
	wg.Wait()
	for _, err := range []error{valErr, rErr} {
		if apperr.CodeOf(err) == apperr.Unavailable {
			return QuoteResult{}, err
		}
	}
	if valErr != nil {
		// ShipEngine refused the address itself: an answer for the customer.
		val = shipping.Validation{Status: "error", Messages: []string{"We could not check this address."}}
	}
	if rErr != nil {
		rates = nil
		val.Messages = append(val.Messages, "No shipping rates are available for this address.")
	}
	now := q.Now().UTC()
	quote := &order.Quote{Address: addr, Status: val.Status, Verified: val.Matched, Messages: val.Messages, Rates: rates,
		QuotedAt: now, ExpiresAt: now.Add(q.TTL)}
	o, _, err = q.Orders.Update(ctx, orderID, func(cur *order.Order) (bool, error) {
		if cur.State() != order.Pending {
			return false, order.NotPending(cur, "be quoted")
		}
		cur.Quote = quote
		return true, nil
	})
	if err != nil {
		return QuoteResult{}, err
	}
	var diffs []string
	if val.Matched != nil {
		diffs = shipping.Differences(addr, *val.Matched)
	}
	return QuoteResult{Order: o, Differences: diffs}, nil
}

// ErrQuoteAgain is the FAILED_PRECONDITION for an unknown or expired rate.
var ErrQuoteAgain = errors.New("quote again")

// Select chooses a stored rate (and the typed or the verified address) for
// the caller's pending order. The price comes from the stored quote. An
// unknown rate id or an expired quote is FAILED_PRECONDITION asking to quote
// again. If the order has a customer, its promotions are applied again in
// the same transaction (a free-shipping promotion now has something to
// take off). Choosing what is already chosen changes nothing; choosing
// anything else while a payment session is open closes it first.
func (q *Quotes) Select(ctx context.Context, uid, orderID, rateID string, useVerified bool) (*order.Order, error) {
	if err := order.ValidID(orderID); err != nil {
		return nil, err
	}
	if strings.TrimSpace(rateID) == "" {
		return nil, apperr.New(apperr.Invalid, "rateId is required").Because(order.ReasonRequired).On("rateId")
	}
	o, err := q.Customers.own(ctx, uid, orderID)
	if err != nil {
		return nil, err
	}
	email := ""
	if o.Customer != nil {
		email = o.Customer.Email
	}
	now := q.Now().UTC()
	return q.Customers.changeOwned(ctx, o, email, nil, func(cur *order.Order) error {
		qt := cur.Quote
		if qt == nil {
			return apperr.Wrap(ErrQuoteAgain, apperr.FailedPrecondition, "there is no shipping quote yet; quote shipping first").
				Because("no_quote")
		}
		if !now.Before(qt.ExpiresAt) {
			return apperr.Wrap(ErrQuoteAgain, apperr.FailedPrecondition, "the shipping quote has expired; quote shipping again").
				Because("quote_expired")
		}
		var rate *shipping.Rate
		for i := range qt.Rates {
			if qt.Rates[i].RateID == rateID {
				rate = &qt.Rates[i]
			}
		}
		if rate == nil {
			return apperr.Wrap(ErrQuoteAgain, apperr.FailedPrecondition, "rate %s is not in the current quote; quote shipping again", rateID).
				Because("unknown_rate")
		}
		addr := qt.Address
		if useVerified {
			if qt.Verified == nil || (qt.Status != "verified" && qt.Status != "warning") {
				return apperr.New(apperr.FailedPrecondition, "there is no verified address to use; use the address as typed").
					Because("no_verified_address")
			}
			addr = *qt.Verified
			addr.Name, addr.Phone = qt.Address.Name, qt.Address.Phone // keep how the customer wrote their name
		}
		cur.Shipping = &order.ShippingChoice{Rate: *rate, Address: addr}
		return nil
	})
}
