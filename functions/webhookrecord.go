package functions

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/logging"
	webhookev "github.com/readyplanner/oms/internal/webhook"
)

// newWebhookRecord decodes a Firestore event on webhookEvents into the
// record it created. ok is false for every other write (a record marked
// processed, a deletion: only a creation is acted on, once) and for an
// undecodable event, which is logged and dropped (a retry cannot fix it).
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
