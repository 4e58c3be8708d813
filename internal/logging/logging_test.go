package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestCloudLoggingFormat(t *testing.T) {
	var buf bytes.Buffer
	base := New(&buf, "info")
	r := httptest.NewRequest("POST", "/x", nil)
	r.Header.Set("X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/123;o=1")
	ctx := Request(context.Background(), base, "demo-oms", r)
	ctx = WithOrder(ctx, "o1")
	FromContext(ctx).Warn().Msg("capture declined")
	FromContext(ctx).Debug().Msg("not shown at info")

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	want := map[string]any{
		"severity":   "WARNING",
		"message":    "capture declined",
		TraceField:   "projects/demo-oms/traces/105445aa7843bc8bf206b12000100000",
		SpanField:    "123",
		SampledField: true,
		OrderField:   "o1",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if _, ok := line["time"]; !ok {
		t.Error("no time field")
	}
}

func TestTrace(t *testing.T) {
	tests := []struct {
		in          string
		trace, span string
		sampled, ok bool
	}{
		{"105445AA7843BC8BF206B12000100000/1;o=1", "105445aa7843bc8bf206b12000100000", "1", true, true},
		{"105445aa7843bc8bf206b12000100000", "105445aa7843bc8bf206b12000100000", "", false, true},
		{"105445aa7843bc8bf206b12000100000/9;o=0", "105445aa7843bc8bf206b12000100000", "9", false, true},
		{"", "", "", false, false},
		{"not-a-trace", "", "", false, false},
	}
	for _, tt := range tests {
		trace, span, sampled, ok := Trace(tt.in)
		if trace != tt.trace || span != tt.span || sampled != tt.sampled || ok != tt.ok {
			t.Errorf("Trace(%q) = %q %q %v %v", tt.in, trace, span, sampled, ok)
		}
	}
}

func TestSeverities(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "debug")
	l.Debug().Msg("d")
	l.Info().Msg("i")
	l.Error().Msg("e")
	dec := json.NewDecoder(&buf)
	for _, want := range []string{"DEBUG", "INFO", "ERROR"} {
		var line map[string]any
		if err := dec.Decode(&line); err != nil {
			t.Fatal(err)
		}
		if line["severity"] != want {
			t.Errorf("severity %v, want %s", line["severity"], want)
		}
	}
}
