package firebaseauth

import (
	"context"
	"testing"
	"time"

	"firebase.google.com/go/v4/auth"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/testenv"
)

// The owner's check against the real Auth emulator: a token whose refresh
// tokens were revoked after it was issued, or whose account was disabled,
// is refused (issue 20, item 12).
func TestVerifyAndCheckRevokedAgainstAuthEmulator(t *testing.T) {
	host, app, v := againstAuthEmulator(t)
	ctx := context.Background()
	admin, err := app.Auth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() emulator.User {
		u, err := emulator.SignInAs(ctx, host, testenv.ID("owner"), map[string]any{"admin": true})
		if err != nil {
			t.Fatal(err)
		}
		if id, err := v.VerifyIDTokenAndCheckRevoked(ctx, u.IDToken); err != nil || id.UID != u.UID || id.Claims["admin"] != true {
			t.Fatalf("a fresh owner token: %+v %v", id, err)
		}
		// Revocation is to the second (Auth's validSince): let the token's
		// second pass.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
		return u
	}

	revoked := signIn()
	if err := admin.RevokeRefreshTokens(ctx, revoked.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyIDTokenAndCheckRevoked(ctx, revoked.IDToken); !auth.IsIDTokenRevoked(err) {
		t.Errorf("a revoked token: %v", err)
	}

	disabled := signIn()
	if _, err := admin.UpdateUser(ctx, disabled.UID, (&auth.UserToUpdate{}).Disabled(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyIDTokenAndCheckRevoked(ctx, disabled.IDToken); !auth.IsUserDisabled(err) {
		t.Errorf("a disabled account's token: %v", err)
	}
}
