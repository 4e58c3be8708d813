package googlefake

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The local Google refuses what Google refuses: an unknown client or an
// unregistered redirect URI at the consent page (400); at the token
// endpoint a wrong secret (401 invalid_client), a wrong PKCE verifier, a
// code used twice or after ten minutes (400 invalid_grant), another
// redirect URI (400 redirect_uri_mismatch). A good exchange answers an
// RS256 id_token for the client with the chosen email.
func TestGoogleChecksWhatGoogleChecks(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	redirect := "http://localhost:1/owner/signin/google/callback"
	s.AllowRedirect(redirect)
	verifier := "a-verifier-of-enough-length-0123456789abcdef"
	query := url.Values{"client_id": {s.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid email"},
		"state": {"st"}, "code_challenge": {s256(verifier)}, "code_challenge_method": {"S256"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for name, change := range map[string]func(url.Values){
		"unknown client":     func(q url.Values) { q.Set("client_id", "other") },
		"unregistered URI":   func(q url.Values) { q.Set("redirect_uri", "http://evil.example/cb") },
		"no openid":          func(q url.Values) { q.Set("scope", "email") },
		"implicit flow":      func(q url.Values) { q.Set("response_type", "token") },
		"plain PKCE refused": func(q url.Values) { q.Set("code_challenge_method", "plain") },
	} {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		change(q)
		resp, err := http.Get(s.AuthorizeURL() + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}

	code := func() string {
		t.Helper()
		form := url.Values{"login_email": {"Boss@Example.com"}, "login_name": {"The Boss"}, "choice": {"allow"}}
		for k, v := range query {
			form[k] = v
		}
		resp, err := noRedirect.PostForm(s.AuthorizeURL(), form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || back.Query().Get("state") != "st" || back.Query().Get("code") == "" {
			t.Fatalf("consent: %d %s", resp.StatusCode, back)
		}
		return back.Query().Get("code")
	}
	exchange := func(c, secret, verifier, redirect string) (int, map[string]any) {
		t.Helper()
		resp, err := http.PostForm(s.TokenURL(), url.Values{"grant_type": {"authorization_code"}, "code": {c}, "client_id": {s.ClientID},
			"client_secret": {secret}, "code_verifier": {verifier}, "redirect_uri": {redirect}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	for _, c := range []struct {
		name, secret, verifier, redirect string
		status                           int
		err                              string
	}{
		{"wrong secret", "nope", verifier, redirect, 401, "invalid_client"},
		{"wrong verifier", s.ClientSecret, verifier + "x", redirect, 400, "invalid_grant"},
		{"other redirect", s.ClientSecret, verifier, redirect + "x", 400, "redirect_uri_mismatch"},
	} {
		if st, out := exchange(code(), c.secret, c.verifier, c.redirect); st != c.status || out["error"] != c.err {
			t.Errorf("%s: %d %v", c.name, st, out)
		}
	}
	good := code()
	st, out := exchange(good, s.ClientSecret, verifier, redirect)
	idToken, _ := out["id_token"].(string)
	parts := strings.Split(idToken, ".")
	if st != 200 || len(parts) != 3 {
		t.Fatalf("a good exchange: %d %v", st, out)
	}
	var header, claims map[string]any
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(h, &header)
	_ = json.Unmarshal(p, &claims)
	if header["alg"] != "RS256" || claims["aud"] != s.ClientID || claims["email"] != "boss@example.com" || claims["sub"] != Subject("boss@example.com") ||
		claims["iss"] != "https://accounts.google.com" || claims["email_verified"] != true {
		t.Errorf("the id_token: %v %v", header, claims)
	}
	if st, out := exchange(good, s.ClientSecret, verifier, redirect); st != 400 || out["error"] != "invalid_grant" {
		t.Errorf("a code used twice: %d %v", st, out)
	}
	late := code()
	s.SetClock(func() time.Time { return time.Now().Add(CodeTTL + time.Minute) })
	if st, out := exchange(late, s.ClientSecret, verifier, redirect); st != 400 || out["error"] != "invalid_grant" {
		t.Errorf("a code after ten minutes: %d %v", st, out)
	}
}
