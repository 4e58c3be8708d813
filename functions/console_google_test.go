package functions

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/console"
	"github.com/readyplanner/oms/internal/firebaseauth"
	"github.com/readyplanner/oms/internal/firebaseauth/googlefake"
	"github.com/readyplanner/oms/internal/testenv"
)

// Sign-in with Google, on the server: the console's button sends the
// browser to Google's consent page with a state and a PKCE challenge kept
// in a SameSite=Lax cookie; Google's answer becomes a Firebase ID token
// (accounts:signInWithIdp, the Auth emulator here) and, for the owner, a
// SameSite=Strict session, on a page that moves on by itself. Refused: a
// canceled consent, a state that is not the cookie's, no cookie, a Google
// account without the owner's claim, the button posted from another
// origin; and none of those ends a session the browser holds.
func TestConsoleGoogleSignIn(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	g, err := googlefake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	srv := consoleAt(t, a, func(c *console.Console) {
		c.Google = &firebaseauth.GoogleSignIn{ClientID: g.ClientID, ClientSecret: g.ClientSecret, AuthURL: g.AuthorizeURL(), TokenURL: g.TokenURL(),
			IdentityBase: c.AuthBase, APIKey: c.APIKey}
	})
	callback := srv.URL + "/owner/signin/google/callback"
	g.AllowRedirect(callback)

	// consent follows the button to Google's page and answers as the
	// person would (allow as email, or deny); it returns the callback URL
	// Google sends the browser back to.
	consent := func(b *http.Client, email string, allow bool) string {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/owner/signin/google", nil)
		req.Header.Set("Origin", srv.URL)
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		to, _ := url.Parse(resp.Header.Get("Location"))
		q := to.Query()
		var pending *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == console.CookieName {
				pending = c
			}
		}
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to.String(), g.AuthorizeURL()) || q.Get("redirect_uri") != callback ||
			q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "" || pending == nil || pending.SameSite != http.SameSiteLaxMode || !pending.HttpOnly {
			t.Fatalf("the Google button: %d to %s, cookie %+v", resp.StatusCode, to, pending)
		}
		if code, page := got(t)(b.Get(to.String())); code != 200 || !strings.Contains(page, "Sign in with Google") {
			t.Fatalf("Google's consent page: %d %.300s", code, page)
		}
		choice := "deny"
		if allow {
			choice = "allow"
		}
		form := url.Values{"login_email": {email}, "choice": {choice}}
		for k, v := range q {
			form[k] = v
		}
		resp, err = b.PostForm(g.AuthorizeURL(), form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), callback+"?") {
			t.Fatalf("Google's answer: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		return resp.Header.Get("Location")
	}

	owners := ownersOf(t, a)
	email := strings.ToLower(testenv.ID("gboss")) + "@example.com"

	// A Google account that is not the owner's: refused, no session.
	b := browser(t)
	if code, page := got(t)(b.Get(consent(b, email, true))); code != http.StatusForbidden || !strings.Contains(page, "not the store") {
		t.Errorf("a Google account without the claim: %d %.200s", code, page)
	}
	if _, _, err := owners.Grant(ctx, email); err != nil {
		t.Fatal(err)
	}

	// Canceled at Google; a state that is not the cookie's; no cookie at all.
	if code, page := got(t)(b.Get(consent(b, email, false))); code != http.StatusUnauthorized || !strings.Contains(page, "canceled") {
		t.Errorf("canceled at Google: %d %.200s", code, page)
	}
	back := consent(b, email, true)
	forged := strings.Replace(back, "state=", "state=x", 1)
	if code, _ := got(t)(b.Get(forged)); code != http.StatusBadRequest {
		t.Errorf("a state that is not the cookie's: %d", code)
	}
	stranger := browser(t)
	if code, _ := got(t)(stranger.Get(consent(b, email, true))); code != http.StatusBadRequest {
		t.Errorf("Google's answer in another browser: %d", code)
	}

	// The owner: signed in, on a page that moves on to the start page.
	back = consent(b, email, true)
	resp, err := b.Get(back)
	if err != nil {
		t.Fatal(err)
	}
	code, page := got(t)(resp, nil)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == console.CookieName && c.MaxAge > 0 {
			session = c
		}
	}
	if code != 200 || !strings.Contains(page, `http-equiv="refresh" content="0; url=/owner/"`) || session == nil || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("the owner's Google sign-in: %d %.300s cookie %+v", code, page, session)
	}
	if code, page := got(t)(b.Get(srv.URL + "/owner/")); code != 200 || !strings.Contains(page, "What needs you now") {
		t.Errorf("the start page after a Google sign-in: %d", code)
	}
	// The same answer again, in a browser without that sign-in's cookie,
	// signs no one in (the local Google's own test proves a code is
	// spent once). Google's answer, or another site's link to the
	// callback, in the owner's browser leaves the session alone; so does
	// another site's post to the Google button.
	fresh := browser(t)
	if code, _ := got(t)(fresh.Get(back)); code != http.StatusBadRequest {
		t.Errorf("Google's answer replayed elsewhere: %d", code)
	}
	for _, link := range []string{back, callback + "?error=access_denied&state=x", callback} {
		resp, err := b.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || len(resp.Cookies()) != 0 {
			t.Errorf("%s in the owner's browser: %d, cookies %v", link, resp.StatusCode, resp.Cookies())
		}
	}
	for _, origin := range []string{"https://evil.example", ""} {
		req, _ := http.NewRequest("POST", srv.URL+"/owner/signin/google", nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("the Google button posted from %q: %d, cookies %v", origin, resp.StatusCode, resp.Cookies())
		}
	}
	if code, _ := got(t)(b.Get(srv.URL + "/owner/")); code != 200 {
		t.Errorf("the owner's session after those: %d", code)
	}

	// The sign-in page offers Google only where it is configured.
	if code, page := got(t)(browser(t).Get(srv.URL + "/owner/signin")); code != 200 || !strings.Contains(page, `id="google"`) {
		t.Errorf("the sign-in page with Google: %d", code)
	}
	plain := consoleAt(t, a, nil)
	if code, page := got(t)(browser(t).Get(plain.URL + "/owner/signin")); code != 200 || strings.Contains(page, `id="google"`) {
		t.Errorf("the sign-in page without Google: %d", code)
	}
	req, _ := http.NewRequest("POST", plain.URL+"/owner/signin/google", nil)
	req.Header.Set("Origin", plain.URL)
	if code, _ := got(t)(browser(t).Do(req)); code != http.StatusNotFound {
		t.Errorf("the Google button where Google is not configured: %d", code)
	}
}
