package functions

import (
	"context"
	"net/http"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/storefront"
)

func startCheckout(a *app.App) http.Handler {
	return callableOf(a, storefront.StartCheckout, func(ctx context.Context, c callable.Caller, _ storefront.StartCheckoutRequest) (storefront.StartCheckoutAnswer, error) {
		res, err := a.Checkout.Start(ctx, c.UID())
		if err != nil {
			return storefront.StartCheckoutAnswer{}, err
		}
		return storefront.StartCheckoutAnswer{Order: storefront.OrderOf(res.Order), Reused: res.Reused}, nil
	})
}
