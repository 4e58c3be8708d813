// Package googlefake is a local Google sign-in for the owner's console:
// Google's OAuth 2.0 authorization-code flow for web servers with PKCE
// (https://accounts.google.com/o/oauth2/v2/auth, then
// https://oauth2.googleapis.com/token) answering an OpenID Connect
// id_token, so that "Sign in with Google" runs on one machine with no
// account. Its consent page lets a person type the Google account to be;
// the Auth emulator takes its id_token as Firebase Auth takes Google's.
//
// It checks what Google checks: the client id and secret, the redirect URI
// (registered exactly, AllowRedirect), response_type=code, an openid scope,
// the S256 code challenge against the verifier, a code used once within 10
// minutes, and the same redirect URI at the exchange; and it answers
// Google's errors (a 400 error page at the consent URL; invalid_client 401,
// invalid_grant and invalid_request 400 as JSON at the token endpoint).
package googlefake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Server is the local Google sign-in.
type Server struct {
	URL                    string
	ClientID, ClientSecret string
	key                    *rsa.PrivateKey
	srv                    *http.Server
	mu                     sync.Mutex
	redirects              map[string]bool
	codes                  map[string]grant
	now                    func() time.Time
}

type grant struct {
	email, name, redirect, challenge string
	issued                           time.Time
}

// CodeTTL is how long an authorization code may be exchanged.
const CodeTTL = 10 * time.Minute

// Start serves a local Google sign-in on a free port of 127.0.0.1.
func Start() (*Server, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + l.Addr().String(), ClientID: "local-client.apps.googleusercontent.com", ClientSecret: "GOCSPX-local-" + token(12),
		key: key, redirects: map[string]bool{}, codes: map[string]grant{}, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /o/oauth2/v2/auth", s.consent)
	mux.HandleFunc("POST /o/oauth2/v2/auth", s.approve)
	mux.HandleFunc("POST /token", s.exchange)
	mux.HandleFunc("GET /oauth2/v3/certs", s.certs)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// AuthorizeURL is the consent page (Google's https://accounts.google.com/o/oauth2/v2/auth).
func (s *Server) AuthorizeURL() string { return s.URL + "/o/oauth2/v2/auth" }

// TokenURL is the token endpoint (Google's https://oauth2.googleapis.com/token).
func (s *Server) TokenURL() string { return s.URL + "/token" }

// AllowRedirect registers an authorized redirect URI of the client, as the
// owner does in the Google Cloud console.
func (s *Server) AllowRedirect(uri string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirects[uri] = true
}

// SetClock replaces the clock (tests of expiry).
func (s *Server) SetClock(now func() time.Time) { s.mu.Lock(); s.now = now; s.mu.Unlock() }

func token(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// request is the consent URL's query, checked.
type request struct {
	clientID, redirect, state, challenge, scope string
}

func (s *Server) check(q url.Values) (request, string) {
	r := request{clientID: q.Get("client_id"), redirect: q.Get("redirect_uri"), state: q.Get("state"), challenge: q.Get("code_challenge"), scope: q.Get("scope")}
	s.mu.Lock()
	allowed := s.redirects[r.redirect]
	s.mu.Unlock()
	switch {
	case r.clientID != s.ClientID:
		return r, "invalid_client: The OAuth client was not found."
	case !allowed:
		return r, "redirect_uri_mismatch: You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. Register the redirect URI " + r.redirect
	case q.Get("response_type") != "code":
		return r, "unsupported_response_type: response_type must be code"
	case !strings.Contains(" "+r.scope+" ", " openid "):
		return r, "invalid_scope: the scope must include openid"
	case r.challenge != "" && q.Get("code_challenge_method") != "S256":
		return r, "invalid_request: code_challenge_method must be S256"
	}
	return r, ""
}

var page = template.Must(template.New("").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in – Google Accounts (local)</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}input{font:inherit;width:100%;padding:.4rem}button{font:inherit;padding:.4rem 1rem;margin:.6rem .4rem 0 0}.error{color:#b3261e}</style></head><body>
{{if .Error}}<h1>Error 400: {{.Error}}</h1><p class="error">Access blocked: this request is invalid.</p>{{else}}
<h1>Sign in with Google</h1><p>The local Google (make dev): choose the account to sign in as.</p>
<form method="post">{{range $k, $v := .Query}}{{range $v}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<p><label>Email<br><input name="login_email" type="email" required autofocus></label></p>
<p><label>Name<br><input name="login_name"></label></p>
<button name="choice" value="allow">Continue</button><button name="choice" value="deny" formnovalidate>Cancel</button></form>{{end}}
</body></html>`))

func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, problem := s.check(q)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if problem != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	_ = page.Execute(w, map[string]any{"Error": problem, "Query": q})
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, problem := s.check(r.PostForm)
	if problem != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_ = page.Execute(w, map[string]any{"Error": problem})
		return
	}
	back, _ := url.Parse(req.redirect)
	v := back.Query()
	if req.state != "" {
		v.Set("state", req.state)
	}
	email := strings.TrimSpace(r.PostForm.Get("login_email"))
	if r.PostForm.Get("choice") != "allow" || email == "" {
		v.Set("error", "access_denied")
	} else {
		code := "4/0A" + token(24)
		s.mu.Lock()
		s.codes[code] = grant{email: strings.ToLower(email), name: r.PostForm.Get("login_name"), redirect: req.redirect, challenge: req.challenge, issued: s.now()}
		s.mu.Unlock()
		v.Set("code", code)
		v.Set("scope", req.scope)
		v.Set("authuser", "0")
		v.Set("prompt", "consent")
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Could not determine client ID from request.")
		return
	}
	f := r.PostForm
	id, secret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id != s.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.ClientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	}
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+f.Get("grant_type"))
		return
	}
	code := f.Get("code")
	s.mu.Lock()
	g, ok := s.codes[code]
	delete(s.codes, code) // a code is used once, even when the exchange fails
	now := s.now()
	s.mu.Unlock()
	switch {
	case code == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: code")
		return
	case !ok || now.Sub(g.issued) > CodeTTL:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Bad Request")
		return
	case f.Get("redirect_uri") != g.redirect:
		oauthError(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
		return
	case g.challenge != "" && s256(f.Get("code_verifier")) != g.challenge:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Bad Request")
		return
	}
	idToken, err := s.idToken(g, now)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "internal_failure", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "ya29.local-" + token(24), "expires_in": 3599, "token_type": "Bearer",
		"scope": "openid https://www.googleapis.com/auth/userinfo.email", "id_token": idToken})
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Subject is the stable Google account id the local Google gives email.
func Subject(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	n := new(big.Int).SetBytes(sum[:9])
	return fmt.Sprintf("1%020s", n.String())
}

const kid = "local-google-1"

// idToken signs the OpenID Connect id_token (RS256) as Google does.
func (s *Server) idToken(g grant, now time.Time) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	claims := map[string]any{"iss": "https://accounts.google.com", "azp": s.ClientID, "aud": s.ClientID, "sub": Subject(g.email),
		"email": g.email, "email_verified": true, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "at_hash": token(16)}
	if g.name != "" {
		claims["name"] = g.name
	}
	payload, _ := json.Marshal(claims)
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// certs publishes the signing key as Google does at /oauth2/v3/certs.
func (s *Server) certs(w http.ResponseWriter, _ *http.Request) {
	pub := s.key.PublicKey
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}}})
}
