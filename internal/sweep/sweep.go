// Package sweep runs the sweeper's tasks: the scheduled job that catches what
// events cannot (expired holds, lapsing authorizations, orders whose event
// was lost). Each task runs even if another fails.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/logging"
)

// TaskFunc does one task's work as of now and says what it did.
type TaskFunc func(ctx context.Context, now time.Time) (summary string, err error)

// Sweeper holds the registered tasks.
type Sweeper struct {
	tasks []task
	now   func() time.Time
}

type task struct {
	name string
	fn   TaskFunc
}

// New returns a sweeper with every task of tasks: the groups (each
// capability's Tasks()) in the order given, each group's tasks by name.
// now is the clock (time.Now if nil). A task name given twice, an empty
// name and a nil task are errors: nothing is overwritten or skipped.
func New(now func() time.Time, tasks ...map[string]TaskFunc) (*Sweeper, error) {
	if now == nil {
		now = time.Now
	}
	s := &Sweeper{now: now}
	var errs []error
	for i, group := range tasks {
		for _, name := range slices.Sorted(maps.Keys(group)) {
			switch {
			case name == "":
				errs = append(errs, fmt.Errorf("group %d has a task with no name", i+1))
			case group[name] == nil:
				errs = append(errs, fmt.Errorf("task %s (group %d) is nil", name, i+1))
			case slices.Contains(s.Tasks(), name):
				errs = append(errs, fmt.Errorf("task %s is given twice (again in group %d)", name, i+1))
			default:
				s.tasks = append(s.tasks, task{name, group[name]})
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sweep: %w", errors.Join(errs...))
	}
	return s, nil
}

// Tasks returns the task names.
func (s *Sweeper) Tasks() []string {
	names := make([]string, len(s.tasks))
	for i, t := range s.tasks {
		names[i] = t.name
	}
	return names
}

// Task returns the task registered as name, to run one task at a chosen
// time; a name nobody registered is an error, never a task that does
// nothing.
func (s *Sweeper) Task(name string) (TaskFunc, error) {
	for _, t := range s.tasks {
		if t.name == name {
			return t.fn, nil
		}
	}
	return nil, fmt.Errorf("sweep: no task %q (the tasks: %s)", name, strings.Join(s.Tasks(), ", "))
}

// Result is one task's outcome.
type Result struct {
	Task    string `json:"task"`
	OK      bool   `json:"ok"`
	Summary string `json:"summary,omitempty"`
	Error   string `json:"error,omitempty"`
	Millis  int64  `json:"ms"`
}

// Run runs every task with the same "now" and reports each; a panic in one
// task is its failure, not the sweep's.
func (s *Sweeper) Run(ctx context.Context) []Result {
	now := s.now()
	log := logging.FromContext(ctx)
	results := make([]Result, 0, len(s.tasks))
	for _, t := range s.tasks {
		start := time.Now()
		summary, err := runOne(ctx, t.fn, now)
		r := Result{Task: t.name, OK: err == nil, Summary: summary, Millis: time.Since(start).Milliseconds()}
		if err != nil {
			r.Error = err.Error()
			log.Error().Err(err).Str("task", t.name).Msg("sweep task failed")
		} else {
			log.Info().Str("task", t.name).Str("summary", summary).Msg("sweep task done")
		}
		results = append(results, r)
	}
	return results
}

func runOne(ctx context.Context, fn TaskFunc, now time.Time) (summary string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx, now)
}
