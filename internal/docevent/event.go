// Package docevent decodes Firestore document CloudEvents
// (google.cloud.firestore.document.v1.*) into the old and new documents with
// typed field access, for trigger handlers.
//
// The data is protobuf DocumentEventData. Production sends its raw bytes; the
// Firestore emulator sends the same bytes as base64 text. Decode accepts both.
package docevent

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// Event types Firestore sends to gen2 functions.
const (
	TypeCreated = "google.cloud.firestore.document.v1.created"
	TypeUpdated = "google.cloud.firestore.document.v1.updated"
	TypeDeleted = "google.cloud.firestore.document.v1.deleted"
	TypeWritten = "google.cloud.firestore.document.v1.written"
)

// Event is a decoded Firestore document event. Old is nil on create, New is
// nil on delete.
type Event struct {
	ID         string // the CloudEvent id: unique per delivery attempt's event, stable across retries
	Type       string
	Source     string
	Subject    string // "documents/orders/o1"
	Document   string // "orders/o1"
	Database   string
	Namespace  string
	Time       time.Time
	Old, New   *Document
	UpdateMask []string // changed field paths, when the sender fills them (the emulator does not)
}

// DocumentID returns the id of the document the event is about.
func (e *Event) DocumentID() string {
	return e.Document[strings.LastIndex(e.Document, "/")+1:]
}

// Decode decodes a CloudEvent from a Firestore trigger.
func Decode(ce cloudevents.Event) (*Event, error) {
	if !strings.HasPrefix(ce.Type(), "google.cloud.firestore.document.v1.") {
		return nil, fmt.Errorf("docevent: event %s has type %q, not a Firestore document event", ce.ID(), ce.Type())
	}
	old, cur, mask, err := DecodeData(ce.Data())
	if err != nil {
		return nil, fmt.Errorf("docevent: event %s: %w", ce.ID(), err)
	}
	ext := func(name string) string {
		if v, ok := ce.Extensions()[name]; ok {
			return fmt.Sprint(v)
		}
		return ""
	}
	ev := &Event{
		ID: ce.ID(), Type: ce.Type(), Source: ce.Source(), Subject: ce.Subject(), Time: ce.Time(),
		Document: ext("document"), Database: ext("database"), Namespace: ext("namespace"),
		Old: old, New: cur, UpdateMask: mask,
	}
	if ev.Document == "" {
		ev.Document = strings.TrimPrefix(ev.Subject, "documents/")
	}
	if ev.Document == "" {
		if d := cur; d != nil {
			ev.Document = d.Path()
		} else if old != nil {
			ev.Document = old.Path()
		}
	}
	if ev.Document == "" {
		return nil, fmt.Errorf("docevent: event %s names no document", ce.ID())
	}
	return ev, nil
}

// DecodeData decodes DocumentEventData from raw protobuf bytes or from their
// base64 text (what the Firestore emulator sends).
func DecodeData(data []byte) (old, cur *Document, mask []string, err error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, nil, fmt.Errorf("empty event data")
	}
	if looksBase64(data) {
		raw, derr := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
		if derr == nil {
			data = raw
		}
	}
	old, cur, mask, err = decodeEventData(data)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("decode DocumentEventData: %w", err)
	}
	if old == nil && cur == nil {
		return nil, nil, nil, fmt.Errorf("decode DocumentEventData: neither value nor old_value is set")
	}
	return old, cur, mask, nil
}

// looksBase64 reports whether every byte is in the standard base64 alphabet.
// Raw DocumentEventData always starts with a tag byte (0x0a, 0x12 or 0x1a)
// that is outside it, so the two cannot be confused.
func looksBase64(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b)%4 != 0 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}
