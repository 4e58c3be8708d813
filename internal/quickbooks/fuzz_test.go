package quickbooks

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/readyplanner/oms/internal/fuzzcheck"
)

const fuzzVerifier = "fuzz-verifier-token"

// parseSigned verifies body under its correct intuit-signature, as the
// webhook does, and parses it; a refusal must be ErrBadPayload saying
// what is wrong, and every event accepted names its company, entity and
// id (and Events keeps them, one for one).
func parseSigned(t *testing.T, body []byte) []EntityEvent {
	t.Helper()
	if err := VerifyWebhook(body, SignWebhook(body, fuzzVerifier), fuzzVerifier); err != nil {
		t.Fatalf("a correctly signed body refused: %v", err)
	}
	evs, err := ParseWebhook(body)
	if err != nil {
		if !errors.Is(err, ErrBadPayload) || err.Error() == ErrBadPayload.Error() {
			t.Fatalf("refused without saying what is wrong: %v", err)
		}
		fuzzcheck.Message(t, err.Error())
		return nil
	}
	if len(evs) == 0 {
		t.Fatalf("accepted a payload with no event: %q", body)
	}
	for i, e := range evs {
		if e.Realm == "" || e.Entity == "" || e.ID == "" {
			t.Fatalf("event %d accepted without its company, entity or id: %+v", i+1, e)
		}
	}
	if got := Events(evs); len(got) != len(evs) {
		t.Fatalf("Events kept %d of %d", len(got), len(evs))
	}
	return evs
}

// FuzzQuickBooksLegacy parses any body under a correct signature, from
// seeds of the legacy {"eventNotifications":[…]} format.
func FuzzQuickBooksLegacy(f *testing.F) {
	f.Add([]byte(`{"eventNotifications":[{"realmId":"9130350000000001","dataChangeEvent":{"entities":[{"name":"Invoice","id":"1234","operation":"Update","lastUpdated":"2026-11-25T10:00:00.000Z"}]}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs := parseSigned(t, body)
		if len(evs) > 0 && strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
			for _, e := range evs {
				if !strings.Contains(e.LastUpdated, "#") {
					t.Fatalf("a CloudEvent's key has no id part: %+v", e)
				}
			}
		}
	})
}

// FuzzQuickBooksCloudEvents parses any body under a correct signature,
// from seeds of Intuit's CloudEvents format: an accepted event's entity and
// operation come from its type, first letter upper case, valid UTF-8
// whenever the type was.
func FuzzQuickBooksCloudEvents(f *testing.F) {
	f.Add([]byte(`[{"specversion":"1.0","id":"e1","source":"intuit.com","type":"qbo.invoice.updated.v1","time":"2026-11-25T10:00:00Z","intuitentityid":"1234","intuitaccountid":"9130350000000001","data":{}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs := parseSigned(t, body)
		if len(evs) == 0 || !strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
			return
		}
		for _, e := range evs {
			for _, s := range []string{e.Entity, e.Operation} {
				if s == "" {
					t.Fatalf("a CloudEvent accepted without its entity or operation: %+v", e)
				}
				if r, _ := utf8.DecodeRuneInString(s); utf8.ValidString(s) && unicode.IsLower(r) {
					t.Fatalf("%q is not titled", s)
				}
			}
		}
	})
}

// FuzzQuickBooksSignature checks any intuit-signature over a real
// notification: only the base64 HMAC-SHA256 under the verifier token
// passes.
func FuzzQuickBooksSignature(f *testing.F) {
	body := []byte(`{"eventNotifications":[{"realmId":"9130350000000001","dataChangeEvent":{"entities":[{"name":"Payment","id":"77","operation":"Create","lastUpdated":"2026-11-25T10:00:00.000Z"}]}}]}`)
	good := SignWebhook(body, fuzzVerifier)
	f.Add(good)
	f.Fuzz(func(t *testing.T, sig string) {
		err := VerifyWebhook(body, sig, fuzzVerifier)
		if strings.TrimSpace(sig) == good {
			return // the right one, canonical (the fuzzer cannot forge another)
		}
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("signature %q: %v, want ErrBadSignature", sig, err)
		}
		fuzzcheck.Message(t, err.Error())
	})
}
