package firebaseauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"firebase.google.com/go/v4/auth"
	"github.com/readyplanner/oms/internal/testenv"
)

// The owner's claim granted and revoked by email against the Auth
// emulator: the account's other claims kept, a repeat changes nothing, a
// revoke ends the account's tokens, an unknown email is a clear error.
func TestOwnersGrantAndRevoke(t *testing.T) {
	_, app, _ := againstAuthEmulator(t)
	ctx := context.Background()
	admin, err := app.Auth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owners, err := NewOwners(ctx, app, "admin")
	if err != nil {
		t.Fatal(err)
	}
	email := strings.ToLower(testenv.ID("boss")) + "@example.com"
	u, err := admin.CreateUser(ctx, (&auth.UserToCreate{}).Email(email).Password("a-long-password"))
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.SetCustomUserClaims(ctx, u.UID, map[string]any{"tier": "gold"}); err != nil {
		t.Fatal(err)
	}
	claims := func() map[string]any {
		got, err := admin.GetUser(ctx, u.UID)
		if err != nil {
			t.Fatal(err)
		}
		return got.CustomClaims
	}
	if uid, changed, err := owners.Grant(ctx, email); err != nil || !changed || uid != u.UID {
		t.Fatalf("grant: %s %v %v", uid, changed, err)
	}
	if c := claims(); c["admin"] != true || c["tier"] != "gold" {
		t.Errorf("after the grant: %v", c)
	}
	if _, changed, err := owners.Grant(ctx, email); err != nil || changed {
		t.Errorf("a second grant: %v %v", changed, err)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	before := time.Now()
	if _, changed, err := owners.Revoke(ctx, email); err != nil || !changed {
		t.Fatalf("revoke: %v %v", changed, err)
	}
	got, _ := admin.GetUser(ctx, u.UID)
	if _, ok := got.CustomClaims["admin"]; ok || got.CustomClaims["tier"] != "gold" || got.TokensValidAfterMillis < before.Truncate(time.Second).UnixMilli() {
		t.Errorf("after the revoke: claims %v, tokens valid after %d", got.CustomClaims, got.TokensValidAfterMillis)
	}
	if _, changed, err := owners.Revoke(ctx, email); err != nil || changed {
		t.Errorf("a second revoke: %v %v", changed, err)
	}
	if _, _, err := owners.Grant(ctx, "nobody-"+email); err == nil || !strings.Contains(err.Error(), "sign in once") {
		t.Errorf("an unknown email: %v", err)
	}
}
