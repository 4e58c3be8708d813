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
		return apperr.New(apperr.Invalid, "orderId is required").WithDetails(map[string]string{"field": "orderId"})
	}
	if len(id) != IDLength || strings.Trim(id, IDAlphabet) != "" {
		return apperr.New(apperr.Invalid, "orderId must be the %d-character order id startCheckout answered", IDLength).
			WithDetails(map[string]string{"field": "orderId"})
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
		return nil, apperr.New(apperr.NotFound, "order %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	if o.State() != Pending {
		return nil, apperr.New(apperr.FailedPrecondition, "order %s is %s; only a pending order can %s", id, o.State(), what)
	}
	return o, nil
}
