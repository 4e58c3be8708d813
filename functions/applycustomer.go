package functions

import (
	"context"
	"net/http"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/storefront"
)

func applyCustomer(a *app.App) http.Handler {
	return callableOf(a, storefront.ApplyCustomer, func(ctx context.Context, c callable.Caller, req storefront.ApplyCustomerRequest) (storefront.Order, error) {
		o, err := a.Customers.Apply(ctx, c.UID(), req.OrderID, req.Name, req.Email, req.Code)
		if err != nil {
			return storefront.Order{}, err
		}
		return storefront.OrderOf(o), nil
	})
}
