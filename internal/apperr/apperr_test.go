package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodeOf(t *testing.T) {
	base := New(NotFound, "order %s not found", "o1")
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, ""},
		{"plain", errors.New("boom"), Internal},
		{"direct", base, NotFound},
		{"wrapped", fmt.Errorf("load: %w", base), NotFound},
		{"cause kept", Wrap(errors.New("io"), Unavailable, "try later"), Unavailable},
	}
	for _, tt := range tests {
		if got := CodeOf(tt.err); got != tt.want {
			t.Errorf("%s: CodeOf = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got, want := base.Message, "order o1 not found"; got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
}

func TestWithDetailsCopies(t *testing.T) {
	e := New(FailedPrecondition, "short")
	d := e.WithDetails(map[string]int{"a": 1})
	if e.Details != nil || d.Details == nil {
		t.Fatalf("WithDetails must copy: original %v, copy %v", e.Details, d.Details)
	}
}

func TestTransient(t *testing.T) {
	for code, want := range map[Code]bool{
		Unavailable: true, Aborted: true, DeadlineExceeded: true,
		Internal: false, Invalid: false, NotFound: false, FailedPrecondition: false, PermissionDenied: false, AlreadyExists: false, Unauthenticated: false,
	} {
		if got := Transient(New(code, "x")); got != want {
			t.Errorf("Transient(%s) = %v, want %v", code, got, want)
		}
	}
	// An unexpected error is a bug (or a failure nothing classified): it is
	// recorded, not retried forever.
	if Transient(errors.New("unknown")) {
		t.Error("an unexpected error must not count as transient")
	}
}
