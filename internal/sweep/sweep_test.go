package sweep

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRunIsolatesTasks(t *testing.T) {
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	var seen []time.Time
	s, err := New(func() time.Time { return now },
		map[string]TaskFunc{"first": func(_ context.Context, at time.Time) (string, error) {
			seen = append(seen, at)
			return "", errors.New("quickbooks down")
		}},
		map[string]TaskFunc{
			"third": func(_ context.Context, at time.Time) (string, error) {
				seen = append(seen, at)
				return "released 2 holds", nil
			},
			"second": func(_ context.Context, _ time.Time) (string, error) { panic("bug") },
		})
	if err != nil {
		t.Fatal(err)
	}

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

// A task given twice, with no name or nil is an error at start-up: no
// task silently replaces or hides another.
func TestNewRefusesWiringMistakes(t *testing.T) {
	ok := func(context.Context, time.Time) (string, error) { return "", nil }
	for _, tc := range []struct {
		name  string
		tasks []map[string]TaskFunc
		want  string
	}{
		{"duplicate", []map[string]TaskFunc{{"expireHolds": ok}, {"alertLowStock": ok, "expireHolds": ok}}, "task expireHolds is given twice (again in group 2)"},
		{"nil", []map[string]TaskFunc{{"expireHolds": nil}}, "task expireHolds (group 1) is nil"},
		{"no name", []map[string]TaskFunc{{"a": ok}, {"": ok}}, "group 2 has a task with no name"},
	} {
		s, err := New(nil, tc.tasks...)
		if s != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, %v; want an error with %q", tc.name, s, err, tc.want)
		}
	}
	if s, err := New(nil); err != nil || len(s.Tasks()) != 0 {
		t.Errorf("no tasks: %v, %v", s, err)
	}
	s, _ := New(nil, map[string]TaskFunc{"expireHolds": ok})
	if fn, err := s.Task("expireHolds"); fn == nil || err != nil {
		t.Errorf("a task registered: %v", err)
	}
	if fn, err := s.Task("expireHold"); fn != nil || err == nil || !strings.Contains(err.Error(), "expireHolds") {
		t.Errorf("a task nobody registered: %v", err)
	}
}
