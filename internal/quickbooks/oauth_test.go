package quickbooks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
)

// The token endpoint's answers as the token policy sees them: numbers
// given as strings parse, a dead refresh token is ErrInvalidGrant, a wrong
// client secret is not (it must never disconnect).
func TestOAuthTokenAnswers(t *testing.T) {
	ctx := context.Background()
	f, err := qbfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetNumbersAsStrings(true) // as some have seen; both must parse
	oauth := quickbooks.OAuth{Endpoint: f.TokenURL(), ClientID: f.ClientID, ClientSecret: f.ClientSecret}
	ts, err := oauth.Exchange(ctx, f.Code(), "http://127.0.0.1:5001/quickbooksCallback", time.Now())
	if err != nil || time.Until(ts.ExpiresAt) < 59*time.Minute || time.Until(ts.RefreshExpireAt) < 24*time.Hour {
		t.Fatalf("exchange: %+v %v", ts, err)
	}
	next, err := oauth.Refresh(ctx, ts.RefreshToken, time.Now())
	if err != nil || next.AccessToken == "" || next.AccessToken == ts.AccessToken {
		t.Fatalf("refresh: %+v %v", next, err)
	}
	bad := quickbooks.OAuth{Endpoint: f.TokenURL(), ClientID: f.ClientID, ClientSecret: "wrong"}
	if _, err := bad.Refresh(ctx, next.RefreshToken, time.Now()); err == nil || errors.Is(err, quickbooks.ErrInvalidGrant) {
		t.Errorf("bad client: %v", err)
	}
	f.KillRefreshTokens()
	if _, err := oauth.Refresh(ctx, next.RefreshToken, time.Now()); !errors.Is(err, quickbooks.ErrInvalidGrant) {
		t.Errorf("dead refresh token: %v", err)
	}
}
