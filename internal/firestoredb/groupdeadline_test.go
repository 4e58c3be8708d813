package firestoredb

import (
	"testing"
	"time"
)

// A group gives up when the last of its callers does, never later than
// groupTimeout; a caller without a deadline keeps it to groupTimeout.
func TestGroupDeadline(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w := func(after time.Duration) *waitingCheckout {
		if after == 0 {
			return &waitingCheckout{}
		}
		return &waitingCheckout{deadline: now.Add(after)}
	}
	for _, c := range []struct {
		name  string
		group []*waitingCheckout
		want  time.Duration
	}{
		{"one caller", []*waitingCheckout{w(4 * time.Second)}, 4 * time.Second},
		{"the last caller's", []*waitingCheckout{w(4 * time.Second), w(9 * time.Second), w(2 * time.Second)}, 9 * time.Second},
		{"a caller without a deadline", []*waitingCheckout{w(4 * time.Second), w(0)}, groupTimeout},
		{"capped", []*waitingCheckout{w(10 * time.Minute)}, groupTimeout},
	} {
		if got := groupDeadline(c.group, now).Sub(now); got != c.want {
			t.Errorf("%s: gives up after %v, want %v", c.name, got, c.want)
		}
	}
}
