package messages

import (
	"reflect"
	"testing"
	"time"
)

var (
	t0    = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	lease = t0.Add(5 * time.Minute)
)

func TestQueued(t *testing.T) {
	got, want := Queued(t0), Delivery{State: StatePending, NextAttempt: t0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Queued = %+v, want %+v", got, want)
	}
	if _, ok := got.Claim(t0, lease); !ok {
		t.Error("a new mail is not due at once")
	}
}

func TestClaim(t *testing.T) {
	taken := func(attempts int) Delivery {
		return Delivery{State: StateProcessing, Attempts: attempts, StartTime: t0, LeaseExpire: lease}
	}
	for _, tc := range []struct {
		name string
		d    Delivery
		want Delivery // unchanged when not claimed
		ok   bool
	}{
		{"pending, no next attempt (the extension's, or a missing record)", Delivery{State: StatePending}, taken(1), true},
		{"pending, due now", Delivery{State: StatePending, NextAttempt: t0}, taken(1), true},
		{"pending, due before", Delivery{State: StatePending, NextAttempt: t0.Add(-time.Hour)}, taken(1), true},
		{"pending, due later", Delivery{State: StatePending, NextAttempt: t0.Add(time.Second)}, Delivery{State: StatePending, NextAttempt: t0.Add(time.Second)}, false},
		{"retry, due", Delivery{State: StateRetry, Attempts: 2, Error: "busy", NextAttempt: t0.Add(-time.Minute), EndTime: t0.Add(-3 * time.Minute)},
			Delivery{State: StateProcessing, Attempts: 3, Error: "busy", StartTime: t0, LeaseExpire: lease, EndTime: t0.Add(-3 * time.Minute)}, true},
		{"retry set by hand (no next attempt)", Delivery{State: StateRetry, Attempts: 1}, taken(2), true},
		{"retry, due later", Delivery{State: StateRetry, Attempts: 1, NextAttempt: t0.Add(time.Minute)}, Delivery{State: StateRetry, Attempts: 1, NextAttempt: t0.Add(time.Minute)}, false},
		{"processing (another attempt's lease)", taken(1), taken(1), false},
		{"processing, lease run out (Expire's, not Claim's)", Delivery{State: StateProcessing, Attempts: 1, LeaseExpire: t0.Add(-time.Hour)}, Delivery{State: StateProcessing, Attempts: 1, LeaseExpire: t0.Add(-time.Hour)}, false},
		{"success", Delivery{State: StateSuccess, Attempts: 1}, Delivery{State: StateSuccess, Attempts: 1}, false},
		{"error", Delivery{State: StateError, Attempts: 5}, Delivery{State: StateError, Attempts: 5}, false},
		{"unknown state", Delivery{State: "SCHEDULED"}, Delivery{State: "SCHEDULED"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.d.Claim(t0, lease)
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Claim = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	sent := Delivery{State: StateSuccess, Attempts: 2, StartTime: t0, EndTime: t0.Add(time.Second), MessageID: "<m@x>", Response: "250 OK", Accepted: []string{"a@x"}}
	for _, tc := range []struct {
		name string
		cur  Delivery
		ok   bool
	}{
		{"the same attempt, processing", Delivery{State: StateProcessing, Attempts: 2, LeaseExpire: lease}, true},
		{"the same attempt, ended by its lease (a late answer is better)", Delivery{State: StateError, Attempts: 2, Error: DeliveryUnknown}, true},
		{"a later attempt", Delivery{State: StateProcessing, Attempts: 3}, false},
		{"an earlier attempt (not this one's claim)", Delivery{State: StateProcessing, Attempts: 1}, false},
		{"the same attempt, already succeeded", Delivery{State: StateSuccess, Attempts: 2}, false},
		{"the same attempt, set to retry by the owner", Delivery{State: StateRetry, Attempts: 2}, false},
		{"the same attempt, handed back to pending", Delivery{State: StatePending, Attempts: 2}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.cur
			if tc.ok {
				want = sent
			}
			got, ok := tc.cur.Finish(sent)
			if ok != tc.ok || !reflect.DeepEqual(got, want) {
				t.Errorf("Finish = %+v, %v; want %+v, %v", got, ok, want, tc.ok)
			}
		})
	}
}

func TestExpire(t *testing.T) {
	const why = "lost"
	for _, tc := range []struct {
		name string
		d    Delivery
		want Delivery
		ok   bool
	}{
		{"processing, lease ran out before", Delivery{State: StateProcessing, Attempts: 1, StartTime: t0.Add(-time.Hour), LeaseExpire: t0.Add(-time.Minute)},
			Delivery{State: StateError, Attempts: 1, StartTime: t0.Add(-time.Hour), EndTime: t0, Error: why}, true},
		{"processing, lease runs out now", Delivery{State: StateProcessing, Attempts: 1, LeaseExpire: t0},
			Delivery{State: StateError, Attempts: 1, EndTime: t0, Error: why}, true},
		{"processing, lease still running", Delivery{State: StateProcessing, Attempts: 1, LeaseExpire: t0.Add(time.Second)},
			Delivery{State: StateProcessing, Attempts: 1, LeaseExpire: t0.Add(time.Second)}, false},
		{"processing without a lease", Delivery{State: StateProcessing, Attempts: 1}, Delivery{State: StateProcessing, Attempts: 1}, false},
		{"success (finished meanwhile)", Delivery{State: StateSuccess, Attempts: 1, LeaseExpire: t0.Add(-time.Minute)},
			Delivery{State: StateSuccess, Attempts: 1, LeaseExpire: t0.Add(-time.Minute)}, false},
		{"retry", Delivery{State: StateRetry, Attempts: 1, NextAttempt: t0.Add(-time.Minute)}, Delivery{State: StateRetry, Attempts: 1, NextAttempt: t0.Add(-time.Minute)}, false},
		{"error", Delivery{State: StateError, Attempts: 1, Error: "refused"}, Delivery{State: StateError, Attempts: 1, Error: "refused"}, false},
		{"pending", Delivery{State: StatePending}, Delivery{State: StatePending}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.d.Expire(t0, why)
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Expire = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestHandOver(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Delivery
		want Delivery
		ok   bool
	}{
		{"pending with a next attempt (the built-in sender's)", Delivery{State: StatePending, NextAttempt: t0}, Delivery{State: StateRetry}, true},
		{"retry with a next attempt", Delivery{State: StateRetry, Attempts: 2, Error: "busy", NextAttempt: t0.Add(time.Hour)},
			Delivery{State: StateRetry, Attempts: 2, Error: "busy"}, true},
		{"pending without one (the extension's)", Delivery{State: StatePending}, Delivery{State: StatePending}, false},
		{"retry without one (handed over already)", Delivery{State: StateRetry, Attempts: 2}, Delivery{State: StateRetry, Attempts: 2}, false},
		{"processing", Delivery{State: StateProcessing, Attempts: 1, LeaseExpire: lease}, Delivery{State: StateProcessing, Attempts: 1, LeaseExpire: lease}, false},
		{"success", Delivery{State: StateSuccess, Attempts: 1}, Delivery{State: StateSuccess, Attempts: 1}, false},
		{"error", Delivery{State: StateError, Attempts: 1}, Delivery{State: StateError, Attempts: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.d.HandOver()
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("HandOver = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestDeliveryStates walks every state through every decision, with a
// record due and leased out by now: a decision that answers false leaves
// the record as it was, and each answers true only from the states it is
// defined on.
func TestDeliveryStates(t *testing.T) {
	from := map[string][]string{ // decision → states it may change
		"Claim":    {StatePending, StateRetry},
		"Finish":   {StateProcessing, StateError},
		"Expire":   {StateProcessing},
		"HandOver": {StatePending, StateRetry},
	}
	for _, state := range []string{StatePending, StateProcessing, StateSuccess, StateError, StateRetry} {
		d := Delivery{State: state, Attempts: 1, NextAttempt: t0.Add(-time.Minute), LeaseExpire: t0.Add(-time.Minute)}
		results := map[string]func() (Delivery, bool){
			"Claim":    func() (Delivery, bool) { return d.Claim(t0, lease) },
			"Finish":   func() (Delivery, bool) { return d.Finish(Delivery{State: StateSuccess, Attempts: 1}) },
			"Expire":   func() (Delivery, bool) { return d.Expire(t0, "lost") },
			"HandOver": func() (Delivery, bool) { return d.HandOver() },
		}
		for name, decide := range results {
			got, ok := decide()
			want := false
			for _, s := range from[name] {
				want = want || s == state
			}
			if ok != want {
				t.Errorf("%s from %s: %v, want %v", name, state, ok, want)
			}
			if !ok && !reflect.DeepEqual(got, d) {
				t.Errorf("%s from %s changed the record it refused: %+v", name, state, got)
			}
		}
	}
}
