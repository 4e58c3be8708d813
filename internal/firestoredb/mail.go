package firestoredb

import (
	"context"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/messages"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Mail is the outbox, mail/{id}: each document in the Trigger Email
// extension's schema, created once. With the built-in sender it also
// starts the extension's delivery record (PENDING, due now); for the
// extension it leaves delivery to the extension.
//
// It implements messages.Outbox and messages.MailStore.
type Mail struct {
	client  *firestore.Client
	builtIn bool
}

// NewMail returns the outbox; builtIn says whether the built-in sender
// delivers it (else the Trigger Email extension does).
func NewMail(client *firestore.Client, builtIn bool) *Mail {
	return &Mail{client: client, builtIn: builtIn}
}

var (
	_ messages.Outbox         = (*Mail)(nil)
	_ messages.MailStore      = (*Mail)(nil)
	_ messages.ExtensionStore = (*Mail)(nil)
)

type mailDoc struct {
	To        string       `firestore:"to"`
	From      string       `firestore:"from,omitempty"`
	ReplyTo   string       `firestore:"replyTo,omitempty"`
	Message   messageDoc   `firestore:"message"`
	OrderID   string       `firestore:"orderId,omitempty"`
	Purpose   string       `firestore:"purpose,omitempty"`
	CreatedAt time.Time    `firestore:"createdAt"`
	Delivery  *deliveryDoc `firestore:"delivery,omitempty"`
}

type messageDoc struct {
	Subject string `firestore:"subject"`
	Text    string `firestore:"text"`
	HTML    string `firestore:"html,omitempty"`
}

// deliveryDoc is the extension's delivery record, with nextAttempt (when
// a PENDING or RETRY mail is due) and info.response added.
type deliveryDoc struct {
	State           string     `firestore:"state"`
	Attempts        int64      `firestore:"attempts"`
	StartTime       *time.Time `firestore:"startTime"`
	EndTime         *time.Time `firestore:"endTime"`
	LeaseExpireTime *time.Time `firestore:"leaseExpireTime"`
	NextAttempt     *time.Time `firestore:"nextAttempt"`
	Error           *string    `firestore:"error"`
	Info            *infoDoc   `firestore:"info"`
}

type infoDoc struct {
	MessageID string   `firestore:"messageId"`
	Accepted  []string `firestore:"accepted"`
	Rejected  []string `firestore:"rejected"`
	Response  string   `firestore:"response"`
}

func toMailDoc(m messages.Mail, now time.Time, builtIn bool) mailDoc {
	d := mailDoc{To: m.To, From: m.From, ReplyTo: m.ReplyTo, Message: messageDoc{Subject: m.Subject, Text: m.Text, HTML: m.HTML},
		OrderID: m.OrderID, Purpose: m.Purpose, CreatedAt: now}
	if builtIn {
		d.Delivery = toDeliveryDoc(messages.Queued(now))
	}
	return d
}

func (d mailDoc) mail(id string) messages.Mail {
	return messages.Mail{ID: id, To: d.To, From: d.From, ReplyTo: d.ReplyTo, Subject: d.Message.Subject, Text: d.Message.Text, HTML: d.Message.HTML,
		OrderID: d.OrderID, Purpose: d.Purpose}
}

func (d *deliveryDoc) delivery() messages.Delivery {
	if d == nil {
		return messages.Delivery{State: messages.StatePending}
	}
	out := messages.Delivery{State: d.State, Attempts: int(d.Attempts), StartTime: timeOf(d.StartTime), EndTime: timeOf(d.EndTime),
		LeaseExpire: timeOf(d.LeaseExpireTime), NextAttempt: timeOf(d.NextAttempt)}
	if d.Error != nil {
		out.Error = *d.Error
	}
	if d.Info != nil {
		out.MessageID, out.Response, out.Accepted, out.Rejected = d.Info.MessageID, d.Info.Response, d.Info.Accepted, d.Info.Rejected
	}
	return out
}

func toDeliveryDoc(d messages.Delivery) *deliveryDoc {
	out := &deliveryDoc{State: d.State, Attempts: int64(d.Attempts), StartTime: optTime(d.StartTime), EndTime: optTime(d.EndTime),
		LeaseExpireTime: optTime(d.LeaseExpire), NextAttempt: optTime(d.NextAttempt)}
	if d.Error != "" {
		out.Error = &d.Error
	}
	if d.MessageID != "" || d.Response != "" {
		out.Info = &infoDoc{MessageID: d.MessageID, Accepted: d.Accepted, Rejected: d.Rejected, Response: d.Response}
		if out.Info.Accepted == nil {
			out.Info.Accepted = []string{}
		}
		if out.Info.Rejected == nil {
			out.Info.Rejected = []string{}
		}
	}
	return out
}

// Queue implements messages.Outbox.
func (s *Mail) Queue(ctx context.Context, m messages.Mail, now time.Time) (bool, error) {
	_, err := s.client.Collection(MailCollection).Doc(m.ID).Create(ctx, toMailDoc(m, now.UTC(), s.builtIn))
	if status.Code(err) == codes.AlreadyExists {
		return false, nil
	}
	return err == nil, wrap(err, "queue mail %s", m.ID)
}

// Claim implements messages.MailStore.
func (s *Mail) Claim(ctx context.Context, id string, now, leaseExpire time.Time) (messages.Mail, messages.Delivery, bool, error) {
	var doc mailDoc
	d, claimed, err := claimDelivery(ctx, s.client, s.client.Collection(MailCollection).Doc(id), "delivery", &doc, now, leaseExpire, true)
	return doc.mail(id), d, claimed, err
}

// Finish implements messages.MailStore.
func (s *Mail) Finish(ctx context.Context, id string, d messages.Delivery) error {
	return finishDelivery(ctx, s.client, s.client.Collection(MailCollection).Doc(id), "delivery", d)
}

// claimDelivery takes a lease on the delivery record at field of the
// document ref (read into doc) for an attempt, in one transaction, as
// messages.Delivery.Claim decides. A document without the record counts
// as PENDING when absentDue, else as nothing to deliver.
func claimDelivery(ctx context.Context, client *firestore.Client, ref *firestore.DocumentRef, field string, doc any, now, leaseExpire time.Time, absentDue bool) (messages.Delivery, bool, error) {
	var d messages.Delivery
	var claimed bool
	err := client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		claimed = false
		snap, err := tx.Get(ref)
		if err != nil {
			return err
		}
		if err := snap.DataTo(doc); err != nil {
			return err
		}
		var has bool
		if d, has, err = deliveryAt(snap, field); err != nil || (!has && !absentDue) {
			return err // no record: nothing to deliver
		}
		if d, claimed = d.Claim(now, leaseExpire); !claimed {
			return nil
		}
		return tx.Update(ref, []firestore.Update{{Path: field, Value: toDeliveryDoc(d)}})
	}, firestore.MaxAttempts(transactionAttempts))
	if status.Code(err) == codes.NotFound {
		return d, false, apperr.New(apperr.NotFound, "no %s", ref.Path)
	}
	return d, claimed, wrap(err, "claim %s", ref.ID)
}

// deliveryRecords are the documents' delivery records by field: a mail's
// (delivery) and an alert's webhook post (webhook).
type deliveryRecords struct {
	Delivery *deliveryDoc `firestore:"delivery"`
	Webhook  *deliveryDoc `firestore:"webhook"`
}

// deliveryAt reads the delivery record at field of snap, and whether it
// has one (without, it reads as PENDING).
func deliveryAt(snap *firestore.DocumentSnapshot, field string) (messages.Delivery, bool, error) {
	var recs deliveryRecords
	if err := snap.DataTo(&recs); err != nil {
		return messages.Delivery{}, false, err
	}
	rec := recs.Delivery
	if field == "webhook" {
		rec = recs.Webhook
	}
	return rec.delivery(), rec != nil, nil
}

// finishDelivery records an attempt's outcome at field, in one
// transaction, if messages.Delivery.Finish lets it replace the stored
// record.
func finishDelivery(ctx context.Context, client *firestore.Client, ref *firestore.DocumentRef, field string, d messages.Delivery) error {
	err := client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil {
			return err
		}
		cur, _, err := deliveryAt(snap, field)
		if err != nil {
			return err
		}
		out, ok := cur.Finish(d)
		if !ok {
			return nil
		}
		return tx.Update(ref, []firestore.Update{{Path: field, Value: toDeliveryDoc(out)}})
	}, firestore.MaxAttempts(transactionAttempts))
	return wrap(err, "record the delivery of %s", ref.ID)
}

// Due implements messages.MailStore: mail whose nextAttempt came
// (single-field index delivery.nextAttempt; it is null once a mail is
// taken or ended) and, with the built-in sender, mail PENDING without one:
// the extension's, left when the owner switched senders (single-field
// index delivery.state).
func (s *Mail) Due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	col := s.client.Collection(MailCollection)
	ids, err := dueIDs(ctx, col, "delivery.nextAttempt", now, limit)
	if err != nil || !s.builtIn || len(ids) >= limit {
		return ids, err
	}
	snaps, err := col.Where("delivery.state", "==", messages.StatePending).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "query pending mail")
	}
	for _, snap := range snaps {
		if len(ids) < limit && !slices.Contains(ids, snap.Ref.ID) {
			ids = append(ids, snap.Ref.ID)
		}
	}
	return ids, nil
}

// Get implements messages.ExtensionStore.
func (s *Mail) Get(ctx context.Context, id string) (messages.Mail, messages.Delivery, error) {
	snap, err := s.client.Collection(MailCollection).Doc(id).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return messages.Mail{}, messages.Delivery{}, apperr.New(apperr.NotFound, "no mail %s", id)
	}
	if err != nil {
		return messages.Mail{}, messages.Delivery{}, wrap(err, "read mail %s", id)
	}
	var doc mailDoc
	if err := snap.DataTo(&doc); err != nil {
		return messages.Mail{}, messages.Delivery{}, wrap(err, "read mail %s", id)
	}
	return doc.mail(id), doc.Delivery.delivery(), nil
}

// HandOver implements messages.ExtensionStore, in one transaction, as
// messages.Delivery.HandOver decides. It writes only the two fields the
// decision changes (state, nextAttempt), so the rest of the record stays
// as it was written.
func (s *Mail) HandOver(ctx context.Context, id string) (bool, error) {
	ref := s.client.Collection(MailCollection).Doc(id)
	var handed bool
	err := s.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		handed = false
		doc, err := mailTx(tx, ref)
		if err != nil {
			return err
		}
		var d messages.Delivery // a mail without a record reads as PENDING, never scheduled
		if d, handed = doc.Delivery.delivery().HandOver(); !handed {
			return nil
		}
		return tx.Update(ref, []firestore.Update{{Path: "delivery.state", Value: d.State}, {Path: "delivery.nextAttempt", Value: optTime(d.NextAttempt)}})
	}, firestore.MaxAttempts(transactionAttempts))
	return handed, wrap(err, "hand over mail %s", id)
}

// mailTx reads a mail document in tx.
func mailTx(tx *firestore.Transaction, ref *firestore.DocumentRef) (mailDoc, error) {
	var doc mailDoc
	snap, err := tx.Get(ref)
	if err != nil {
		return doc, err
	}
	return doc, snap.DataTo(&doc)
}

// Lapsed implements messages.MailStore. (Single-field index:
// delivery.leaseExpireTime; it is null except while PROCESSING.)
func (s *Mail) Lapsed(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return dueIDs(ctx, s.client.Collection(MailCollection), "delivery.leaseExpireTime", now, limit)
}

// dueIDs lists up to limit ids of col's documents whose time at field is
// at most before, oldest first.
func dueIDs(ctx context.Context, col *firestore.CollectionRef, field string, before time.Time, limit int) ([]string, error) {
	snaps, err := col.Where(field, "<=", before).OrderBy(field, firestore.Asc).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "query mail by %s", field)
	}
	ids := make([]string, len(snaps))
	for i, snap := range snaps {
		ids[i] = snap.Ref.ID
	}
	return ids, nil
}

// Expire implements messages.MailStore and messages.ExtensionStore, in
// one transaction, as messages.Delivery.Expire decides.
func (s *Mail) Expire(ctx context.Context, id string, now time.Time, why string) (messages.Mail, bool, error) {
	ref := s.client.Collection(MailCollection).Doc(id)
	var m messages.Mail
	var ended bool
	err := s.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		ended = false
		doc, err := mailTx(tx, ref)
		if err != nil {
			return err
		}
		m = doc.mail(id)
		d, ok := doc.Delivery.delivery().Expire(now, why)
		if !ok {
			return nil
		}
		ended = true
		return tx.Update(ref, []firestore.Update{{Path: "delivery", Value: toDeliveryDoc(d)}})
	}, firestore.MaxAttempts(transactionAttempts))
	return m, ended, wrap(err, "end mail %s", id)
}

// queueTx queues m in tx, the caller having read that mail/{m.ID} does not
// exist: the Alerts store queues an alert's mail with the alert, and the
// outbox is written by this store alone.
func queueTx(tx *firestore.Transaction, client *firestore.Client, m messages.Mail, now time.Time, builtIn bool) error {
	return tx.Create(client.Collection(MailCollection).Doc(m.ID), toMailDoc(m, now.UTC(), builtIn))
}
