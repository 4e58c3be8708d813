package lulu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/fuzzcheck"
)

const fuzzSecret = "lulu-fuzz-secret"

// FuzzPrinterWebhook parses any body under a correct Lulu-HMAC-SHA256, as
// the printer's webhook does: a refusal says what is wrong in the
// project's words; an accepted delivery names its topic and a job id that
// is a whole number.
func FuzzPrinterWebhook(f *testing.F) {
	f.Add([]byte(`{"topic":"PRINT_JOB_STATUS_CHANGED","data":{"id":1234,"external_id":"o1","status":{"name":"IN_PRODUCTION","message":"","changed":"2026-11-25T10:00:00.000000"}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := VerifyWebhook(body, Sign(body, fuzzSecret), fuzzSecret); err != nil {
			t.Fatalf("a correctly signed body refused: %v", err)
		}
		d, err := ParseWebhook(body)
		if err != nil {
			fuzzcheck.Message(t, err.Error())
			return
		}
		if d.Topic == "" || d.JobID == "" || strings.Trim(d.JobID, "0123456789") != "" {
			t.Fatalf("accepted delivery %+v", d)
		}
	})
}

// FuzzPrinterSignature checks any Lulu-HMAC-SHA256 over a real delivery:
// only the HMAC-SHA256 under the secret passes, in hex or base64.
func FuzzPrinterSignature(f *testing.F) {
	body := []byte(`{"topic":"PRINT_JOB_STATUS_CHANGED","data":{"id":1234,"external_id":"o1","status":{"name":"SHIPPED","changed":"2026-11-26T09:00:00Z"},"line_items":[{"tracking_id":"9400100000000000000000","tracking_urls":["https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000"],"carrier_name":"USPS"}]}}`)
	m := hmac.New(sha256.New, []byte(fuzzSecret))
	m.Write(body)
	want := m.Sum(nil)
	f.Add(Sign(body, fuzzSecret))
	f.Fuzz(func(t *testing.T, sig string) {
		err := VerifyWebhook(body, sig, fuzzSecret)
		if err == nil {
			// Only the right digest passes, however it is written.
			s := strings.TrimSpace(sig)
			got, herr := hex.DecodeString(s)
			if herr != nil {
				for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
					if got, herr = enc.DecodeString(s); herr == nil {
						break
					}
				}
			}
			if !hmac.Equal(got, want) {
				t.Fatalf("signature %q passed", sig)
			}
			return
		}
		if strings.TrimSpace(sig) != "" && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("signature %q: %v, want ErrBadSignature", sig, err)
		}
		fuzzcheck.Message(t, err.Error())
	})
}
