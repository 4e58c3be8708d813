// Package identity is who a request is: what a verified Firebase ID token
// says, and whether that is the store's owner. It imports no SDK; the
// Firebase Auth adapter (internal/firebaseauth) verifies tokens.
package identity

import (
	"context"

	"github.com/readyplanner/oms/internal/apperr"
)

// Identity is what a verified Firebase ID token says about the caller.
type Identity struct {
	UID            string
	Email          string
	EmailVerified  bool
	SignInProvider string         // "anonymous", "password", "google.com", …
	Claims         map[string]any // every claim of the token, custom ones included
}

// Verifier checks a Firebase ID token.
type Verifier interface {
	// VerifyIDToken returns an error for any token that is not valid (bad
	// signature, expired, wrong project, unknown user). It checks the
	// token itself: a token revoked (or whose account was disabled) since
	// it was issued passes until it expires (an hour at most).
	VerifyIDToken(ctx context.Context, token string) (*Identity, error)
	// VerifyIDTokenAndCheckRevoked is VerifyIDToken that also asks
	// Firebase Auth whether the token was revoked or its account disabled
	// (one more request to Auth per call): for the owner's operations,
	// which a revoked or disabled owner must lose at once.
	VerifyIDTokenAndCheckRevoked(ctx context.Context, token string) (*Identity, error)
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

// ReasonNotOwner is the PERMISSION_DENIED reason of an owner's operation
// called by anyone else.
const ReasonNotOwner = "not_owner"

// RequireOwner checks that id is the store's owner (the custom claim
// claim is the boolean true): UNAUTHENTICATED without a caller,
// PERMISSION_DENIED (not_owner) without the claim.
func RequireOwner(id *Identity, claim string) error {
	if id == nil {
		return apperr.New(apperr.Unauthenticated, "sign in first").Because("sign_in_required")
	}
	if !id.IsOwner(claim) {
		return apperr.New(apperr.PermissionDenied, "only the store's owner may do this: this account has no %q claim", claim).Because(ReasonNotOwner)
	}
	return nil
}
