package functions

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/logging"
	webhookev "github.com/readyplanner/oms/internal/webhook"
)

// newWebhookRecord decodes a Firestore event on webhookEvents into the
// record it created. ok is false for every other write (a record marked
// processed, a deletion: only a creation is acted on, once; the triggers
// listen to creations only, so these come only from a trigger deployed
// by hand on writes) and for an undecodable event, which is logged and
// dropped (a retry cannot fix it).
func newWebhookRecord(ctx context.Context, ce cloudevents.Event) (e webhookev.Event, ok bool) {
	log := logging.FromContext(ctx)
	ev, err := docevent.Decode(ce)
	if err != nil {
		log.Error().Err(err).Msg("undecodable event dropped")
		return webhookev.Event{}, false
	}
	if ev.New == nil || ev.Old != nil {
		return webhookev.Event{}, false
	}
	if e, err = firestoredb.DecodeWebhookEvent(ev.New.Data()); err != nil {
		log.Error().Err(err).Str("document", ev.Document).Msg("undecodable webhook event record dropped")
		return webhookev.Event{}, false
	}
	return e, true
}

// onWebhookRecord is a trigger on webhookEvents that acts on each newly
// created record with handle (which leaves other sources' records alone)
// and logs its outcome as what; an error is returned for the platform to
// retry.
func onWebhookRecord(a *app.App, name, what string, handle func(context.Context, webhookev.Event) (string, error)) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, ce cloudevents.Event) error {
		ctx = a.Log.With().Str("function", name).Str("event", ce.ID()).Logger().WithContext(ctx)
		log := logging.FromContext(ctx)
		rec, ok := newWebhookRecord(ctx, ce)
		if !ok {
			return nil
		}
		outcome, err := handle(ctx, rec)
		if err != nil {
			log.Warn().Err(err).Msg(what + " not handled; will retry")
			return err
		}
		log.Debug().Str("outcome", outcome).Msg(what)
		return nil
	}
}

// recordedAnswer is a webhook's answer once it recorded a delivery: fresh
// when this delivery made the record, a duplicate otherwise.
func recordedAnswer(fresh bool) map[string]any {
	outcome := "recorded"
	if !fresh {
		outcome = "duplicate"
	}
	return map[string]any{"received": true, "outcome": outcome}
}
