package functions

import (
	"context"
	"net/http"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
)

// StartCheckoutRequest takes no fields: the cart is read from carts/{uid},
// which the storefront keeps in sync. Call it with {}.
type StartCheckoutRequest struct{}

// CheckoutLine is a priced line. Amounts are integer minor units (cents).
type CheckoutLine struct {
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Quantity    int64  `json:"quantity"`
	UnitPrice   int64  `json:"unitPrice"`
	ListPrice   int64  `json:"listPrice"`
	OnSale      bool   `json:"onSale"`
	Total       int64  `json:"total"`
	Fulfillment string `json:"fulfillment"`
}

// StartCheckoutResponse is the pending order holding the cart.
type StartCheckoutResponse struct {
	OrderID       string         `json:"orderId"`
	State         string         `json:"state"`
	Reused        bool           `json:"reused"`
	Currency      string         `json:"currency"`
	Lines         []CheckoutLine `json:"lines"`
	Subtotal      int64          `json:"subtotal"`
	Discount      int64          `json:"discount"`                // promotions, once applyCustomer has run
	Total         int64          `json:"total"`                   // subtotal − discount
	HoldExpiresAt string         `json:"holdExpiresAt,omitempty"` // RFC 3339; absent when nothing is held
}

func startCheckout(a *app.App) http.Handler {
	return callable.Handle(a.Callables, "startCheckout", func(ctx context.Context, c callable.Caller, _ StartCheckoutRequest) (StartCheckoutResponse, error) {
		res, err := a.Checkout.Start(ctx, c.UID())
		if err != nil {
			return StartCheckoutResponse{}, err
		}
		o := res.Order
		r := StartCheckoutResponse{OrderID: o.ID, State: string(o.State()), Reused: res.Reused, Currency: o.Currency,
			Subtotal: o.Subtotal.Amount, Discount: o.LinesDiscount().Amount, Total: o.Total().Amount, Lines: []CheckoutLine{}}
		if len(o.Holds) > 0 && !o.HoldExpiresAt.IsZero() {
			r.HoldExpiresAt = o.HoldExpiresAt.UTC().Format(time.RFC3339)
		}
		for _, l := range o.Lines {
			r.Lines = append(r.Lines, CheckoutLine{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice.Amount,
				ListPrice: l.ListPrice.Amount, OnSale: l.OnSale, Total: l.Total.Amount, Fulfillment: string(l.Fulfillment)})
		}
		return r, nil
	})
}
