package inventory

import (
	"reflect"
	"testing"
)

func TestReserve(t *testing.T) {
	levels := map[string]Level{"A": {OnHand: 5, Held: 3}, "B": {OnHand: 1}, "C": {OnHand: 2, Held: 5}}
	tests := []struct {
		name    string
		release map[string]int64
		hold    map[string]int64
		want    map[string]Level
		short   []Shortage
	}{
		{"fits", nil, map[string]int64{"A": 2, "B": 1}, map[string]Level{"A": {5, 5}, "B": {1, 1}}, nil},
		{"one short: nothing held", nil, map[string]int64{"A": 3, "B": 1}, nil, []Shortage{{"A", 3, 2}}},
		{"every short line named", nil, map[string]int64{"A": 3, "B": 2, "Z": 1}, nil, []Shortage{{"A", 3, 2}, {"B", 2, 1}, {"Z", 1, 0}}},
		{"oversold counts as none available", nil, map[string]int64{"C": 1}, nil, []Shortage{{"C", 1, 0}}},
		{"replace: release first", map[string]int64{"A": 3}, map[string]int64{"A": 5}, map[string]Level{"A": {5, 5}}, nil},
		{"replace with the same: no change", map[string]int64{"A": 2}, map[string]int64{"A": 2}, map[string]Level{}, nil},
		{"release only", map[string]int64{"A": 10}, nil, map[string]Level{"A": {5, 0}}, nil},
	}
	for _, tt := range tests {
		got, short := Reserve(levels, tt.release, tt.hold)
		if !reflect.DeepEqual(short, tt.short) || (tt.short == nil && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, got, short, tt.want, tt.short)
		}
	}
	if levels["A"] != (Level{5, 3}) {
		t.Error("Reserve changed its input")
	}
}

func TestReleaseAndCommit(t *testing.T) {
	levels := map[string]Level{"A": {OnHand: 5, Held: 3}}
	if got := Release(levels, map[string]int64{"A": 2}); got["A"] != (Level{5, 1}) {
		t.Errorf("release %v", got)
	}
	if got := Commit(levels, map[string]int64{"A": 3}); got["A"] != (Level{2, 0}) {
		t.Errorf("commit %v", got)
	}
	if (Level{OnHand: 1, Held: 4}).Available() != 0 {
		t.Error("available must never be negative")
	}
}

// The low-stock flag: set on a crossing below the threshold, cleared
// when a flagged SKU is back, left otherwise; a threshold of 0 is off.
func TestLowStockChange(t *testing.T) {
	lvl := func(onHand, held int64) Level { return Level{OnHand: onHand, Held: held} }
	for _, c := range []struct {
		name             string
		before, after    Level
		threshold        int64
		wasLow           bool
		crossed, cleared bool
	}{
		{"falls below", lvl(10, 0), lvl(10, 8), 5, false, true, false},
		{"stays above", lvl(10, 0), lvl(10, 4), 5, false, false, false},
		{"stays below", lvl(10, 8), lvl(10, 9), 5, true, false, false},
		{"back above", lvl(10, 8), lvl(20, 8), 5, true, false, true},
		{"back at it", lvl(10, 8), lvl(13, 8), 5, true, false, true},
		{"off", lvl(10, 0), lvl(10, 10), 0, false, false, false},
	} {
		crossed, cleared := LowStockChange(c.before, c.after, c.threshold, c.wasLow)
		if crossed != c.crossed || cleared != c.cleared {
			t.Errorf("%s: crossed %v cleared %v, want %v %v", c.name, crossed, cleared, c.crossed, c.cleared)
		}
	}
}
