package firestoredb

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/webhook"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WebhookEventsCollection holds every webhook event received, recorded
// before it is acted on: one subcollection per source,
// webhookEvents/{source}/events/{eventId}, so that a Firestore trigger
// (whose path pattern matches whole segments) listens to one source's
// records only. The documents webhookEvents/{source} themselves are never
// written.
const WebhookEventsCollection = "webhookEvents"

// webhookSourceEvents is the subcollection of a source's records.
const webhookSourceEvents = "events"

// WebhookEventsPath returns the path of the collection that holds source's
// records: webhookEvents/{source}/events.
func WebhookEventsPath(source webhook.Source) string {
	return WebhookEventsCollection + "/" + string(source) + "/" + webhookSourceEvents
}

// WebhookEventPattern returns the document path pattern a Firestore
// trigger on source's records names (Eventarc's path pattern, the
// emulator's): webhookEvents/{source}/events/{eventId}.
func WebhookEventPattern(source webhook.Source) string {
	return WebhookEventsPath(source) + "/{eventId}"
}

// WebhookEvents records webhook deliveries.
type WebhookEvents struct{ client *firestore.Client }

var _ webhook.Recorder = (*WebhookEvents)(nil)

// NewWebhookEvents returns the event record store.
func NewWebhookEvents(client *firestore.Client) *WebhookEvents { return &WebhookEvents{client: client} }

func (w *WebhookEvents) ref(source webhook.Source, id string) *firestore.DocumentRef {
	return w.client.Collection(WebhookEventsCollection).Doc(string(source)).Collection(webhookSourceEvents).Doc(id)
}

// webhookEventDoc is the stored form of a webhook.Event: one flat
// document, each source's fields beside the common ones (the names the
// records have always had, so that records made before the typed form
// still decode).
type webhookEventDoc struct {
	Source      string     `firestore:"source"`
	EventID     string     `firestore:"eventId"`
	ReceivedAt  time.Time  `firestore:"receivedAt"`
	ProcessedAt *time.Time `firestore:"processedAt"`
	Outcome     string     `firestore:"outcome,omitempty"`
	// Stripe
	Type     string `firestore:"type,omitempty"`
	OrderID  string `firestore:"orderId,omitempty"`
	IntentID string `firestore:"intentId,omitempty"`
	// QuickBooks
	RealmID   string `firestore:"realmId,omitempty"`
	Entity    string `firestore:"entity,omitempty"`
	EntityID  string `firestore:"entityId,omitempty"`
	Operation string `firestore:"operation,omitempty"`
	// The printer
	JobID      string `firestore:"jobId,omitempty"`
	ExternalID string `firestore:"externalId,omitempty"`
	Status     string `firestore:"status,omitempty"`
	// ShipEngine (its status code in Status)
	TrackingNumber string `firestore:"trackingNumber,omitempty"`
}

// encodeWebhookEvent returns the stored form of e, received at now.
func encodeWebhookEvent(e webhook.Event, now time.Time) (webhookEventDoc, error) {
	if err := e.Validate(); err != nil {
		return webhookEventDoc{}, apperr.Wrap(err, apperr.Internal, "record a webhook event: %s", err.Error())
	}
	d := webhookEventDoc{Source: string(e.Source()), EventID: e.ID, ReceivedAt: now.UTC()}
	switch {
	case e.Stripe != nil:
		d.Type, d.OrderID, d.IntentID = e.Stripe.Type, e.Stripe.OrderID, e.Stripe.IntentID
	case e.QuickBooks != nil:
		q := e.QuickBooks
		d.RealmID, d.Entity, d.EntityID, d.Operation = q.Realm, q.Entity, q.EntityID, q.Operation
	case e.Printer != nil:
		d.JobID, d.ExternalID, d.Status = e.Printer.JobID, e.Printer.ExternalID, e.Printer.Status
	case e.ShipEngine != nil:
		d.TrackingNumber, d.Status = e.ShipEngine.TrackingNumber, e.ShipEngine.StatusCode
	}
	return d, nil
}

// event returns the webhook.Event d stores.
func (d webhookEventDoc) event() (webhook.Event, error) {
	e := webhook.Event{ID: d.EventID}
	switch webhook.Source(d.Source) {
	case webhook.Stripe:
		e.Stripe = &webhook.StripeEvent{Type: d.Type, OrderID: d.OrderID, IntentID: d.IntentID}
	case webhook.QuickBooks:
		e.QuickBooks = &webhook.QuickBooksEvent{Realm: d.RealmID, Entity: d.Entity, EntityID: d.EntityID, Operation: d.Operation}
	case webhook.Printer:
		e.Printer = &webhook.PrinterEvent{JobID: d.JobID, ExternalID: d.ExternalID, Status: d.Status}
	case webhook.ShipEngine:
		e.ShipEngine = &webhook.TrackEvent{TrackingNumber: d.TrackingNumber, StatusCode: d.Status}
	default:
		return webhook.Event{}, fmt.Errorf("webhook event %q has an unknown source %q", d.EventID, d.Source)
	}
	return e, e.Validate()
}

// DecodeWebhookEvent decodes a webhook event record from its document's
// fields as a Firestore trigger receives them (docevent's Data): the
// triggers on the collection read records through the store's own form.
func DecodeWebhookEvent(data map[string]any) (webhook.Event, error) {
	var d webhookEventDoc
	if err := fromData(data, &d); err != nil {
		return webhook.Event{}, err
	}
	return d.event()
}

// fromData fills the fields of the struct dst points to from data, by
// their firestore tags (the inverse of the encoding for the string and
// time fields a storage model of this kind has): the decoder cannot drift
// from the encoder.
func fromData(data map[string]any, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("firestore"), ",")
		raw, ok := data[name]
		if !ok || raw == nil || name == "" {
			continue
		}
		val := reflect.ValueOf(raw)
		switch field := v.Field(i); {
		case val.Type().AssignableTo(field.Type()):
			field.Set(val)
		case field.Kind() == reflect.Pointer && val.Type().AssignableTo(field.Type().Elem()):
			p := reflect.New(field.Type().Elem())
			p.Elem().Set(val)
			field.Set(p)
		default:
			return fmt.Errorf("field %s is a %T, not a %s", name, raw, field.Type())
		}
	}
	return nil
}

// Record stores the event create-if-absent and reports whether an earlier
// delivery of it was already processed completely (then there is nothing
// to do). A recorded but unprocessed event (an earlier attempt failed
// midway) is processed again: every step it takes is idempotent.
func (w *WebhookEvents) Record(ctx context.Context, e webhook.Event, now time.Time) (processed bool, err error) {
	doc, err := encodeWebhookEvent(e, now)
	if err != nil {
		return false, err
	}
	ref := w.ref(e.Source(), e.ID)
	_, err = ref.Create(ctx, doc)
	if status.Code(err) != codes.AlreadyExists {
		return false, wrap(err, "record %s event %s", e.Source(), e.ID)
	}
	snap, err := ref.Get(ctx)
	if err != nil {
		return false, wrap(err, "read %s event %s", e.Source(), e.ID)
	}
	var got webhookEventDoc
	if err := snap.DataTo(&got); err != nil {
		return false, wrap(err, "decode %s event %s", e.Source(), e.ID)
	}
	return got.ProcessedAt != nil, nil
}

// Create stores the event create-if-absent and reports whether this call
// created it: of concurrent deliveries of one event, exactly one does (the
// one a Firestore trigger on the collection acts on); every other is a
// duplicate, processed or not.
func (w *WebhookEvents) Create(ctx context.Context, e webhook.Event, now time.Time) (created bool, err error) {
	doc, err := encodeWebhookEvent(e, now)
	if err != nil {
		return false, err
	}
	_, err = w.ref(e.Source(), e.ID).Create(ctx, doc)
	if status.Code(err) == codes.AlreadyExists {
		return false, nil
	}
	return err == nil, wrap(err, "record %s event %s", e.Source(), e.ID)
}

// Processed marks the event done, with what came of it.
func (w *WebhookEvents) Processed(ctx context.Context, source webhook.Source, id, outcome string, now time.Time) error {
	_, err := w.ref(source, id).Set(ctx, map[string]any{"processedAt": now.UTC(), "outcome": outcome}, firestore.MergeAll)
	return wrap(err, "mark %s event %s", source, id)
}
