package lulu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// SignatureHeader is the header Lulu signs its webhook deliveries in.
const SignatureHeader = "Lulu-HMAC-SHA256"

// Sign returns the signature of body under secret, as lower-case hex (what
// published integrations read; Lulu does not document the encoding).
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks sig (hex, either case, or base64, standard or URL
// alphabet) against the HMAC-SHA256 of the raw body under secret, in
// constant time.
func VerifyWebhook(body []byte, sig, secret string) error {
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return errors.New("no " + SignatureHeader + " header")
	}
	if secret == "" {
		return errors.New("no signing secret is configured (LULU_CLIENT_SECRET)")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	want := m.Sum(nil)
	var got []byte
	if b, err := hex.DecodeString(sig); err == nil && len(b) == sha256.Size {
		got = b
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(sig); err == nil && len(b) == sha256.Size {
				got = b
				break
			}
		}
	}
	if got == nil || !hmac.Equal(got, want) {
		return ErrBadSignature
	}
	return nil
}

// Delivery is what a webhook delivery names: its topic and the job's id,
// external id and status as the body says (used only to find the job: the
// job is re-read from Lulu before anything is done).
type Delivery struct {
	Topic      string
	JobID      string
	ExternalID string
	Status     string
	Changed    string
}

// ParseWebhook reads a delivery {"topic": …, "data": <the print job>}: a
// delivery it accepts names its topic and the job's id (Lulu's ids are
// whole numbers); any other body is an error that says what is wrong.
func ParseWebhook(body []byte) (Delivery, error) {
	var d struct {
		Topic string `json:"topic"`
		Data  job    `json:"data"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		// encoding/json's words (offsets, Go types) are no help to the sender.
		return Delivery{}, errors.New(`the body is not a Lulu webhook delivery: want a JSON object {"topic": …, "data": <the print job>}, the job's id a number and its other fields as the print-job API has them`)
	}
	if d.Topic == "" || d.Data.ID.String() == "" {
		return Delivery{}, errors.New("the delivery names no topic or no print job")
	}
	if id := d.Data.ID.String(); strings.Trim(id, "0123456789") != "" {
		return Delivery{}, fmt.Errorf("the delivery's print job id %q is not a whole number", id)
	}
	return Delivery{Topic: d.Topic, JobID: d.Data.ID.String(), ExternalID: d.Data.ExternalID, Status: d.Data.Status.Name, Changed: d.Data.Status.Changed}, nil
}
