// Package reliability holds the reliability suite's report: the whole
// lifecycle run against the local system while the fakes fail, every
// event and webhook arrives twice, webhooks out of order, and the
// functions host is killed and restarted (reliability_test.go runs it:
// make test a short version, make soak the long one). The report is one
// table of what was done, what was injected, what was counted outside, and
// every discrepancy found, which must be none.
package reliability

import (
	"fmt"
	"io"
	"strings"
)

// Report is the suite's table, in the order rows are added.
type Report struct {
	rows          []row
	Discrepancies []string
}

type row struct {
	section, what string
	value         int
}

// Add adds a row.
func (r *Report) Add(section, what string, value int) {
	r.rows = append(r.rows, row{section, what, value})
}

// Discrepancy records one thing found wrong.
func (r *Report) Discrepancy(format string, args ...any) {
	r.Discrepancies = append(r.Discrepancies, fmt.Sprintf(format, args...))
}

// Print writes the table, the discrepancies last (their count, then each).
func (r *Report) Print(w io.Writer) {
	width := len("discrepancies")
	for _, x := range r.rows {
		width = max(width, len(x.section)+2+len(x.what))
	}
	line := strings.Repeat("─", width+10)
	fmt.Fprintf(w, "%s\n%-*s %8s\n%s\n", line, width, "reliability suite", "count", line)
	last := ""
	for _, x := range r.rows {
		if x.section != last && last != "" {
			fmt.Fprintln(w)
		}
		last = x.section
		fmt.Fprintf(w, "%-*s %8d\n", width, x.section+": "+x.what, x.value)
	}
	fmt.Fprintf(w, "%s\n%-*s %8d\n%s\n", line, width, "discrepancies", len(r.Discrepancies), line)
	for _, d := range r.Discrepancies {
		fmt.Fprintln(w, "  ✗ "+d)
	}
}
