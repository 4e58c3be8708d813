package order

import (
	"testing"
	"time"
)

func TestWorkFollowsEntries(t *testing.T) {
	o := at(t, Authorized)
	if o.Work.State != Authorized || o.Work.Complete || !o.WorkDue() {
		t.Fatalf("restored into authorized: work %+v", o.Work)
	}
	entry := o.Work.Entry
	all := []string{"createInvoice"}
	if !o.RecordStep(Authorized, entry, "createInvoice", "", all, t0) || !o.Work.Complete || o.WorkDue() {
		t.Fatalf("after its only step: %+v", o.Work)
	}
	if o.RecordStep(Authorized, entry, "createInvoice", "", all, t0) {
		t.Error("recording twice changed something")
	}
	// Leaving and entering again starts a new entry; the old entry's late
	// record touches nothing.
	must := func(m Move) {
		if _, err := o.Transition(m, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	must(Move{To: NeedsAttention, Reason: "r"})
	must(Move{To: Authorized})
	if o.Work.State != Authorized || o.Work.Entry == entry || o.Work.Complete {
		t.Fatalf("re-entered: %+v", o.Work)
	}
	if o.RecordStep(Authorized, entry, "createInvoice", "", all, t0) || o.Work.Complete {
		t.Error("a late record of the earlier entry marked the new one")
	}
	// A failure for good finishes the step too.
	if !o.RecordStep(Authorized, o.Work.Entry, "createInvoice", "boom", all, t0) || !o.Work.Complete || len(o.Work.Failed) != 1 {
		t.Errorf("failure: %+v", o.Work)
	}
}

func TestEntryWithoutSteps(t *testing.T) {
	o, _ := New("o2", "u1", "USD", t0)
	// Pending has no steps: a new order's work is complete already, and
	// completing it again changes nothing (nothing to write).
	if o.Work.State != Pending || !o.Work.Complete || o.WorkDue() || o.CompleteEntry(Pending, o.Work.Entry) {
		t.Fatalf("new order: %+v", o.Work)
	}
	o.Work.Complete = false // an entry of a state without steps, as entered
	if !o.CompleteEntry(Pending, o.Work.Entry) || o.CompleteEntry(Pending, o.Work.Entry) || o.WorkDue() {
		t.Errorf("complete: %+v", o.Work)
	}
}
