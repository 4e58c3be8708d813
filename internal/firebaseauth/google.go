package firebaseauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// GoogleSignIn signs a person in to Firebase Auth with their Google
// account on the server, with no script in the page: Google's OAuth 2.0
// authorization-code flow for web servers (PKCE, S256) answers an OpenID
// Connect id_token, which Identity Toolkit's accounts:signInWithIdp
// exchanges for a Firebase ID token of the same account a Firebase JS SDK
// Google sign-in makes. The OAuth client is the Google provider's web
// client (Firebase console: Authentication, Sign-in method, Google, Web SDK
// configuration); its authorized redirect URIs must list the redirect URI.
type GoogleSignIn struct {
	ClientID, ClientSecret string
	// AuthURL and TokenURL are Google's
	// (https://accounts.google.com/o/oauth2/v2/auth,
	// https://oauth2.googleapis.com/token) or the local Google's.
	AuthURL, TokenURL string
	// IdentityBase is Identity Toolkit's base
	// (https://identitytoolkit.googleapis.com, or the Auth emulator's
	// http://HOST/identitytoolkit.googleapis.com); APIKey the web API key.
	IdentityBase, APIKey string
	HTTP                 *http.Client
}

// AuthCodeURL is where the browser goes to choose a Google account: it
// comes back to redirectURI with state and a code (or error=access_denied).
func (g *GoogleSignIn) AuthCodeURL(state, challenge, redirectURI string) string {
	q := url.Values{"client_id": {g.ClientID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"openid email profile"},
		"state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "prompt": {"select_account"}}
	return g.AuthURL + "?" + q.Encode()
}

func (g *GoogleSignIn) client() *http.Client {
	if g.HTTP != nil {
		return g.HTTP
	}
	return &http.Client{Timeout: 15 * time.Second}
}

// SignIn exchanges Google's code for its id_token and the id_token for a
// Firebase ID token (accounts:signInWithIdp). Errors say which side refused.
func (g *GoogleSignIn) SignIn(ctx context.Context, code, verifier, redirectURI string) (string, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "client_id": {g.ClientID},
		"client_secret": {g.ClientSecret}, "code_verifier": {verifier}}
	var tok struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
		Desc    string `json:"error_description"`
	}
	if err := g.post(ctx, g.TokenURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), &tok); err != nil {
		return "", fmt.Errorf("google token exchange: %w", err)
	}
	if tok.IDToken == "" {
		return "", fmt.Errorf("google token exchange: no id_token in the answer")
	}
	body, _ := json.Marshal(map[string]any{"postBody": url.Values{"id_token": {tok.IDToken}, "providerId": {"google.com"}}.Encode(),
		"requestUri": redirectURI, "returnSecureToken": true, "returnIdpCredential": true})
	var fb struct {
		IDToken string `json:"idToken"`
	}
	u := strings.TrimSuffix(g.IdentityBase, "/") + "/v1/accounts:signInWithIdp?key=" + url.QueryEscape(g.APIKey)
	if err := g.post(ctx, u, "application/json", strings.NewReader(string(body)), &fb); err != nil {
		return "", fmt.Errorf("firebase auth signInWithIdp: %w", err)
	}
	if fb.IDToken == "" {
		return "", fmt.Errorf("firebase auth signInWithIdp: no idToken in the answer")
	}
	return fb.IDToken, nil
}

// post sends one request and decodes a 200 answer into out; any other
// status is an error carrying the service's own words (Google's
// {"error", "error_description"}, Identity Toolkit's {"error": {"message"}}).
func (g *GoogleSignIn) post(ctx context.Context, u, ctype string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := g.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error json.RawMessage `json:"error"`
			Desc  string          `json:"error_description"`
		}
		_ = json.Unmarshal(raw, &e)
		var nested struct {
			Message string `json:"message"`
		}
		words := strings.Trim(string(e.Error), `"`)
		if json.Unmarshal(e.Error, &nested) == nil && nested.Message != "" {
			words = nested.Message
		}
		if e.Desc != "" {
			words += " (" + e.Desc + ")"
		}
		if words == "" {
			words = strings.TrimSpace(string(raw))
		}
		return fmt.Errorf("%s: %s", resp.Status, words)
	}
	return json.Unmarshal(raw, out)
}
