package functions

import (
	"context"
	"net/http"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
)

// CreatePaymentSessionRequest names the order and, optionally, where Stripe
// sends the customer back (both must be on a storefront origin).
type CreatePaymentSessionRequest struct {
	OrderID    string `json:"orderId"`
	SuccessURL string `json:"successUrl,omitempty"`
	CancelURL  string `json:"cancelUrl,omitempty"`
}

// CreatePaymentSessionResponse is where the customer pays.
type CreatePaymentSessionResponse struct {
	SessionID string `json:"sessionId"`
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"` // RFC 3339; the holds last as long
	Currency  string `json:"currency"`
	Total     int64  `json:"total"` // cents: what the card is authorized for
}

func createPaymentSession(a *app.App) http.Handler {
	return callable.Handle(a.Callables, "createPaymentSession", func(ctx context.Context, c callable.Caller, req CreatePaymentSessionRequest) (CreatePaymentSessionResponse, error) {
		o, err := a.Payments.Start(ctx, c.UID(), req.OrderID, req.SuccessURL, req.CancelURL)
		if err != nil {
			return CreatePaymentSessionResponse{}, err
		}
		return CreatePaymentSessionResponse{SessionID: o.Payment.SessionID, URL: o.Payment.URL, ExpiresAt: o.Payment.ExpiresAt.UTC().Format(time.RFC3339),
			Currency: o.Currency, Total: o.Total().Amount}, nil
	})
}
