package order

import (
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
