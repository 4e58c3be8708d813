package shipengine_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/fuzzcheck"
	"github.com/readyplanner/oms/internal/shipengine"
)

// fuzzVerifier is a verifier of ShipEngine's webhooks against a key set
// served here, with the key that signs in it (1024 bits: the fuzzer signs
// every input).
func fuzzVerifier(f *testing.F) (*shipengine.Verifier, *rsa.PrivateKey) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	set, _ := json.Marshal(shipengine.JWKS{Keys: []shipengine.JWK{shipengine.PublicJWK("se-fuzz", &key.PublicKey)}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(set) }))
	f.Cleanup(srv.Close)
	return &shipengine.Verifier{JWKSURL: srv.URL}, key
}

func signedHeaders(tb testing.TB, key *rsa.PrivateKey, body []byte) http.Header {
	id, sig, ts, err := shipengine.Sign(key, "se-fuzz", time.Now(), body)
	if err != nil {
		tb.Fatal(err)
	}
	h := http.Header{}
	h.Set(shipengine.KeyIDHeader, id)
	h.Set(shipengine.SignatureHeader, sig)
	h.Set(shipengine.TimestampHeader, ts)
	return h
}

// FuzzShipEngineWebhook parses any body under a correct RSA-SHA256
// signature, as shipengineWebhook does: a refusal says what is wrong in
// the project's words; an accepted delivery has a resource type, and a
// track event a tracking number whose update reads without failing.
func FuzzShipEngineWebhook(f *testing.F) {
	v, key := fuzzVerifier(f)
	f.Add([]byte(`{"resource_url":"https://api.shipengine.com/v1/tracking?carrier_code=usps&tracking_number=9400","resource_type":"API_TRACK","data":{"tracking_number":"9400","status_code":"IT"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := v.Verify(context.Background(), signedHeaders(t, key, body), body); err != nil {
			t.Fatalf("a correctly signed body refused: %v", err)
		}
		d, err := shipengine.ParseTrackWebhook(body)
		if err != nil {
			fuzzcheck.Message(t, err.Error())
			return
		}
		if d.ResourceType == "" || d.ResourceType == "API_TRACK" && d.Data.TrackingNumber == "" {
			t.Fatalf("accepted delivery %+v", d)
		}
		_ = d.Data.Update()
	})
}

// FuzzShipEngineSignature sends a real delivery under any signature
// header (with the right key id and a fresh timestamp): none but the one
// made with ShipEngine's key passes, and the refusal is ErrBadSignature.
func FuzzShipEngineSignature(f *testing.F) {
	v, key := fuzzVerifier(f)
	body := []byte(`{"resource_url":"https://api.shipengine.com/v1/tracking?carrier_code=usps&tracking_number=9400","resource_type":"API_TRACK","data":{"tracking_number":"9400","status_code":"DE"}}`)
	good := signedHeaders(f, key, body)
	f.Add(good.Get(shipengine.SignatureHeader))
	f.Fuzz(func(t *testing.T, sig string) {
		h := signedHeaders(t, key, body)
		if sig == h.Get(shipengine.SignatureHeader) {
			return // the right one (PKCS #1 v1.5 is deterministic; the fuzzer cannot forge another)
		}
		h.Set(shipengine.SignatureHeader, sig)
		err := v.Verify(context.Background(), h, body)
		switch {
		case h.Get(shipengine.SignatureHeader) == "":
			if !errors.Is(err, shipengine.ErrNoSignature) {
				t.Fatalf("no signature: %v", err)
			}
		case !errors.Is(err, shipengine.ErrBadSignature):
			t.Fatalf("signature %q: %v, want ErrBadSignature", sig, err)
		}
		fuzzcheck.Message(t, err.Error())
	})
}
