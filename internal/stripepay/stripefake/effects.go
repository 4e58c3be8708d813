package stripefake

import (
	"fmt"
	"sort"
)

// Effects: read-only accounts of what the fake did, for tests that count
// the outside effects of an order (exactly one session, one capture, …).

// Sessions returns every Checkout Session made with client_reference_id
// ref, as Stripe shows them (the fake's private fields left out), oldest
// first.
func (s *Server) Sessions(ref string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, sess := range s.sessions {
		if sess["client_reference_id"] == ref {
			out = append(out, clone(public(sess)))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		ci, cj := fmt.Sprint(out[i]["created"]), fmt.Sprint(out[j]["created"])
		if ci != cj {
			return ci < cj
		}
		return fmt.Sprint(out[i]["id"]) < fmt.Sprint(out[j]["id"])
	})
	return out
}

// Captures returns how many captures of the PaymentIntent's charge were
// made (an Idempotency-Key replay makes none).
func (s *Server) Captures(intentID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.events {
		if e["type"] != "charge.captured" {
			continue
		}
		if obj, _ := e["data"].(map[string]any)["object"].(map[string]any); obj["payment_intent"] == intentID {
			n++
		}
	}
	return n
}
