package quickbooks

import (
	"errors"
	"testing"
)

func TestWebhookSignatureAndPayloads(t *testing.T) {
	legacy := []byte(`{"eventNotifications":[{"realmId":"9130350000000001","dataChangeEvent":{"entities":[{"name":"Invoice","id":"1234","operation":"Update","lastUpdated":"2026-11-25T10:00:00.000Z"},{"name":"Payment","id":"88","operation":"Create","lastUpdated":"2026-11-25T10:00:01.000Z"}]}}]}`)
	sig := SignWebhook(legacy, "verifier")
	if err := VerifyWebhook(legacy, sig, "verifier"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]string{"missing": {"", "verifier"}, "wrong key": {sig, "other"}, "not base64": {"!!!", "verifier"}, "no verifier": {sig, ""}} {
		if err := VerifyWebhook(legacy, c[0], c[1]); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := VerifyWebhook(append(legacy, ' '), sig, "verifier"); !errors.Is(err, ErrBadSignature) {
		t.Error("a changed body must fail")
	}
	evs, err := ParseWebhook(legacy)
	if err != nil || len(evs) != 2 || evs[0] != (EntityEvent{"9130350000000001", "Invoice", "1234", "Update", "2026-11-25T10:00:00.000Z"}) {
		t.Fatalf("legacy: %+v %v", evs, err)
	}
	ce := []byte(`[{"specversion":"1.0","id":"e1","source":"intuit.com","type":"qbo.invoice.updated.v1","time":"2026-11-25T10:00:00Z","intuitentityid":"1234","intuitaccountid":"9130350000000001","data":{}}]`)
	evs, err = ParseWebhook(ce)
	if err != nil || len(evs) != 1 || evs[0].Entity != "Invoice" || evs[0].Operation != "Updated" || evs[0].ID != "1234" || evs[0].Realm != "9130350000000001" {
		t.Fatalf("cloudevents: %+v %v", evs, err)
	}
	for name, body := range map[string]string{"empty": ``, "object": `{}`, "no entities": `{"eventNotifications":[]}`, "bad ce": `[{"type":"x"}]`, "not json": `nope`} {
		if _, err := ParseWebhook([]byte(body)); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
