package firestoredb

import (
	"context"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/logging"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Collections of owner alerts: alerts/{key} is the record an admin page
// lists; mail/{id} is a message in the Trigger Email extension's schema
// ({to, message:{subject, text}}), which that extension or the built-in
// sender delivers. Both are server-only.
const (
	AlertsCollection = "alerts"
	MailCollection   = "mail"
)

// Alerts records owner alerts and mails them to the owner.
//
// It implements alert.Raiser.
type Alerts struct {
	client     *firestore.Client
	ownerEmail string
	now        func() time.Time
}

// NewAlerts returns the alert store; ownerEmail ("" for none) receives
// each alert by mail.
func NewAlerts(client *firestore.Client, ownerEmail string, now func() time.Time) *Alerts {
	if now == nil {
		now = time.Now
	}
	return &Alerts{client: client, ownerEmail: ownerEmail, now: now}
}

// Raise records the alert and queues its mail, each create-if-absent, and
// logs it at ERROR severity (so that log-based alerting sees it too). It
// reports whether the alert is new.
func (a *Alerts) Raise(ctx context.Context, al alert.Alert) (bool, error) {
	now := a.now().UTC()
	_, err := a.client.Collection(AlertsCollection).Doc(al.Key).Create(ctx, map[string]any{"kind": al.Kind, "orderId": al.OrderID,
		"subject": al.Subject, "text": al.Text, "createdAt": now, "resolvedAt": nil})
	if status.Code(err) == codes.AlreadyExists {
		return false, nil
	}
	if err != nil {
		return false, wrap(err, "record alert %s", al.Key)
	}
	logging.FromContext(ctx).Error().Str("alert", al.Key).Str("kind", al.Kind).Str("orderId", al.OrderID).Msg(al.Subject)
	if a.ownerEmail == "" {
		return true, nil
	}
	_, err = a.client.Collection(MailCollection).Doc("alert-"+al.Key).Create(ctx, map[string]any{"to": a.ownerEmail,
		"message": map[string]any{"subject": al.Subject, "text": al.Text}, "createdAt": now})
	if status.Code(err) == codes.AlreadyExists {
		err = nil
	}
	return true, wrap(err, "queue the mail of alert %s", al.Key)
}

// Resolve marks every open alert of kind resolved (e.g. QuickBooks
// reconnected).
func (a *Alerts) Resolve(ctx context.Context, kind string) (int, error) {
	snaps, err := a.client.Collection(AlertsCollection).Where("kind", "==", kind).Where("resolvedAt", "==", nil).Documents(ctx).GetAll()
	if err != nil {
		return 0, wrap(err, "find open %s alerts", kind)
	}
	for _, s := range snaps {
		if _, err := s.Ref.Update(ctx, []firestore.Update{{Path: "resolvedAt", Value: a.now().UTC()}}); err != nil {
			return 0, wrap(err, "resolve alert %s", s.Ref.ID)
		}
	}
	return len(snaps), nil
}
