package firestoredb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/bookkeeping"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/quickbooks"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// IntegrationsCollection holds integrations/quickbooks: the connection's
// realm and tokens (server-only; the rules deny clients everything).
const IntegrationsCollection = "integrations"

// leaseFor bounds one refresh; a holder that dies frees the lease then.
const leaseFor = 20 * time.Second

// refreshMargin refreshes an access token this long before it expires.
const refreshMargin = 60 * time.Second

// Refresher trades a refresh token for new tokens (quickbooks.OAuth).
type Refresher interface {
	Refresh(ctx context.Context, refreshToken string, now time.Time) (quickbooks.TokenSet, error)
}

// QuickBooksTokens keeps the QuickBooks connection's tokens in Firestore:
// any instance reads the newest; one instance at a time refreshes, under a
// lease; the newest refresh token is always stored; a dead refresh token
// marks the connection disconnected (and stays so until reconnected).
type QuickBooksTokens struct {
	client *firestore.Client
	oauth  Refresher
	now    func() time.Time
	holder string // this instance, for the lease
	// OnDisconnect, if set, is told when the connection dies
	// (invalid_grant), with a key that identifies the dead refresh token
	// (the same on every instance that sees it).
	OnDisconnect func(ctx context.Context, tokenKey string) error
}

var _ quickbooks.Tokens = (*QuickBooksTokens)(nil)

// NewQuickBooksTokens returns the token store.
func NewQuickBooksTokens(client *firestore.Client, oauth Refresher, now func() time.Time) *QuickBooksTokens {
	if now == nil {
		now = time.Now
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &QuickBooksTokens{client: client, oauth: oauth, now: now, holder: hex.EncodeToString(b)}
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
func (t *QuickBooksTokens) Connect(ctx context.Context, realm string, ts quickbooks.TokenSet) error {
	_, err := t.ref().Set(ctx, qbDoc{RealmID: realm, Status: "connected", AccessToken: ts.AccessToken, AccessExpiresAt: ts.ExpiresAt,
		RefreshToken: ts.RefreshToken, RefreshExpiresAt: ts.RefreshExpireAt, UpdatedAt: t.now().UTC()})
	return wrap(err, "store the QuickBooks connection")
}

// Connected reports the realm and whether calls can be made now.
func (t *QuickBooksTokens) Connected(ctx context.Context) (string, bool, error) {
	st, err := t.Status(ctx)
	return st.RealmID, st.Connected, err
}

// Realm returns the company's realm id: the connected one, or the one
// last connected while the connection waits to be reconnected (its
// webhooks are still recorded).
func (t *QuickBooksTokens) Realm(ctx context.Context) (string, error) {
	d, err := t.read(ctx)
	if d.RealmID != "" && errors.Is(err, bookkeeping.ErrNotConnected) {
		err = nil
	}
	return d.RealmID, err
}

// errDisconnected: QuickBooks is not connected (never, or its refresh
// token died): nothing can be sent until the owner connects it again.
var errDisconnected = bookkeeping.ErrNotConnected

func (t *QuickBooksTokens) read(ctx context.Context) (qbDoc, error) {
	snap, err := t.ref().Get(ctx)
	if status.Code(err) == codes.NotFound {
		return qbDoc{}, errDisconnected
	}
	if err != nil {
		return qbDoc{}, wrap(err, "read the QuickBooks connection")
	}
	var d qbDoc
	if err := snap.DataTo(&d); err != nil {
		return qbDoc{}, err
	}
	if d.Status != "connected" {
		return d, errDisconnected
	}
	return d, nil
}

// AccessToken implements quickbooks.Tokens.
func (t *QuickBooksTokens) AccessToken(ctx context.Context) (string, error) {
	d, err := t.read(ctx)
	if err != nil {
		return "", err
	}
	if t.now().Add(refreshMargin).Before(d.AccessExpiresAt) {
		return d.AccessToken, nil
	}
	return t.Refresh(ctx, d.AccessToken)
}

var errLeaseHeld = errors.New("another instance is refreshing")

// Refresh implements quickbooks.Tokens: it returns a newer access token
// than rejected, refreshing only if no other instance already did or is
// doing it.
func (t *QuickBooksTokens) Refresh(ctx context.Context, rejected string) (string, error) {
	deadline := t.now().Add(leaseFor + 5*time.Second)
	for {
		var d qbDoc
		fresh := ""
		err := t.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
			fresh = ""
			snap, err := tx.Get(t.ref())
			if err != nil {
				if status.Code(err) == codes.NotFound {
					return errDisconnected
				}
				return err
			}
			if err := snap.DataTo(&d); err != nil {
				return err
			}
			now := t.now()
			switch {
			case d.Status != "connected":
				return errDisconnected
			case d.AccessToken != rejected && now.Add(refreshMargin).Before(d.AccessExpiresAt):
				fresh = d.AccessToken // someone else refreshed
				return nil
			case d.LeaseHolder != "" && d.LeaseHolder != t.holder && now.Before(d.LeaseUntil):
				return errLeaseHeld
			}
			return tx.Update(t.ref(), []firestore.Update{{Path: "leaseHolder", Value: t.holder}, {Path: "leaseUntil", Value: now.Add(leaseFor)}})
		}, firestore.MaxAttempts(transactionAttempts))
		switch {
		case fresh != "":
			return fresh, nil
		case errors.Is(err, errLeaseHeld):
			if t.now().After(deadline) {
				return "", apperr.New(apperr.Unavailable, "the QuickBooks token refresh is taking too long; will try again")
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return "", wrap(ctx.Err(), "wait for the QuickBooks token refresh")
			}
			continue
		case err != nil:
			if apperr.As(err) != nil {
				return "", err
			}
			return "", wrap(err, "lease the QuickBooks token refresh")
		}
		return t.refreshHoldingLease(ctx, d)
	}
}

func (t *QuickBooksTokens) refreshHoldingLease(ctx context.Context, d qbDoc) (string, error) {
	now := t.now()
	ts, err := t.oauth.Refresh(ctx, d.RefreshToken, now)
	switch {
	case errors.Is(err, quickbooks.ErrInvalidGrant):
		logging.FromContext(ctx).Error().Err(err).Msg("QuickBooks refresh token is dead: the connection is marked disconnected; the owner must reconnect")
		_, werr := t.ref().Update(ctx, []firestore.Update{{Path: "status", Value: "disconnected"},
			{Path: "disconnectedReason", Value: "the refresh token was refused (invalid_grant)"},
			{Path: "leaseHolder", Value: ""}, {Path: "updatedAt", Value: now.UTC()}})
		if t.OnDisconnect != nil && werr == nil {
			// The same key on every instance: one alert per dead token.
			werr = t.OnDisconnect(ctx, keyID(d.RefreshToken)[:16])
		}
		return "", errors.Join(errDisconnected, werr)
	case err != nil:
		_, _ = t.ref().Update(ctx, []firestore.Update{{Path: "leaseHolder", Value: ""}})
		return "", apperr.Wrap(err, apperr.Unavailable, "QuickBooks token refresh failed; will try again")
	}
	_, err = t.ref().Update(ctx, []firestore.Update{{Path: "accessToken", Value: ts.AccessToken}, {Path: "accessExpiresAt", Value: ts.ExpiresAt},
		{Path: "refreshToken", Value: ts.RefreshToken}, {Path: "refreshExpiresAt", Value: ts.RefreshExpireAt},
		{Path: "leaseHolder", Value: ""}, {Path: "updatedAt", Value: now.UTC()}})
	if err != nil {
		return "", wrap(err, "store the refreshed QuickBooks tokens")
	}
	return ts.AccessToken, nil
}
