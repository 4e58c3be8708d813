package quickbooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

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
	ErrBadPayload   = errors.New("quickbooks webhook: the payload is neither the legacy nor the CloudEvents format")
)

// VerifyWebhook checks intuit-signature: the standard base64 of
// HMAC-SHA256 over the raw body, keyed with the app's verifier token,
// compared in constant time.
func VerifyWebhook(body []byte, signature, verifierToken string) error {
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || signature == "" || verifierToken == "" {
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
// and the CloudEvents array [{"type":"qbo.invoice.updated.v1",…}].
func ParseWebhook(body []byte) ([]EntityEvent, error) {
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		var ces []struct {
			SpecVersion string `json:"specversion"`
			ID          string `json:"id"`
			Type        string `json:"type"`
			Time        string `json:"time"`
			EntityID    string `json:"intuitentityid"`
			AccountID   string `json:"intuitaccountid"`
		}
		if err := json.Unmarshal(body, &ces); err != nil || len(ces) == 0 {
			return nil, ErrBadPayload
		}
		var out []EntityEvent
		for _, ce := range ces {
			// qbo.<entity>.<operation>.v1
			parts := strings.Split(ce.Type, ".")
			if ce.SpecVersion == "" || len(parts) < 3 || parts[0] != "qbo" || ce.EntityID == "" || ce.AccountID == "" {
				return nil, ErrBadPayload
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
	if err := json.Unmarshal(body, &legacy); err != nil || len(legacy.EventNotifications) == 0 {
		return nil, ErrBadPayload
	}
	var out []EntityEvent
	for _, n := range legacy.EventNotifications {
		for _, e := range n.DataChangeEvent.Entities {
			if n.RealmID == "" || e.Name == "" || e.ID == "" {
				return nil, ErrBadPayload
			}
			out = append(out, EntityEvent{Realm: n.RealmID, Entity: e.Name, ID: e.ID, Operation: e.Operation, LastUpdated: e.LastUpdated})
		}
	}
	return out, nil
}

func titled(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
