package order

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/readyplanner/oms/internal/apperr"
)

// OwnerText checks a free-text field the owner typed, field naming it: trimmed,
// it must be 1 to max characters and hold no control character, line or
// paragraph separator, or bidirectional override — the owner's words reach
// customers' emails, alerts, Stripe and QuickBooks, where a line break
// starts a line the owner did not write. It returns the text trimmed, or
// INVALID_ARGUMENT (required, too_long with max, malformed) on field.
func OwnerText(field, s string, max int) (string, error) {
	switch s = strings.TrimSpace(s); {
	case s == "":
		return "", apperr.New(apperr.Invalid, "%s is required", field).Because(ReasonRequired).On(field)
	case utf8.RuneCountInString(s) > max:
		return "", apperr.New(apperr.Invalid, "%s must be at most %d characters", field, max).Because(ReasonTooLong).On(field).
			WithDetails(map[string]int{"max": max})
	case strings.IndexFunc(s, notText) >= 0:
		return "", apperr.New(apperr.Invalid, "%s must be one line of text, without control characters", field).Because(ReasonMalformed).On(field)
	}
	return s, nil
}

// notText reports whether r may not appear in the owner's text: a control
// character (C0, DEL, C1: line breaks and tabs included), a line or
// paragraph separator, or a bidirectional embedding, override or isolate
// (which would show the text in another order than it is read).
func notText(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}
