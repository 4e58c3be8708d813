package order

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
)

// Why an owner's request is refused (the owner callables' reasons).
const (
	ReasonRequestReused     = "request_id_reused"  // the request id was used before for another command or other input
	ReasonPossibleDuplicate = "possible_duplicate" // the same refund was asked for moments ago under another request id
)

// Request is an owner's command on the order, remembered by its request
// id, so that a repeat (a double click, a retry after a timeout, ten at
// once) answers what the first did and changes nothing. A different id is
// a new, deliberate act.
type Request struct {
	ID      string
	Command string // retryOrder, cancelOrder, refundOrder, markShipped
	Hash    string // of the command's input (RequestHash)
	Actor   string
	At      time.Time
	Refund  int // the refund it asked for (refundOrder), 0 otherwise
}

// MaxRequests bounds the requests an order remembers (the newest); an
// older id is forgotten, and a repeat of it is a new act.
const MaxRequests = 50

// RequestIDMax bounds a request id's length.
const RequestIDMax = 100

// ValidRequestID checks the request id an owner's command carries: 8 to
// RequestIDMax characters of letters, digits, '-' and '_' (a UUID, say).
func ValidRequestID(id string) error {
	if id == "" {
		return apperr.New(apperr.Invalid, "requestId is required: a new id for each act (a UUID); the same id again repeats nothing").
			Because(ReasonRequired).On("requestId")
	}
	if len(id) < 8 || len(id) > RequestIDMax || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return apperr.New(apperr.Invalid, "requestId must be 8 to %d letters, digits, '-' or '_' (a UUID)", RequestIDMax).
			Because(ReasonMalformed).On("requestId")
	}
	return nil
}

// RequestHash is the fingerprint of a command's input: its name and its
// fields, in order.
func RequestHash(command string, fields ...any) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s", command)
	for _, f := range fields {
		fmt.Fprintf(h, "\x00%v", f)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Requested returns the remembered request with id, if any. The same id
// for another command or other input is INVALID_ARGUMENT
// (request_id_reused): it cannot mean the same act.
func (o *Order) Requested(id, command, hash string) (Request, bool, error) {
	i := slices.IndexFunc(o.Requests, func(r Request) bool { return r.ID == id })
	if i < 0 {
		return Request{}, false, nil
	}
	r := o.Requests[i]
	if r.Command != command || r.Hash != hash {
		return Request{}, false, apperr.New(apperr.Invalid, "requestId %s was used for another command or other input (%s): use a new id for a new act", id, r.Command).
			Because(ReasonRequestReused).On("requestId")
	}
	return r, true, nil
}

// Remember records r among the order's requests (the newest
// MaxRequests are kept).
func (o *Order) Remember(r Request) {
	o.Requests = append(o.Requests, r)
	if n := len(o.Requests); n > MaxRequests {
		o.Requests = slices.Clone(o.Requests[n-MaxRequests:])
	}
}

// DuplicateRefund returns a refund the owner asked for within window
// before at with the same amount (a second click the owner cannot have
// meant), if any.
func (o *Order) DuplicateRefund(amount int64, at time.Time, window time.Duration) (Refund, bool) {
	if o.Payment == nil {
		return Refund{}, false
	}
	for _, r := range slices.Backward(o.Payment.Refunds) {
		if !r.Outside && r.Amount == amount && r.PaymentFailure == "" && at.Sub(r.At) < window {
			return r, true
		}
	}
	return Refund{}, false
}

// CheckOwnerCommand checks what every owner command on an order carries:
// the owner's claim (identity.RequireOwner with claim), an order id and a
// request id.
func CheckOwnerCommand(who *identity.Identity, claim, requestID, orderID string) error {
	if err := identity.RequireOwner(who, claim); err != nil {
		return err
	}
	if err := ValidID(orderID); err != nil {
		return err
	}
	return ValidRequestID(requestID)
}
