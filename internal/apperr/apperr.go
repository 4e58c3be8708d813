// Package apperr is the application's one error type. Domain and adapter code
// returns *Error with a Code; transports (the onCall protocol, webhooks,
// triggers) map codes to their own statuses in exactly one table each.
//
// Anything that is not an *Error is unexpected: transports log it and answer
// INTERNAL without showing its text.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an error by what the caller can do about it. The values are
// the canonical status names of google.rpc.Code, which the Firebase onCall
// protocol uses on the wire.
type Code string

// The codes the application uses. Their meanings follow google.rpc.Code;
// the onCall protocol knows others (UNIMPLEMENTED, OUT_OF_RANGE, …), which
// nothing here answers.
const (
	Invalid            Code = "INVALID_ARGUMENT"    // the request is malformed; retrying it unchanged will fail again
	NotFound           Code = "NOT_FOUND"           // the thing does not exist (or is not the caller's)
	AlreadyExists      Code = "ALREADY_EXISTS"      // the thing to create exists already
	PermissionDenied   Code = "PERMISSION_DENIED"   // the caller is known but may not do this
	Unauthenticated    Code = "UNAUTHENTICATED"     // the caller did not prove who they are
	FailedPrecondition Code = "FAILED_PRECONDITION" // the system is not in a state that allows this
	Aborted            Code = "ABORTED"             // a concurrent change won; retry the whole operation
	Unavailable        Code = "UNAVAILABLE"         // a dependency is down or throttled; retry later
	DeadlineExceeded   Code = "DEADLINE_EXCEEDED"   // the work did not finish in time
	Internal           Code = "INTERNAL"            // a bug or an unexpected failure; never shown in detail
)

// Codes lists every code, for the tables that map them.
var Codes = []Code{Invalid, NotFound, AlreadyExists, PermissionDenied, Unauthenticated, FailedPrecondition, Aborted, Unavailable, DeadlineExceeded, Internal}

// Error is an error a caller may see. Message is written for the caller;
// Reason is the stable, machine-readable cause a program acts on
// (snake_case, e.g. "no_quote"; ReasonOf gives the default); Field names
// the request field at fault (a path under data: "address.postalCode");
// Details (optional) is more structured data, an object whose fields join
// reason and field in the answer's details, for instance the cart lines
// that are short. Err, if set, is the cause, for logs only.
type Error struct {
	Code    Code
	Reason  string
	Message string
	Field   string
	Details any
	Err     error
}

// Error implements error. It includes the cause for logs; transports show only
// Message.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error with a caller-facing message built with fmt.Sprintf.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns a copy of e carrying details.
func (e *Error) WithDetails(details any) *Error {
	c := *e
	c.Details = details
	return &c
}

// Because returns a copy of e with the stable reason a program acts on.
func (e *Error) Because(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
}

// On returns a copy of e naming the request field at fault.
func (e *Error) On(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// ReasonOf returns the reason e gives, or its code's default: the code in
// lower case ("invalid_argument", "unavailable", …).
func (e *Error) ReasonOf() string {
	if e.Reason != "" {
		return e.Reason
	}
	return strings.ToLower(string(e.Code))
}

// Wrap returns an *Error with the given code and message whose cause is err.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, Internal when
// there is none, and "" for a nil error.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Transient reports whether retrying the same operation later may succeed:
// contention (ABORTED), an outside service down or throttled
// (UNAVAILABLE), a deadline. Triggers use it to decide between
// returning an error (the platform retries, for up to a day) and recording
// a permanent failure. INTERNAL — a bug, or an error nothing classified —
// is not transient: retrying a bug for a day helps nobody, so it is
// recorded and the owner told. Adapters classify what they know to be
// transient (Firestore's UNAVAILABLE and INTERNAL, network errors).
func Transient(err error) bool {
	switch CodeOf(err) {
	case Aborted, Unavailable, DeadlineExceeded:
		return true
	}
	return false
}
