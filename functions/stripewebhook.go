package functions

import (
	"net/http"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/httpedge"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/stripepay"
)

// maxWebhookBody bounds a webhook's body; the senders' events are far smaller.
const maxWebhookBody = 2 << 20

// webhook serves an HTTP webhook: POST only, the raw body read (bounded),
// answers in the one envelope (httpedge), a request logger; fn verifies and
// handles the body and returns the success answer or an error (an
// *apperr.Error chooses the status: a 5xx makes the sender retry).
func webhook(a *app.App, name string, fn func(r *http.Request, body []byte) (any, error)) http.Handler {
	return logging.Middleware(a.Log.With().Str("function", name).Logger(), a.Config.ProjectID,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				httpedge.MethodNotAllowed(w, "POST")
				return
			}
			body, err := httpedge.ReadBody(r, maxWebhookBody)
			if err == nil {
				var ok any
				if ok, err = fn(r, body); err == nil {
					httpedge.WriteJSON(w, http.StatusOK, ok)
					return
				}
			}
			if status := httpedge.WriteError(w, err); status >= 500 {
				logging.FromContext(r.Context()).Error().Err(err).Msg(name + ": not processed; the sender will retry")
			} else {
				logging.FromContext(r.Context()).Warn().Err(err).Msg(name + " refused")
			}
		}))
}

// retry is a webhook's answer when the event is not durably handled:
// UNAVAILABLE (503), so that the sender delivers it again; the cause is
// logged, not shown.
func retry(err error) error {
	return apperr.Wrap(err, apperr.Unavailable, "not processed; deliver it again")
}

// stripeWebhook receives Stripe's events: it verifies Stripe-Signature over
// the raw body (400 if it fails), records the event create-if-absent,
// re-reads what it needs from Stripe, and moves the order; it answers 200
// only once that is durable and 503 otherwise, so that Stripe retries.
func stripeWebhook(a *app.App) http.Handler {
	secret := a.Config.Secret(app.StripeWebhookSecret).Reveal()
	return webhook(a, "stripeWebhook", func(r *http.Request, body []byte) (any, error) {
		ev, err := stripepay.ParseEvent(body, r.Header.Get("Stripe-Signature"), secret)
		if err != nil {
			return nil, apperr.Wrap(err, apperr.Invalid, "%s", err.Error())
		}
		ctx := logging.WithOrder(r.Context(), ev.OrderID)
		outcome, err := a.Payments.HandleEvent(ctx, ev)
		if err != nil {
			return nil, retry(err)
		}
		logging.FromContext(ctx).Info().Str("event", ev.ID).Str("type", ev.Type).Str("outcome", outcome).Msg("stripe event")
		return map[string]any{"received": true, "outcome": outcome}, nil
	})
}
