package orderflow_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/order"
	. "github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

type recorder struct {
	mu  sync.Mutex
	got []Transition
	err error // what the step returns
}

func (r *recorder) step(_ context.Context, t Transition) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, t)
	return r.err
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// event builds the change the trigger would hand over for a change of an
// order's state from `from` to `to` ("" for no document).
func event(id, from, to string) Change {
	return Change{OrderID: id, EventID: testenv.ID("ev"), From: order.State(from), To: order.State(to), Deleted: to == ""}
}

func setup(t *testing.T, state order.State) (*firestoredb.Orders, *Dispatcher, *recorder, string) {
	t.Helper()
	env := testenv.Firestore(t)
	store := firestoredb.NewOrders(env.Client, nil)
	o, err := order.New(testenv.ID("o"), "u1", "USD", time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	o, _ = order.Restore(*o, state, o.History())
	o.Work = order.Work{State: state, Entry: 1}
	if err := store.Create(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	d := New(store, nil, nil)
	d.On(order.Approved, "capture", rec.step)
	return store, d, rec, o.ID
}

func TestStepRunsOnEntering(t *testing.T) {
	t.Parallel()
	_, d, rec, id := setup(t, order.Approved)
	if err := d.HandleEvent(context.Background(), event(id, "invoiced", "approved")); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 || rec.got[0].From != order.Invoiced || rec.got[0].Order.ID != id {
		t.Fatalf("steps ran %+v", rec.got)
	}
}

func TestNoStepWithoutStateChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, d, rec, id := setup(t, order.Approved)
	for name, ev := range map[string]Change{
		"same state":    event(id, "approved", "approved"),
		"deleted":       event(id, "approved", ""),
		"unknown state": event(id, "invoiced", "teleported"),
		"other order":   event(testenv.ID("missing"), "invoiced", "approved"),
	} {
		if err := d.HandleEvent(ctx, ev); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if rec.count() != 0 {
		t.Errorf("steps ran %d times", rec.count())
	}
}

func TestStaleEventDoesNotAct(t *testing.T) {
	t.Parallel()
	_, d, rec, id := setup(t, order.Paid) // the order moved on after approved
	if err := d.HandleEvent(context.Background(), event(id, "invoiced", "approved")); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 0 {
		t.Errorf("a stale event ran %d steps", rec.count())
	}
}

func TestTransientFailureIsRetried(t *testing.T) {
	t.Parallel()
	store, d, rec, id := setup(t, order.Approved)
	rec.err = apperr.New(apperr.Unavailable, "Stripe is down")
	if err := d.HandleEvent(context.Background(), event(id, "invoiced", "approved")); err == nil {
		t.Fatal("a transient failure must return an error so that the platform retries")
	}
	if o, _ := store.Get(context.Background(), id); o.State() != order.Approved {
		t.Errorf("state %s", o.State())
	}
}

func TestPermanentFailureNeedsAttention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, d, rec, id := setup(t, order.Approved)
	rec.err = apperr.New(apperr.FailedPrecondition, "card declined")
	if err := d.HandleEvent(ctx, event(id, "invoiced", "approved")); err != nil {
		t.Fatalf("a permanent failure must not be retried: %v", err)
	}
	o, _ := store.Get(ctx, id)
	if o.State() != order.NeedsAttention || o.Attention != "step capture failed: card declined" {
		t.Fatalf("state %s, attention %q", o.State(), o.Attention)
	}
	// The same event delivered again: the order is no longer approved, so
	// nothing runs and nothing fails.
	if err := d.HandleEvent(ctx, event(id, "invoiced", "approved")); err != nil || rec.count() != 1 {
		t.Errorf("duplicate delivery: err %v, steps %d", err, rec.count())
	}
}

func TestRedriveAndSkeleton(t *testing.T) {
	t.Parallel()
	store, d, rec, id := setup(t, order.Approved)
	o, _ := store.Get(context.Background(), id)
	if err := d.Redrive(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 || !rec.got[0].Redrive {
		t.Errorf("re-drive %+v", rec.got)
	}
	// Done is recorded: a second re-drive runs nothing, and no work is due.
	o, _ = store.Get(context.Background(), id)
	if err := d.Redrive(context.Background(), o); err != nil || rec.count() != 1 || o.WorkDue() || !o.Work.Complete {
		t.Errorf("second re-drive: %v, %d runs, work %+v", err, rec.count(), o.Work)
	}
	sk := New(store, nil, nil)
	if err := Register(sk, stubSteps()); err != nil {
		t.Fatal(err)
	}
	if got := sk.StepNames(order.Canceled); len(got) != 6 {
		t.Errorf("canceled steps %v", got)
	}
	if got := sk.StepNames(order.Shipped); len(got) != 2 || got[0] != StepCommitStock {
		t.Errorf("shipped steps %v", got)
	}
	if len(sk.States()) != 10 { // every state but pending
		t.Errorf("states with steps: %v", sk.States())
	}
}

// A step that fails for good in a terminal state (where needs_attention is
// not allowed) must not stop the other steps, and must not be dropped.
func TestPermanentFailureInATerminalState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, d, rec, id := setup(t, order.Canceled)
	failing := &recorder{err: apperr.New(apperr.FailedPrecondition, "the invoice cannot be voided")}
	d.On(order.Canceled, "voidInvoice", failing.step)
	d.On(order.Canceled, "releaseHolds", rec.step)
	told := 0
	d.Failed = func(_ context.Context, o *order.Order, step, reason string) error {
		told++
		return nil
	}
	if err := d.HandleEvent(ctx, event(id, "authorized", "canceled")); err != nil {
		t.Fatalf("a permanent failure must not be retried: %v", err)
	}
	if failing.count() != 1 || rec.count() != 1 {
		t.Errorf("the failing step ran %d times, the step after it %d times", failing.count(), rec.count())
	}
	o, _ := store.Get(ctx, id)
	if o.State() != order.Canceled || !o.Work.Complete || len(o.Work.Failed) != 1 || o.Work.Failed[0].Step != "voidInvoice" ||
		o.Work.Failed[0].Reason != "step voidInvoice failed: the invoice cannot be voided" || len(o.Work.Done) != 1 || told != 1 {
		t.Errorf("state %s, work %+v, owner told %d times", o.State(), o.Work, told)
	}
	// The owner is told once: the failure is reported to the hook, and a
	// re-drive runs nothing again.
	if err := d.Redrive(ctx, o); err != nil || failing.count() != 1 || rec.count() != 1 || told != 1 {
		t.Errorf("re-drive after the failure: %v, %d, %d", err, failing.count(), rec.count())
	}
}

// INTERNAL (a bug, or an error nothing classified) is not retried forever:
// it is a permanent failure, and its text stays in the log, off the order
// (which its customer may read).
func TestInternalErrorIsNotRetriedForever(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, d, rec, id := setup(t, order.Approved)
	rec.err = errors.New("nil pointer somewhere: secret=hunter2")
	if err := d.HandleEvent(ctx, event(id, "invoiced", "approved")); err != nil {
		t.Fatalf("an INTERNAL failure must not be retried: %v", err)
	}
	o, _ := store.Get(ctx, id)
	if o.State() != order.NeedsAttention || o.Attention != "step capture failed: an unexpected error (details in the log)" {
		t.Errorf("state %s, attention %q", o.State(), o.Attention)
	}
}

// A transient failure leaves the step due (not recorded done), and the
// other steps of the state still run.
func TestTransientFailureLeavesTheStepDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, d, rec, id := setup(t, order.Canceled)
	down := &recorder{err: apperr.New(apperr.Unavailable, "Stripe is down")}
	d.On(order.Canceled, "cancelPayment", down.step)
	d.On(order.Canceled, "releaseHolds", rec.step)
	if err := d.HandleEvent(ctx, event(id, "authorized", "canceled")); err == nil {
		t.Fatal("a transient failure must return an error")
	}
	o, _ := store.Get(ctx, id)
	if rec.count() != 1 || !o.WorkDue() || o.Work.Complete || len(o.Work.Done) != 1 || o.Work.Done[0] != "releaseHolds" {
		t.Errorf("steps after a transient failure: %d, work %+v", rec.count(), o.Work)
	}
	down.mu.Lock()
	down.err = nil
	down.mu.Unlock()
	if err := d.Redrive(ctx, o); err != nil {
		t.Fatal(err)
	}
	o, _ = store.Get(ctx, id)
	if down.count() != 2 || rec.count() != 1 || o.WorkDue() {
		t.Errorf("re-drive: cancel ran %d, release ran %d, work %+v", down.count(), rec.count(), o.Work)
	}
}

// A write that changes the state and adds work for every state at once
// (the owner's cancel of a charged order, with its refund) runs the
// state's steps and then the any-state steps; the wake alone runs only
// the any-state steps.
func TestTransitionWithWakeRunsBoth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, d, rec, id := setup(t, order.Approved)
	anyRec := &recorder{}
	d.OnAny("refund", anyRec.step)
	woken := func(c Change, oldWake, newWake int64) Change {
		c.OldWake, c.NewWake = oldWake, newWake
		return c
	}
	if err := d.HandleEvent(ctx, woken(event(id, "invoiced", "approved"), 0, 1)); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 || anyRec.count() != 1 {
		t.Errorf("a transition with a wake: %d state steps, %d any-state steps", rec.count(), anyRec.count())
	}
	if err := d.HandleEvent(ctx, woken(event(id, "approved", "approved"), 1, 2)); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 1 || anyRec.count() != 2 {
		t.Errorf("a wake alone: %d state steps, %d any-state steps", rec.count(), anyRec.count())
	}
	if err := d.HandleEvent(ctx, woken(event(id, "approved", "approved"), 2, 2)); err != nil {
		t.Fatal(err)
	}
	if anyRec.count() != 2 {
		t.Errorf("no wake: %d any-state steps", anyRec.count())
	}
}
