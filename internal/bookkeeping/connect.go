package bookkeeping

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
)

// StateTTL is how long a consent started by quickbooksConnect may take
// before its state is refused.
const StateTTL = 10 * time.Minute

// ErrCodeRefused is the Connector's answer when Intuit refuses the
// authorization code (expired, used, or another redirect URI).
var ErrCodeRefused = errors.New("quickbooks connect: Intuit refused the authorization code")

// Connection is the stored connection's status (never its tokens).
type Connection struct {
	RealmID   string
	Connected bool
}

// Connector is QuickBooks' side of the connect flow: Intuit's consent page
// and token endpoint, and the stored connection with its one-time records.
type Connector interface {
	// AuthorizeURL is Intuit's consent page for state.
	AuthorizeURL(state string) string
	// UseConnectKey spends a one-time connect key, live deciding from its
	// expiry whether it could be used (PERMISSION_DENIED if it is
	// unknown, used or expired).
	UseConnectKey(ctx context.Context, key string, live func(expiresAt time.Time) bool) error
	// UseState records a consent's nonce; FAILED_PRECONDITION the second
	// time.
	UseState(ctx context.Context, nonce string, expires time.Time) error
	Status(ctx context.Context) (Connection, error)
	// Connect trades the code for tokens and stores them with the realm,
	// replacing any earlier connection. ErrCodeRefused when Intuit
	// refuses the code; UNAVAILABLE when its token endpoint fails.
	Connect(ctx context.Context, code, realm string, now time.Time) error
}

// Connect is the owner's connect flow (quickbooksConnect, then Intuit's
// consent page, then quickbooksCallback).
type Connect struct {
	Connector  Connector         // nil: QuickBooks is not configured
	Owners     identity.Verifier // checks the owner's Firebase ID token
	AdminClaim string            // the owner's custom claim (OMS_ADMIN_CLAIM)
	States     States
}

// errNoApp is the connect flow's answer without the Intuit app's
// credentials.
var errNoApp = apperr.New(apperr.FailedPrecondition, "QuickBooks is not configured: set QUICKBOOKS_CLIENT_ID and QUICKBOOKS_CLIENT_SECRET")

// ConnectKeyLive decides whether a one-time connect key that expires at
// expiresAt may still be used at now (it is spent either way).
func ConnectKeyLive(expiresAt, now time.Time) bool { return now.Before(expiresAt) }

// OwnerProof is how a request to connect QuickBooks proves it is the
// owner's: a Firebase ID token carrying the admin claim, or a one-time
// connect key.
type OwnerProof struct {
	IDToken    string // from "Authorization: Bearer …"
	ConnectKey string // from ?key=…
}

// StartConnect checks that the request is the owner's and returns the URL
// of Intuit's consent page with a fresh signed state (valid StateTTL,
// usable once). A one-time key is spent here.
func (s *Service) StartConnect(ctx context.Context, p OwnerProof) (authorizeURL string, expires time.Time, err error) {
	c := s.Connect
	if c == nil || c.Connector == nil {
		return "", time.Time{}, errNoApp
	}
	log := logging.FromContext(ctx)
	switch {
	case p.IDToken != "":
		id, err := c.Owners.VerifyIDTokenAndCheckRevoked(ctx, p.IDToken) // a disabled owner loses access at once
		if err != nil {
			log.Info().Err(err).Msg("ID token refused")
			return "", time.Time{}, apperr.Wrap(err, apperr.Unauthenticated, "the Firebase ID token is not valid; sign in again")
		}
		if !id.IsOwner(c.AdminClaim) {
			log.Warn().Str("uid", id.UID).Msg("quickbooksConnect refused: no admin claim")
			return "", time.Time{}, apperr.New(apperr.PermissionDenied, "only the owner may connect QuickBooks: this account has no %q claim", c.AdminClaim)
		}
		log.Info().Str("uid", id.UID).Msg("quickbooksConnect by the owner's account")
	case p.ConnectKey != "":
		if err := c.Connector.UseConnectKey(ctx, p.ConnectKey, func(exp time.Time) bool { return ConnectKeyLive(exp, s.Now()) }); err != nil {
			return "", time.Time{}, err
		}
		log.Info().Msg("quickbooksConnect by a one-time key")
	default:
		return "", time.Time{}, apperr.New(apperr.Unauthenticated,
			"only the owner may connect QuickBooks: send the owner's Firebase ID token (Authorization: Bearer) or open a one-time link from `go run ./cmd/quickbooks-link`")
	}
	expires = s.Now().Add(StateTTL)
	return c.Connector.AuthorizeURL(c.States.Sign(Nonce(), expires)), expires, nil
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

var realmRE = regexp.MustCompile(`^[0-9]{1,32}$`)

// CompleteConnect finishes the consent: it checks the state (signed by us,
// unexpired, used once), exchanges the code for tokens, stores them with
// the realm id (replacing any earlier connection), resolves the
// disconnection alert, and sends on the orders that waited for QuickBooks.
func (s *Service) CompleteConnect(ctx context.Context, ans ConsentAnswer) (Connected, error) {
	c := s.Connect
	if c == nil || c.Connector == nil {
		return Connected{}, errNoApp
	}
	if ans.Error != "" {
		return Connected{}, apperr.New(apperr.FailedPrecondition, "QuickBooks was not connected: Intuit answered %q %s", ans.Error, ans.ErrorDescription)
	}
	nonce, expires, err := c.States.Verify(ans.State, s.Now())
	switch {
	case errors.Is(err, ErrStateExpired):
		return Connected{}, apperr.New(apperr.FailedPrecondition, "this consent took longer than %s: start connecting again", StateTTL)
	case err != nil:
		return Connected{}, apperr.New(apperr.Invalid, "the state is missing or was not issued by this service: start connecting from quickbooksConnect")
	case ans.Code == "" || len(ans.Code) > 512:
		return Connected{}, apperr.New(apperr.Invalid, "the authorization code is missing")
	case !realmRE.MatchString(ans.RealmID):
		return Connected{}, apperr.New(apperr.Invalid, "the realmId (QuickBooks company id) is missing or malformed")
	}
	if err := c.Connector.UseState(ctx, nonce, expires); err != nil {
		return Connected{}, err
	}
	prev, err := c.Connector.Status(ctx)
	if err != nil {
		return Connected{}, err
	}
	switch err := c.Connector.Connect(ctx, ans.Code, ans.RealmID, s.Now()); {
	case errors.Is(err, ErrCodeRefused):
		return Connected{}, apperr.Wrap(err, apperr.FailedPrecondition, "Intuit refused the authorization code (expired, used, or the redirect URI differs): start connecting again")
	case apperr.As(err) != nil:
		return Connected{}, err
	case err != nil:
		return Connected{}, apperr.Wrap(err, apperr.Unavailable, "Intuit's token endpoint failed: start connecting again in a minute")
	}
	out := Connected{RealmID: ans.RealmID}
	if prev.RealmID != "" && prev.RealmID != ans.RealmID {
		out.PreviousRealmID = prev.RealmID
	}
	log := logging.FromContext(ctx)
	log.Info().Str("realmId", ans.RealmID).Str("previousRealmId", out.PreviousRealmID).Msg("QuickBooks connected")
	if _, err := s.Alerts.Resolve(ctx, "quickbooks_disconnected"); err != nil {
		log.Warn().Err(err).Msg("the disconnection alert was not resolved")
	}
	// Orders that waited while QuickBooks was disconnected go on now rather
	// than at the next sweep. A failure here is the sweeper's to retry.
	waiting, err := s.Orders.Stale(ctx, []order.State{order.Authorized}, s.Now().Add(time.Second), resumeBatch)
	if err != nil {
		log.Warn().Err(err).Msg("waiting orders not listed; the sweeper will send them on")
		return out, nil
	}
	var failed []string
	for _, o := range waiting {
		if err := s.Flow.Redrive(ctx, o); err != nil {
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

// Nonce returns a random URL-safe token (192 bits).
func Nonce() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Errors of States.Verify.
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
	if len(parts) != 4 || parts[0] != "v1" || !nonceRE.MatchString(parts[1]) || len(s.key) == 0 {
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
