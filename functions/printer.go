package functions

import (
	"context"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/lulu"
	webhookev "github.com/readyplanner/oms/internal/webhook"
)

// printerWebhook receives the printer's PRINT_JOB_STATUS_CHANGED
// deliveries: it verifies Lulu-HMAC-SHA256 over the raw body (401 if it
// fails; nothing recorded), records the delivery create-if-absent and
// answers at once; onPrinterEvent re-reads the job and acts.
func printerWebhook(a *app.App) http.Handler {
	secret := a.Config.Secret(app.PrinterSecret).Reveal()
	return webhook(a, "printerWebhook", func(r *http.Request, body []byte) (any, error) {
		if err := lulu.VerifyWebhook(body, r.Header.Get(lulu.SignatureHeader), secret); err != nil {
			return nil, apperr.Wrap(err, apperr.Unauthenticated, "%s", err.Error()).Because("bad_signature")
		}
		d, err := lulu.ParseWebhook(body)
		if err != nil {
			return nil, apperr.Wrap(err, apperr.Invalid, "%s", err.Error())
		}
		if d.Topic != "PRINT_JOB_STATUS_CHANGED" {
			return map[string]any{"received": true, "outcome": "ignored"}, nil
		}
		fresh, err := a.Parts.RecordEvent(r.Context(), d.JobID+":"+d.Status+":"+d.Changed,
			webhookev.PrinterEvent{JobID: d.JobID, ExternalID: d.ExternalID, Status: d.Status})
		if err != nil {
			return nil, retry(err)
		}
		return recordedAnswer(fresh), nil
	})
}

// onPrinterEvent acts on a newly recorded printer event: fulfilment
// re-reads the job from the printer and updates the order's print part.
func onPrinterEvent(a *app.App) func(context.Context, cloudevents.Event) error {
	return onWebhookRecord(a, "onPrinterEvent", "printer event", a.Parts.HandleEvent)
}
