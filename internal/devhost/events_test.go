package devhost

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	h := eventHandler(func(_ context.Context, e cloudevents.Event) error {
		ev, err := docevent.Decode(e)
		got = ev
		return err
	})
	w := httptest.NewRecorder()
	emulatorEvents(h).ServeHTTP(w, emulatorDelivery())
	if w.Code != 200 || got == nil {
		t.Fatalf("status %d, event %v", w.Code, got)
	}
	if s, _ := got.New.String("state"); s != "pending" || got.Old != nil || got.DocumentID() != "x1" {
		t.Errorf("event %+v", got)
	}
}

// Concurrent deliveries to one trigger are each answered. The CloudEvents
// SDK's receive handler (which the Functions Framework uses) pairs
// requests with events through one channel shared by every request: with
// several in flight, a request's goroutine can take another's event, give
// up when its own request ends, and leave a later event waiting until some
// other delivery comes, which at the end of a burst is never. Locally the
// host takes every delivery at once, so eventHandler decodes each
// request's own event. (The SDK's handler also runs one delivery's event
// under another's context, ended when that other is answered.)
func TestConcurrentDeliveriesAreEachAnswered(t *testing.T) {
	var n atomic.Int64
	// Each function runs for its own delivery, under that delivery's
	// context (which ends when its answer is written).
	h := emulatorEvents(eventHandler(func(ctx context.Context, e cloudevents.Event) error {
		time.Sleep(time.Duration(rand.N(30)) * time.Millisecond)
		n.Add(1)
		return ctx.Err()
	}))
	srv := httptest.NewServer(h)
	defer func() {
		if !t.Failed() { // Close waits for every handler: not for one that hangs
			srv.Close()
		}
	}()
	const deliveries = 200
	var wg sync.WaitGroup
	errs := make(chan error, deliveries)
	for i := range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := emulatorDelivery()
			req, _ := http.NewRequest("POST", srv.URL+r.URL.Path, r.Body)
			req.Header = r.Header.Clone()
			req.Header.Set("ce-id", fmt.Sprintf("event-%d", i))
			c := &http.Client{Timeout: 10 * time.Second}
			resp, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("delivery %d: %s", i, resp.Status)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n.Load() != deliveries {
		t.Errorf("the function ran %d times for %d deliveries", n.Load(), deliveries)
	}
}

// A delivery the function fails is answered 500 (the sender retries); one
// that is not a CloudEvent, 400.
func TestEventHandlerAnswers(t *testing.T) {
	fail := eventHandler(func(context.Context, cloudevents.Event) error { return fmt.Errorf("transient") })
	w := httptest.NewRecorder()
	emulatorEvents(fail).ServeHTTP(w, emulatorDelivery())
	if w.Code != 500 {
		t.Errorf("a failed function: %d", w.Code)
	}
	w = httptest.NewRecorder()
	fail.ServeHTTP(w, httptest.NewRequest("POST", "/x", strings.NewReader("{}")))
	if w.Code != 400 {
		t.Errorf("not a CloudEvent: %d %s", w.Code, w.Body)
	}
}
