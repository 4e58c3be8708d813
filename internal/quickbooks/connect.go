package quickbooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// AuthorizeEndpoint is Intuit's OAuth 2.0 authorization (consent) page.
const AuthorizeEndpoint = "https://appcenter.intuit.com/connect/oauth2"

// Scope is the QuickBooks Online Accounting API's OAuth scope.
const Scope = "com.intuit.quickbooks.accounting"

// StateTTL is how long a consent started by quickbooksConnect may take
// before its state is refused.
const StateTTL = 10 * time.Minute

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

// Errors of State.Verify.
var (
	ErrStateInvalid = errors.New("quickbooks connect: the state is not one this service signed")
	ErrStateExpired = errors.New("quickbooks connect: the state has expired; start connecting again")
)

// States signs and checks the OAuth state parameter: "v1.<nonce>.<unix
// expiry>.<mac>", an HMAC-SHA256 under a key derived from the app's client
// secret, so that only this service can mint a state the callback accepts
// and an old one stops working. The nonce makes each state usable once
// (the callback records it).
type States struct{ key []byte }

// NewStates derives the signing key from the Intuit app's client secret.
func NewStates(clientSecret string) States {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte("readyplanner oms: quickbooks oauth state v1"))
	return States{key: mac.Sum(nil)}
}

var nonceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

func (s States) mac(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Sign returns the state for nonce, valid until expires.
func (s States) Sign(nonce string, expires time.Time) string {
	payload := "v1." + nonce + "." + strconv.FormatInt(expires.Unix(), 10)
	return payload + "." + s.mac(payload)
}

// Verify checks a state's signature and expiry and returns its nonce and
// expiry.
func (s States) Verify(state string, now time.Time) (nonce string, expires time.Time, err error) {
	parts := strings.Split(state, ".")
	if len(parts) != 4 || parts[0] != "v1" || !nonceRE.MatchString(parts[1]) {
		return "", time.Time{}, ErrStateInvalid
	}
	if !hmac.Equal([]byte(s.mac(strings.Join(parts[:3], "."))), []byte(parts[3])) {
		return "", time.Time{}, ErrStateInvalid
	}
	unix, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", time.Time{}, ErrStateInvalid
	}
	expires = time.Unix(unix, 0)
	if !now.Before(expires) {
		return "", time.Time{}, ErrStateExpired
	}
	return parts[1], expires, nil
}

var realmRE = regexp.MustCompile(`^[0-9]{1,32}$`)

// ValidRealm reports whether s looks like a QuickBooks company (realm) id.
func ValidRealm(s string) bool { return realmRE.MatchString(s) }
