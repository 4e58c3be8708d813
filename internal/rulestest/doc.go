// Package rulestest holds the security rules' test matrix: every collection
// × read, create, update, delete × the document's owner, another user, an
// anonymous user and no auth, plus the cart's shape limits, run against the
// Firestore emulator's REST API with user tokens, as a browser would.
// The package has no code of its own.
package rulestest
