package devhost

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/docevent"
)

// A delivery exactly as the Firestore emulator (google-cloud-cli 528) sent
// it for a new orders/x1 {state: "pending"}.
func emulatorDelivery() *http.Request {
	r := httptest.NewRequest("POST", "/functions/projects/demo-oms/triggers/onOrderWritten",
		strings.NewReader("CmwKOXByb2plY3RzL2RlbW8tb21zL2RhdGFiYXNlcy8oZGVmYXVsdCkvZG9jdW1lbnRzL29yZGVycy94MRITCgVzdGF0ZRIKigEHcGVuZGluZxoMCI2SnNgGENj5hrkBIgwIjZKc2AYQ2PmGuQEaAA=="))
	for k, v := range map[string]string{
		"ce-specversion": "1.0", "ce-type": "google.cloud.firestore.document.v1.written",
		"ce-source": "//firestore.googleapis.com/projects/projects/demo-oms/databases/(default)",
		"ce-id":     "e07b4e9c-0d01-4bf8-b90e-126b4f336283", "ce-subject": "documents/orders/x1", "ce-time": "2026-11-25T16:13:01Z",
		"ce-datacontenttype": "application/protobuf",
		"ce-dataschema":      "https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/firestore/v1/data.proto",
		"ce-location":        "us-central1", "ce-project": "demo-oms", "ce-database": "(default)", "ce-namespace": "(default)",
		"ce-document": "orders/x1", "Content-Type": "application/protobuf",
	} {
		r.Header.Set(k, v)
	}
	return r
}

func TestEmulatorDeliveryReachesTheFunction(t *testing.T) {
	var got *docevent.Event
	p, _ := cloudevents.NewHTTP()
	ceh, _ := cloudevents.NewHTTPReceiveHandler(context.Background(), p, func(_ context.Context, e cloudevents.Event) error {
		ev, err := docevent.Decode(e)
		got = ev
		return err
	})
	w := httptest.NewRecorder()
	emulatorEvents(ceh).ServeHTTP(w, emulatorDelivery())
	if w.Code != 200 || got == nil {
		t.Fatalf("status %d, event %v", w.Code, got)
	}
	if s, _ := got.New.String("state"); s != "pending" || got.Old != nil || got.DocumentID() != "x1" {
		t.Errorf("event %+v", got)
	}
}
