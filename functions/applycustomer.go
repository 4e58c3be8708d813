package functions

import (
	"context"
	"net/http"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/order"
)

// ApplyCustomerRequest is the customer as typed at checkout.
type ApplyCustomerRequest struct {
	OrderID string `json:"orderId"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Code    string `json:"code,omitempty"`
}

// PricedLine is an order line with its discount. Amounts are cents.
type PricedLine struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unitPrice"`
	Total     int64  `json:"total"`    // before the discount
	Discount  int64  `json:"discount"` // what the promotions take off this line
}

// AppliedPromotion is a promotion that prices the order, as the customer
// sees it.
type AppliedPromotion struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Discount    int64  `json:"discount"`
}

// CodeResult says what became of a typed code.
type CodeResult struct {
	Code    string `json:"code"`
	Status  string `json:"status"` // applied, unknown, expired, not_eligible, limit_reached
	Message string `json:"message,omitempty"`
}

// PricedOrder is an order priced with its promotions.
type PricedOrder struct {
	OrderID          string             `json:"orderId"`
	Customer         CustomerOut        `json:"customer"`
	Currency         string             `json:"currency"`
	Lines            []PricedLine       `json:"lines"`
	Promotions       []AppliedPromotion `json:"promotions"`
	Code             *CodeResult        `json:"code,omitempty"`
	Subtotal         int64              `json:"subtotal"`
	Discount         int64              `json:"discount"`         // off the lines
	Shipping         int64              `json:"shipping"`         // the chosen shipping, 0 before one is chosen
	ShippingDiscount int64              `json:"shippingDiscount"` // off the shipping
	Total            int64              `json:"total"`            // subtotal − discount + shipping − shippingDiscount
}

// CustomerOut is the customer stored on the order.
type CustomerOut struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func pricedOrder(o *order.Order) PricedOrder {
	r := PricedOrder{OrderID: o.ID, Currency: o.Currency, Subtotal: o.Subtotal.Amount, Discount: o.LinesDiscount().Amount,
		Shipping: o.ShippingAmount().Amount, ShippingDiscount: o.Pricing.ShippingDiscount.Amount, Total: o.Total().Amount, Lines: []PricedLine{}, Promotions: []AppliedPromotion{}}
	if o.Customer != nil {
		r.Customer = CustomerOut{Name: o.Customer.Name, Email: o.Customer.Email}
	}
	for i, l := range o.Lines {
		pl := PricedLine{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice.Amount, Total: l.Total.Amount}
		if i < len(o.Pricing.LineDiscounts) {
			pl.Discount = o.Pricing.LineDiscounts[i].Amount
		}
		r.Lines = append(r.Lines, pl)
	}
	for _, a := range o.Pricing.Promotions {
		r.Promotions = append(r.Promotions, AppliedPromotion{ID: a.ID, Name: a.Name, Description: a.Description, Discount: a.Discount.Amount})
	}
	if o.Pricing.Code != "" {
		r.Code = &CodeResult{Code: o.Pricing.Code, Status: o.Pricing.CodeStatus, Message: o.Pricing.CodeReason}
	}
	return r
}

func applyCustomer(a *app.App) http.Handler {
	return callable.Handle(a.Callables, "applyCustomer", func(ctx context.Context, c callable.Caller, req ApplyCustomerRequest) (PricedOrder, error) {
		o, err := a.Customers.Apply(ctx, c.UID(), req.OrderID, req.Name, req.Email, req.Code)
		if err != nil {
			return PricedOrder{}, err
		}
		return pricedOrder(o), nil
	})
}
