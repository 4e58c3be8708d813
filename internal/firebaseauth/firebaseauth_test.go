package firebaseauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// againstAuthEmulator starts (or reuses) the Auth emulator, pointing the SDK
// at it, and answers its host, a Firebase app and the production verifier.
func againstAuthEmulator(t *testing.T) (string, *firebase.App, *Verifier) {
	t.Helper()
	host := testenv.AuthHost(t) // also sets FIREBASE_AUTH_EMULATOR_HOST for the SDK
	ctx := context.Background()
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: testenv.Project})
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	return host, app, v
}

func unsigned(claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(claims)
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(b) + "."
}

// The production verifier against the real Auth emulator: what it accepts
// and what it refuses.
func TestVerifierAgainstAuthEmulator(t *testing.T) {
	host, _, v := againstAuthEmulator(t)
	ctx := context.Background()

	anon, err := emulator.SignInAnonymously(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	id, err := v.VerifyIDToken(ctx, anon.IDToken)
	if err != nil || id.UID != anon.UID || id.SignInProvider != "anonymous" {
		t.Fatalf("anonymous token: %+v %v", id, err)
	}
	owner, err := emulator.SignInAs(ctx, host, testenv.ID("owner"), map[string]any{"admin": true})
	if err != nil {
		t.Fatal(err)
	}
	id, err = v.VerifyIDToken(ctx, owner.IDToken)
	if err != nil || id.UID != owner.UID || id.Claims["admin"] != true {
		t.Fatalf("custom-claims token: %+v %v", id, err)
	}

	now := time.Now().Unix()
	base := func(uid string) map[string]any {
		return map[string]any{"sub": uid, "user_id": uid, "aud": testenv.Project, "iss": "https://securetoken.google.com/" + testenv.Project,
			"iat": now - 10, "exp": now + 3600, "auth_time": now - 10, "firebase": map[string]any{"sign_in_provider": "anonymous"}}
	}
	with := func(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }
	for name, tok := range map[string]string{
		"garbage":      "not-a-token",
		"unknown user": unsigned(base(testenv.ID("nobody"))),
		"wrong aud":    unsigned(with(base(anon.UID), "aud", "someone-elses-project")),
		// The SDK allows 5 minutes of clock skew; this one expired an hour ago.
		"expired":    unsigned(with(with(base(anon.UID), "exp", now-3600), "iat", now-7200)),
		"no subject": unsigned(with(base(anon.UID), "sub", "")),
	} {
		if _, err := v.VerifyIDToken(ctx, tok); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A hand-made token for a user that exists passes (the emulator does not
	// sign tokens): this is why production must never set the emulator host,
	// which config refuses.
	if _, err := v.VerifyIDToken(ctx, unsigned(base(anon.UID))); err != nil {
		t.Errorf("hand-made token for an existing emulator user: %v", err)
	}
}
