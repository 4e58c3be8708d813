package order

import (
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// at returns an order restored in state s with a history that only shows its
// creation, so that "already happened" never applies by accident.
func at(t *testing.T, s State) *Order {
	t.Helper()
	o, err := New("o1", "u1", "usd", t0)
	if err != nil {
		t.Fatal(err)
	}
	o, err = Restore(*o, s, o.History())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// The table as DESIGN.md describes it, written out independently of the
// implementation's map so that a change to either shows up here.
var wantAllowed = map[[2]State]bool{
	{Pending, Authorized}: true, {Pending, Expired}: true, {Pending, Canceled}: true,
	{Authorized, Invoiced}: true, {Authorized, Canceled}: true, {Authorized, NeedsAttention}: true,
	{Invoiced, Approved}: true, {Invoiced, Canceled}: true, {Invoiced, NeedsAttention}: true,
	{Approved, Paid}: true, {Approved, Canceled}: true, {Approved, NeedsAttention}: true,
	{Paid, Fulfilling}: true, {Paid, Refunded}: true, {Paid, Canceled}: true, {Paid, NeedsAttention}: true,
	{Fulfilling, Shipped}: true, {Fulfilling, Refunded}: true, {Fulfilling, Canceled}: true, {Fulfilling, NeedsAttention}: true,
	{Shipped, Refunded}:          true,
	{NeedsAttention, Authorized}: true, {NeedsAttention, Invoiced}: true, {NeedsAttention, Approved}: true,
	{NeedsAttention, Paid}: true, {NeedsAttention, Fulfilling}: true, {NeedsAttention, Refunded}: true, {NeedsAttention, Canceled}: true,
}

func TestEveryTransition(t *testing.T) {
	for _, from := range States {
		for _, to := range States {
			if from == to {
				continue
			}
			o := at(t, from)
			applied, err := o.Transition(Move{From: []State{from}, To: to, Actor: "test", Reason: "r"}, t0.Add(time.Minute))
			if wantAllowed[[2]State{from, to}] {
				if err != nil || !applied {
					t.Errorf("%s → %s: applied=%v err=%v, want applied", from, to, applied, err)
					continue
				}
				if o.State() != to {
					t.Errorf("%s → %s: state is %s", from, to, o.State())
				}
				h := o.History()
				last := h[len(h)-1]
				if len(h) != 2 || last.From != from || last.To != to || last.Actor != "test" || !last.At.Equal(t0.Add(time.Minute)) {
					t.Errorf("%s → %s: history %+v", from, to, h)
				}
				continue
			}
			if applied || apperr.CodeOf(err) != apperr.FailedPrecondition {
				t.Errorf("%s → %s: applied=%v err=%v, want FAILED_PRECONDITION", from, to, applied, err)
			}
			if o.State() != from || len(o.History()) != 1 {
				t.Errorf("%s → %s: a refused transition changed the order: %s %+v", from, to, o.State(), o.History())
			}
		}
	}
	// Every allowed pair is also in the implementation's table and nothing else is.
	n := 0
	for _, from := range States {
		n += len(Next(from))
	}
	if n != len(wantAllowed) {
		t.Errorf("table has %d transitions, want %d", n, len(wantAllowed))
	}
}

func TestRepeatedTransitionIsNoop(t *testing.T) {
	o := at(t, Pending)
	m := Move{From: []State{Pending}, To: Authorized, Actor: "stripe"}
	if applied, err := o.Transition(m, t0); err != nil || !applied {
		t.Fatalf("first: %v %v", applied, err)
	}
	if applied, err := o.Transition(m, t0.Add(time.Second)); err != nil || applied {
		t.Fatalf("second: applied=%v err=%v, want a no-op", applied, err)
	}
	if got := len(o.History()); got != 2 {
		t.Errorf("history has %d entries, want 2", got)
	}
}

func TestOvertakenTransitionIsNoop(t *testing.T) {
	// The Stripe webhook arrives again after the order moved on to invoiced:
	// it must neither fail nor move the order back.
	o := at(t, Pending)
	for _, m := range []Move{{From: []State{Pending}, To: Authorized}, {From: []State{Authorized}, To: Invoiced}} {
		if _, err := o.Transition(m, t0); err != nil {
			t.Fatal(err)
		}
	}
	applied, err := o.Transition(Move{From: []State{Pending}, To: Authorized}, t0)
	if err != nil || applied || o.State() != Invoiced {
		t.Fatalf("stale move: applied=%v err=%v state=%s", applied, err, o.State())
	}
	// From needs_attention the table allows → authorized, but a stale
	// pending → authorized must still not re-enter it.
	if _, err := o.Transition(Move{To: NeedsAttention, Reason: "QuickBooks down"}, t0); err != nil {
		t.Fatal(err)
	}
	if applied, err := o.Transition(Move{From: []State{Pending}, To: Authorized}, t0); err != nil || applied {
		t.Fatalf("stale move from needs_attention: applied=%v err=%v", applied, err)
	}
	if o.State() != NeedsAttention || o.Attention != "QuickBooks down" {
		t.Fatalf("state %s attention %q", o.State(), o.Attention)
	}
}

func TestCompareAndSetRefusesUnexpectedState(t *testing.T) {
	o := at(t, Pending)
	_, err := o.Transition(Move{From: []State{Authorized}, To: Invoiced}, t0)
	if apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Fatalf("err = %v, want FAILED_PRECONDITION", err)
	}
}

func TestNeedsAttentionNeedsReasonAndClears(t *testing.T) {
	o := at(t, Approved)
	if _, err := o.Transition(Move{To: NeedsAttention}, t0); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("err = %v, want INVALID_ARGUMENT", err)
	}
	if _, err := o.Transition(Move{To: NeedsAttention, Reason: "card declined"}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Transition(Move{From: []State{NeedsAttention}, To: Approved, Actor: "owner"}, t0); err != nil {
		t.Fatal(err)
	}
	if o.Attention != "" {
		t.Errorf("attention %q not cleared", o.Attention)
	}
}

func TestNewAndRestoreValidate(t *testing.T) {
	if _, err := New("", "", "dollars", t0); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("New with bad fields: %v", err)
	}
	if _, err := Restore(Order{ID: "x"}, "lost", nil); err == nil {
		t.Error("Restore must refuse an unknown state")
	}
	if _, err := at(t, Pending).Transition(Move{To: "nowhere"}, t0); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("unknown target: %v", err)
	}
	for _, s := range []State{Refunded, Expired, Canceled} {
		if !s.Terminal() {
			t.Errorf("%s must be terminal", s)
		}
	}
}
