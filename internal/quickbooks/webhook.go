package quickbooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/readyplanner/oms/internal/bookkeeping"
)

// EntityEvent is one entity change QuickBooks notified.
type EntityEvent struct {
	Realm       string
	Entity      string // Invoice, Payment, Customer, …
	ID          string
	Operation   string // Create, Update, Delete, Merge, Void, Emailed
	LastUpdated string
}

// Key identifies the event for create-if-absent recording.
func (e EntityEvent) Key() string {
	return strings.Join([]string{e.Realm, e.Entity, e.ID, e.Operation, e.LastUpdated}, ":")
}

// Events returns the events as bookkeeping records them.
func Events(es []EntityEvent) []bookkeeping.Event {
	out := make([]bookkeeping.Event, len(es))
	for i, e := range es {
		out[i] = bookkeeping.Event{Realm: e.Realm, Entity: e.Entity, ID: e.ID, Operation: e.Operation, Key: e.Key()}
	}
	return out
}

// Errors of VerifyWebhook and ParseWebhook.
var (
	ErrBadSignature = errors.New("quickbooks webhook: the intuit-signature does not match")
	ErrBadPayload   = errors.New("quickbooks webhook: the payload is not a notification Intuit sends")
)

// VerifyWebhook checks intuit-signature: the standard base64 (canonical) of
// HMAC-SHA256 over the raw body, keyed with the app's verifier token,
// compared in constant time.
func VerifyWebhook(body []byte, signature, verifierToken string) error {
	// Strict, and no line breaks inside: only the canonical encoding, so
	// that no other string than Intuit's passes (the decoder ignores a last
	// character's unused bits unless strict, and \r and \n always: found by
	// FuzzQuickBooksSignature).
	sig := strings.TrimSpace(signature)
	want, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil || sig == "" || strings.ContainsAny(sig, "\r\n") || verifierToken == "" {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(verifierToken))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), want) {
		return ErrBadSignature
	}
	return nil
}

// SignWebhook returns the intuit-signature for body (the local QuickBooks
// and tests sign with it).
func SignWebhook(body []byte, verifierToken string) string {
	mac := hmac.New(sha256.New, []byte(verifierToken))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ParseWebhook reads both payloads: the legacy {"eventNotifications":[…]}
// and the CloudEvents array [{"type":"qbo.invoice.updated.v1",…}]. Every
// event it returns names its company, entity and id; a payload that is
// neither, or an event that lacks one of those, is ErrBadPayload with what
// is wrong (the first such thing, numbered from 1).
func ParseWebhook(body []byte) ([]EntityEvent, error) {
	bad := func(format string, args ...any) ([]EntityEvent, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrBadPayload}, args...)...)
	}
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		var ces []*struct {
			SpecVersion string `json:"specversion"`
			ID          string `json:"id"`
			Type        string `json:"type"`
			Time        string `json:"time"`
			EntityID    string `json:"intuitentityid"`
			AccountID   string `json:"intuitaccountid"`
		}
		if err := json.Unmarshal(body, &ces); err != nil {
			return bad("the body is not a JSON array of CloudEvents with string attributes")
		}
		if len(ces) == 0 {
			return bad("the CloudEvents array is empty")
		}
		var out []EntityEvent
		for i, ce := range ces {
			if ce == nil {
				return bad("CloudEvent %d is null", i+1)
			}
			// qbo.<entity>.<operation>.v1
			parts := strings.Split(ce.Type, ".")
			switch {
			case ce.SpecVersion == "":
				return bad("CloudEvent %d has no specversion", i+1)
			case len(parts) < 3 || parts[0] != "qbo" || parts[1] == "" || parts[2] == "":
				return bad("CloudEvent %d has type %q, not qbo.<entity>.<operation>.v1", i+1, ce.Type)
			case ce.EntityID == "":
				return bad("CloudEvent %d has no intuitentityid", i+1)
			case ce.AccountID == "":
				return bad("CloudEvent %d has no intuitaccountid", i+1)
			}
			out = append(out, EntityEvent{Realm: ce.AccountID, Entity: titled(parts[1]), ID: ce.EntityID, Operation: titled(parts[2]), LastUpdated: ce.Time + "#" + ce.ID})
		}
		return out, nil
	}
	var legacy struct {
		EventNotifications []struct {
			RealmID         string `json:"realmId"`
			DataChangeEvent struct {
				Entities []struct {
					Name        string `json:"name"`
					ID          string `json:"id"`
					Operation   string `json:"operation"`
					LastUpdated string `json:"lastUpdated"`
				} `json:"entities"`
			} `json:"dataChangeEvent"`
		} `json:"eventNotifications"`
	}
	if err := json.Unmarshal(body, &legacy); err != nil {
		return bad(`the body is neither a CloudEvents array nor the legacy {"eventNotifications":[…]} with string fields`)
	}
	if len(legacy.EventNotifications) == 0 {
		return bad("the body has no eventNotifications")
	}
	var out []EntityEvent
	for i, n := range legacy.EventNotifications {
		if n.RealmID == "" {
			return bad("notification %d has no realmId", i+1)
		}
		if len(n.DataChangeEvent.Entities) == 0 {
			return bad("notification %d has no dataChangeEvent.entities", i+1)
		}
		for j, e := range n.DataChangeEvent.Entities {
			if e.Name == "" || e.ID == "" {
				return bad("notification %d, entity %d has no name or no id", i+1, j+1)
			}
			out = append(out, EntityEvent{Realm: n.RealmID, Entity: e.Name, ID: e.ID, Operation: e.Operation, LastUpdated: e.LastUpdated})
		}
	}
	return out, nil
}

// titled is s with its first letter upper case (whole, when it is not
// ASCII: cutting a byte off a rune would garble it).
func titled(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
