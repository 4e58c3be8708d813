package qbfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/quickbooks"
)

// Webhook payload formats (reference/quickbooks.md, "Webhooks").
const (
	Legacy      = "legacy"      // {"eventNotifications":[…]}
	CloudEvents = "cloudevents" // [{"specversion":"1.0","type":"qbo.invoice.updated.v1",…}]
)

// change is one entity change to notify.
type change struct {
	entity, id, operation string
	at                    time.Time
}

// Delivery is one webhook POST the local QuickBooks made.
type Delivery struct {
	Body   []byte
	Status int // 0 when the request itself failed
	At     time.Time
}

// notifier delivers the company's changes to the configured endpoint,
// signed with the verifier token, one delivery per change set, in order:
// a failed delivery is retried (after RetryDelays, then every last delay)
// and later ones wait behind it, as Intuit's do.
type notifier struct {
	mu         sync.Mutex
	endpoint   string
	format     string
	queue      [][]change
	deliveries []Delivery
	delays     []time.Duration
	wake       chan struct{}
	done       chan struct{}
	wg         sync.WaitGroup
}

// SetWebhook makes the local QuickBooks POST signed webhooks to endpoint in
// format (Legacy or CloudEvents) whenever an invoice or payment changes.
// The first call starts the deliverer; later calls change the endpoint or
// format. An empty endpoint stops notifying.
func (s *Server) SetWebhook(endpoint, format string) {
	n := s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	n.endpoint, n.format = endpoint, format
	if n.wake == nil && endpoint != "" {
		n.wake, n.done = make(chan struct{}, 1), make(chan struct{})
		n.wg.Add(1)
		go s.deliver()
	}
}

// SetRetryDelays sets the waits between attempts of a failed delivery
// (Intuit's are 10 s, 20 s, 30 s, 5 min, …; the default here is 50 ms,
// 100 ms, 200 ms, 1 s, then every second).
func (s *Server) SetRetryDelays(d ...time.Duration) {
	s.notify.mu.Lock()
	s.notify.delays = d
	s.notify.mu.Unlock()
}

// Deliveries returns every webhook POST made so far, in order.
func (s *Server) Deliveries() []Delivery {
	s.notify.mu.Lock()
	defer s.notify.mu.Unlock()
	return append([]Delivery(nil), s.notify.deliveries...)
}

// Pending is how many change sets wait to be delivered.
func (s *Server) Pending() int {
	s.notify.mu.Lock()
	defer s.notify.mu.Unlock()
	return len(s.notify.queue)
}

// emit queues a change set (called with s.mu held; takes only notify.mu).
func (s *Server) emit(cs ...change) {
	n := s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.endpoint == "" {
		return
	}
	n.queue = append(n.queue, cs)
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) stop() {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done != nil {
		close(done)
		n.wg.Wait()
	}
}

func (s *Server) deliver() {
	n := s.notify
	defer n.wg.Done()
	hc := &http.Client{Timeout: 10 * time.Second}
	attempt := 0
	for {
		n.mu.Lock()
		var next []change
		if len(n.queue) > 0 {
			next = n.queue[0]
		}
		endpoint, format, delays := n.endpoint, n.format, n.delays
		n.mu.Unlock()
		if next == nil || endpoint == "" {
			select {
			case <-n.wake:
				continue
			case <-n.done:
				return
			}
		}
		body := s.payload(format, next)
		status := 0
		req, _ := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("intuit-signature", quickbooks.SignWebhook(body, s.VerifierToken))
		if resp, err := hc.Do(req); err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		n.mu.Lock()
		n.deliveries = append(n.deliveries, Delivery{Body: body, Status: status, At: time.Now()})
		ok := status >= 200 && status < 300
		if ok {
			n.queue = n.queue[1:]
		}
		n.mu.Unlock()
		if ok {
			attempt = 0
			continue
		}
		if len(delays) == 0 {
			delays = []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, time.Second}
		}
		wait := delays[min(attempt, len(delays)-1)]
		attempt++
		select {
		case <-time.After(wait):
		case <-n.done:
			return
		}
	}
}

// payload renders a change set in format, as Intuit would.
func (s *Server) payload(format string, cs []change) []byte {
	if format == CloudEvents {
		var out []map[string]any
		for _, c := range cs {
			out = append(out, map[string]any{"specversion": "1.0", "id": token(16), "source": "intuit.local", "type": "qbo." + strings.ToLower(c.entity) + "." + pastTense(c.operation) + ".v1",
				"datacontenttype": "application/json", "time": c.at.UTC().Format(time.RFC3339Nano), "intuitentityid": c.id, "intuitaccountid": Realm, "data": map[string]any{}})
		}
		b, _ := json.Marshal(out)
		return b
	}
	var entities []map[string]any
	for _, c := range cs {
		entities = append(entities, map[string]any{"name": c.entity, "id": c.id, "operation": c.operation, "lastUpdated": c.at.UTC().Format("2006-01-02T15:04:05.000Z")})
	}
	b, _ := json.Marshal(map[string]any{"eventNotifications": []any{map[string]any{"realmId": Realm, "dataChangeEvent": map[string]any{"entities": entities}}}})
	return b
}

// pastTense maps a legacy operation to the CloudEvents type's verb.
func pastTense(op string) string {
	switch op {
	case "Create":
		return "created"
	case "Update":
		return "updated"
	case "Delete":
		return "deleted"
	case "Void":
		return "voided"
	case "Merge":
		return "merged"
	case "Emailed":
		return "emailed"
	}
	return strings.ToLower(op)
}
