package benchtable

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecordAppendsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.jsonl")
	t.Setenv(Env, path)
	if err := Record(Row{Section: "cold start", Figure: "Go", Value: 20, Unit: "ms", Vs: "Node", VsValue: 400, Goal: "ratio ≤ 0.10", Met: Met(true)}); err != nil {
		t.Fatal(err)
	}
	if err := Record(Row{Section: "cost", Figure: "reads", Value: 12, Unit: "ops"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), b)
	}
	var r Row
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Ratio() != 0.05 || r.Met == nil || !*r.Met {
		t.Errorf("first row read back as %+v (ratio %v)", r, r.Ratio())
	}
}

func TestRecordWithoutTheFileDoesNothing(t *testing.T) {
	t.Setenv(Env, "")
	if err := Record(Row{Figure: "x"}); err != nil {
		t.Fatal(err)
	}
}
