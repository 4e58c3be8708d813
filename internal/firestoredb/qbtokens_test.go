package firestoredb

import (
	"context"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/testenv"
)

// Not parallel: there is one integrations/quickbooks document.
func TestQuickBooksTokensRefreshOnce(t *testing.T) {
	env := testenv.Firestore(t)
	ctx := context.Background()
	f, err := qbfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetNumbersAsStrings(true) // as some have seen; both must parse
	oauth := quickbooks.OAuth{Endpoint: f.TokenURL(), ClientID: f.ClientID, ClientSecret: f.ClientSecret}
	ts, err := oauth.Exchange(ctx, f.Code(), "http://127.0.0.1:5001/quickbooksCallback", time.Now())
	if err != nil || time.Until(ts.ExpiresAt) < 59*time.Minute {
		t.Fatalf("exchange: %+v %v", ts, err)
	}
	store := NewQuickBooksTokens(env.Client, oauth, nil)
	if err := store.Connect(ctx, "9130350000000001", ts); err != nil {
		t.Fatal(err)
	}
	if at, err := store.AccessToken(ctx); err != nil || at != ts.AccessToken {
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
		inst := NewQuickBooksTokens(env.Client, oauth, nil)
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
	if f.Refreshes() != 1 || len(tokens) != 1 {
		t.Fatalf("%d refreshes, %d distinct tokens: %v", f.Refreshes(), len(tokens), tokens)
	}
	snap, _ := store.ref().Get(ctx)
	var d qbDoc
	_ = snap.DataTo(&d)
	if d.RefreshToken == ts.RefreshToken || d.LeaseHolder != "" || tokens[d.AccessToken] != instances {
		t.Errorf("stored %+v", d)
	}

	// A dead refresh token: disconnected, and it stays so.
	f.KillRefreshTokens()
	if _, err := store.ref().Update(ctx, []firestore.Update{{Path: "accessExpiresAt", Value: time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.AccessToken(ctx); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatalf("dead refresh token: %v", err)
	}
	snap, _ = store.ref().Get(ctx)
	_ = snap.DataTo(&d)
	if d.Status != "disconnected" || d.DisconnectedReason == "" {
		t.Errorf("after invalid_grant: %+v", d)
	}
	if _, err := NewQuickBooksTokens(env.Client, oauth, nil).AccessToken(ctx); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Errorf("another instance after the disconnect: %v", err)
	}
	// A wrong client secret is not invalid_grant: it must not disconnect.
	bad := quickbooks.OAuth{Endpoint: f.TokenURL(), ClientID: f.ClientID, ClientSecret: "wrong"}
	if _, err := bad.Refresh(ctx, "rt-x", time.Now()); err == nil || err == quickbooks.ErrInvalidGrant {
		t.Errorf("bad client: %v", err)
	}
}
