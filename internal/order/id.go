package order

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/readyplanner/oms/internal/apperr"
)

// IDAlphabet is the alphabet of order ids: no 0/O, 1/I, because ids are
// read to a customer over the phone.
const IDAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// IDLength is the length of an order id (60 bits).
const IDLength = 12

// NewID returns a random order id of IDLength characters of IDAlphabet.
func NewID() string {
	var b [IDLength]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = IDAlphabet[int(b[i])%len(IDAlphabet)]
	}
	return string(b[:])
}

// ValidID checks an order id a client sent: INVALID_ARGUMENT naming the
// field orderId unless it is IDLength characters of IDAlphabet (so that
// nothing else, a path or a reserved name, ever reaches the database).
func ValidID(id string) error {
	if id == "" {
		return apperr.New(apperr.Invalid, "orderId is required").Because(ReasonRequired).On("orderId")
	}
	if len(id) != IDLength || strings.Trim(id, IDAlphabet) != "" {
		return apperr.New(apperr.Invalid, "orderId must be the %d-character order id startCheckout answered", IDLength).
			Because(ReasonMalformed).On("orderId")
	}
	return nil
}

// OwnPending reads, through get, the pending order id of the customer uid
// for a request that would make it `what` ("change", "be paid"): an id not
// of the order alphabet is INVALID_ARGUMENT, someone else's order is
// NOT_FOUND (whether it exists is not the caller's business), an order
// past pending is FAILED_PRECONDITION.
func OwnPending(ctx context.Context, get func(context.Context, string) (*Order, error), uid, id, what string) (*Order, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	o, err := get(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && o.UID != uid) {
		return nil, apperr.New(apperr.NotFound, "order %s not found", id).Because(ReasonOrderNotFound)
	}
	if err != nil {
		return nil, err
	}
	if o.State() != Pending {
		return nil, NotPending(o, what)
	}
	return o, nil
}

// Reasons (details.reason) the order package gives; stable, documented in
// docs/api.md.
const (
	ReasonRequired      = "required"           // a required field (details.field) is missing or empty
	ReasonMalformed     = "malformed"          // a field (details.field) is not of the form it must have
	ReasonTooLong       = "too_long"           // a field (details.field) is longer than details.max
	ReasonOrderNotFound = "order_not_found"    // no such order, or not the caller's
	ReasonNotPending    = "order_not_pending"  // the order moved on (details.state says where)
	ReasonBadTransition = "invalid_transition" // a state change the transition table does not allow
	// ReasonChangingElsewhere: another tab keeps opening payment sessions
	// while this one changes the order (ABORTED; call again).
	ReasonChangingElsewhere = "changing_elsewhere"
)

// NotPending is the FAILED_PRECONDITION for a request that needs a pending
// order; details.state is where the order is.
func NotPending(o *Order, what string) error {
	return apperr.New(apperr.FailedPrecondition, "order %s is %s; only a pending order can %s", o.ID, o.State(), what).
		Because(ReasonNotPending).WithDetails(map[string]string{"state": string(o.State())})
}
