// Command bench-table prints the rows make bench's benchmarks recorded
// (internal/benchtable) as one table, in the order they were recorded,
// with each figure's comparison, ratio and goal.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/readyplanner/oms/internal/benchtable"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: bench-table FILE")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-table:", err)
		os.Exit(1)
	}
	defer f.Close()
	var rows []benchtable.Row
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r benchtable.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			fmt.Fprintf(os.Stderr, "bench-table: line %d: %v\n", n, err)
			os.Exit(1)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-table:", err)
		os.Exit(1)
	}
	print(os.Stdout, rows)
}

func print(out *os.File, rows []benchtable.Row) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "section\tfigure\tvalue\tvs\tits value\tratio\tgoal\tmet")
	for _, r := range rows {
		vs, vsValue, ratio := "", "", ""
		if r.Vs != "" {
			vs = r.Vs
			vsValue = num(r.VsValue) + " " + r.Unit
			ratio = strconv.FormatFloat(r.Ratio(), 'f', 3, 64)
		}
		met := ""
		if r.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(w, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t%s\n", r.Section, r.Figure, num(r.Value), r.Unit, vs, vsValue, ratio, r.Goal, met)
	}
	w.Flush()
}

// num prints a figure with as many decimals as it needs (at most 3).
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-" {
		return "0"
	}
	return s
}
