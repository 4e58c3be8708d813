package firestoredb

import (
	"context"
	"errors"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/bookkeeping"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// IntegrationsCollection holds integrations/quickbooks: the connection's
// realm and tokens (server-only; the rules deny clients everything).
const IntegrationsCollection = "integrations"

// QuickBooksTokens keeps the QuickBooks connection's tokens in Firestore
// (integrations/quickbooks): it loads and saves them; the refresh policy
// (who refreshes, when, what a dead token means) is bookkeeping.Tokens'.
type QuickBooksTokens struct {
	client *firestore.Client
	now    func() time.Time
}

var _ bookkeeping.TokenStore = (*QuickBooksTokens)(nil)

// NewQuickBooksTokens returns the token store; now is the clock (time.Now
// if nil).
func NewQuickBooksTokens(client *firestore.Client, now func() time.Time) *QuickBooksTokens {
	if now == nil {
		now = time.Now
	}
	return &QuickBooksTokens{client: client, now: now}
}

type qbDoc struct {
	RealmID            string    `firestore:"realmId"`
	Status             string    `firestore:"status"` // connected, disconnected
	DisconnectedReason string    `firestore:"disconnectedReason,omitempty"`
	AccessToken        string    `firestore:"accessToken"`
	AccessExpiresAt    time.Time `firestore:"accessExpiresAt"`
	RefreshToken       string    `firestore:"refreshToken"`
	RefreshExpiresAt   time.Time `firestore:"refreshExpiresAt"`
	LeaseHolder        string    `firestore:"leaseHolder,omitempty"`
	LeaseUntil         time.Time `firestore:"leaseUntil"`
	UpdatedAt          time.Time `firestore:"updatedAt"`
}

func (t *QuickBooksTokens) ref() *firestore.DocumentRef {
	return t.client.Collection(IntegrationsCollection).Doc("quickbooks")
}

// AlertQuickBooksDisconnected is the kind of the alert raised when the
// refresh token dies; connecting again resolves it.
const AlertQuickBooksDisconnected = alert.QuickBooksDisconnected

// Connect stores a new connection (after the owner's consent), replacing
// any earlier one.
func (t *QuickBooksTokens) Connect(ctx context.Context, realm string, ts bookkeeping.TokenSet) error {
	_, err := t.ref().Set(ctx, qbDoc{RealmID: realm, Status: "connected", AccessToken: ts.AccessToken, AccessExpiresAt: ts.ExpiresAt,
		RefreshToken: ts.RefreshToken, RefreshExpiresAt: ts.RefreshExpireAt, UpdatedAt: t.now().UTC()})
	return wrap(err, "store the QuickBooks connection")
}

func (d qbDoc) record() bookkeeping.TokenRecord {
	return bookkeeping.TokenRecord{Exists: true, RealmID: d.RealmID, Connected: d.Status == "connected", DisconnectedReason: d.DisconnectedReason,
		AccessToken: d.AccessToken, AccessExpiresAt: d.AccessExpiresAt, RefreshToken: d.RefreshToken, RefreshExpiresAt: d.RefreshExpiresAt,
		LeaseHolder: d.LeaseHolder, LeaseUntil: d.LeaseUntil, UpdatedAt: d.UpdatedAt}
}

func toQBDoc(r bookkeeping.TokenRecord) qbDoc {
	status := "disconnected"
	if r.Connected {
		status = "connected"
	}
	return qbDoc{RealmID: r.RealmID, Status: status, DisconnectedReason: r.DisconnectedReason, AccessToken: r.AccessToken,
		AccessExpiresAt: r.AccessExpiresAt, RefreshToken: r.RefreshToken, RefreshExpiresAt: r.RefreshExpiresAt,
		LeaseHolder: r.LeaseHolder, LeaseUntil: r.LeaseUntil, UpdatedAt: r.UpdatedAt}
}

// LoadTokens implements bookkeeping.TokenStore.
func (t *QuickBooksTokens) LoadTokens(ctx context.Context) (bookkeeping.TokenRecord, error) {
	snap, err := t.ref().Get(ctx)
	if status.Code(err) == codes.NotFound {
		return bookkeeping.TokenRecord{}, nil
	}
	if err != nil {
		return bookkeeping.TokenRecord{}, wrap(err, "read the QuickBooks connection")
	}
	var d qbDoc
	if err := snap.DataTo(&d); err != nil {
		return bookkeeping.TokenRecord{}, wrap(err, "read the QuickBooks connection")
	}
	return d.record(), nil
}

// UpdateTokens implements bookkeeping.TokenStore: one transaction reads
// the record, decide decides, and the record it returns is written when
// it says so. decide's own errors are returned as they are.
func (t *QuickBooksTokens) UpdateTokens(ctx context.Context, decide func(bookkeeping.TokenRecord) (bookkeeping.TokenRecord, bool, error)) error {
	var decided error
	err := t.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		decided = nil
		var r bookkeeping.TokenRecord
		snap, err := tx.Get(t.ref())
		switch {
		case status.Code(err) == codes.NotFound:
		case err != nil:
			return err
		default:
			var d qbDoc
			if err := snap.DataTo(&d); err != nil {
				return err
			}
			r = d.record()
		}
		next, write, err := decide(r)
		if err != nil {
			decided = err
			return err
		}
		if !write {
			return nil
		}
		return tx.Set(t.ref(), toQBDoc(next))
	}, firestore.MaxAttempts(transactionAttempts))
	if err != nil && decided != nil && errors.Is(err, decided) {
		return decided
	}
	return wrap(err, "update the QuickBooks connection")
}
