package firestoredb

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/bookkeeping"
	"github.com/readyplanner/oms/internal/testenv"
)

// countingRefresher is a token endpoint that counts its refreshes and
// rotates the refresh token each time (as Intuit's may); dead makes every
// refresh token dead.
type countingRefresher struct {
	n    atomic.Int64
	dead atomic.Bool
}

func (r *countingRefresher) Refresh(_ context.Context, refreshToken string, now time.Time) (bookkeeping.TokenSet, error) {
	if r.dead.Load() {
		return bookkeeping.TokenSet{}, fmt.Errorf("%w (test)", bookkeeping.ErrInvalidGrant)
	}
	n := r.n.Add(1)
	time.Sleep(50 * time.Millisecond) // a slow endpoint: the others must wait, not refresh
	return bookkeeping.TokenSet{AccessToken: fmt.Sprintf("at-%d", n), RefreshToken: fmt.Sprintf("rt-%d", n),
		ExpiresAt: now.Add(time.Hour), RefreshExpireAt: now.Add(100 * 24 * time.Hour)}, nil
}

// The store loads and saves in transactions; what only the emulator can
// show is that ten instances racing to refresh make one refresh (the
// decisions are tested in internal/bookkeeping without it). Not parallel:
// there is one integrations/quickbooks document.
func TestQuickBooksTokensRefreshOnce(t *testing.T) {
	env := testenv.Firestore(t)
	ctx := context.Background()
	oauth := &countingRefresher{}
	store := NewQuickBooksTokens(env.Client, nil)
	ts := bookkeeping.TokenSet{AccessToken: "at-0", RefreshToken: "rt-0", ExpiresAt: time.Now().Add(time.Hour), RefreshExpireAt: time.Now().Add(time.Hour)}
	if err := store.Connect(ctx, "9130350000000001", ts); err != nil {
		t.Fatal(err)
	}
	if at, err := bookkeeping.NewTokens(store, oauth, nil, nil).AccessToken(ctx); err != nil || at != ts.AccessToken {
		t.Fatalf("current token: %q %v", at, err)
	}

	// The access token expires; ten instances notice at once.
	if _, err := store.ref().Update(ctx, []firestore.Update{{Path: "accessExpiresAt", Value: time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	const instances = 10
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens = map[string]int{}
	)
	for i := 0; i < instances; i++ {
		inst := bookkeeping.NewTokens(NewQuickBooksTokens(env.Client, nil), oauth, nil, nil)
		inst.Poll = 20 * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			at, err := inst.AccessToken(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("instance: %v", err)
				return
			}
			tokens[at]++
		}()
	}
	wg.Wait()
	if oauth.n.Load() != 1 || len(tokens) != 1 {
		t.Fatalf("%d refreshes, %d distinct tokens: %v", oauth.n.Load(), len(tokens), tokens)
	}
	rec, err := store.LoadTokens(ctx)
	if err != nil || rec.RefreshToken != "rt-1" || rec.LeaseHolder != "" || tokens[rec.AccessToken] != instances {
		t.Errorf("stored %+v %v", rec, err)
	}

	// A dead refresh token: disconnected, alerted once, and it stays so.
	oauth.dead.Store(true)
	if _, err := store.ref().Update(ctx, []firestore.Update{{Path: "accessExpiresAt", Value: time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	var alerted []string
	inst := bookkeeping.NewTokens(store, oauth, nil, func(_ context.Context, key string) error { alerted = append(alerted, key); return nil })
	if _, err := inst.AccessToken(ctx); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatalf("dead refresh token: %v", err)
	}
	if rec, _ = store.LoadTokens(ctx); rec.Connected || rec.DisconnectedReason == "" || rec.LeaseHolder != "" {
		t.Errorf("after invalid_grant: %+v", rec)
	}
	if len(alerted) != 1 || alerted[0] != bookkeeping.TokenKey("rt-1") {
		t.Errorf("alerted %v", alerted)
	}
	if st, err := store.Status(ctx); err != nil || st.Connected || st.RealmID != "9130350000000001" {
		t.Errorf("status %+v %v", st, err)
	}
	if _, err := bookkeeping.NewTokens(store, oauth, nil, nil).AccessToken(ctx); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Errorf("another instance after the disconnect: %v", err)
	}
}
