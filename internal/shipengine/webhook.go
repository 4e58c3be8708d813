package shipengine

// ShipEngine's webhooks, verified as its validation guide says: three
// headers (the key id, an RSA-SHA256 signature in base64, and an ISO 8601
// timestamp); the signature is over the timestamp, a period and the raw
// body, made with the key of that id in ShipEngine's published key set
// (JWKS, https://api.shipengine.com/jwks); a timestamp more than five
// minutes from now (either way: clocks skew) is refused as a replay.
// Keys are cached; an unknown key id fetches the set again, at most once
// a minute.

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The webhook's signature headers.
const (
	KeyIDHeader     = "X-Shipengine-Rsa-Sha256-Key-Id"
	SignatureHeader = "X-Shipengine-Rsa-Sha256-Signature"
	TimestampHeader = "X-Shipengine-Timestamp"
)

// DefaultJWKSURL is ShipEngine's published key set.
const DefaultJWKSURL = "https://api.shipengine.com/jwks"

// MaxSkew is how far a webhook's timestamp may be from now.
const MaxSkew = 5 * time.Minute

// Why a webhook is refused.
var (
	// ErrNoSignature: a header is missing (the guide answers 404, hiding
	// the endpoint from whoever did not sign it).
	ErrNoSignature = errors.New("shipengine webhook: the signature headers are missing")
	// ErrStale: the timestamp is unreadable or too far from now.
	ErrStale = errors.New("shipengine webhook: the timestamp is malformed or more than 5 minutes from now")
	// ErrUnknownKey: no key of that id in ShipEngine's set.
	ErrUnknownKey = errors.New("shipengine webhook: the signing key is not in ShipEngine's key set")
	// ErrBadSignature: the signature does not verify.
	ErrBadSignature = errors.New("shipengine webhook: the signature does not verify")
)

// Verifier checks ShipEngine's webhook signatures against its key set. The
// zero value is not usable: set JWKSURL (DefaultJWKSURL in production).
type Verifier struct {
	JWKSURL string
	HTTP    *http.Client     // default: 10 s timeout
	Now     func() time.Time // default time.Now
	// CacheFor is how long fetched keys are trusted (default 1 hour).
	CacheFor time.Duration

	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetched time.Time
	// failed is when fetching the set last failed, and why: for a minute
	// after, a key not known answers that instead of fetching again.
	failed    time.Time
	failedErr error
}

// JWK is one key of a key set (RSA keys are the ones read).
type JWK struct {
	KTY string `json:"kty"`
	KID string `json:"kid"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS is a key set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicJWK is an RSA public key as a key set lists it.
func PublicJWK(kid string, k *rsa.PublicKey) JWK {
	return JWK{KTY: "RSA", KID: kid, Use: "sig", Alg: "RS256", N: base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
}

// Sign signs body as ShipEngine does at ts with key: the three headers'
// values (the local ShipEngine's, and tests').
func Sign(key *rsa.PrivateKey, kid string, ts time.Time, body []byte) (keyID, signature, timestamp string, err error) {
	timestamp = ts.UTC().Format("2006-01-02T15:04:05.000Z")
	sum := sha256.Sum256(append([]byte(timestamp+"."), body...))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	return kid, base64.StdEncoding.EncodeToString(sig), timestamp, err
}

// Verify checks a delivery's signature headers over its raw body.
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) error {
	kid, sig, ts := h.Get(KeyIDHeader), h.Get(SignatureHeader), h.Get(TimestampHeader)
	if kid == "" || sig == "" || ts == "" {
		return ErrNoSignature
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || at.Sub(v.now()).Abs() > MaxSkew {
		return ErrStale
	}
	// Only the canonical encoding, so that no other string than
	// ShipEngine's passes (the decoder skips \r and \n even when strict).
	raw, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil || strings.ContainsAny(sig, "\r\n") {
		return ErrBadSignature
	}
	key, err := v.key(ctx, kid)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(append([]byte(ts+"."), body...))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw) != nil {
		return ErrBadSignature
	}
	return nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// key returns the key kid, fetching the set when the cache is stale or
// lacks it (at most once a minute for an unknown id).
func (v *Verifier) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ttl := v.CacheFor
	if ttl <= 0 {
		ttl = time.Hour
	}
	now := v.now()
	k, ok := v.keys[kid]
	fresh := now.Sub(v.fetched) < ttl
	if ok && fresh {
		return k, nil
	}
	if !ok && fresh && now.Sub(v.fetched) < time.Minute {
		return nil, ErrUnknownKey
	}
	if !ok && v.failedErr != nil && now.Sub(v.failed) < time.Minute {
		return nil, v.failedErr
	}
	// Fetched for every delivery that waits on it, not for the one that
	// asked: a caller who hangs up does not fail the fetch.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	keys, err := v.fetch(fctx)
	cancel()
	if err != nil {
		v.failed, v.failedErr = now, err
		if ok {
			return k, nil // the set is unreachable: the key known keeps
		}
		return nil, err
	}
	v.failedErr = nil
	v.keys, v.fetched = keys, now
	if k, ok = keys[kid]; !ok {
		return nil, ErrUnknownKey
	}
	return k, nil
}

func (v *Verifier) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	hc := v.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("shipengine: fetch the webhook key set: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("shipengine: fetch the webhook key set: HTTP %d %v", res.StatusCode, err)
	}
	var set JWKS
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("shipengine: the webhook key set: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.KTY != "RSA" || k.KID == "" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		keys[k.KID] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys, nil
}

// TrackWebhook is a delivery of the track webhook.
type TrackWebhook struct {
	ResourceURL  string       `json:"resource_url"`
	ResourceType string       `json:"resource_type"` // API_TRACK
	Data         WireTracking `json:"data"`
}

// ParseTrackWebhook reads a delivery's body: a track event names its
// tracking number; a body it refuses gets an error that says what is wrong.
func ParseTrackWebhook(body []byte) (TrackWebhook, error) {
	var w TrackWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		// encoding/json's words (offsets, Go types) are no help to the sender.
		return TrackWebhook{}, errors.New(`shipengine webhook: the body is not a webhook delivery: want a JSON object {"resource_url": …, "resource_type": …, "data": …} with data as the tracking API has it`)
	}
	if w.ResourceType == "" {
		return TrackWebhook{}, errors.New("shipengine webhook: resource_type is missing")
	}
	if w.ResourceType == "API_TRACK" && w.Data.TrackingNumber == "" {
		return TrackWebhook{}, errors.New("shipengine webhook: a track event without a tracking number")
	}
	return w, nil
}
