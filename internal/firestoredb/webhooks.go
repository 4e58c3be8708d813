package firestoredb

import (
	"context"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WebhookEventsCollection holds webhookEvents/{source}:{eventId}: every
// webhook event received, recorded before it is acted on.
const WebhookEventsCollection = "webhookEvents"

// WebhookEvents records webhook deliveries.
type WebhookEvents struct{ client *firestore.Client }

// NewWebhookEvents returns the event record store.
func NewWebhookEvents(client *firestore.Client) *WebhookEvents { return &WebhookEvents{client: client} }

func (w *WebhookEvents) ref(source, id string) *firestore.DocumentRef {
	return w.client.Collection(WebhookEventsCollection).Doc(source + ":" + id)
}

// Record stores the event create-if-absent and reports whether an earlier
// delivery of it was already processed completely (then there is nothing
// to do). A recorded but unprocessed event (an earlier attempt failed
// midway) is processed again: every step it takes is idempotent.
func (w *WebhookEvents) Record(ctx context.Context, source, id string, fields map[string]any, now time.Time) (processed bool, err error) {
	doc := map[string]any{"source": source, "eventId": id, "receivedAt": now.UTC(), "processedAt": nil}
	for k, v := range fields {
		doc[k] = v
	}
	_, err = w.ref(source, id).Create(ctx, doc)
	if status.Code(err) != codes.AlreadyExists {
		return false, wrap(err, "record %s event %s", source, id)
	}
	snap, err := w.ref(source, id).Get(ctx)
	if err != nil {
		return false, wrap(err, "read %s event %s", source, id)
	}
	return snap.Data()["processedAt"] != nil, nil
}

// Create stores the event create-if-absent and reports whether this call
// created it: of concurrent deliveries of one event, exactly one does (the
// one a Firestore trigger on the collection acts on); every other is a
// duplicate, processed or not.
func (w *WebhookEvents) Create(ctx context.Context, source, id string, fields map[string]any, now time.Time) (created bool, err error) {
	doc := map[string]any{"source": source, "eventId": id, "receivedAt": now.UTC(), "processedAt": nil}
	for k, v := range fields {
		doc[k] = v
	}
	_, err = w.ref(source, id).Create(ctx, doc)
	if status.Code(err) == codes.AlreadyExists {
		return false, nil
	}
	return err == nil, wrap(err, "record %s event %s", source, id)
}

// Processed marks the event done, with what came of it.
func (w *WebhookEvents) Processed(ctx context.Context, source, id, outcome string, now time.Time) error {
	_, err := w.ref(source, id).Set(ctx, map[string]any{"processedAt": now.UTC(), "outcome": outcome}, firestore.MergeAll)
	return wrap(err, "mark %s event %s", source, id)
}
