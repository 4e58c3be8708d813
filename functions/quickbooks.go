package functions

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/quickbooks"
)

// quickbooksWebhook receives QuickBooks' notifications (legacy or
// CloudEvents format): it verifies intuit-signature (401 if it fails;
// nothing recorded), records each entity event of the connected company
// create-if-absent, and answers 200 at once (Intuit wants an answer within
// 3 s); onQuickBooksEvent acts on the recorded events.
func quickbooksWebhook(a *app.App) http.Handler {
	verifier := a.Config.Secret(app.QuickBooksWebhookVerifier).Reveal()
	return webhook(a, "quickbooksWebhook", func(r *http.Request, body []byte) (any, error) {
		if err := quickbooks.VerifyWebhook(body, r.Header.Get("intuit-signature"), verifier); err != nil {
			return nil, apperr.Wrap(err, apperr.Unauthenticated, "%s", err.Error())
		}
		events, err := quickbooks.ParseWebhook(body)
		if err != nil {
			return nil, apperr.Wrap(err, apperr.Invalid, "%s", err.Error())
		}
		rec, err := a.Bookkeeping.RecordEvents(r.Context(), quickbooks.Events(events))
		if err != nil {
			return nil, retry(err)
		}
		logging.FromContext(r.Context()).Info().Int("recorded", rec.Recorded).Int("ignored", rec.Ignored).Msg("quickbooks webhook")
		return map[string]any{"recorded": rec.Recorded, "ignored": rec.Ignored}, nil
	})
}

// onQuickBooksEvent acts on a newly recorded QuickBooks event (not the
// webhook itself, which only records): bookkeeping re-reads the invoice,
// moves the order and marks the event processed.
func onQuickBooksEvent(a *app.App) func(context.Context, cloudevents.Event) error {
	return onWebhookRecord(a, "onQuickBooksEvent", "quickbooks event", a.Bookkeeping.HandleRecorded)
}
