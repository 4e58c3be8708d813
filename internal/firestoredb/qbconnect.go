package firestoredb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/bookkeeping"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The connect flow's server-only records, under integrations/quickbooks:
// connectKeys/{sha256 of key} (one-time keys that let the owner start
// connecting without an admin account) and states/{nonce} (each consent's
// state, used once).
const (
	connectKeysCollection = "connectKeys"
	statesCollection      = "states"
)

// ConnectKeyTTL is how long a minted one-time connect key stays valid.
const ConnectKeyTTL = 30 * time.Minute

func keyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// MintConnectKey stores a new one-time key that lets its holder start
// connecting QuickBooks once, within ttl. Only its hash is stored.
func (t *QuickBooksTokens) MintConnectKey(ctx context.Context, ttl time.Duration) (key string, expires time.Time, err error) {
	key, expires = bookkeeping.Nonce(), t.now().Add(ttl).UTC()
	_, err = t.ref().Collection(connectKeysCollection).Doc(keyID(key)).Create(ctx, map[string]any{"expiresAt": expires, "createdAt": t.now().UTC()})
	return key, expires, wrap(err, "store the QuickBooks connect key")
}

// errBadConnectKey does not say which of unknown, used or expired it was.
var errBadConnectKey = apperr.New(apperr.PermissionDenied, "this connect link is unknown, already used or expired: make a new one")

// UseConnectKey spends a one-time connect key: the key is deleted (found
// or not, usable or not) and live decides from its expiry whether it
// could be used (bookkeeping.ConnectKeyLive). Unknown, used and expired
// keys answer alike.
func (t *QuickBooksTokens) UseConnectKey(ctx context.Context, key string, live func(expiresAt time.Time) bool) error {
	if key == "" || len(key) > 128 {
		return errBadConnectKey
	}
	ref := t.ref().Collection(connectKeysCollection).Doc(keyID(key))
	var usable bool
	err := t.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			usable = false
			return nil
		}
		if err != nil {
			return err
		}
		exp, _ := snap.Data()["expiresAt"].(time.Time)
		usable = live(exp)
		return tx.Delete(ref)
	}, firestore.MaxAttempts(transactionAttempts))
	if err != nil {
		return wrap(err, "spend the QuickBooks connect key")
	}
	if !usable {
		return errBadConnectKey
	}
	return nil
}

// errStateUsed: the callback already ran for this consent (a reload, or
// someone replaying the redirect).
var errStateUsed = apperr.New(apperr.FailedPrecondition, "this QuickBooks consent was already used: start connecting again")

// UseState records a consent's state nonce; it succeeds once per nonce.
func (t *QuickBooksTokens) UseState(ctx context.Context, nonce string, expires time.Time) error {
	_, err := t.ref().Collection(statesCollection).Doc(nonce).Create(ctx, map[string]any{"usedAt": t.now().UTC(), "expiresAt": expires.UTC()})
	if status.Code(err) == codes.AlreadyExists {
		return errStateUsed
	}
	return wrap(err, "record the QuickBooks consent")
}

// Connection is the stored connection's status (never its tokens).
type Connection struct {
	RealmID            string
	Connected          bool
	DisconnectedReason string
	UpdatedAt          time.Time
}

// Status reads the connection; a never-connected store answers an empty
// Connection.
func (t *QuickBooksTokens) Status(ctx context.Context) (Connection, error) {
	r, err := t.LoadTokens(ctx)
	if err != nil {
		return Connection{}, err
	}
	return Connection{RealmID: r.RealmID, Connected: r.Exists && r.Connected, DisconnectedReason: r.DisconnectedReason, UpdatedAt: r.UpdatedAt}, nil
}
