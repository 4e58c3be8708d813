// Package shipengine is the ShipEngine API v1 adapter: address validation
// and rates, with ShipEngine's error body parsed into *APIError, 429
// honoured with Retry-After, 5xx and network failures retried with capped
// backoff inside the caller's deadline, amounts converted to cents exactly,
// and identical requests answered from a short-lived cache (ShipEngine
// allows 200 requests a minute, 20 in its sandbox).
package shipengine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/shipping"
)

// DefaultBaseURL is ShipEngine's API.
const DefaultBaseURL = "https://api.shipengine.com"

// APIError is an error answer from ShipEngine.
type APIError struct {
	Status     int
	RequestID  string
	Errors     []ErrorItem
	RetryAfter time.Duration // from a 429's Retry-After
}

func (e *APIError) Error() string {
	msgs := make([]string, 0, len(e.Errors))
	for _, it := range e.Errors {
		msgs = append(msgs, it.ErrorCode+": "+it.Message)
	}
	return fmt.Sprintf("shipengine: HTTP %d (request %s): %s", e.Status, e.RequestID, strings.Join(msgs, "; "))
}

// Temporary reports whether trying again later may succeed.
func (e *APIError) Temporary() bool { return e.Status == http.StatusTooManyRequests || e.Status >= 500 }

// Options configure New.
type Options struct {
	BaseURL     string // default DefaultBaseURL
	APIKey      string
	HTTPClient  *http.Client  // default: 10 s timeout per attempt
	MaxAttempts int           // default 4
	CacheTTL    time.Duration // default 5 min; negative disables
}

// Client talks to ShipEngine. It is safe for concurrent use.
type Client struct {
	base     string
	key      string
	http     *http.Client
	attempts int
	ttl      time.Duration

	mu    sync.Mutex
	cache map[[32]byte]cached

	buying keyLocks // labels.go: one purchase per rate at a time
}

type cached struct {
	body    []byte
	expires time.Time
}

// maxCache bounds the cache; past it, expired entries are dropped, then all.
const maxCache = 2000

// New returns a client.
func New(o Options) *Client {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 4
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = 5 * time.Minute
	}
	return &Client{base: strings.TrimSuffix(o.BaseURL, "/"), key: o.APIKey, http: o.HTTPClient, attempts: o.MaxAttempts, ttl: o.CacheTTL, cache: map[[32]byte]cached{}}
}

// ValidateAddress validates one address.
func (c *Client) ValidateAddress(ctx context.Context, a shipping.Address) (shipping.Validation, error) {
	var out []ValidationResult
	if err := c.post(ctx, "/v1/addresses/validate", []WireAddress{ToWire(a)}, &out); err != nil {
		return shipping.Validation{}, err
	}
	if len(out) != 1 {
		return shipping.Validation{}, fmt.Errorf("shipengine: validate answered %d results for 1 address", len(out))
	}
	v := shipping.Validation{Status: out[0].Status}
	if m := out[0].MatchedAddress; m != nil {
		ma := FromWire(*m)
		v.Matched = &ma
	}
	for _, m := range out[0].Messages {
		v.Messages = append(v.Messages, m.Message)
	}
	return v, nil
}

// RatesQuery asks for rates of one package.
type RatesQuery struct {
	From, To   shipping.Address
	Package    shipping.Package
	CarrierIDs []string
	ShipDate   time.Time
	// ExternalShipmentID, if set, is our own id for the shipment the
	// rates are quoted on (and a label bought from one of them): such a
	// label is found with LabelByExternalShipmentID.
	ExternalShipmentID string
}

func grams(g int64) Weight { return Weight{Value: json.Number(strconv.FormatInt(g, 10)), Unit: "gram"} }

func dims(p shipping.Package) *Dimensions {
	if p.LengthCM == 0 {
		return nil
	}
	n := func(v int64) json.Number { return json.Number(strconv.FormatInt(v, 10)) }
	return &Dimensions{Unit: "centimeter", Length: n(p.LengthCM), Width: n(p.WidthCM), Height: n(p.HeightCM)}
}

// Rates returns the valid rates for the shipment (POST /v1/rates).
func (c *Client) Rates(ctx context.Context, q RatesQuery) ([]shipping.Rate, error) {
	req := RatesRequest{
		Shipment: Shipment{ExternalShipmentID: q.ExternalShipmentID, ShipTo: ToWire(q.To), ShipFrom: ToWire(q.From), Packages: []WirePackage{{Weight: grams(q.Package.WeightGrams), Dimensions: dims(q.Package)}},
			ValidateAddress: "no_validation", ShipDate: shipDate(q.ShipDate)},
		RateOptions: RateOptions{CarrierIDs: q.CarrierIDs},
	}
	var out RatesAnswer
	if err := c.post(ctx, "/v1/rates", req, &out); err != nil {
		return nil, err
	}
	if out.RateResponse.Status == "error" && len(out.RateResponse.Rates) == 0 {
		return nil, &APIError{Status: http.StatusOK, RequestID: out.RateResponse.RateRequestID, Errors: out.RateResponse.Errors}
	}
	return convertRates(out.RateResponse.Rates)
}

// Estimate returns rate estimates without a full shipment
// (POST /v1/rates/estimate); the rates have no RateID.
func (c *Client) Estimate(ctx context.Context, q RatesQuery) ([]shipping.Rate, error) {
	req := EstimateRequest{CarrierIDs: q.CarrierIDs, FromCountryCode: q.From.CountryCode, FromPostalCode: q.From.PostalCode,
		FromCityLocality: q.From.CityLocality, FromStateProvince: q.From.StateProvince, ToCountryCode: q.To.CountryCode,
		ToPostalCode: q.To.PostalCode, ToCityLocality: q.To.CityLocality, ToStateProvince: q.To.StateProvince,
		Weight: grams(q.Package.WeightGrams), Dimensions: dims(q.Package), ShipDate: shipDate(q.ShipDate)}
	if req.ShipDate == "" {
		req.ShipDate = shipDate(time.Now()) // required by the estimate operation
	}
	var out []WireRate
	if err := c.post(ctx, "/v1/rates/estimate", req, &out); err != nil {
		return nil, err
	}
	return convertRates(out)
}

func shipDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// deliveryDate reads estimated_delivery_date: an RFC 3339 date-time, or a
// bare date (the spec's pattern allows YYYY-MM-DD), as midnight UTC. The
// zero time when there is none.
func deliveryDate(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// convertRates keeps the valid rates and prices each as what the customer
// pays: shipping + insurance + confirmation + other, in cents, exactly.
func convertRates(in []WireRate) ([]shipping.Rate, error) {
	out := make([]shipping.Rate, 0, len(in))
	for _, w := range in {
		if w.ValidationStatus == "invalid" || len(w.ErrorMessages) > 0 {
			continue
		}
		total := money.Money{}
		for _, part := range []Amount{w.ShippingAmount, w.InsuranceAmount, w.ConfirmationAmount, w.OtherAmount} {
			if part.Amount == "" {
				continue
			}
			m, err := money.ParseDecimal(part.Amount.String(), part.Currency)
			if err != nil {
				return nil, fmt.Errorf("shipengine: rate %s: %w", w.RateID, err)
			}
			if total, err = total.Add(m); err != nil {
				return nil, fmt.Errorf("shipengine: rate %s: %w", w.RateID, err)
			}
		}
		r := shipping.Rate{RateID: w.RateID, CarrierID: w.CarrierID, Carrier: w.CarrierFriendlyName, Service: w.ServiceType,
			ServiceCode: w.ServiceCode, Amount: total}
		if w.DeliveryDays != nil {
			r.DeliveryDays = *w.DeliveryDays
		}
		r.EstimatedDelivery = deliveryDate(w.EstimatedDeliveryDate)
		out = append(out, r)
	}
	return out, nil
}

// post sends body, retrying what can be retried, and decodes the answer
// into out. Errors: *APIError for ShipEngine's own answers that cannot be
// retried (4xx), and apperr UNAVAILABLE when ShipEngine stays unreachable,
// failing or rate-limited within the deadline.
func (c *Client) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	key := sha256.Sum256(append([]byte(path+"\x00"), b...))
	if hit, ok := c.fromCache(key); ok {
		return json.Unmarshal(hit, out)
	}
	answer, err := c.retry(ctx, http.MethodPost, path, b, "shipping rates are unavailable right now; please try again in a moment")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return fmt.Errorf("shipengine: %s: decode answer: %w", path, err)
	}
	c.toCache(key, answer)
	return nil
}

// retry sends one request, again while what failed can be retried (with
// backoff, within the deadline), and answers ShipEngine's answer. Errors:
// *APIError for ShipEngine's own answers that cannot be retried, apperr
// UNAVAILABLE (unavailable: its message) when ShipEngine stays
// unreachable, failing or rate-limited.
func (c *Client) retry(ctx context.Context, method, path string, body []byte, unavailable string) ([]byte, error) {
	var last error
	backoff := 100 * time.Millisecond
	for attempt := 1; attempt <= c.attempts; attempt++ {
		answer, err := c.send(ctx, method, path, body)
		if err == nil {
			return answer, nil
		}
		last = err
		var ae *APIError
		if errors.As(err, &ae) && !ae.Temporary() {
			return nil, err
		}
		if ctx.Err() != nil || attempt == c.attempts {
			break
		}
		wait := backoff + rand.N(backoff/2)
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			wait = ae.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			break // the retry could not finish in time
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		backoff = min(backoff*2, time.Second)
	}
	return nil, apperr.Wrap(last, apperr.Unavailable, "%s", unavailable).Because(ReasonUnavailable)
}

// send makes one request; body nil sends none.
func (c *Client) send(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("API-Key", c.key)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("shipengine: %s: %w", path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("shipengine: %s: read answer: %w", path, err)
	}
	if resp.StatusCode/100 == 2 {
		return answer, nil
	}
	ae := &APIError{Status: resp.StatusCode}
	var eb ErrorBody
	if json.Unmarshal(answer, &eb) == nil {
		ae.RequestID, ae.Errors = eb.RequestID, eb.Errors
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs >= 0 {
		ae.RetryAfter = time.Duration(secs) * time.Second
	}
	return nil, ae
}

func (c *Client) fromCache(key [32]byte) ([]byte, bool) {
	if c.ttl < 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	return e.body, true
}

func (c *Client) toCache(key [32]byte, body []byte) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cache) >= maxCache {
		now := time.Now()
		for k, e := range c.cache {
			if now.After(e.expires) {
				delete(c.cache, k)
			}
		}
		if len(c.cache) >= maxCache {
			clear(c.cache)
		}
	}
	c.cache[key] = cached{body: body, expires: time.Now().Add(c.ttl)}
}

// Carrier is the client bound to the account's carriers: what checkout
// needs of shipping.
type Carrier struct {
	Client     *Client
	CarrierIDs []string
}

// ValidateAddress validates one address.
func (c Carrier) ValidateAddress(ctx context.Context, a shipping.Address) (shipping.Validation, error) {
	return c.Client.ValidateAddress(ctx, a)
}

// Rates rates one package from → to with the account's carriers.
func (c Carrier) Rates(ctx context.Context, from, to shipping.Address, p shipping.Package) ([]shipping.Rate, error) {
	return c.Client.Rates(ctx, RatesQuery{From: from, To: to, Package: p, CarrierIDs: c.CarrierIDs})
}

// ReasonUnavailable is the UNAVAILABLE reason when ShipEngine stays
// unreachable, failing or rate-limited after the client's retries.
const ReasonUnavailable = "shipping_unavailable"
