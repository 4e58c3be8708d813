package sweep

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunIsolatesTasks(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	s := New(func() time.Time { return now })
	var seen []time.Time
	s.Add("first", func(_ context.Context, at time.Time) (string, error) {
		seen = append(seen, at)
		return "", errors.New("quickbooks down")
	})
	s.Add("second", func(_ context.Context, _ time.Time) (string, error) { panic("bug") })
	s.Add("third", func(_ context.Context, at time.Time) (string, error) {
		seen = append(seen, at)
		return "released 2 holds", nil
	})

	res := s.Run(context.Background())
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	if res[0].OK || res[0].Error != "quickbooks down" || res[1].OK || res[1].Error != "panic: bug" || !res[2].OK || res[2].Summary != "released 2 holds" {
		t.Errorf("results %+v", res)
	}
	if len(seen) != 2 || !seen[0].Equal(now) || !seen[1].Equal(now) {
		t.Errorf("every task must see the same now: %v", seen)
	}
	if got := s.Tasks(); len(got) != 3 || got[2] != "third" {
		t.Errorf("Tasks = %v", got)
	}
}
