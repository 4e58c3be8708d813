// Package orderflow moves orders along: the order trigger hands it every
// change to an order, and it runs the steps registered for the state the
// order entered (create the invoice on authorized, capture on approved, …).
// The sweeper uses it to re-drive orders whose event was lost.
//
// Steps are idempotent: they may run twice for the same transition (at-least-
// once delivery, retries, re-drives), so each one keys its outside calls on
// the order and records its outcome on the order.
package orderflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
)

// Store is what the dispatcher needs of the order store.
type Store interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	Update(ctx context.Context, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error)
}

// Transition is what a step is told: the order as it is now (re-read, so a
// step never acts on a stale event) and the change that woke it.
type Transition struct {
	Order    *order.Order
	From, To order.State // From is "" on creation and on a re-drive
	EventID  string      // the CloudEvent id; "" on a re-drive
	Redrive  bool        // true when the sweeper, not an event, asked
}

// StepFunc does one step's work. Return an error whose apperr code is
// transient (apperr.Transient) to be retried, ErrWaiting when the step cannot
// run yet for a reason that is not the order's (the sweeper tries again);
// any other error is permanent.
type StepFunc func(ctx context.Context, t Transition) error

// ErrWaiting is a step's answer when it cannot run yet and no retry by the
// platform will help soon (QuickBooks disconnected): the step stays due
// and the sweeper re-drives it.
var ErrWaiting = errors.New("the step waits")

// FailureFunc tells the owner that a step failed for good in a state that
// cannot move to needs_attention (the failure is already recorded on the
// order). It must be idempotent: a re-drive may report the same failure.
type FailureFunc func(ctx context.Context, o *order.Order, step, reason string) error

type step struct {
	name string
	fn   StepFunc
}

// Dispatcher maps the state an order enters to the steps to run.
type Dispatcher struct {
	store Store
	steps map[order.State][]step
	any   []step
	// Failed, if set, is told of every step that fails for good in a
	// state that cannot move to needs_attention.
	Failed FailureFunc
	now    func() time.Time
}

// New returns an empty dispatcher; now is the clock (time.Now if nil);
// failed (nil: nobody) is told of every step that fails for good in a
// state that cannot move to needs_attention.
func New(store Store, now func() time.Time, failed FailureFunc) *Dispatcher {
	if now == nil {
		now = time.Now
	}
	return &Dispatcher{store: store, steps: map[order.State][]step{}, now: now, Failed: failed}
}

// On registers a named step for orders entering state to. Steps of one
// state run in registration order.
func (d *Dispatcher) On(to order.State, name string, fn StepFunc) {
	d.steps[to] = append(d.steps[to], step{name: name, fn: fn})
}

// OnFirst registers a named step to run before the others of state to
// (the local host's tests observe transitions with one).
func (d *Dispatcher) OnFirst(to order.State, name string, fn StepFunc) {
	d.steps[to] = append([]step{{name: name, fn: fn}}, d.steps[to]...)
}

// OnAny registers a step that runs in every state, whenever the order's
// work is woken without a transition (order.Work.Wake) and on every
// re-drive. It must do nothing when it has nothing to do; it is not
// recorded in the order's Work.
func (d *Dispatcher) OnAny(name string, fn StepFunc) {
	d.any = append(d.any, step{name: name, fn: fn})
}

// StepNames returns the names of the steps registered for state s.
func (d *Dispatcher) StepNames(s order.State) []string {
	var names []string
	for _, st := range d.steps[s] {
		names = append(names, st.name)
	}
	return names
}

// Change is one write to an order as the order trigger saw it, decoded
// from the store's event by the adapter: the dispatcher reads no document.
type Change struct {
	OrderID string
	EventID string      // the event's id: stable across the platform's retries of it
	From    order.State // "" when the write created the order
	To      order.State // "" when it deleted the order
	// OldWake and NewWake are the order's work.wake counter before and
	// after the write: a change of it is work added without a transition
	// (a refund, a stray authorization).
	OldWake, NewWake int64
	Deleted          bool
}

// woken reports whether the write added work without a transition (an
// order's creation wakes nothing: its state's steps run).
func (c Change) woken() bool { return c.From != "" && c.NewWake != c.OldWake }

// HandleEvent handles one change to an order. It returns an error only
// when a retry can help.
func (d *Dispatcher) HandleEvent(ctx context.Context, c Change) error {
	id, from, to := c.OrderID, c.From, c.To
	ctx = logging.WithOrder(ctx, id)
	log := logging.FromContext(ctx)
	if c.Deleted {
		log.Debug().Str("event", c.EventID).Msg("order deleted; nothing to do")
		return nil
	}
	if !to.Valid() {
		log.Error().Str("event", c.EventID).Str("state", string(to)).Msg("order has an unknown state; ignored")
		return nil
	}
	woken := c.woken()
	if from == to && !woken {
		// A write that did not change the state (a step recording its
		// outcome, or the emulator's event for unchanged data) wakes only
		// the work added without a transition.
		return nil
	}
	cur, err := d.store.Get(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	var err1 error
	switch {
	case from == to:
	case cur.State() != to:
		log.Info().Str("event", c.EventID).Str("eventState", string(to)).Str("state", string(cur.State())).
			Msg("stale order event: the order has moved on; its own event will follow")
	default:
		err1 = d.run(ctx, Transition{Order: cur, From: from, To: to, EventID: c.EventID})
	}
	if !woken {
		return err1
	}
	// The same write added work for every state too (an owner's cancel
	// with its refund): it runs once the state's steps have.
	if from != to {
		if cur, err = d.store.Get(ctx, id); err != nil {
			return errors.Join(err1, err)
		}
	}
	return errors.Join(err1, d.runAny(ctx, Transition{Order: cur, From: cur.State(), To: cur.State(), EventID: c.EventID}))
}

// Redrive does the order's due work again: the steps of its current state
// entry that have not finished, and the work of every state (stray
// authorizations), for an order whose event was lost or whose step kept
// failing transiently.
func (d *Dispatcher) Redrive(ctx context.Context, o *order.Order) error {
	ctx = logging.WithOrder(ctx, o.ID)
	t := Transition{Order: o, To: o.State(), Redrive: true}
	err := d.run(ctx, t)
	if cur, gerr := d.store.Get(ctx, o.ID); gerr == nil {
		t.Order = cur
	}
	return errors.Join(err, d.runAny(ctx, t))
}

// run runs the steps of t.To that have not finished in the order's current
// entry of that state, recording each on the order. Every step runs even
// when one before it failed, so that one outside service down never holds
// back the others; the first transient failure is returned (retry). A
// permanent failure moves the order to needs_attention where the table
// allows, and is recorded (and the owner told) where it does not.
func (d *Dispatcher) run(ctx context.Context, t Transition) error {
	log := logging.FromContext(ctx)
	o := t.Order
	if o.Work.State != t.To || o.Work.Complete {
		return nil
	}
	entry, names := o.Work.Entry, d.StepNames(t.To)
	var retry error
	for _, st := range d.steps[t.To] {
		if o.Work.Finished(st.name) {
			continue
		}
		err := st.fn(ctx, Transition{Order: o, From: t.From, To: t.To, EventID: t.EventID, Redrive: t.Redrive})
		switch {
		case err == nil:
			log.Info().Str("step", st.name).Str("from", string(t.From)).Str("to", string(t.To)).Bool("redrive", t.Redrive).Msg("step done")
		case errors.Is(err, ErrWaiting):
			log.Info().Err(err).Str("step", st.name).Msg("step waits; the sweeper will try again")
			continue
		case apperr.Transient(err):
			log.Warn().Err(err).Str("step", st.name).Msg("step failed; will retry")
			if retry == nil {
				retry = fmt.Errorf("step %s: %w", st.name, err)
			}
			continue
		}
		failure := ""
		if err != nil {
			failure = fmt.Sprintf("step %s failed: %s", st.name, messageOf(err))
			log.Error().Err(err).Str("step", st.name).Msg("step failed permanently")
			if order.CanMove(t.To, order.NeedsAttention) {
				_, _, terr := d.store.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
					return cur.Transition(order.Move{From: []order.State{t.To}, To: order.NeedsAttention, Actor: "trigger", Reason: failure}, d.now().UTC())
				})
				if terr != nil && apperr.CodeOf(terr) != apperr.FailedPrecondition {
					return fmt.Errorf("record failure of step %s: %w", st.name, terr)
				}
				return nil
			}
		}
		cur, _, uerr := d.store.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
			return cur.RecordStep(t.To, entry, st.name, failure, names, d.now().UTC()), nil
		})
		if uerr != nil {
			return fmt.Errorf("record step %s: %w", st.name, uerr)
		}
		if failure != "" && d.Failed != nil {
			if ferr := d.Failed(ctx, cur, st.name, failure); ferr != nil && retry == nil {
				retry = fmt.Errorf("tell the owner of step %s: %w", st.name, ferr)
			}
		}
		if cur.State() != t.To || cur.Work.Entry != entry {
			return retry // the step moved the order on; the next state's event does the rest
		}
		o = cur
	}
	if len(names) == 0 {
		// A state without steps: its work is complete on entry.
		if _, _, err := d.store.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
			return cur.CompleteEntry(t.To, entry), nil
		}); err != nil {
			return fmt.Errorf("record the entry of %s: %w", t.To, err)
		}
	}
	return retry
}

// runAny runs the steps registered for every state.
func (d *Dispatcher) runAny(ctx context.Context, t Transition) error {
	var errs []error
	for _, st := range d.any {
		if err := st.fn(ctx, t); err != nil {
			logging.FromContext(ctx).Warn().Err(err).Str("step", st.name).Msg("step failed; will retry")
			errs = append(errs, fmt.Errorf("step %s: %w", st.name, err))
		}
	}
	return errors.Join(errs...)
}

// messageOf is what the order (which its customer may read) and the owner's
// alert say of a failure: the error's message for an application error,
// nothing of an unexpected one's text (that goes to the log).
func messageOf(err error) string {
	if e := apperr.As(err); e != nil && e.Code != apperr.Internal {
		return e.Message
	}
	return "an unexpected error (details in the log)"
}

// States returns the states that have steps, in flow order.
func (d *Dispatcher) States() []order.State {
	var out []order.State
	for _, s := range order.States {
		if len(d.steps[s]) > 0 {
			out = append(out, s)
		}
	}
	return slices.Clip(out)
}
