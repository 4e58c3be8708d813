package firestoredb

import (
	"context"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/owner"
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
	builtIn    bool // the built-in sender delivers mail (else the extension)
	now        func() time.Time
}

// NewAlerts returns the alert store; ownerEmail ("" for none) receives
// each alert by mail, through the outbox (builtIn: delivered by the
// built-in sender, else by the Trigger Email extension).
func NewAlerts(client *firestore.Client, ownerEmail string, builtIn bool, now func() time.Time) *Alerts {
	if now == nil {
		now = time.Now
	}
	return &Alerts{client: client, ownerEmail: ownerEmail, builtIn: builtIn, now: now}
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
			// Each alert carries its delivery record for the alert webhook
			// (OMS_ALERT_WEBHOOK_URL), which posts it when one is configured.
			doc := map[string]any{"kind": al.Kind, "orderId": al.OrderID, "subject": al.Subject, "text": al.Text, "createdAt": now, "resolvedAt": nil,
				"webhook": &deliveryDoc{State: messages.StatePending, NextAttempt: optTime(now)}}
			if err := tx.Create(alertRef, doc); err != nil {
				return err
			}
		}
		if a.ownerEmail != "" && !snaps[1].Exists() {
			return queueTx(tx, a.client, messages.Mail{ID: mailRef.ID, To: a.ownerEmail, Subject: al.Subject, Text: al.Text,
				OrderID: al.OrderID, Purpose: messages.PurposeAlert}, now, a.builtIn)
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
		// Each in a transaction that leaves an alert resolved meanwhile
		// (by the owner) with its first resolution.
		if _, err := a.ResolveOne(ctx, s.Ref.ID, a.now().UTC()); err != nil {
			return 0, err
		}
	}
	return len(snaps), nil
}

var _ alert.Raiser = (*Alerts)(nil)

var _ messages.HookStore = (*Alerts)(nil)

// ClaimHook implements messages.HookStore.
func (a *Alerts) ClaimHook(ctx context.Context, key string, now, leaseExpire time.Time) (messages.HookPost, messages.Delivery, bool, error) {
	var doc struct {
		Kind    string `firestore:"kind"`
		OrderID string `firestore:"orderId"`
		Subject string `firestore:"subject"`
		Text    string `firestore:"text"`
	}
	ref := a.client.Collection(AlertsCollection).Doc(key)
	d, claimed, err := claimDelivery(ctx, a.client, ref, "webhook", &doc, now, leaseExpire, false)
	return messages.HookPost{Key: key, Kind: doc.Kind, OrderID: doc.OrderID, Subject: doc.Subject, Text: doc.Text}, d, claimed, err
}

// FinishHook implements messages.HookStore.
func (a *Alerts) FinishHook(ctx context.Context, key string, d messages.Delivery) error {
	return finishDelivery(ctx, a.client, a.client.Collection(AlertsCollection).Doc(key), "webhook", d)
}

// DueHooks implements messages.HookStore. (Single-field index:
// webhook.nextAttempt.)
func (a *Alerts) DueHooks(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return dueIDs(ctx, a.client.Collection(AlertsCollection), "webhook.nextAttempt", now, limit)
}

// ResolveOne implements owner.AlertInbox: the alert key resolved at at,
// once (a resolved alert keeps its first resolution). NOT_FOUND for no
// such alert.
func (a *Alerts) ResolveOne(ctx context.Context, key string, at time.Time) (owner.AlertRecord, error) {
	ref := a.client.Collection(AlertsCollection).Doc(key)
	var rec owner.AlertRecord
	err := a.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil {
			return err
		}
		d := snap.Data()
		rec = owner.AlertRecord{Key: key}
		rec.Kind, _ = d["kind"].(string)
		rec.OrderID, _ = d["orderId"].(string)
		rec.Subject, _ = d["subject"].(string)
		rec.Text, _ = d["text"].(string)
		rec.CreatedAt, _ = d["createdAt"].(time.Time)
		if r, ok := d["resolvedAt"].(time.Time); ok {
			rec.ResolvedAt = r
			return nil
		}
		rec.ResolvedAt = at
		return tx.Update(ref, []firestore.Update{{Path: "resolvedAt", Value: at}})
	}, firestore.MaxAttempts(transactionAttempts))
	if status.Code(err) == codes.NotFound {
		return owner.AlertRecord{}, apperr.New(apperr.NotFound, "no alert %s", key).Because(owner.ReasonAlertNotFound)
	}
	if err != nil {
		return owner.AlertRecord{}, wrap(err, "resolve alert %s", key)
	}
	return rec, nil
}
