package functions

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/messages"
)

// onMailWritten is the built-in sender: a mail written PENDING (queued) or
// RETRY (by the owner, once a cause is fixed) is delivered through
// SMTP_URL at once; the sweeper takes the retries that wait for their
// time. With OMS_MAIL_SENDER=extension (or no SMTP_URL) it does nothing.
func onMailWritten(a *app.App) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, ce cloudevents.Event) error {
		ctx = a.Log.With().Str("function", "onMailWritten").Str("event", ce.ID()).Logger().WithContext(ctx)
		log := logging.FromContext(ctx)
		ev, err := docevent.Decode(ce)
		if err != nil {
			log.Error().Err(err).Msg("undecodable event dropped")
			return nil
		}
		if a.Sender == nil || ev.New == nil {
			return nil
		}
		if st, _ := ev.New.String("delivery.state"); st != messages.StatePending && st != messages.StateRetry {
			return nil
		}
		outcome, err := a.Sender.Deliver(ctx, ev.DocumentID())
		if err != nil {
			log.Warn().Err(err).Msg("mail not delivered; will retry")
			return err
		}
		log.Debug().Str("mail", ev.DocumentID()).Str("outcome", outcome).Msg("mail")
		return nil
	}
}

// onAlertWritten posts a newly raised owner alert to the Slack-compatible
// webhook (OMS_ALERT_WEBHOOK_URL) at once; the sweeper retries the ones
// that failed. The alert's mail is queued with the alert and never waits
// for this. Without a webhook it does nothing.
func onAlertWritten(a *app.App) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, ce cloudevents.Event) error {
		ctx = a.Log.With().Str("function", "onAlertWritten").Str("event", ce.ID()).Logger().WithContext(ctx)
		log := logging.FromContext(ctx)
		ev, err := docevent.Decode(ce)
		if err != nil {
			log.Error().Err(err).Msg("undecodable event dropped")
			return nil
		}
		if a.Hooks == nil || ev.New == nil {
			return nil
		}
		if st, _ := ev.New.String("webhook.state"); st != messages.StatePending && st != messages.StateRetry {
			return nil
		}
		outcome, err := a.Hooks.Post(ctx, ev.DocumentID())
		if err != nil {
			log.Warn().Err(err).Msg("alert not posted; will retry")
			return err
		}
		log.Debug().Str("alert", ev.DocumentID()).Str("outcome", outcome).Msg("alert webhook")
		return nil
	}
}
