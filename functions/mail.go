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
// time. With OMS_MAIL_SENDER=extension the extension delivers, and a mail
// it writes ERROR alerts the owner (once). Without SMTP_URL it does
// nothing.
func onMailWritten(a *app.App) func(context.Context, cloudevents.Event) error {
	return onState(a, "onMailWritten", "delivery.state", func(state string) func(context.Context, string) (string, error) {
		switch {
		case a.Sender != nil && (state == messages.StatePending || state == messages.StateRetry):
			return a.Sender.Deliver
		case a.Extension != nil && state == messages.StateError:
			return a.Extension.Ended
		}
		return nil
	})
}

// onAlertWritten posts a newly raised owner alert to the Slack-compatible
// webhook (OMS_ALERT_WEBHOOK_URL) at once; the sweeper retries the ones
// that failed. The alert's mail is queued with the alert and never waits
// for this. Without a webhook it does nothing.
func onAlertWritten(a *app.App) func(context.Context, cloudevents.Event) error {
	return onState(a, "onAlertWritten", "webhook.state", func(state string) func(context.Context, string) (string, error) {
		if a.Hooks == nil || (state != messages.StatePending && state != messages.StateRetry) {
			return nil
		}
		return a.Hooks.Post
	})
}

// onState is a trigger that runs what act answers for the state of the
// delivery record at field of the written document (nil: nothing to do —
// the feature is off, or the state needs nothing). What it runs must be
// safe under a duplicate event (an attempt claims the record; an alert is
// raised once).
func onState(a *app.App, name, field string, act func(state string) func(context.Context, string) (string, error)) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, ce cloudevents.Event) error {
		ctx = a.Log.With().Str("function", name).Str("event", ce.ID()).Logger().WithContext(ctx)
		log := logging.FromContext(ctx)
		ev, err := docevent.Decode(ce)
		if err != nil {
			log.Error().Err(err).Msg("undecodable event dropped")
			return nil
		}
		if ev.New == nil {
			return nil
		}
		st, _ := ev.New.String(field)
		run := act(st)
		if run == nil {
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
