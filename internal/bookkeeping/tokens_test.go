package bookkeeping

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
)

// The token refresh policy is decided here, from the record as loaded:
// these tables need no emulator (the store's transaction and ten racing
// instances are tested in internal/firestoredb).

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func connected(expires time.Duration) TokenRecord {
	return TokenRecord{Exists: true, RealmID: "9130", Connected: true, AccessToken: "at-old", AccessExpiresAt: t0.Add(expires),
		RefreshToken: "rt-old", RefreshExpiresAt: t0.Add(100 * 24 * time.Hour)}
}

func TestCurrentToken(t *testing.T) {
	tests := []struct {
		name        string
		rec         TokenRecord
		wantToken   string
		wantRefresh bool
		wantErr     error
	}{
		{"never connected", TokenRecord{}, "", false, ErrNotConnected},
		{"disconnected", func() TokenRecord { r := connected(time.Hour); r.Connected = false; return r }(), "", false, ErrNotConnected},
		{"good for an hour", connected(time.Hour), "at-old", false, nil},
		{"good for just over the margin", connected(RefreshMargin + time.Second), "at-old", false, nil},
		{"within the margin: refresh", connected(RefreshMargin), "", true, nil},
		{"expired: refresh", connected(-time.Minute), "", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, refresh, err := current(tt.rec, t0)
			if token != tt.wantToken || refresh != tt.wantRefresh || !errors.Is(err, tt.wantErr) {
				t.Errorf("got %q %v %v, want %q %v %v", token, refresh, err, tt.wantToken, tt.wantRefresh, tt.wantErr)
			}
		})
	}
}

func TestLease(t *testing.T) {
	held := func(holder string, until time.Duration) TokenRecord {
		r := connected(-time.Minute)
		r.LeaseHolder, r.LeaseUntil = holder, t0.Add(until)
		return r
	}
	refreshedMeanwhile := connected(time.Hour)
	refreshedMeanwhile.AccessToken = "at-new"
	taken := func(r TokenRecord) TokenRecord { r.LeaseHolder, r.LeaseUntil = "me", t0.Add(LeaseFor); return r }
	tests := []struct {
		name      string
		rec       TokenRecord
		rejected  string
		wantNext  TokenRecord
		wantWrite bool
		wantFresh string
		wantErr   error
	}{
		{name: "never connected", rec: TokenRecord{}, rejected: "at-old", wantErr: ErrNotConnected},
		{name: "disconnected", rec: func() TokenRecord { r := connected(time.Hour); r.Connected = false; return r }(), rejected: "at-old", wantErr: ErrNotConnected},
		{name: "another instance refreshed: its token, nothing written", rec: refreshedMeanwhile, rejected: "at-old", wantFresh: "at-new"},
		{name: "the stored token is the one refused: refresh though not expired", rec: connected(time.Hour), rejected: "at-old",
			wantNext: taken(connected(time.Hour)), wantWrite: true},
		{name: "expired, no lease: taken", rec: connected(-time.Minute), rejected: "at-old", wantNext: taken(connected(-time.Minute)), wantWrite: true},
		{name: "another holder's live lease: wait", rec: held("other", time.Second), rejected: "at-old", wantErr: errLeaseHeld},
		{name: "another holder's lapsed lease: taken", rec: held("other", -time.Second), rejected: "at-old",
			wantNext: taken(connected(-time.Minute)), wantWrite: true},
		{name: "its own lease: taken again", rec: held("me", time.Second), rejected: "at-old", wantNext: taken(connected(-time.Minute)), wantWrite: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, write, fresh, err := lease(tt.rec, tt.rejected, "me", t0)
			if !errors.Is(err, tt.wantErr) || write != tt.wantWrite || fresh != tt.wantFresh {
				t.Fatalf("got write %v fresh %q err %v, want %v %q %v", write, fresh, err, tt.wantWrite, tt.wantFresh, tt.wantErr)
			}
			if write && !reflect.DeepEqual(next, tt.wantNext) {
				t.Errorf("next %+v, want %+v", next, tt.wantNext)
			}
		})
	}
}

func TestRefreshed(t *testing.T) {
	leased := connected(-time.Minute)
	leased.LeaseHolder, leased.LeaseUntil = "me", t0.Add(LeaseFor)
	ts := TokenSet{AccessToken: "at-new", RefreshToken: "rt-new", ExpiresAt: t0.Add(time.Hour), RefreshExpireAt: t0.Add(50 * 24 * time.Hour)}
	tests := []struct {
		name     string
		rec      TokenRecord
		err      error
		want     TokenRecord
		wantDead bool
		wantCode apperr.Code // "" for none
	}{
		{
			name: "new tokens stored, the lease freed",
			rec:  leased, want: TokenRecord{Exists: true, RealmID: "9130", Connected: true, AccessToken: "at-new", AccessExpiresAt: ts.ExpiresAt,
				RefreshToken: "rt-new", RefreshExpiresAt: ts.RefreshExpireAt, LeaseUntil: leased.LeaseUntil, UpdatedAt: t0},
		},
		{
			name: "invalid_grant: disconnected, for good", rec: leased, err: fmt.Errorf("%w (expired)", ErrInvalidGrant), wantDead: true,
			wantCode: apperr.FailedPrecondition,
			want: func() TokenRecord {
				r := leased
				r.Connected, r.DisconnectedReason, r.LeaseHolder, r.UpdatedAt = false, "the refresh token was refused (invalid_grant)", "", t0
				return r
			}(),
		},
		{
			name: "any other failure: the lease freed, try again", rec: leased, err: errors.New("HTTP 500"), wantCode: apperr.Unavailable,
			want: func() TokenRecord { r := leased; r.LeaseHolder = ""; return r }(),
		},
		{name: "the connection is gone meanwhile: not connected", rec: TokenRecord{}, wantCode: apperr.FailedPrecondition, want: TokenRecord{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in TokenSet
			if tt.err == nil {
				in = ts
			}
			next, dead, err := refreshed(tt.rec, in, tt.err, t0)
			if dead != tt.wantDead || (tt.wantCode == "" && err != nil) || (tt.wantCode != "" && apperr.CodeOf(err) != tt.wantCode) {
				t.Fatalf("dead %v err %v, want %v %s", dead, err, tt.wantDead, tt.wantCode)
			}
			if !reflect.DeepEqual(next, tt.want) {
				t.Errorf("next %+v, want %+v", next, tt.want)
			}
		})
	}
}

func TestTokenKeyStableAndShort(t *testing.T) {
	if a, b := TokenKey("rt-1"), TokenKey("rt-1"); a != b || len(a) != 16 || a == TokenKey("rt-2") {
		t.Errorf("keys %q %q", a, b)
	}
}

// memStore is a TokenStore in memory: one lock stands for the transaction.
type memStore struct {
	mu  sync.Mutex
	rec TokenRecord
}

func (m *memStore) LoadTokens(context.Context) (TokenRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rec, nil
}

func (m *memStore) UpdateTokens(_ context.Context, decide func(TokenRecord) (TokenRecord, bool, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, write, err := decide(m.rec)
	if err == nil && write {
		m.rec = next
	}
	return err
}

type stubRefresher struct {
	calls int
	err   error
}

func (s *stubRefresher) Refresh(_ context.Context, rt string, now time.Time) (TokenSet, error) {
	s.calls++
	if s.err != nil {
		return TokenSet{}, s.err
	}
	return TokenSet{AccessToken: fmt.Sprintf("at-%d", s.calls), RefreshToken: fmt.Sprintf("rt-%d", s.calls), ExpiresAt: now.Add(time.Hour)}, nil
}

func TestTokensOverAStore(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		rec        TokenRecord
		refreshErr error
		wantToken  string
		wantCalls  int
		wantCode   apperr.Code
		wantAlerts []string
	}{
		{name: "current token, no call", rec: connected(time.Hour), wantToken: "at-old"},
		{name: "expired: one refresh, the new token", rec: connected(-time.Minute), wantToken: "at-1", wantCalls: 1},
		{name: "dead refresh token: disconnected, one alert", rec: connected(-time.Minute), refreshErr: ErrInvalidGrant, wantCalls: 1,
			wantCode: apperr.FailedPrecondition, wantAlerts: []string{TokenKey("rt-old")}},
		{name: "endpoint down: UNAVAILABLE, no alert", rec: connected(-time.Minute), refreshErr: errors.New("HTTP 503"), wantCalls: 1,
			wantCode: apperr.Unavailable},
		{name: "never connected: no call", wantCode: apperr.FailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, oauth := &memStore{rec: tt.rec}, &stubRefresher{err: tt.refreshErr}
			var alerts []string
			tok := NewTokens(store, oauth, func() time.Time { return t0 }, func(_ context.Context, key string) error { alerts = append(alerts, key); return nil })
			got, err := tok.AccessToken(ctx)
			if got != tt.wantToken || oauth.calls != tt.wantCalls || (tt.wantCode == "" && err != nil) || (tt.wantCode != "" && apperr.CodeOf(err) != tt.wantCode) {
				t.Fatalf("got %q, %d calls, %v; want %q, %d, %s", got, oauth.calls, err, tt.wantToken, tt.wantCalls, tt.wantCode)
			}
			if !reflect.DeepEqual(alerts, tt.wantAlerts) {
				t.Errorf("alerts %v, want %v", alerts, tt.wantAlerts)
			}
			if store.rec.LeaseHolder != "" {
				t.Errorf("lease left held: %+v", store.rec)
			}
		})
	}
}

func TestTokensWaitForAnotherHolder(t *testing.T) {
	rec := connected(-time.Minute)
	rec.LeaseHolder, rec.LeaseUntil = "other", t0.Add(LeaseFor)
	store, oauth := &memStore{rec: rec}, &stubRefresher{}
	clock := t0
	var mu sync.Mutex
	tok := NewTokens(store, oauth, func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }, nil)
	tok.Poll = time.Millisecond
	go func() { // the other holder stores its tokens
		time.Sleep(5 * time.Millisecond)
		store.mu.Lock()
		store.rec.AccessToken, store.rec.AccessExpiresAt, store.rec.LeaseHolder = "at-other", t0.Add(time.Hour), ""
		store.mu.Unlock()
	}()
	if got, err := tok.Refresh(context.Background(), "at-old"); err != nil || got != "at-other" || oauth.calls != 0 {
		t.Fatalf("got %q %v, %d calls", got, err, oauth.calls)
	}
	// A holder that keeps its lease: UNAVAILABLE once the wait is over.
	store.rec = rec
	store.rec.LeaseUntil = t0.Add(time.Hour)
	mu.Lock()
	clock = t0
	mu.Unlock()
	go func() {
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		clock = t0.Add(LeaseFor + 6*time.Second) // still held, past the wait
		mu.Unlock()
	}()
	if _, err := tok.Refresh(context.Background(), "at-old"); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("stuck holder: %v", err)
	}
}
