package stripepay

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/readyplanner/oms/internal/fuzzcheck"
	"github.com/stripe/stripe-go/v76/webhook"
)

const fuzzSecret = "whsec_fuzz"

// signed is header for body signed with fuzzSecret now, as Stripe signs.
func signed(body string) string {
	now := time.Now()
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: fuzzSecret, Timestamp: now}).Header
}

// FuzzStripeEvent parses any body under a correct signature, so that the
// fuzzer reaches the parser: a refusal says what is wrong in the project's
// words; an accepted event has an id and a type, both the body's, and ids
// that are the body's strings.
func FuzzStripeEvent(f *testing.F) {
	f.Add(`{"id":"evt_1","object":"event","api_version":"2023-10-16","created":1733600000,"type":"payment_intent.canceled","data":{"object":{"id":"pi_1","object":"payment_intent","metadata":{"orderId":"o1"}}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		ev, err := ParseEvent([]byte(body), signed(body), fuzzSecret)
		if err != nil {
			fuzzcheck.Message(t, err.Error())
			if strings.Contains(err.Error(), "signature") {
				t.Fatalf("a correctly signed body refused for its signature: %v", err)
			}
			return
		}
		var raw struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(body), &raw); err != nil {
			t.Fatalf("accepted a body that is not a JSON object: %v", err)
		}
		if ev.ID == "" || ev.Type == "" || ev.ID != raw.ID || ev.Type != raw.Type {
			t.Fatalf("accepted event %+v, the body says id %q type %q", ev, raw.ID, raw.Type)
		}
		for _, id := range []string{ev.ID, ev.OrderID, ev.SessionID, ev.IntentID, ev.DisputeID} {
			if !utf8.ValidString(id) {
				t.Fatalf("id %q is not valid UTF-8", id)
			}
			// A body that is not UTF-8 has its bad bytes read as U+FFFD.
			if q, _ := json.Marshal(id); id != "" && utf8.ValidString(body) && !strings.Contains(body, string(q)) && !strings.Contains(body, id) {
				t.Fatalf("id %q is not in the body", id)
			}
		}
	})
}

// FuzzStripeSignature sends a real event under any Stripe-Signature
// header: none but the one Stripe computes passes (HMAC-SHA256 over
// "t.body" with the endpoint's secret), and the refusal says which check
// failed.
func FuzzStripeSignature(f *testing.F) {
	body := []byte(`{"id":"evt_1","object":"event","api_version":"2023-10-16","created":1733600000,"type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_1"}}}`)
	f.Add("t=1733600000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")
	good := signed(string(body))
	f.Fuzz(func(t *testing.T, header string) {
		_, err := ParseEvent(body, header, fuzzSecret)
		if header == good {
			return // the fuzzer cannot forge it; a seed may be it
		}
		if err == nil {
			t.Fatalf("header %q passed", header)
		}
		fuzzcheck.Message(t, err.Error())
		switch err.Error() {
		case "no Stripe-Signature header", "the signature is older than 300 s", "the signature does not match":
		default:
			t.Fatalf("refused with %q, not one of the signature's refusals", err)
		}
	})
}
