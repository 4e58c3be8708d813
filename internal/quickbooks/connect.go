package quickbooks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/bookkeeping"
)

// AuthorizeEndpoint is Intuit's OAuth 2.0 authorization (consent) page.
const AuthorizeEndpoint = "https://appcenter.intuit.com/connect/oauth2"

// Scope is the QuickBooks Online Accounting API's OAuth scope.
const Scope = "com.intuit.quickbooks.accounting"

// AuthorizeURL is where the owner's browser goes to consent: Intuit's
// authorization page with the app's client id, the scope, the registered
// redirect URI and a signed state.
func AuthorizeURL(endpoint, clientID, redirectURI, state string) string {
	if endpoint == "" {
		endpoint = AuthorizeEndpoint
	}
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "scope": {Scope},
		"redirect_uri": {redirectURI}, "state": {state}}
	return endpoint + "?" + q.Encode()
}

var realmRE = regexp.MustCompile(`^[0-9]{1,32}$`)

// ValidRealm reports whether s looks like a QuickBooks company (realm) id.
func ValidRealm(s string) bool { return realmRE.MatchString(s) }

// ConnectionStore keeps the connection (firestoredb.QuickBooksTokens).
type ConnectionStore interface {
	UseConnectKey(ctx context.Context, key string, live func(expiresAt time.Time) bool) error
	UseState(ctx context.Context, nonce string, expires time.Time) error
	LoadTokens(ctx context.Context) (bookkeeping.TokenRecord, error)
	// Connect stores a new connection, replacing any earlier one.
	Connect(ctx context.Context, realm string, ts TokenSet) error
}

// Connector is bookkeeping's Connector for QuickBooks: Intuit's consent page
// and token endpoint (OAuth), and the stored connection.
type Connector struct {
	OAuth             OAuth
	AuthorizeEndpoint string // "" for Intuit's
	RedirectURL       string
	Store             ConnectionStore
}

var _ bookkeeping.Connector = Connector{}

// AuthorizeURL implements bookkeeping.Connector.
func (c Connector) AuthorizeURL(state string) string {
	return AuthorizeURL(c.AuthorizeEndpoint, c.OAuth.ClientID, c.RedirectURL, state)
}

// UseConnectKey implements bookkeeping.Connector.
func (c Connector) UseConnectKey(ctx context.Context, key string, live func(expiresAt time.Time) bool) error {
	return c.Store.UseConnectKey(ctx, key, live)
}

// UseState implements bookkeeping.Connector.
func (c Connector) UseState(ctx context.Context, nonce string, expires time.Time) error {
	return c.Store.UseState(ctx, nonce, expires)
}

// Status implements bookkeeping.Connector.
func (c Connector) Status(ctx context.Context) (bookkeeping.Connection, error) {
	r, err := c.Store.LoadTokens(ctx)
	return bookkeeping.Connection{RealmID: r.RealmID, Connected: r.Exists && r.Connected}, err
}

// Connect implements bookkeeping.Connector: the code is exchanged with the
// same redirect URI the consent used.
func (c Connector) Connect(ctx context.Context, code, realm string, now time.Time) error {
	ts, err := c.OAuth.Exchange(ctx, code, c.RedirectURL, now)
	switch {
	case errors.Is(err, ErrInvalidGrant):
		return fmt.Errorf("%w: %w", bookkeeping.ErrCodeRefused, err)
	case err != nil:
		return err
	}
	return c.Store.Connect(ctx, realm, ts)
}

// InvoicePage is where the owner opens invoice id in QuickBooks Online,
// for the API at base: the production or sandbox app, or the local
// QuickBooks' own page of invoices.
func InvoicePage(base, id string) string {
	switch {
	case strings.HasPrefix(base, "https://quickbooks.api.intuit.com"):
		return "https://app.qbo.intuit.com/app/invoice?txnId=" + url.QueryEscape(id)
	case strings.HasPrefix(base, "https://sandbox-quickbooks.api.intuit.com"):
		return "https://app.sandbox.qbo.intuit.com/app/invoice?txnId=" + url.QueryEscape(id)
	}
	return strings.TrimSuffix(base, "/") + "/app/invoices"
}
