// Package qbfake is a local QuickBooks Online for tests and make dev:
// Intuit's OAuth 2.0 token endpoint (authorization codes, refresh tokens
// that rotate with a grace period, invalid_grant for dead tokens, numbers
// sometimes sent as strings, a count of refreshes) and one company's API at
// /v3/company/{realm}/… (customers with unique DisplayName, items,
// invoices with requestid replay and computed TotalAmt/Balance, payments
// that set Balance and LinkedTxn, void, refund receipts, a query subset),
// each kind of sales-tax company (none, manual tax codes, Automated Sales
// Tax that computes its own tax unless told the amount: salestax.go), with
// the real Fault shapes and a throttling 429 in XML on demand.
package qbfake

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/readyplanner/oms/internal/fakefault"
	"github.com/readyplanner/oms/internal/fakehold"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/readyplanner/oms/internal/quickbooks"
)

// Server is a running local QuickBooks.
type Server struct {
	URL          string
	ClientID     string
	ClientSecret string
	// VerifierToken signs this company's webhooks (intuit-signature).
	VerifierToken string

	mu               sync.Mutex
	codes            map[string]bool      // issued authorization codes, unused
	refresh          map[string]time.Time // refresh token → valid until
	access           map[string]time.Time // access token → valid until
	refreshes        int
	tokenRequests    int
	numbersAsStrings bool
	grace            time.Duration
	now              func() time.Time
	srv              *http.Server
	co               *company
	notify           *notifier
	redirects        []string // allowed redirect URIs (any when empty)
	declineConsent   bool
	faultShape       atomic.Value       // SetFaultShape; FaultJSON when unset
	holds            fakehold.Set       // answers held back (HoldNext)
	faults           fakefault.Injector // faults.go
}

// Start serves a local QuickBooks on a free loopback port.
func Start() (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + l.Addr().String(), ClientID: "ABlocalclient", ClientSecret: "local-secret-" + token(8), VerifierToken: "verifier-" + token(8),
		codes: map[string]bool{}, refresh: map[string]time.Time{}, access: map[string]time.Time{}, grace: 24 * time.Hour, now: time.Now,
		notify: &notifier{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/v1/tokens/bearer", s.tokenEndpoint)
	mux.HandleFunc("GET /connect/oauth2", s.authorize)
	s.initCompany(mux)
	s.initPages(mux)
	s.srv = &http.Server{Handler: s.withFaults(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Close stops the server and its webhook deliverer.
func (s *Server) Close() error {
	err := s.srv.Close()
	s.notify.stop()
	return err
}

// AuthorizeURL is the consent page (Intuit's appcenter.intuit.com/connect/oauth2).
func (s *Server) AuthorizeURL() string { return s.URL + "/connect/oauth2" }

// AllowRedirect registers redirect URIs, as an Intuit app's settings do;
// with none registered any is accepted.
func (s *Server) AllowRedirect(uris ...string) {
	s.mu.Lock()
	s.redirects = append(s.redirects, uris...)
	s.mu.Unlock()
}

// DeclineConsent makes the consent page answer as if the owner clicked
// Cancel (error=access_denied).
func (s *Server) DeclineConsent(v bool) { s.mu.Lock(); s.declineConsent = v; s.mu.Unlock() }

// authorize is the consent page: it checks the request as Intuit does and,
// the owner consenting at once, redirects to the redirect URI with a code,
// the state and the company's realm id.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := func(msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintln(w, "local QuickBooks consent:", msg)
	}
	s.mu.Lock()
	allowed := len(s.redirects) == 0 || slices.Contains(s.redirects, q.Get("redirect_uri"))
	decline := s.declineConsent
	s.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != s.ClientID:
		page("invalid client_id")
		return
	case q.Get("response_type") != "code":
		page("response_type must be code")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), quickbooks.Scope):
		page("scope must include " + quickbooks.Scope)
		return
	case err != nil || redirect.Host == "" || !allowed:
		page("the redirect_uri is not one of the app's redirect URIs")
		return
	case q.Get("state") == "":
		page("state is required")
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	if decline {
		back.Set("error", "access_denied")
	} else {
		back.Set("code", s.Code())
		back.Set("realmId", Realm)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// Connector stores a QuickBooks connection (the token store).
type Connector interface {
	Connect(ctx context.Context, realm string, ts quickbooks.TokenSet) error
}

// ConnectTo connects c to this company as the owner's consent would: a
// code exchanged for tokens at the token endpoint, stored with the realm.
func (s *Server) ConnectTo(ctx context.Context, c Connector) error {
	oauth := quickbooks.OAuth{Endpoint: s.TokenURL(), ClientID: s.ClientID, ClientSecret: s.ClientSecret}
	ts, err := oauth.Exchange(ctx, s.Code(), "http://127.0.0.1/quickbooksCallback", time.Now())
	if err != nil {
		return fmt.Errorf("connect the local QuickBooks: %w", err)
	}
	return c.Connect(ctx, Realm, ts)
}

// TokenURL is the token endpoint.
func (s *Server) TokenURL() string { return s.URL + "/oauth2/v1/tokens/bearer" }

func token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Code issues an authorization code, as Intuit's consent page does.
func (s *Server) Code() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := "AB" + token(12)
	s.codes[c] = true
	return c
}

// TokenRequests counts every request to the token endpoint, refused ones
// included.
func (s *Server) TokenRequests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.tokenRequests }

// Refreshes counts successful refreshes.
func (s *Server) Refreshes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.refreshes }

// KillRefreshTokens makes every refresh token dead (invalid_grant), as a
// revoked connection.
func (s *Server) KillRefreshTokens() { s.mu.Lock(); clear(s.refresh); s.mu.Unlock() }

// SetNumbersAsStrings answers expires_in as strings, as some have seen.
func (s *Server) SetNumbersAsStrings(v bool) { s.mu.Lock(); s.numbersAsStrings = v; s.mu.Unlock() }

// ValidAccess reports whether an access token is current (the API side).
func (s *Server) ValidAccess(t string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.access[t]
	return ok && s.now().Before(until)
}

// ExpireAccess makes an access token stale now.
func (s *Server) ExpireAccess(t string) {
	s.mu.Lock()
	s.access[t] = s.now().Add(-time.Second)
	s.mu.Unlock()
}

func (s *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	fail := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	user, pass, ok := basic(r.Header.Get("Authorization"))
	if !ok || user != s.ClientID || pass != s.ClientSecret {
		fail(401, "invalid_client", "Client authentication failed")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(400, "invalid_request", "malformed form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		c := r.PostForm.Get("code")
		if !s.codes[c] || r.PostForm.Get("redirect_uri") == "" {
			fail(400, "invalid_grant", "Invalid authorization code")
			return
		}
		delete(s.codes, c)
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		until, ok := s.refresh[rt]
		if !ok || !now.Before(until) {
			fail(400, "invalid_grant", "Token invalid")
			return
		}
		// Rotation: the old token keeps working for the grace period.
		s.refresh[rt] = minTime(until, now.Add(s.grace))
		s.refreshes++
	default:
		fail(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
		return
	}
	at, rt := "at-"+token(16), "rt-"+token(16)
	s.access[at] = now.Add(time.Hour)
	s.refresh[rt] = now.Add(100 * 24 * time.Hour)
	ans := map[string]any{"token_type": "bearer", "access_token": at, "refresh_token": rt, "expires_in": 3600, "x_refresh_token_expires_in": 8726400}
	if s.numbersAsStrings {
		ans["expires_in"], ans["x_refresh_token_expires_in"] = "3600", "8726400"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func basic(h string) (string, string, bool) {
	raw, ok := strings.CutPrefix(h, "Basic ")
	if !ok {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return "", "", false
	}
	u, p, ok := strings.Cut(string(b), ":")
	return u, p, ok
}
