package order

import (
	"slices"
	"time"
)

// Work is what the order flow still has to do for the order's current state
// entry: every step registered for the state it entered, each recorded here
// when it succeeds (or fails for good), so that a crash anywhere between a
// transition and its steps leaves a record the sweeper finds.
//
// A transition starts a new Work for the state entered. Entry tells two
// entries of the same state apart (needs_attention → authorized →
// needs_attention), so that a slow step of an earlier entry never marks
// the later one done.
type Work struct {
	State    State
	Entry    int // the history's length when the state was entered
	Done     []string
	Failed   []StepFailure
	Complete bool // every step of the entry succeeded or failed for good
	// Wake grows when work is added without a transition (a stray
	// authorization to release): the order trigger wakes on it.
	Wake int64
}

// StepFailure is a step that failed for good in a state that cannot move
// to needs_attention (expired, canceled, shipped): the owner was alerted.
type StepFailure struct {
	Step   string
	Reason string
	At     time.Time
}

// Finished reports whether the step succeeded or failed for good in the
// current entry.
func (w Work) Finished(step string) bool {
	return slices.Contains(w.Done, step) || slices.ContainsFunc(w.Failed, func(f StepFailure) bool { return f.Step == step })
}

// WorkDue reports whether the order flow still has something to do for the
// order: a step of its current state entry, a stray authorization to
// release, a refund to make, re-read, its tax settled or recorded, the
// paid sale's tax to record at the provider, a canceled order's
// invoice to void, or a label purchase to settle or a label to void. The
// sweeper re-drives orders for which it stays true.
func (o *Order) WorkDue() bool {
	return !o.Work.Complete || len(o.OpenStrays()) > 0 || o.RefundsDue() || o.TaxToRecord() || o.InvoiceVoidDue() || o.LabelWorkDue()
}

// RecordStep records that step (one of all, the steps of the state) ended
// for the entry (state, entry): done when failure is "", failed for good
// otherwise. An entry the order has left is not touched (the step's own
// transition proved it done). It reports whether anything changed.
func (o *Order) RecordStep(state State, entry int, step, failure string, all []string, at time.Time) bool {
	w := &o.Work
	if w.State != state || w.Entry != entry {
		return false
	}
	changed := false
	if !w.Finished(step) {
		if failure == "" {
			w.Done = append(w.Done, step)
		} else {
			w.Failed = append(w.Failed, StepFailure{Step: step, Reason: failure, At: at})
		}
		changed = true
	}
	if !w.Complete && !slices.ContainsFunc(all, func(s string) bool { return !w.Finished(s) }) {
		w.Complete = true
		changed = true
	}
	return changed
}

// CompleteEntry marks the work of an entry that has no steps complete. It
// reports whether that changed anything.
func (o *Order) CompleteEntry(state State, entry int) bool {
	w := &o.Work
	if w.State != state || w.Entry != entry || w.Complete {
		return false
	}
	w.Complete = true
	return true
}
