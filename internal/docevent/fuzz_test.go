package docevent

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// FuzzDocEvent decodes any Firestore CloudEvent (data raw or as the
// emulator's base64, any type, subject and document extension) as a
// trigger does. A refusal names the event and says what is wrong; an
// accepted event is a Firestore document event about a document, with at
// least one of its old and new documents, whose data re-encodes to the
// same documents (encode → decode → encode gives the same bytes) and
// reads without failing.
func FuzzDocEvent(f *testing.F) {
	f.Add(EncodeData(nil, sampleDoc(), nil), TypeWritten, "documents/orders/o1", "orders/o1", false)
	f.Fuzz(func(t *testing.T, data []byte, typ, subject, document string, asBase64 bool) {
		if asBase64 {
			data = []byte(base64.StdEncoding.EncodeToString(data))
		}
		ce := cloudevents.NewEvent()
		ce.SetID("ev-fuzz")
		ce.SetType(typ)
		ce.SetSource("//firestore.googleapis.com/projects/demo-oms/databases/(default)")
		ce.SetSubject(subject)
		if document != "" {
			ce.SetExtension("document", document)
		}
		ce.SetExtension("database", "(default)")
		if err := ce.SetData("application/protobuf", data); err != nil {
			t.Fatal(err)
		}
		ev, err := Decode(ce)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "docevent: event ev-fuzz") || strings.TrimSpace(strings.TrimPrefix(msg, "docevent: event ev-fuzz")) == "" {
				t.Fatalf("the refusal does not name the event or say what is wrong: %q", msg)
			}
			if strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "malformed protobuf") {
				t.Fatalf("protowire's words without what was being read: %q", err)
			}
			return
		}
		if !strings.HasPrefix(ev.Type, "google.cloud.firestore.document.v1.") || ev.Document == "" || ev.Old == nil && ev.New == nil {
			t.Fatalf("accepted event %+v", ev)
		}
		_ = ev.DocumentID()
		once := EncodeData(ev.Old, ev.New, ev.UpdateMask)
		old, cur, mask, err := DecodeData(once)
		if err != nil {
			t.Fatalf("the decoded documents do not decode again: %v", err)
		}
		if twice := EncodeData(old, cur, mask); !bytes.Equal(once, twice) {
			t.Fatalf("the decoded documents change when encoded again:\n%x\n%x", once, twice)
		}
		for _, d := range []*Document{ev.Old, ev.New} {
			_ = d.Data()
			_, _ = d.String("state")
			_, _ = d.Int("payment.amount")
		}
	})
}
