// Package benchtable collects the figures of make bench into one table:
// each benchmark that has a figure to compare appends a Row to the file
// named by OMS_BENCH_TABLE (JSON lines), and cmd/bench-table prints them
// side by side with their ratios and goals once every benchmark has run.
package benchtable

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

// Env names the file the rows are appended to; unset, Record does nothing
// (a benchmark run by hand prints its own figures only).
const Env = "OMS_BENCH_TABLE"

// Row is one measured figure, next to what it is compared with when it has
// a comparison measured in the same run.
type Row struct {
	Section string  `json:"section"`           // e.g. "cold start", "hot SKU"
	Figure  string  `json:"figure"`            // what was measured, e.g. "Go: start → first callable"
	Value   float64 `json:"value"`             // the figure
	Unit    string  `json:"unit"`              // ms, MB, s, orders/s, ops, $ …
	Vs      string  `json:"vs,omitempty"`      // what it is compared with, e.g. "Node"
	VsValue float64 `json:"vsValue,omitempty"` // that figure, same unit, same run
	Goal    string  `json:"goal,omitempty"`    // e.g. "ratio ≤ 0.10", "≤ 3 s"
	Met     *bool   `json:"met,omitempty"`     // whether the goal is met; nil when there is none
}

// Ratio is Value / VsValue, or 0 without a comparison.
func (r Row) Ratio() float64 {
	if r.VsValue == 0 {
		return 0
	}
	return r.Value / r.VsValue
}

// Met is a helper for Row.Met.
func Met(ok bool) *bool { return &ok }

var mu sync.Mutex

// Record appends r to the table file named by OMS_BENCH_TABLE, if any.
func Record(r Row) error {
	path := os.Getenv(Env)
	if path == "" {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("benchtable: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("benchtable: %w", err)
	}
	return f.Close()
}
