package functions

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/stripepay"
)

// maxWebhookBody bounds a webhook's body; the senders' events are far smaller.
const maxWebhookBody = 2 << 20

// webhook serves an HTTP webhook: POST only, the raw body read (bounded),
// JSON answers, a request logger; fn verifies and handles the body.
func webhook(a *app.App, name string, fn func(r *http.Request, body []byte, answer func(int, any))) http.Handler {
	return logging.Middleware(a.Log.With().Str("function", name).Logger(), a.Config.ProjectID,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
			fn(r, body, answer)
		}))
}

// stripeWebhook receives Stripe's events: it verifies Stripe-Signature over
// the raw body (400 if it fails), records the event create-if-absent,
// re-reads what it needs from Stripe, and moves the order; it answers 200
// only once that is durable and 500 otherwise, so that Stripe retries.
func stripeWebhook(a *app.App) http.Handler {
	secret := a.Config.Secret(app.StripeWebhookSecret).Reveal()
	return webhook(a, "stripeWebhook", func(r *http.Request, body []byte, answer func(int, any)) {
		log := logging.FromContext(r.Context())
		ev, err := stripepay.ParseEvent(body, r.Header.Get("Stripe-Signature"), secret)
		if err != nil {
			log.Warn().Err(err).Msg("stripe webhook refused")
			answer(http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		ctx := logging.WithOrder(r.Context(), ev.OrderID)
		outcome, err := a.Payments.HandleEvent(ctx, ev)
		if err != nil {
			logging.FromContext(ctx).Error().Err(err).Str("event", ev.ID).Str("type", ev.Type).Msg("stripe event not processed; Stripe will retry")
			answer(http.StatusInternalServerError, map[string]string{"error": "not processed; retry"})
			return
		}
		logging.FromContext(ctx).Info().Str("event", ev.ID).Str("type", ev.Type).Str("outcome", outcome).Msg("stripe event")
		answer(http.StatusOK, map[string]any{"received": true, "outcome": outcome})
	})
}
