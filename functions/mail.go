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
	return onDue(a, "onMailWritten", "delivery.state", func() func(context.Context, string) (string, error) {
		if a.Sender == nil {
			return nil
		}
		return a.Sender.Deliver
	})
}

// onAlertWritten posts a newly raised owner alert to the Slack-compatible
// webhook (OMS_ALERT_WEBHOOK_URL) at once; the sweeper retries the ones
// that failed. The alert's mail is queued with the alert and never waits
// for this. Without a webhook it does nothing.
func onAlertWritten(a *app.App) func(context.Context, cloudevents.Event) error {
	return onDue(a, "onAlertWritten", "webhook.state", func() func(context.Context, string) (string, error) {
		if a.Hooks == nil {
			return nil
		}
		return a.Hooks.Post
	})
}

// onDue is a trigger that runs attempt on the written document when the
// delivery record at field is PENDING or RETRY (the attempt claims it, so
// a duplicate event does nothing); attempt returns nil when the feature
// is off.
func onDue(a *app.App, name, field string, attempt func() func(context.Context, string) (string, error)) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, ce cloudevents.Event) error {
		ctx = a.Log.With().Str("function", name).Str("event", ce.ID()).Logger().WithContext(ctx)
		log := logging.FromContext(ctx)
		ev, err := docevent.Decode(ce)
		if err != nil {
			log.Error().Err(err).Msg("undecodable event dropped")
			return nil
		}
		run := attempt()
		if run == nil || ev.New == nil {
			return nil
		}
		if st, _ := ev.New.String(field); st != messages.StatePending && st != messages.StateRetry {
			return nil
		}
		outcome, err := run(ctx, ev.DocumentID())
		if err != nil {
			log.Warn().Err(err).Msg("not done; will retry")
			return err
		}
		log.Debug().Str("document", ev.DocumentID()).Str("outcome", outcome).Msg(name)
		return nil
	}
}
