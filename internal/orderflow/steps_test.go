package orderflow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/order"
	. "github.com/readyplanner/oms/internal/orderflow"
)

// stubSteps implements every step of the flow with a step that does
// nothing.
func stubSteps() map[string]StepFunc {
	m := map[string]StepFunc{}
	for _, name := range Steps() {
		m[name] = func(context.Context, Transition) error { return nil }
	}
	return m
}

func noop(context.Context, Transition) error { return nil }

// Every wiring mistake is an error at start-up, and nothing is registered
// then: no step falls back to one that records itself done.
func TestRegisterRefusesWiringMistakes(t *testing.T) {
	t.Parallel()
	without := func(name string) map[string]StepFunc {
		m := stubSteps()
		delete(m, name)
		return m
	}
	for _, tc := range []struct {
		name         string
		capabilities []map[string]StepFunc
		want         string
	}{
		{"unimplemented", []map[string]StepFunc{without(StepCapturePayment)}, "step capturePayment has no implementation"},
		{"none at all", nil, "step notifyReceived has no implementation"},
		{"duplicate", []map[string]StepFunc{without(StepVoidInvoice), {StepVoidInvoice: noop}, {StepVoidInvoice: noop}},
			"step voidInvoice is implemented twice: by capabilities 2 and 3"},
		{"same capability map twice", []map[string]StepFunc{stubSteps(), {StepFulfil: noop}}, "step fulfil is implemented twice: by capabilities 1 and 2"},
		{"unknown", []map[string]StepFunc{stubSteps(), {"captureTwice": noop}}, `"captureTwice" is not a step of the flow (capability 2)`},
		{"nil", []map[string]StepFunc{without(StepFulfil), {StepFulfil: nil}}, "step fulfil: capability 2's implementation is nil"},
	} {
		d := New(nil, nil, nil)
		err := Register(d, tc.capabilities...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
		if len(d.States()) != 0 {
			t.Errorf("%s: steps were registered despite the error: %v", tc.name, d.States())
		}
	}
}

// The flow table itself names no step twice for one state, and no step
// both on a state and on every state (Register checks it).
func TestFlowTable(t *testing.T) {
	t.Parallel()
	d := New(nil, nil, nil)
	if err := Register(d, stubSteps()); err != nil {
		t.Fatal(err)
	}
	if got := d.StepNames(order.Approved); len(got) != 1 || got[0] != StepCapturePayment {
		t.Errorf("approved steps %v", got)
	}
	if got := len(Steps()); got != 28 {
		t.Errorf("%d steps, want 28", got)
	}
}

// A new order's work is complete on creation (order.New), which holds
// only while pending has no steps of its own: its creation's event then
// has nothing to run and nothing to write back.
func TestPendingHasNoSteps(t *testing.T) {
	t.Parallel()
	d := New(nil, nil, nil)
	if err := Register(d, stubSteps()); err != nil {
		t.Fatal(err)
	}
	if got := d.StepNames(order.Pending); len(got) != 0 {
		t.Errorf("pending has steps %v: order.New must leave its work due", got)
	}
	o, err := order.New("o1", "u1", "USD", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if o.WorkDue() {
		t.Errorf("a new order's work is due: %+v", o.Work)
	}
}
