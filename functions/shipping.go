package functions

import (
	"context"
	"net/http"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/storefront"
)

// quoteDeadline bounds quoteShipping, ShipEngine's retries included, well
// inside the JS SDK's 70 s timeout.
const quoteDeadline = 20 * time.Second

func quoteShipping(a *app.App) http.Handler {
	return callableOf(a, storefront.QuoteShipping, func(ctx context.Context, c callable.Caller, req storefront.QuoteShippingRequest) (storefront.QuoteShippingAnswer, error) {
		ctx, cancel := context.WithTimeout(ctx, quoteDeadline)
		defer cancel()
		res, err := a.Quotes.Quote(ctx, c.UID(), req.OrderID, req.Address)
		if err != nil {
			return storefront.QuoteShippingAnswer{}, err
		}
		q := res.Order.Quote
		out := storefront.QuoteShippingAnswer{Status: q.Status, VerifiedAddress: q.Verified, Differs: len(res.Differences) > 0,
			Differences: append([]string{}, res.Differences...), Messages: append([]string{}, q.Messages...), Currency: res.Order.Currency,
			Rates: []storefront.Rate{}, ExpiresAt: q.ExpiresAt.UTC().Format(time.RFC3339)}
		for _, r := range q.Rates {
			ro := storefront.Rate{RateID: r.RateID, Carrier: r.Carrier, Service: r.Service, Amount: r.Amount.Amount, DeliveryDays: r.DeliveryDays}
			if !r.EstimatedDelivery.IsZero() {
				ro.EstimatedDelivery = r.EstimatedDelivery.UTC().Format(time.RFC3339)
			}
			out.Rates = append(out.Rates, ro)
		}
		return out, nil
	})
}

func selectShipping(a *app.App) http.Handler {
	return callableOf(a, storefront.SelectShipping, func(ctx context.Context, c callable.Caller, req storefront.SelectShippingRequest) (storefront.Order, error) {
		o, err := a.Quotes.Select(ctx, c.UID(), req.OrderID, req.RateID, req.UseVerifiedAddress)
		if err != nil {
			return storefront.Order{}, err
		}
		return storefront.OrderOf(o), nil
	})
}
