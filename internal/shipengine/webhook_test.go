package shipengine_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/shipengine"
)

// The verifier accepts what the key set's key signed over the timestamp
// and the raw body, within 5 minutes either way; it caches the set (one
// fetch for many deliveries), fetches it again for an unknown key id at
// most once a minute (a rotated key is found; a forger's id costs one
// fetch a minute), and keeps the keys it knows when the set is down.
func TestVerifier(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	var mu sync.Mutex
	set := shipengine.JWKS{Keys: []shipengine.JWK{shipengine.PublicJWK("k1", &k1.PublicKey)}}
	var fetches atomic.Int32
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	v := &shipengine.Verifier{JWKSURL: srv.URL, Now: clock}
	ctx := context.Background()
	body := []byte(`{"resource_type":"API_TRACK","data":{"tracking_number":"9400"}}`)
	headers := func(k *rsa.PrivateKey, kid string, at time.Time, b []byte) http.Header {
		id, sig, ts, err := shipengine.Sign(k, kid, at, b)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("x-shipengine-rsa-sha256-key-id", id)
		h.Set("x-shipengine-rsa-sha256-signature", sig)
		h.Set("x-shipengine-timestamp", ts)
		return h
	}
	for i := 0; i < 3; i++ {
		if err := v.Verify(ctx, headers(k1, "k1", clock(), body), body); err != nil {
			t.Fatalf("signed: %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for three deliveries, want 1", n)
	}
	for name, c := range map[string]struct {
		h    http.Header
		body []byte
		want error
	}{
		"no headers":   {http.Header{}, body, shipengine.ErrNoSignature},
		"stale":        {headers(k1, "k1", clock().Add(-5*time.Minute-time.Second), body), body, shipengine.ErrStale},
		"future":       {headers(k1, "k1", clock().Add(5*time.Minute+time.Second), body), body, shipengine.ErrStale},
		"changed body": {headers(k1, "k1", clock(), body), append([]byte(" "), body...), shipengine.ErrBadSignature},
		"another key":  {headers(k2, "k1", clock(), body), body, shipengine.ErrBadSignature},
		"not base64": {func() http.Header {
			h := headers(k1, "k1", clock(), body)
			h.Set("x-shipengine-rsa-sha256-signature", "%%%")
			return h
		}(), body, shipengine.ErrBadSignature},
		"a bad timestamp": {func() http.Header {
			h := headers(k1, "k1", clock(), body)
			h.Set("x-shipengine-timestamp", "yesterday")
			return h
		}(), body, shipengine.ErrStale},
	} {
		if err := v.Verify(ctx, c.h, c.body); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// An unknown key id a minute after the last fetch: one fetch, then
	// none for a minute.
	advance(61 * time.Second)
	before := fetches.Load()
	for i := 0; i < 5; i++ {
		if err := v.Verify(ctx, headers(k2, "k2", clock(), body), body); !errors.Is(err, shipengine.ErrUnknownKey) {
			t.Errorf("unknown key: %v", err)
		}
	}
	if n := fetches.Load() - before; n != 1 {
		t.Errorf("%d fetches for five deliveries of an unknown key id, want 1", n)
	}
	// ShipEngine rotates: k2 joins the set; a minute later it is found.
	mu.Lock()
	set.Keys = append(set.Keys, shipengine.PublicJWK("k2", &k2.PublicKey))
	mu.Unlock()
	advance(61 * time.Second)
	if err := v.Verify(ctx, headers(k2, "k2", clock(), body), body); err != nil {
		t.Errorf("the rotated key: %v", err)
	}
	// The set is down when the cache expires: the keys known keep working,
	// and an unknown key id is an error that is not a refusal (the sender
	// delivers again), fetched again at most once a minute.
	down.Store(true)
	advance(2 * time.Hour)
	if err := v.Verify(ctx, headers(k1, "k1", clock(), body), body); err != nil {
		t.Errorf("the set down, a known key: %v", err)
	}
	before = fetches.Load()
	for i := 0; i < 3; i++ {
		err := v.Verify(ctx, headers(k2, "k3", clock(), body), body)
		if err == nil || errors.Is(err, shipengine.ErrUnknownKey) || errors.Is(err, shipengine.ErrBadSignature) {
			t.Errorf("the set down, an unknown key: %v, want a failure to fetch", err)
		}
	}
	if n := fetches.Load() - before; n != 0 {
		t.Errorf("%d fetches while the set is known down, want 0 (the known key's fetch failed a moment ago)", n)
	}
}

// A caller who hangs up while the key set is fetched does not fail the
// fetch for the deliveries after it.
func TestVerifierFetchOutlivesItsCaller(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		_ = json.NewEncoder(w).Encode(shipengine.JWKS{Keys: []shipengine.JWK{shipengine.PublicJWK("k", &k.PublicKey)}})
	}))
	defer srv.Close()
	v := &shipengine.Verifier{JWKSURL: srv.URL}
	body := []byte(`{}`)
	id, sig, ts, _ := shipengine.Sign(k, "k", time.Now(), body)
	h := http.Header{}
	h.Set(shipengine.KeyIDHeader, id)
	h.Set(shipengine.SignatureHeader, sig)
	h.Set(shipengine.TimestampHeader, ts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Verify(ctx, h, body) }()
	time.Sleep(50 * time.Millisecond)
	cancel() // the caller hangs up mid-fetch
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the caller who hung up: %v (its fetch completed)", err)
	}
	if err := v.Verify(context.Background(), h, body); err != nil {
		t.Errorf("the next delivery: %v", err)
	}
}
