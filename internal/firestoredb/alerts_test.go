package firestoredb

import (
	"context"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/testenv"
)

// An alert whose mail was not queued (the instance died, or the second
// write failed, after the alert was recorded) gets its mail when it is
// raised again: the alert and its mail are never half written.
func TestAlertMailIsNeverLost(t *testing.T) {
	env := testenv.Firestore(t)
	ctx := context.Background()
	a := NewAlerts(env.Client, "owner@example.com", true, nil)
	key := testenv.ID("alert")
	// The state the two-write version left behind when the mail write failed.
	if _, err := env.Client.Collection(AlertsCollection).Doc(key).Create(ctx, map[string]any{"kind": "needs_attention",
		"subject": "s", "text": "t", "createdAt": time.Now(), "resolvedAt": nil}); err != nil {
		t.Fatal(err)
	}
	al := alert.Alert{Key: key, Kind: alert.NeedsAttention, OrderID: "K7Q2M9XH4TBA", Subject: "Order K7Q2M9XH4TBA needs your attention", Text: "why"}
	if _, err := a.Raise(ctx, al); err != nil {
		t.Fatal(err)
	}
	mail, err := env.Client.Collection(MailCollection).Doc("alert-" + key).Get(ctx)
	if err != nil || mail.Data()["to"] != "owner@example.com" {
		t.Fatalf("the retried alert's mail: %v %v", err, mail.Data())
	}
	// Raising it again, and a fresh alert twice, queue one mail each.
	if isNew, err := a.Raise(ctx, al); err != nil || isNew {
		t.Errorf("raised again: new=%v %v", isNew, err)
	}
	key2 := testenv.ID("alert")
	for i, want := range []bool{true, false} {
		if isNew, err := a.Raise(ctx, alert.Alert{Key: key2, Kind: alert.OrderReview, Subject: "s2", Text: "t2"}); err != nil || isNew != want {
			t.Errorf("fresh alert, raise #%d: new=%v %v", i+1, isNew, err)
		}
	}
	if m, err := env.Client.Collection(MailCollection).Doc("alert-" + key2).Get(ctx); err != nil || m.Data()["message"].(map[string]any)["subject"] != "s2" {
		t.Errorf("fresh alert's mail: %v", err)
	}
}
