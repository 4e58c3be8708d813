// Package identity is who a request is: what a verified Firebase ID token
// says, and whether that is the store's owner. It imports no SDK; the
// Firebase Auth adapter (internal/firebaseauth) verifies tokens.
package identity

import "context"

// Identity is what a verified Firebase ID token says about the caller.
type Identity struct {
	UID            string
	Email          string
	EmailVerified  bool
	SignInProvider string         // "anonymous", "password", "google.com", …
	Claims         map[string]any // every claim of the token, custom ones included
}

// Verifier checks a Firebase ID token. It returns an error for any token
// that is not valid (bad signature, expired, wrong project, revoked,
// unknown user).
type Verifier interface {
	VerifyIDToken(ctx context.Context, token string) (*Identity, error)
}

// IsOwner reports whether the identity carries the owner's custom claim
// (OMS_ADMIN_CLAIM) as the boolean true — not the string "true".
func (id *Identity) IsOwner(claim string) bool {
	if id == nil {
		return false
	}
	v, _ := id.Claims[claim].(bool)
	return v
}
