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
	"fmt"
	"slices"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
)

// Store is what the dispatcher needs of the order store.
type Store interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	Transition(ctx context.Context, id string, m order.Move) (*order.Order, bool, error)
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
// transient (UNAVAILABLE, ABORTED, …) to be retried; any other error is
// permanent and moves the order to needs_attention with the message.
type StepFunc func(ctx context.Context, t Transition) error

type step struct {
	name string
	fn   StepFunc
}

// Dispatcher maps the state an order enters to the steps to run.
type Dispatcher struct {
	store Store
	steps map[order.State][]step
}

// New returns an empty dispatcher.
func New(store Store) *Dispatcher {
	return &Dispatcher{store: store, steps: map[order.State][]step{}}
}

// On registers a named step for orders entering state to. Steps of one
// state run in registration order; a failing step stops the ones after it.
func (d *Dispatcher) On(to order.State, name string, fn StepFunc) {
	d.steps[to] = append(d.steps[to], step{name: name, fn: fn})
}

// StepNames returns the names of the steps registered for state s.
func (d *Dispatcher) StepNames(s order.State) []string {
	var names []string
	for _, st := range d.steps[s] {
		names = append(names, st.name)
	}
	return names
}

// HandleEvent handles one Firestore event on orders/{orderId}. It returns an
// error only when a retry can help.
func (d *Dispatcher) HandleEvent(ctx context.Context, ev *docevent.Event) error {
	id := ev.DocumentID()
	ctx = logging.WithOrder(ctx, id)
	log := logging.FromContext(ctx)
	if ev.New == nil {
		log.Debug().Str("event", ev.ID).Msg("order deleted; nothing to do")
		return nil
	}
	to, _ := ev.New.String("state")
	from, _ := ev.Old.String("state")
	if !order.State(to).Valid() {
		log.Error().Str("event", ev.ID).Str("state", to).Msg("order has an unknown state; ignored")
		return nil
	}
	if from == to {
		// A write that did not change the state (a step recording its
		// outcome, or the emulator's event for unchanged data).
		return nil
	}
	cur, err := d.store.Get(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.State() != order.State(to) {
		log.Info().Str("event", ev.ID).Str("eventState", to).Str("state", string(cur.State())).
			Msg("stale order event: the order has moved on; its own event will follow")
		return nil
	}
	return d.run(ctx, Transition{Order: cur, From: order.State(from), To: order.State(to), EventID: ev.ID})
}

// Redrive runs the steps of the order's current state again, for an order
// whose event was lost or whose step kept failing transiently.
func (d *Dispatcher) Redrive(ctx context.Context, o *order.Order) error {
	ctx = logging.WithOrder(ctx, o.ID)
	return d.run(ctx, Transition{Order: o, To: o.State(), Redrive: true})
}

func (d *Dispatcher) run(ctx context.Context, t Transition) error {
	log := logging.FromContext(ctx)
	for _, st := range d.steps[t.To] {
		err := st.fn(ctx, t)
		if err == nil {
			log.Info().Str("step", st.name).Str("from", string(t.From)).Str("to", string(t.To)).Bool("redrive", t.Redrive).Msg("step done")
			continue
		}
		if apperr.Transient(err) {
			log.Warn().Err(err).Str("step", st.name).Msg("step failed; will retry")
			return fmt.Errorf("step %s: %w", st.name, err)
		}
		reason := fmt.Sprintf("step %s failed: %s", st.name, messageOf(err))
		log.Error().Err(err).Str("step", st.name).Msg("step failed permanently; order needs attention")
		_, _, terr := d.store.Transition(ctx, t.Order.ID, order.Move{From: []order.State{t.To}, To: order.NeedsAttention, Actor: "trigger", Reason: reason})
		if terr != nil && apperr.CodeOf(terr) != apperr.FailedPrecondition {
			return fmt.Errorf("record failure of step %s: %w", st.name, terr)
		}
		return nil
	}
	return nil
}

func messageOf(err error) string {
	if e := apperr.As(err); e != nil {
		return e.Message
	}
	return err.Error()
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
