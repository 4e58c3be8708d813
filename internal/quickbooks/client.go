// Package quickbooks is the QuickBooks Online Accounting API adapter (this
// first part: the request layer). Every request carries minorversion=75;
// creates can carry a requestid (QuickBooks answers a repeated requestid
// with the first answer and creates nothing); a 401 refreshes the access
// token once and retries; a 429 (whose body may be XML) and 5xx are
// transient; every Fault shape is parsed into *Fault; money crosses as
// decimal dollars converted exactly from and to cents.
package quickbooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
)

// MinorVersion is the API minor version every request asks for (75 is the
// floor since 2025).
const MinorVersion = "75"

// Base URLs.
const (
	SandboxBaseURL    = "https://sandbox-quickbooks.api.intuit.com"
	ProductionBaseURL = "https://quickbooks.api.intuit.com"
)

// Tokens gives access tokens: the current one, and a fresh one after the
// API refused it (the refresh, one at a time across instances, is the
// token policy's job: bookkeeping.Tokens).
type Tokens interface {
	AccessToken(ctx context.Context) (string, error)
	Refresh(ctx context.Context, rejected string) (string, error)
}

// Client calls one company's QuickBooks.
type Client struct {
	base   string
	realm  string
	tokens Tokens
	http   *http.Client
	pacer  *Pacer
}

// New returns a client for the company realm.
func New(baseURL, realm string, tokens Tokens, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), realm: realm, tokens: tokens, http: hc}
}

// Paced makes every call of the client wait for p (one pacer per company
// and instance, shared by its clients).
func (c *Client) Paced(p *Pacer) *Client { c.pacer = p; return c }

// Do sends method to /v3/company/{realm}/{path} with query parameters q
// (minorversion is added) and body (JSON, may be nil), and decodes the
// answer into out. Errors: *Fault for QuickBooks' refusals (wrapped in
// apperr: INVALID_ARGUMENT for validation, FAILED_PRECONDITION otherwise,
// UNAVAILABLE for throttling and system faults, UNAUTHENTICATED when a
// refreshed token is refused too).
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("minorversion", MinorVersion)
	u := fmt.Sprintf("%s/v3/company/%s/%s?%s", c.base, url.PathEscape(c.realm), path, q.Encode())
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	token, err := c.tokens.AccessToken(ctx)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if c.pacer != nil {
			if err := c.pacer.Wait(ctx); err != nil {
				return err
			}
		}
		status, header, answer, err := c.send(ctx, method, u, token, payload)
		if err != nil {
			return apperr.Wrap(err, apperr.Unavailable, "QuickBooks is unreachable")
		}
		f := parseFault(status, answer)
		if c.pacer != nil && (status == http.StatusTooManyRequests || (f != nil && f.Has("3001"))) {
			c.pacer.Throttled(header)
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			if token, err = c.tokens.Refresh(ctx, token); err != nil {
				return err
			}
			continue
		}
		switch {
		case f == nil && status/100 == 2:
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(answer, out); err != nil {
				return fmt.Errorf("quickbooks: decode %s answer: %w", path, err)
			}
			return nil
		case f == nil:
			f = &Fault{Status: status, Type: "HTTP", Errors: []FaultError{{Code: fmt.Sprint(status), Message: strings.TrimSpace(string(answer))}}}
		}
		return classify(f)
	}
}

func classify(f *Fault) error {
	switch {
	case f.Status == http.StatusTooManyRequests || f.Has("3001") || f.Status >= 500 || f.Type == "SystemFault":
		return apperr.Wrap(f, apperr.Unavailable, "QuickBooks is busy or failing; will try again later")
	case f.Status == http.StatusUnauthorized || f.Type == "AuthenticationFault" || f.Type == "AUTHENTICATION":
		return apperr.Wrap(f, apperr.Unauthenticated, "QuickBooks refused the connection's token; reconnect QuickBooks")
	case f.Type == "ValidationFault":
		return apperr.Wrap(f, apperr.Invalid, "QuickBooks refused the request: %s", firstMessage(f))
	}
	return apperr.Wrap(f, apperr.FailedPrecondition, "QuickBooks refused the request: %s", firstMessage(f))
}

func firstMessage(f *Fault) string {
	if len(f.Errors) == 0 {
		return f.Type
	}
	e := f.Errors[0]
	if e.Detail != "" {
		return e.Message + " (" + e.Detail + ")"
	}
	return e.Message
}

// AsFault returns the *Fault in err's chain, or nil.
func AsFault(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, u, token string, payload []byte) (int, http.Header, []byte, error) {
	var r io.Reader
	if payload != nil {
		r = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, resp.Header, b, err
}

// Query runs a QuickBooks query (select … from Entity where …) and decodes
// {"QueryResponse": …} into out.
func (c *Client) Query(ctx context.Context, query string, out any) error {
	var env struct {
		QueryResponse json.RawMessage `json:"QueryResponse"`
	}
	if err := c.Do(ctx, http.MethodGet, "query", url.Values{"query": {query}}, nil, &env); err != nil {
		return err
	}
	if len(env.QueryResponse) == 0 {
		return nil
	}
	return json.Unmarshal(env.QueryResponse, out)
}

// Quote makes a QuickBooks query string literal of s: a backslash escapes
// the character after it, so both ' and \ are escaped (a value ending in
// a backslash would otherwise escape the closing quote).
func Quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// Dollars renders cents as the decimal JSON number QuickBooks takes.
func Dollars(m money.Money) json.Number { return json.Number(m.Decimal()) }

// Cents parses QuickBooks' decimal dollars into cents exactly.
func Cents(n json.Number, currency string) (money.Money, error) {
	return money.ParseDecimal(n.String(), currency)
}

func moneyOf(o *order.Order, cents int64) money.Money { return money.New(cents, o.Currency) }
