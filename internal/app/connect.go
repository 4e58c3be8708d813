package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/quickbooks"
)

// errNoQuickBooksApp is the connect flow's error without the Intuit app's
// credentials.
var errNoQuickBooksApp = apperr.New(apperr.FailedPrecondition, "QuickBooks is not configured: set QUICKBOOKS_CLIENT_ID and QUICKBOOKS_CLIENT_SECRET")

// OwnerProof is how a request to connect QuickBooks proves it is the
// owner's: a Firebase ID token carrying the admin claim, or a one-time
// connect key.
type OwnerProof struct {
	IDToken    string // from "Authorization: Bearer …"
	ConnectKey string // from ?key=…
}

// StartQuickBooksConnect checks that the request is the owner's and returns
// the URL of Intuit's consent page with a fresh signed state (valid
// quickbooks.StateTTL, usable once). A one-time key is spent here.
func (a *App) StartQuickBooksConnect(ctx context.Context, p OwnerProof) (authorizeURL string, expires time.Time, err error) {
	if a.QuickBooksTokens == nil {
		return "", time.Time{}, errNoQuickBooksApp
	}
	switch {
	case p.IDToken != "":
		id, err := a.Callables.Tokens.VerifyIDToken(ctx, p.IDToken)
		if err != nil {
			logging.FromContext(ctx).Info().Err(err).Msg("ID token refused")
			return "", time.Time{}, apperr.Wrap(err, apperr.Unauthenticated, "the Firebase ID token is not valid; sign in again")
		}
		if v, _ := id.Claims[a.Config.AdminClaim].(bool); !v {
			logging.FromContext(ctx).Warn().Str("uid", id.UID).Msg("quickbooksConnect refused: no admin claim")
			return "", time.Time{}, apperr.New(apperr.PermissionDenied, "only the owner may connect QuickBooks: this account has no %q claim", a.Config.AdminClaim)
		}
		logging.FromContext(ctx).Info().Str("uid", id.UID).Msg("quickbooksConnect by the owner's account")
	case p.ConnectKey != "":
		if err := a.QuickBooksTokens.UseConnectKey(ctx, p.ConnectKey); err != nil {
			return "", time.Time{}, err
		}
		logging.FromContext(ctx).Info().Msg("quickbooksConnect by a one-time key")
	default:
		return "", time.Time{}, apperr.New(apperr.Unauthenticated,
			"only the owner may connect QuickBooks: send the owner's Firebase ID token (Authorization: Bearer) or open a one-time link from `go run ./cmd/quickbooks-link`")
	}
	expires = a.Now().Add(quickbooks.StateTTL)
	state := a.states.Sign(firestoredb.Nonce(), expires)
	return quickbooks.AuthorizeURL(a.Config.QuickBooksAuthorizeURL, a.QuickBooksOAuth.ClientID, a.Config.QuickBooksRedirectURL, state), expires, nil
}

// ConsentAnswer is what Intuit's consent page sent back to the callback.
type ConsentAnswer struct {
	Code, State, RealmID    string
	Error, ErrorDescription string // when the owner declined or Intuit failed
}

// Connected is the outcome of a completed connection.
type Connected struct {
	RealmID string
	// PreviousRealmID is the company connected before, if it was another.
	PreviousRealmID string
	// Resumed counts the orders that waited in authorized for the
	// connection and were sent on to be invoiced.
	Resumed int
}

// resumeBatch bounds how many waiting orders the callback sends on; the
// sweeper takes any others.
const resumeBatch = 50

// CompleteQuickBooksConnect finishes the consent: it checks the state
// (signed by us, unexpired, used once), exchanges the code for tokens,
// stores them with the realm id (replacing any earlier connection and
// resolving its disconnection alert), and sends on the orders that waited
// for QuickBooks.
func (a *App) CompleteQuickBooksConnect(ctx context.Context, ans ConsentAnswer) (Connected, error) {
	if a.QuickBooksTokens == nil {
		return Connected{}, errNoQuickBooksApp
	}
	if ans.Error != "" {
		return Connected{}, apperr.New(apperr.FailedPrecondition, "QuickBooks was not connected: Intuit answered %q %s", ans.Error, ans.ErrorDescription)
	}
	nonce, expires, err := a.states.Verify(ans.State, a.Now())
	switch {
	case errors.Is(err, quickbooks.ErrStateExpired):
		return Connected{}, apperr.New(apperr.FailedPrecondition, "this consent took longer than %s: start connecting again", quickbooks.StateTTL)
	case err != nil:
		return Connected{}, apperr.New(apperr.Invalid, "the state is missing or was not issued by this service: start connecting from quickbooksConnect")
	case ans.Code == "" || len(ans.Code) > 512:
		return Connected{}, apperr.New(apperr.Invalid, "the authorization code is missing")
	case !quickbooks.ValidRealm(ans.RealmID):
		return Connected{}, apperr.New(apperr.Invalid, "the realmId (QuickBooks company id) is missing or malformed")
	}
	if err := a.QuickBooksTokens.UseState(ctx, nonce, expires); err != nil {
		return Connected{}, err
	}
	ts, err := a.QuickBooksOAuth.Exchange(ctx, ans.Code, a.Config.QuickBooksRedirectURL, a.Now())
	switch {
	case errors.Is(err, quickbooks.ErrInvalidGrant):
		return Connected{}, apperr.Wrap(err, apperr.FailedPrecondition, "Intuit refused the authorization code (expired, used, or the redirect URI differs): start connecting again")
	case err != nil:
		return Connected{}, apperr.Wrap(err, apperr.Unavailable, "Intuit's token endpoint failed: start connecting again in a minute")
	}
	prev, err := a.QuickBooksTokens.Status(ctx)
	if err != nil {
		return Connected{}, err
	}
	if err := a.QuickBooksTokens.Connect(ctx, ans.RealmID, ts); err != nil {
		return Connected{}, err
	}
	out := Connected{RealmID: ans.RealmID}
	if prev.RealmID != "" && prev.RealmID != ans.RealmID {
		out.PreviousRealmID = prev.RealmID
	}
	log := logging.FromContext(ctx)
	log.Info().Str("realmId", ans.RealmID).Str("previousRealmId", out.PreviousRealmID).Msg("QuickBooks connected")
	// Orders that waited while QuickBooks was disconnected go on now rather
	// than at the next sweep. A failure here is the sweeper's to retry.
	waiting, err := a.Orders.Stale(ctx, []order.State{order.Authorized}, a.Now().Add(time.Second), resumeBatch)
	if err != nil {
		log.Warn().Err(err).Msg("waiting orders not listed; the sweeper will send them on")
		return out, nil
	}
	var failed []string
	for _, o := range waiting {
		if err := a.Flow.Redrive(ctx, o); err != nil {
			failed = append(failed, o.ID)
			continue
		}
		out.Resumed++
	}
	if len(failed) > 0 {
		log.Warn().Str("orders", strings.Join(failed, ",")).Msg("some waiting orders were not invoiced yet; the sweeper retries them")
	}
	return out, nil
}
