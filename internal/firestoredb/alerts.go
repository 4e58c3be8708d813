package firestoredb

import (
	"context"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/logging"
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

// Raise records the alert and queues its mail (when an owner email is
// set) in one transaction, each create-if-absent, and logs a new alert at
// ERROR severity (so that log-based alerting sees it too). An alert found
// without its mail (recorded by an earlier version that wrote them apart)
// gets its mail now: nothing is ever half written. It reports whether the
// alert is new.
func (a *Alerts) Raise(ctx context.Context, al alert.Alert) (bool, error) {
	now := a.now().UTC()
	alertRef := a.client.Collection(AlertsCollection).Doc(al.Key)
	mailRef := a.client.Collection(MailCollection).Doc("alert-" + al.Key)
	var isNew bool
	err := a.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		isNew = false
		snaps, err := tx.GetAll([]*firestore.DocumentRef{alertRef, mailRef})
		if err != nil {
			return err
		}
		if !snaps[0].Exists() {
			isNew = true
			if err := tx.Create(alertRef, map[string]any{"kind": al.Kind, "orderId": al.OrderID,
				"subject": al.Subject, "text": al.Text, "createdAt": now, "resolvedAt": nil}); err != nil {
				return err
			}
		}
		if a.ownerEmail != "" && !snaps[1].Exists() {
			return tx.Create(mailRef, map[string]any{"to": a.ownerEmail,
				"message": map[string]any{"subject": al.Subject, "text": al.Text}, "createdAt": now})
		}
		return nil
	}, firestore.MaxAttempts(transactionAttempts))
	if err != nil {
		return false, wrap(err, "record alert %s", al.Key)
	}
	if isNew {
		logging.FromContext(ctx).Error().Str("alert", al.Key).Str("kind", al.Kind).Str("orderId", al.OrderID).Msg(al.Subject)
	}
	return isNew, nil
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

var _ alert.Raiser = (*Alerts)(nil)
