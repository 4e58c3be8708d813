// Package fuzzcheck holds what the fuzz targets (make fuzz) assert of every
// refusal: an error a person can act on, in the project's words — an
// *apperr.Error of an expected code with a message, or a parser's message
// that the webhook's entry point shows the sender — that leaks none of
// Go's internals (encoding/json's wording, offsets, Go type names, panics).
package fuzzcheck

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/readyplanner/oms/internal/apperr"
)

// leaks are the words of Go's internals that no message shown to a caller
// may carry (outside the caller's own input quoted in it).
var leaks = []string{
	"json:", "unexpected EOF", "unexpected end of JSON input", "invalid character", "Go struct field", "Go value of type",
	"cannot unmarshal", "offset", "reflect", "runtime error", "goroutine", "panic", "<nil>", "%!", "map[", "[]interface",
	"int64", "uint64", "float64", "proto:", "illegal base64",
}

// quoted matches a Go-quoted string (%q): the caller's own input, which may
// hold any words.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// Message fails tb unless msg is a message for people: not empty, valid
// UTF-8, and free of Go's internals outside the parts of the caller's input
// it quotes.
func Message(tb testing.TB, msg string) {
	tb.Helper()
	if strings.TrimSpace(msg) == "" {
		tb.Fatalf("the refusal has no message")
	}
	if !utf8.ValidString(msg) {
		tb.Fatalf("the refusal's message is not valid UTF-8: %q", msg)
	}
	own := quoted.ReplaceAllString(msg, `""`)
	for _, w := range leaks {
		if strings.Contains(own, w) {
			tb.Fatalf("the refusal's message leaks Go's internals (%q): %q", w, msg)
		}
	}
}

// Refusal fails tb unless err is an *apperr.Error with one of the codes
// want and a message for people (Message); it returns the error.
func Refusal(tb testing.TB, err error, want ...apperr.Code) *apperr.Error {
	tb.Helper()
	e := apperr.As(err)
	if e == nil {
		tb.Fatalf("the refusal is not an *apperr.Error (it would answer INTERNAL): %v", err)
	}
	ok := false
	for _, c := range want {
		ok = ok || e.Code == c
	}
	if !ok {
		tb.Fatalf("the refusal has code %s, want one of %v: %v", e.Code, want, err)
	}
	Message(tb, e.Message)
	return e
}
