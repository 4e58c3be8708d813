package quickbooks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/bookkeeping"
)

// TokenEndpoint is Intuit's OAuth 2.0 token endpoint (sandbox and
// production alike).
const TokenEndpoint = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"

// ErrInvalidGrant means the refresh token (or code) is dead: a person must
// reconnect QuickBooks. Never retry it. (It is bookkeeping's, whose token
// policy decides what a dead token means.)
var ErrInvalidGrant = bookkeeping.ErrInvalidGrant

// TokenSet is what the token endpoint answers (bookkeeping's type, so that
// the token store need not import this client).
type TokenSet = bookkeeping.TokenSet

// OAuth is the token policy's Refresher; the policy gives this client its
// access tokens.
var (
	_ bookkeeping.Refresher = OAuth{}
	_ RealmTokens           = (*bookkeeping.Tokens)(nil)
)

// OAuth exchanges codes and refresh tokens at the token endpoint.
type OAuth struct {
	Endpoint     string // default TokenEndpoint
	ClientID     string
	ClientSecret string
	HTTP         *http.Client
}

// seconds reads a number that some answers give as a string.
type seconds int64

func (s *seconds) UnmarshalJSON(b []byte) error {
	v := strings.Trim(string(b), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	*s = seconds(n)
	return err
}

// Exchange trades an authorization code for tokens.
func (o OAuth) Exchange(ctx context.Context, code, redirectURI string, now time.Time) (TokenSet, error) {
	return o.token(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}, now)
}

// Refresh trades a refresh token for new tokens (the refresh token may
// rotate: store the answer's).
func (o OAuth) Refresh(ctx context.Context, refreshToken string, now time.Time) (TokenSet, error) {
	return o.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, now)
}

func (o OAuth) token(ctx context.Context, form url.Values, now time.Time) (TokenSet, error) {
	endpoint, hc := o.Endpoint, o.HTTP
	if endpoint == "" {
		endpoint = TokenEndpoint
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return TokenSet{}, err
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(o.ClientID+":"+o.ClientSecret)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return TokenSet{}, fmt.Errorf("quickbooks token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var ans struct {
		Error            string  `json:"error"`
		ErrorDescription string  `json:"error_description"`
		AccessToken      string  `json:"access_token"`
		RefreshToken     string  `json:"refresh_token"`
		ExpiresIn        seconds `json:"expires_in"`
		RefreshExpiresIn seconds `json:"x_refresh_token_expires_in"`
	}
	_ = json.Unmarshal(body, &ans)
	if ans.Error == "invalid_grant" {
		return TokenSet{}, fmt.Errorf("%w (%s)", ErrInvalidGrant, ans.ErrorDescription)
	}
	if resp.StatusCode != http.StatusOK || ans.AccessToken == "" || ans.RefreshToken == "" {
		return TokenSet{}, fmt.Errorf("quickbooks token endpoint: HTTP %d: %s %s", resp.StatusCode, ans.Error, ans.ErrorDescription)
	}
	return TokenSet{AccessToken: ans.AccessToken, RefreshToken: ans.RefreshToken,
		ExpiresAt: now.Add(time.Duration(ans.ExpiresIn) * time.Second), RefreshExpireAt: now.Add(time.Duration(ans.RefreshExpiresIn) * time.Second)}, nil
}
