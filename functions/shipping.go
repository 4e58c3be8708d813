package functions

import (
	"context"
	"net/http"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/shipping"
)

// quoteDeadline bounds quoteShipping, ShipEngine's retries included, well
// inside the JS SDK's 70 s timeout.
const quoteDeadline = 20 * time.Second

// QuoteShippingRequest is the address the customer typed.
type QuoteShippingRequest struct {
	OrderID string           `json:"orderId"`
	Address shipping.Address `json:"address"`
}

// RateOut is one rate as the storefront shows it. Amount is cents.
type RateOut struct {
	RateID            string `json:"rateId"`
	Carrier           string `json:"carrier"`
	Service           string `json:"service"`
	Amount            int64  `json:"amount"`
	DeliveryDays      int64  `json:"deliveryDays,omitempty"`
	EstimatedDelivery string `json:"estimatedDelivery,omitempty"` // RFC 3339
}

// QuoteShippingResponse is the verification and the rates.
type QuoteShippingResponse struct {
	Status          string            `json:"status"` // verified, warning, unverified, error
	VerifiedAddress *shipping.Address `json:"verifiedAddress"`
	Differs         bool              `json:"differs"`
	Differences     []string          `json:"differences"`
	Messages        []string          `json:"messages"`
	Currency        string            `json:"currency"`
	Rates           []RateOut         `json:"rates"`
	ExpiresAt       string            `json:"expiresAt"`
}

func quoteShipping(a *app.App) http.Handler {
	return callable.Handle(a.Callables, "quoteShipping", func(ctx context.Context, c callable.Caller, req QuoteShippingRequest) (QuoteShippingResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, quoteDeadline)
		defer cancel()
		res, err := a.Quotes.Quote(ctx, c.UID(), req.OrderID, req.Address)
		if err != nil {
			return QuoteShippingResponse{}, err
		}
		q := res.Order.Quote
		out := QuoteShippingResponse{Status: q.Status, VerifiedAddress: q.Verified, Differs: len(res.Differences) > 0,
			Differences: append([]string{}, res.Differences...), Messages: append([]string{}, q.Messages...), Currency: res.Order.Currency,
			Rates: []RateOut{}, ExpiresAt: q.ExpiresAt.UTC().Format(time.RFC3339)}
		for _, r := range q.Rates {
			ro := RateOut{RateID: r.RateID, Carrier: r.Carrier, Service: r.Service, Amount: r.Amount.Amount, DeliveryDays: r.DeliveryDays}
			if !r.EstimatedDelivery.IsZero() {
				ro.EstimatedDelivery = r.EstimatedDelivery.UTC().Format(time.RFC3339)
			}
			out.Rates = append(out.Rates, ro)
		}
		return out, nil
	})
}

// SelectShippingRequest names a quoted rate (never a price) and whether to
// ship to the verified address.
type SelectShippingRequest struct {
	OrderID            string `json:"orderId"`
	RateID             string `json:"rateId"`
	UseVerifiedAddress bool   `json:"useVerifiedAddress"`
}

// SelectShippingResponse is the order priced with its shipping.
type SelectShippingResponse struct {
	PricedOrder
	ShippingChoice struct {
		RateID  string           `json:"rateId"`
		Carrier string           `json:"carrier"`
		Service string           `json:"service"`
		Amount  int64            `json:"amount"`
		Address shipping.Address `json:"address"`
	} `json:"shippingChoice"`
}

func selectShipping(a *app.App) http.Handler {
	return callable.Handle(a.Callables, "selectShipping", func(ctx context.Context, c callable.Caller, req SelectShippingRequest) (SelectShippingResponse, error) {
		o, err := a.Quotes.Select(ctx, c.UID(), req.OrderID, req.RateID, req.UseVerifiedAddress)
		if err != nil {
			return SelectShippingResponse{}, err
		}
		out := SelectShippingResponse{PricedOrder: pricedOrder(o)}
		s := o.Shipping
		sc := &out.ShippingChoice
		sc.RateID, sc.Carrier, sc.Service, sc.Amount, sc.Address =
			s.Rate.RateID, s.Rate.Carrier, s.Rate.Service, s.Rate.Amount.Amount, s.Address
		return out, nil
	})
}
