package functions

import (
	"context"
	"net/http"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/storefront"
)

func createPaymentSession(a *app.App) http.Handler {
	return callableOf(a, storefront.CreatePaymentSession, func(ctx context.Context, c callable.Caller, req storefront.CreatePaymentSessionRequest) (storefront.CreatePaymentSessionAnswer, error) {
		o, err := a.Payments.Start(ctx, c.UID(), req.OrderID, req.SuccessURL, req.CancelURL)
		if err != nil {
			return storefront.CreatePaymentSessionAnswer{}, err
		}
		return storefront.CreatePaymentSessionAnswer{SessionID: o.Payment.SessionID, URL: o.Payment.URL, ExpiresAt: o.Payment.ExpiresAt.UTC().Format(time.RFC3339),
			Currency: o.Currency, Total: o.Total().Amount}, nil
	})
}
