// Package console is the owner's console: server-rendered pages
// (html/template, no framework) over the owner's side of the application
// (owner.Application), behind a Firebase Auth session cookie.
//
// Sign-in: the sign-in page gets an ID token (a little JavaScript: email
// and password through Firebase Auth's REST API) and posts it to
// session; the console checks it (revocation included), requires the
// owner's claim and a sign-in within the last 5 minutes, and sets a
// Firebase session cookie (Admin SDK) as __session: HttpOnly,
// SameSite=Strict, Secure except on localhost, scoped to the console's
// path. Every request checks the cookie and its revocation. Every
// state-changing form carries a token derived from the session cookie
// (which a cross-site page cannot read) and a request id made when the
// form was rendered, so that a double submit is the same act.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/owner"
)

// Sessions is what the console needs of Firebase Auth
// (firebaseauth.Verifier).
type Sessions interface {
	VerifyIDTokenAndCheckRevoked(ctx context.Context, token string) (*identity.Identity, error)
	SessionCookie(ctx context.Context, idToken string, expiresIn time.Duration) (string, error)
	VerifySessionCookieAndCheckRevoked(ctx context.Context, cookie string) (*identity.Identity, error)
}

// CookieName is the session cookie's name: the one cookie Firebase
// Hosting passes on to functions.
const CookieName = "__session"

// SessionFor is how long a console session lasts.
const SessionFor = 8 * time.Hour

// RecentSignIn is how recent the sign-in behind a new session must be.
const RecentSignIn = 5 * time.Minute

// Console serves the owner's pages.
type Console struct {
	App        owner.Application
	Sessions   Sessions
	AdminClaim string
	// URL is the console's public URL, ending in "/" (OMS_CONSOLE_URL): its
	// path scopes the cookie, its origin is the only one a form may come
	// from, and pages link from it.
	URL *url.URL
	// SignIn is how the sign-in page reaches Firebase Auth: its REST base
	// (https://identitytoolkit.googleapis.com, or the Auth emulator's) and
	// the project's web API key.
	AuthBase, APIKey string
	// QuickBooks is the connection's page (nil: not configured);
	// InvoiceURL where an invoice opens in QuickBooks (nil: no link).
	QuickBooks *QuickBooks
	InvoiceURL func(id string) string
	// Google signs the owner in with their Google account (nil: the
	// sign-in page offers email and password only).
	Google Google
	Now    func() time.Time
}

// Google is a sign-in with Google's OAuth 2.0 authorization-code flow on
// the server (firebaseauth.GoogleSignIn): AuthCodeURL is Google's consent
// page for a state and a PKCE challenge; SignIn exchanges the code that
// comes back for a Firebase ID token of the same account.
type Google interface {
	AuthCodeURL(state, challenge, redirectURI string) string
	SignIn(ctx context.Context, code, verifier, redirectURI string) (idToken string, err error)
}

// GoogleTTL is how long a Google sign-in may take from the console's
// button to Google's answer.
const GoogleTTL = 10 * time.Minute

//go:embed templates/*.html
var files embed.FS

// pages are parsed on the console's first page, not at start: every
// function's instance links the console in, and only the owner function
// shows a page.
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html"))
})

// Handler serves the console at the root of its function: the platform
// (or make dev) strips the function's own path.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /signin", c.signInPage)
	mux.HandleFunc("POST /session", c.startSession)
	mux.HandleFunc("POST /signin/google", c.startGoogle)
	mux.HandleFunc("GET /signin/google/callback", c.googleCallback)
	mux.HandleFunc("POST /signout", c.owner(c.signOut))
	mux.HandleFunc("GET /{$}", c.owner(c.start))
	mux.HandleFunc("GET /orders", c.owner(c.orders))
	mux.HandleFunc("GET /orders/{id}", c.owner(c.order))
	mux.HandleFunc("POST /orders/{id}/{action}", c.owner(c.act))
	mux.HandleFunc("GET /alerts", c.owner(c.alerts))
	mux.HandleFunc("POST /alerts/resolve", c.owner(c.resolveAlert))
	mux.HandleFunc("GET /promotions", c.owner(c.promotions))
	mux.HandleFunc("POST /promotions/save", c.owner(c.savePromotion))
	mux.HandleFunc("POST /promotions/end", c.owner(c.endPromotion))
	mux.HandleFunc("GET /prices", c.owner(c.prices))
	mux.HandleFunc("POST /prices/save", c.owner(c.savePrices))
	mux.HandleFunc("GET /quickbooks", c.owner(c.quickbooks))
	mux.HandleFunc("POST /quickbooks/connect", c.owner(c.connectQuickBooks))
	mux.HandleFunc("GET /stock", c.owner(c.stock))
	mux.HandleFunc("POST /stock/adjust", c.owner(c.adjustStock))
	// The sign-in page's script talks to Firebase Auth: its origin (a CSP
	// source with a path would match that path only).
	auth := "https://identitytoolkit.googleapis.com"
	if u, err := url.Parse(c.AuthBase); err == nil && u.Host != "" {
		auth = u.Scheme + "://" + u.Host
	}
	// The Google button is a form whose answer redirects to Google's
	// consent page: form-action covers that redirect.
	formAction := "'self'"
	if c.Google != nil {
		if u, err := url.Parse(c.Google.AuthCodeURL("", "", "")); err == nil && u.Host != "" {
			formAction += " " + u.Scheme + "://" + u.Host
		}
	}
	csp := "default-src 'self'; script-src 'self' 'unsafe-inline'; connect-src 'self' " + auth +
		"; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action " + formAction
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.URL.Path == "" {
			r.URL.Path = "/"
		}
		mux.ServeHTTP(w, r)
	})
}

// request is one request of a signed-in owner.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	who     *identity.Identity
	session string
}

// owner lets only a signed-in owner through: no session (or an expired,
// revoked one) goes to the sign-in page; a user without the owner's claim
// is refused; a POST must carry the session's form token and come from
// the console's own origin.
func (c *Console) owner(fn func(request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(CookieName)
		if err != nil || ck.Value == "" {
			c.toSignIn(w, r)
			return
		}
		who, err := c.Sessions.VerifySessionCookieAndCheckRevoked(r.Context(), ck.Value)
		if err != nil {
			logging.FromContext(r.Context()).Info().Err(err).Msg("console: session refused")
			c.clearCookie(w)
			c.toSignIn(w, r)
			return
		}
		if err := identity.RequireOwner(who, c.AdminClaim); err != nil {
			c.fail(w, r, http.StatusForbidden, "This account is not the store's owner.")
			return
		}
		if r.Method == http.MethodPost && !c.sameSite(r, ck.Value) {
			c.fail(w, r, http.StatusForbidden, "This form did not come from the console: nothing was done. Reload the page and try again.")
			return
		}
		fn(request{w: w, r: r, who: who, session: ck.Value})
	}
}

// formToken is the token every form of a session carries: derived from
// the session cookie, which only the console's own pages can see.
func formToken(session string) string {
	sum := sha256.Sum256([]byte("oms-console-form\x00" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sameSite reports whether a POST comes from the console's own page: its
// form token matches the session, and its Origin (when sent) is the
// console's.
func (c *Console) sameSite(r *http.Request, session string) bool {
	if o := r.Header.Get("Origin"); o != "" && o != c.origin() {
		return false
	}
	got := r.PostFormValue("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(formToken(session))) == 1
}

func (c *Console) origin() string { return c.URL.Scheme + "://" + c.URL.Host }

// secure reports whether the cookie is marked Secure: always but on
// localhost (browsers keep Secure cookies only over https).
func (c *Console) secure() bool {
	h := c.URL.Hostname()
	return !(h == "localhost" || h == "127.0.0.1" || h == "::1")
}

func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		c.fail(w, r, http.StatusUnauthorized, "Your session has ended: sign in again.")
		return
	}
	http.Redirect(w, r, c.link("signin"), http.StatusSeeOther)
}

// link is an absolute path within the console.
func (c *Console) link(rel string) string {
	return strings.TrimSuffix(c.URL.Path, "/") + "/" + strings.TrimPrefix(rel, "/")
}

func (c *Console) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: c.URL.Path, MaxAge: -1, HttpOnly: true, Secure: c.secure(), SameSite: http.SameSiteStrictMode})
}

// signInPage is the sign-in form.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	google := ""
	if c.Google != nil {
		google = c.link("signin/google")
	}
	c.render(w, r, http.StatusOK, "signin", map[string]any{"AuthBase": c.AuthBase, "APIKey": c.APIKey, "Session": c.link("session"), "Home": c.link(""), "Google": google})
}

// startSession makes a session from a fresh owner's ID token (form field
// idToken): 303 to the start page with the cookie set; 401 for a token
// that does not verify or a sign-in older than RecentSignIn, 403 for an
// account without the owner's claim.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && o != c.origin() {
		c.fail(w, r, http.StatusForbidden, "Sign in on the console's own page.")
		return
	}
	if c.begin(w, r, r.PostFormValue("idToken")) {
		http.Redirect(w, r, c.link(""), http.StatusSeeOther)
	}
}

// begin sets the session cookie made from a fresh owner's ID token and
// answers true; otherwise it answers the refusal page and false.
func (c *Console) begin(w http.ResponseWriter, r *http.Request, token string) bool {
	who, err := c.Sessions.VerifyIDTokenAndCheckRevoked(r.Context(), token)
	if err != nil || token == "" {
		c.fail(w, r, http.StatusUnauthorized, "That sign-in could not be verified: sign in again.")
		return false
	}
	if err := identity.RequireOwner(who, c.AdminClaim); err != nil {
		c.fail(w, r, http.StatusForbidden, "This account is not the store's owner.")
		return false
	}
	if at := signedInAt(who); at.IsZero() || c.Now().Sub(at) > RecentSignIn {
		c.fail(w, r, http.StatusUnauthorized, "Sign in again: a session starts only from a fresh sign-in.")
		return false
	}
	cookie, err := c.Sessions.SessionCookie(r.Context(), token, SessionFor)
	if err != nil {
		logging.FromContext(r.Context()).Error().Err(err).Msg("console: session cookie")
		c.fail(w, r, http.StatusServiceUnavailable, "The session could not be made: try again in a moment.")
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: cookie, Path: c.URL.Path, MaxAge: int(SessionFor / time.Second), HttpOnly: true,
		Secure: c.secure(), SameSite: http.SameSiteStrictMode})
	return true
}

// googleRedirect is the console's redirect URI registered with the
// Google OAuth client.
func (c *Console) googleRedirect() string { return c.origin() + c.link("signin/google/callback") }

// googlePending marks a Google sign-in in flight in the session cookie
// (there is no session yet): "google.<state>.<PKCE verifier>", SameSite
// Lax so that it comes back with Google's redirect, for GoogleTTL.
const googlePending = "google."

// startGoogle (POST, from the sign-in page's Google button) sends the
// browser to Google's consent page with a fresh state and PKCE challenge,
// kept in the cookie until Google answers. A post from another origin is
// refused before any cookie is touched: another site cannot end a
// session by starting a sign-in.
func (c *Console) startGoogle(w http.ResponseWriter, r *http.Request) {
	if c.Google == nil {
		http.NotFound(w, r)
		return
	}
	if o := r.Header.Get("Origin"); o != c.origin() {
		c.fail(w, r, http.StatusForbidden, "Sign in on the console's own page.")
		return
	}
	state, verifier := randomToken(), randomToken()
	sum := sha256.Sum256([]byte(verifier))
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: googlePending + state + "." + verifier, Path: c.URL.Path, MaxAge: int(GoogleTTL / time.Second),
		HttpOnly: true, Secure: c.secure(), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, c.Google.AuthCodeURL(state, base64.RawURLEncoding.EncodeToString(sum[:]), c.googleRedirect()), http.StatusSeeOther)
}

// googleErrors are the words for Google's errors a person causes; any
// other is not shown as Google sent it.
var googleErrors = map[string]string{
	"access_denied":        "The Google sign-in was canceled: sign in again.",
	"interaction_required": "Google needs you to choose an account: sign in again.",
	"login_required":       "Google needs you to sign in: sign in again.",
}

// googleCallback is where Google sends the browser back: the state must
// be the cookie's (checked first: an answer that did not start here
// changes nothing, and its cookie — a session, maybe — is left alone);
// the code becomes a Firebase ID token and, for the owner, a session.
// The page that answers moves on to the start page by itself: the
// session cookie is SameSite=Strict, and a browser does not send it on
// the redirect chain that began at Google.
func (c *Console) googleCallback(w http.ResponseWriter, r *http.Request) {
	if c.Google == nil {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	var state, verifier string
	if ck, err := r.Cookie(CookieName); err == nil && strings.HasPrefix(ck.Value, googlePending) {
		state, verifier, _ = strings.Cut(strings.TrimPrefix(ck.Value, googlePending), ".")
	}
	if state == "" || verifier == "" || subtle.ConstantTimeCompare([]byte(state), []byte(q.Get("state"))) != 1 {
		c.fail(w, r, http.StatusBadRequest, "That Google sign-in expired or did not start on this console: sign in again.")
		return
	}
	c.clearCookie(w) // the sign-in in flight is over, whatever Google said
	if e := q.Get("error"); e != "" {
		words, ok := googleErrors[e]
		if !ok {
			words = "Google did not sign you in: sign in again."
		}
		c.fail(w, r, http.StatusUnauthorized, words)
		return
	}
	if q.Get("code") == "" {
		c.fail(w, r, http.StatusBadRequest, "Google's answer had no code: sign in again.")
		return
	}
	token, err := c.Google.SignIn(r.Context(), q.Get("code"), verifier, c.googleRedirect())
	if err != nil {
		logging.FromContext(r.Context()).Error().Err(err).Msg("console: Google sign-in")
		c.fail(w, r, http.StatusBadGateway, "Google's sign-in could not be completed (if this email already signs in with a password, use that, or link Google to it in Firebase Auth): sign in again.")
		return
	}
	if c.begin(w, r, token) {
		c.render(w, r, http.StatusOK, "signedin", map[string]any{"Home": c.link("")})
	}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func signedInAt(id *identity.Identity) time.Time {
	switch v := id.Claims["auth_time"].(type) {
	case float64:
		return time.Unix(int64(v), 0)
	case int64:
		return time.Unix(v, 0)
	}
	return time.Time{}
}

func (c *Console) signOut(q request) {
	c.clearCookie(q.w)
	http.Redirect(q.w, q.r, c.link("signin"), http.StatusSeeOther)
}

// fail answers an error page with a message for the owner.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", map[string]any{"Message": msg, "Home": c.link("")})
}

// failErr answers an application error as the owner should read it (an
// unexpected one is logged, never shown).
func (c *Console) failErr(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, ok := refusal(err)
	if !ok {
		logging.FromContext(r.Context()).Error().Err(err).Msg("console")
		c.fail(w, r, http.StatusInternalServerError, "Something went wrong; it was logged. Try again in a moment.")
		return
	}
	c.fail(w, r, status, msg)
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages().ExecuteTemplate(w, name, data); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		logging.FromContext(r.Context()).Error().Err(err).Str("page", name).Msg("console: render")
	}
}
