package bookkeeping

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
)

// TokenSet is what QuickBooks's OAuth 2.0 token endpoint answers.
type TokenSet struct {
	AccessToken     string
	RefreshToken    string
	ExpiresAt       time.Time // of the access token
	RefreshExpireAt time.Time // of the refresh token
}

// ErrInvalidGrant means the refresh token (or code) is dead: a person must
// reconnect QuickBooks. Never retry it.
var ErrInvalidGrant = errors.New("quickbooks: invalid_grant: reconnect QuickBooks")

// TokenRecord is the stored QuickBooks connection as the store loaded it.
type TokenRecord struct {
	Exists             bool // false: never connected
	RealmID            string
	Connected          bool // false: disconnected (its refresh token died)
	DisconnectedReason string
	AccessToken        string
	AccessExpiresAt    time.Time
	RefreshToken       string
	RefreshExpiresAt   time.Time
	LeaseHolder        string // the instance refreshing, "" for none
	LeaseUntil         time.Time
	UpdatedAt          time.Time
}

// TokenStore loads and saves the connection's tokens; Tokens decides.
type TokenStore interface {
	// LoadTokens reads the record (Exists false when there is none).
	LoadTokens(ctx context.Context) (TokenRecord, error)
	// UpdateTokens loads the record in a transaction, calls decide, and
	// saves the record decide returns when it says so; decide's error is
	// returned as it is and nothing is saved. decide may run more than
	// once (the transaction retried).
	UpdateTokens(ctx context.Context, decide func(TokenRecord) (next TokenRecord, write bool, err error)) error
}

// Refresher trades a refresh token for new tokens (quickbooks.OAuth).
type Refresher interface {
	Refresh(ctx context.Context, refreshToken string, now time.Time) (TokenSet, error)
}

// The token refresh policy.
const (
	// LeaseFor bounds one refresh; a holder that dies frees the lease then.
	LeaseFor = 20 * time.Second
	// RefreshMargin refreshes an access token this long before it expires.
	RefreshMargin = 60 * time.Second
)

// Tokens gives QuickBooks access tokens (it implements quickbooks.Tokens)
// with the refresh policy: any instance uses the newest stored token; one
// instance at a time refreshes, under a lease; the newest refresh token is
// always stored; a dead refresh token marks the connection disconnected
// (and it stays so until reconnected).
type Tokens struct {
	Store TokenStore
	OAuth Refresher
	Now   func() time.Time
	// Holder names this instance, for the lease.
	Holder string
	// OnDisconnect, if set, is told when the connection dies
	// (invalid_grant), with a key that identifies the dead refresh token
	// (the same on every instance that sees it).
	OnDisconnect func(ctx context.Context, tokenKey string) error
	// Poll is how often a refresh held by another instance is looked at
	// again (100ms if zero).
	Poll time.Duration
}

// NewTokens returns the token policy over store, refreshing with oauth,
// as an instance of its own (a random Holder), telling onDisconnect (nil:
// nobody) when the connection dies. Every port is given here, at
// construction.
func NewTokens(store TokenStore, oauth Refresher, now func() time.Time, onDisconnect func(ctx context.Context, tokenKey string) error) *Tokens {
	if now == nil {
		now = time.Now
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Tokens{Store: store, OAuth: oauth, Now: now, Holder: hex.EncodeToString(b), OnDisconnect: onDisconnect}
}

// current decides what AccessToken answers from the record as read: the
// stored token while it is good for RefreshMargin more, else a refresh
// (refresh true); ErrNotConnected when there is no live connection.
func current(r TokenRecord, now time.Time) (token string, refresh bool, err error) {
	if !r.Exists || !r.Connected {
		return "", false, ErrNotConnected
	}
	if now.Add(RefreshMargin).Before(r.AccessExpiresAt) {
		return r.AccessToken, false, nil
	}
	return "", true, nil
}

// errLeaseHeld: another instance is refreshing; wait for its tokens.
var errLeaseHeld = errors.New("another instance is refreshing")

// lease decides, from the record as a transaction read it, whether
// holder may refresh now after the API refused rejected: a newer token
// stored meanwhile is answered (fresh) and nothing is written; another
// holder's live lease is errLeaseHeld; otherwise holder takes the lease
// (next, write).
func lease(r TokenRecord, rejected, holder string, now time.Time) (next TokenRecord, write bool, fresh string, err error) {
	switch {
	case !r.Exists || !r.Connected:
		return r, false, "", ErrNotConnected
	case r.AccessToken != rejected && now.Add(RefreshMargin).Before(r.AccessExpiresAt):
		return r, false, r.AccessToken, nil // someone else refreshed
	case r.LeaseHolder != "" && r.LeaseHolder != holder && now.Before(r.LeaseUntil):
		return r, false, "", errLeaseHeld
	}
	r.LeaseHolder, r.LeaseUntil = holder, now.Add(LeaseFor)
	return r, true, "", nil
}

// refreshed decides what the token endpoint's answer (ts, err) makes of
// the record: new tokens are stored (the refresh token may rotate) and the
// lease freed; invalid_grant disconnects (dead); any other failure only
// frees the lease and is UNAVAILABLE (try again).
// A record gone meanwhile is not written again: not connected.
func refreshed(r TokenRecord, ts TokenSet, err error, now time.Time) (next TokenRecord, dead bool, answer error) {
	r.LeaseHolder = ""
	switch {
	case !r.Exists:
		return r, false, ErrNotConnected
	case errors.Is(err, ErrInvalidGrant):
		r.Connected, r.DisconnectedReason, r.UpdatedAt = false, "the refresh token was refused (invalid_grant)", now.UTC()
		return r, true, ErrNotConnected
	case err != nil:
		return r, false, apperr.Wrap(err, apperr.Unavailable, "QuickBooks token refresh failed; will try again")
	}
	r.AccessToken, r.AccessExpiresAt, r.RefreshToken, r.RefreshExpiresAt = ts.AccessToken, ts.ExpiresAt, ts.RefreshToken, ts.RefreshExpireAt
	r.UpdatedAt = now.UTC()
	return r, false, nil
}

// TokenKey identifies a refresh token without storing it: the same on
// every instance, so that one dead token raises one alert.
func TokenKey(refreshToken string) string {
	sum := sha256.Sum256([]byte(refreshToken))
	return hex.EncodeToString(sum[:])[:16]
}

// AccessToken returns the current access token, refreshing it first when
// it is about to expire.
func (t *Tokens) AccessToken(ctx context.Context) (string, error) {
	r, err := t.Store.LoadTokens(ctx)
	if err != nil {
		return "", err
	}
	token, refresh, err := current(r, t.Now())
	if err != nil || !refresh {
		return token, err
	}
	return t.Refresh(ctx, r.AccessToken)
}

// Realm returns the company's realm id: the connected one, or the one
// last connected while the connection waits to be reconnected (its
// webhooks are still recorded); ErrNotConnected when there is none.
func (t *Tokens) Realm(ctx context.Context) (string, error) {
	r, err := t.Store.LoadTokens(ctx)
	switch {
	case err != nil:
		return "", err
	case !r.Exists || (!r.Connected && r.RealmID == ""):
		return "", ErrNotConnected
	}
	return r.RealmID, nil
}

// Connected reports the realm and whether calls can be made now.
func (t *Tokens) Connected(ctx context.Context) (realm string, connected bool, err error) {
	r, err := t.Store.LoadTokens(ctx)
	return r.RealmID, r.Exists && r.Connected, err
}

// Refresh returns a newer access token than rejected, refreshing only if
// no other instance already did or is doing it.
func (t *Tokens) Refresh(ctx context.Context, rejected string) (string, error) {
	deadline := t.Now().Add(LeaseFor + 5*time.Second)
	poll := t.Poll
	if poll == 0 {
		poll = 100 * time.Millisecond
	}
	for {
		var held TokenRecord
		fresh := ""
		err := t.Store.UpdateTokens(ctx, func(r TokenRecord) (TokenRecord, bool, error) {
			next, write, f, err := lease(r, rejected, t.Holder, t.Now())
			held, fresh = next, f
			return next, write, err
		})
		switch {
		case err == nil && fresh != "":
			return fresh, nil
		case errors.Is(err, errLeaseHeld):
			if t.Now().After(deadline) {
				return "", apperr.New(apperr.Unavailable, "the QuickBooks token refresh is taking too long; will try again")
			}
			select {
			case <-time.After(poll):
			case <-ctx.Done():
				code := apperr.Aborted
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					code = apperr.DeadlineExceeded
				}
				return "", apperr.Wrap(ctx.Err(), code, "wait for the QuickBooks token refresh")
			}
			continue
		case err != nil:
			return "", err
		}
		return t.refreshHoldingLease(ctx, held)
	}
}

func (t *Tokens) refreshHoldingLease(ctx context.Context, held TokenRecord) (string, error) {
	now := t.Now()
	ts, rerr := t.OAuth.Refresh(ctx, held.RefreshToken, now)
	var dead bool
	var answer error
	werr := t.Store.UpdateTokens(ctx, func(r TokenRecord) (TokenRecord, bool, error) {
		var next TokenRecord
		next, dead, answer = refreshed(r, ts, rerr, now)
		return next, r.Exists, nil
	})
	if dead {
		logging.FromContext(ctx).Error().Err(rerr).Msg("QuickBooks refresh token is dead: the connection is marked disconnected; the owner must reconnect")
		if t.OnDisconnect != nil && werr == nil {
			// The same key on every instance: one alert per dead token.
			werr = t.OnDisconnect(ctx, TokenKey(held.RefreshToken))
		}
		return "", errors.Join(answer, werr)
	}
	if answer != nil {
		return "", answer
	}
	if werr != nil {
		return "", werr
	}
	return ts.AccessToken, nil
}
