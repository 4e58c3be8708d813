// Package firebaseauth verifies Firebase ID tokens and App Check tokens with
// the Firebase Admin SDK, for the callable protocol. With
// FIREBASE_AUTH_EMULATOR_HOST set (development only; config refuses it in
// production) the SDK accepts the Auth emulator's unsigned tokens but still
// checks audience, issuer, expiry and that the user exists.
package firebaseauth

import (
	"context"
	"fmt"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/appcheck"
	"firebase.google.com/go/v4/auth"
	"github.com/readyplanner/oms/internal/callable"
)

// Verifier checks ID tokens against the project's Firebase Auth.
type Verifier struct{ client *auth.Client }

var _ callable.TokenVerifier = (*Verifier)(nil)

// New returns a Verifier for app.
func New(ctx context.Context, app *firebase.App) (*Verifier, error) {
	c, err := app.Auth(ctx)
	if err != nil {
		return nil, fmt.Errorf("firebase auth client: %w", err)
	}
	return &Verifier{client: c}, nil
}

// VerifyIDToken implements callable.TokenVerifier.
func (v *Verifier) VerifyIDToken(ctx context.Context, token string) (*callable.Identity, error) {
	return identityOf(v.client.VerifyIDToken(ctx, token))
}

// VerifyIDTokenAndCheckRevoked implements callable.TokenVerifier: the
// Admin SDK's check, which loads the user from Firebase Auth and refuses
// a token issued before its refresh tokens were revoked, or one of a
// disabled account.
func (v *Verifier) VerifyIDTokenAndCheckRevoked(ctx context.Context, token string) (*callable.Identity, error) {
	return identityOf(v.client.VerifyIDTokenAndCheckRevoked(ctx, token))
}

func identityOf(t *auth.Token, err error) (*callable.Identity, error) {
	if err != nil {
		return nil, err
	}
	id := &callable.Identity{UID: t.UID, SignInProvider: t.Firebase.SignInProvider, Claims: t.Claims}
	if e, ok := t.Claims["email"].(string); ok {
		id.Email = e
	}
	if ev, ok := t.Claims["email_verified"].(bool); ok {
		id.EmailVerified = ev
	}
	return id, nil
}

// AppCheck verifies App Check tokens against Google's published keys.
type AppCheck struct{ client *appcheck.Client }

var _ callable.AppCheckVerifier = (*AppCheck)(nil)

// NewAppCheck returns an App Check verifier for app.
func NewAppCheck(ctx context.Context, app *firebase.App) (*AppCheck, error) {
	c, err := app.AppCheck(ctx)
	if err != nil {
		return nil, fmt.Errorf("firebase app check client: %w", err)
	}
	return &AppCheck{client: c}, nil
}

// VerifyAppCheck implements callable.AppCheckVerifier.
func (a *AppCheck) VerifyAppCheck(_ context.Context, token string) (string, error) {
	t, err := a.client.VerifyToken(token)
	if err != nil {
		return "", err
	}
	return t.AppID, nil
}

// Owners grants and revokes the store owner's custom claim on Firebase
// Auth accounts, by email (cmd/owner).
type Owners struct {
	client *auth.Client
	Claim  string // the claim (OMS_ADMIN_CLAIM)
}

// NewOwners returns Owners for app's Firebase Auth.
func NewOwners(ctx context.Context, app *firebase.App, claim string) (*Owners, error) {
	c, err := app.Auth(ctx)
	if err != nil {
		return nil, fmt.Errorf("firebase auth client: %w", err)
	}
	if claim == "" {
		return nil, fmt.Errorf("firebaseauth: the owner's claim has no name")
	}
	return &Owners{client: c, Claim: claim}, nil
}

// Grant gives the account with email the owner's claim (its other claims
// kept) and answers its uid and whether it changed anything. The account
// must exist: the owner signs in once first. The claim reaches the owner's
// next ID token (sign in again, or wait for the hourly refresh).
func (o *Owners) Grant(ctx context.Context, email string) (uid string, changed bool, err error) {
	return o.set(ctx, email, true)
}

// Revoke takes the owner's claim from the account with email and revokes
// its refresh tokens, so that its sessions and ID tokens end at once (the
// owner's callables and console check revocation).
func (o *Owners) Revoke(ctx context.Context, email string) (uid string, changed bool, err error) {
	return o.set(ctx, email, false)
}

func (o *Owners) set(ctx context.Context, email string, owner bool) (string, bool, error) {
	u, err := o.client.GetUserByEmail(ctx, email)
	if auth.IsUserNotFound(err) {
		return "", false, fmt.Errorf("no Firebase Auth account has the email %s: sign in once with it first", email)
	}
	if err != nil {
		return "", false, err
	}
	claims := map[string]any{}
	for k, v := range u.CustomClaims {
		claims[k] = v
	}
	has := claims[o.Claim] == true
	if has == owner {
		return u.UID, false, nil
	}
	if owner {
		claims[o.Claim] = true
	} else {
		delete(claims, o.Claim)
	}
	if err := o.client.SetCustomUserClaims(ctx, u.UID, claims); err != nil {
		return "", false, err
	}
	if !owner {
		if err := o.client.RevokeRefreshTokens(ctx, u.UID); err != nil {
			return u.UID, true, err
		}
	}
	return u.UID, true, nil
}

// SessionCookie makes a session cookie from an ID token (the Admin SDK's
// createSessionCookie), valid for expiresIn (5 minutes to 2 weeks).
func (v *Verifier) SessionCookie(ctx context.Context, idToken string, expiresIn time.Duration) (string, error) {
	return v.client.SessionCookie(ctx, idToken, expiresIn)
}

// VerifySessionCookieAndCheckRevoked checks a session cookie and asks
// Firebase Auth whether the account's tokens were revoked or it was
// disabled since.
func (v *Verifier) VerifySessionCookieAndCheckRevoked(ctx context.Context, cookie string) (*callable.Identity, error) {
	return identityOf(v.client.VerifySessionCookieAndCheckRevoked(ctx, cookie))
}

// EnsureAccount makes an email-and-password account unless one has the
// email (the local system's demo owner, in the Auth emulator), and
// answers its uid.
func (o *Owners) EnsureAccount(ctx context.Context, email, password string) (string, error) {
	u, err := o.client.GetUserByEmail(ctx, email)
	if err == nil {
		return u.UID, nil
	}
	if !auth.IsUserNotFound(err) {
		return "", err
	}
	u, err = o.client.CreateUser(ctx, (&auth.UserToCreate{}).Email(email).Password(password).EmailVerified(true))
	if err != nil {
		return "", err
	}
	return u.UID, nil
}
