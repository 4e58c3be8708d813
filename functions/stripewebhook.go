package functions

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/stripepay"
)

// maxWebhookBody bounds a webhook's body; Stripe's events are far smaller.
const maxWebhookBody = 1 << 20

// stripeWebhook receives Stripe's events: it verifies Stripe-Signature over
// the raw body (400 if it fails), records the event create-if-absent,
// re-reads what it needs from Stripe, and moves the order; it answers 200
// only once that is durable and 500 otherwise, so that Stripe retries.
func stripeWebhook(a *app.App) http.Handler {
	secret := a.Config.Secret(app.StripeWebhookSecret).Reveal()
	return logging.Middleware(a.Log.With().Str("function", "stripeWebhook").Logger(), a.Config.ProjectID,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			log := logging.FromContext(r.Context())
			answer := func(status int, v any) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_ = json.NewEncoder(w).Encode(v)
			}
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", "POST")
				answer(http.StatusMethodNotAllowed, map[string]string{"error": "POST only"})
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
			if err != nil || len(body) > maxWebhookBody {
				answer(http.StatusBadRequest, map[string]string{"error": "unreadable or oversized body"})
				return
			}
			ev, err := stripepay.ParseEvent(body, r.Header.Get("Stripe-Signature"), secret)
			if err != nil {
				log.Warn().Err(err).Msg("stripe webhook refused")
				answer(http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			if a.StripeEvents == nil {
				log.Error().Msg("stripe webhook: no Stripe key configured")
				answer(http.StatusInternalServerError, map[string]string{"error": "not configured"})
				return
			}
			ctx := logging.WithOrder(r.Context(), ev.OrderID)
			outcome, err := a.StripeEvents.Handle(ctx, ev)
			if err != nil {
				logging.FromContext(ctx).Error().Err(err).Str("event", ev.ID).Str("type", ev.Type).Msg("stripe event not processed; Stripe will retry")
				answer(http.StatusInternalServerError, map[string]string{"error": "not processed; retry"})
				return
			}
			logging.FromContext(ctx).Info().Str("event", ev.ID).Str("type", ev.Type).Str("outcome", outcome).Msg("stripe event")
			answer(http.StatusOK, map[string]any{"received": true, "outcome": outcome})
		}))
}
