package firestoredb

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/testenv"
	"github.com/readyplanner/oms/internal/webhook"
)

// Each source's record is stored and read back as the same typed value,
// through the form a trigger receives (the document's fields).
func TestWebhookEventRoundTrip(t *testing.T) {
	env := testenv.Firestore(t)
	ctx := context.Background()
	w := NewWebhookEvents(env.Client)
	now := time.Now()
	for _, e := range []webhook.Event{
		{ID: testenv.ID("evt"), Stripe: &webhook.StripeEvent{Type: "checkout.session.completed", OrderID: "K7Q2M9XH4TBA", IntentID: "pi_1"}},
		{ID: testenv.ID("evt"), Stripe: &webhook.StripeEvent{Type: "charge.dispute.created"}},
		{ID: testenv.ID("qb"), QuickBooks: &webhook.QuickBooksEvent{Realm: "9130", Entity: "Invoice", EntityID: "145", Operation: "Updated"}},
		{ID: testenv.ID("job"), Printer: &webhook.PrinterEvent{JobID: "77", ExternalID: "K7Q2M9XH4TBA", Status: "SHIPPED"}},
	} {
		if created, err := w.Create(ctx, e, now); err != nil || !created {
			t.Fatalf("create %s: %v %v", e.ID, created, err)
		}
		snap, err := w.ref(e.Source(), e.ID).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeWebhookEvent(snap.Data())
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Errorf("%s decodes to %+v (%v), want %+v", snap.Ref.ID, got, err, e)
		}
	}
}

// Create: of two deliveries, the first records; Record: an event whose
// earlier delivery was processed is reported so, one left midway is not.
func TestWebhookEventsCreateRecordProcessed(t *testing.T) {
	env := testenv.Firestore(t)
	ctx := context.Background()
	w := NewWebhookEvents(env.Client)
	now := time.Now()
	e := webhook.Event{ID: testenv.ID("job"), Printer: &webhook.PrinterEvent{JobID: "1", Status: "CREATED"}}
	for i, want := range []bool{true, false} {
		if created, err := w.Create(ctx, e, now); err != nil || created != want {
			t.Errorf("create #%d: %v %v, want %v", i+1, created, err, want)
		}
	}
	s := webhook.Event{ID: testenv.ID("evt"), Stripe: &webhook.StripeEvent{Type: "charge.refunded", IntentID: "pi_2"}}
	for i, want := range []bool{false, false} {
		if processed, err := w.Record(ctx, s, now); err != nil || processed != want {
			t.Errorf("record #%d: %v %v, want %v", i+1, processed, err, want)
		}
	}
	if err := w.Processed(ctx, webhook.Stripe, s.ID, "refunded", now); err != nil {
		t.Fatal(err)
	}
	if processed, err := w.Record(ctx, s, now); err != nil || !processed {
		t.Errorf("record after processed: %v %v", processed, err)
	}
	snap, err := w.ref(webhook.Stripe, s.ID).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeWebhookEvent(snap.Data()); err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("the processed record decodes to %+v, %v", got, err)
	}
}

// An event that does not say its source once is refused before anything
// is written; a record of an unknown source, or with a field of the wrong
// type, does not decode.
func TestWebhookEventMalformed(t *testing.T) {
	for name, e := range map[string]webhook.Event{
		"no part":   {ID: "e1"},
		"two parts": {ID: "e1", Stripe: &webhook.StripeEvent{}, Printer: &webhook.PrinterEvent{}},
		"no id":     {QuickBooks: &webhook.QuickBooksEvent{}},
	} {
		if _, err := encodeWebhookEvent(e, time.Now()); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	for name, data := range map[string]map[string]any{
		"unknown source": {"source": "paypal", "eventId": "e1"},
		"no source":      {"eventId": "e1"},
		"no id":          {"source": "stripe"},
		"wrong type":     {"source": "printer", "eventId": "e1", "jobId": int64(7)},
	} {
		if e, err := DecodeWebhookEvent(data); err == nil {
			t.Errorf("%s: decoded to %+v", name, e)
		}
	}
	// A record as the untyped version wrote it decodes.
	old := map[string]any{"source": "quickbooks", "eventId": "k1", "receivedAt": time.Now(), "processedAt": nil,
		"entity": "Payment", "entityId": "9", "operation": "Create", "realmId": "r"}
	want := webhook.Event{ID: "k1", QuickBooks: &webhook.QuickBooksEvent{Realm: "r", Entity: "Payment", EntityID: "9", Operation: "Create"}}
	if got, err := DecodeWebhookEvent(old); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("an untyped record decodes to %+v, %v", got, err)
	}
}
