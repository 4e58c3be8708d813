package messages

import (
	"context"
	"errors"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
)

// Mail is one message in the outbox: a mail/{id} document in the Trigger
// Email extension's schema ({to, from, replyTo, message{subject, text,
// html}}). Its id is deterministic per order and purpose (and per part
// for shipping news), so queueing it again queues nothing.
type Mail struct {
	ID      string
	To      string
	From    string // "" for the configured sender
	ReplyTo string
	Subject string
	Text    string
	HTML    string
	// OrderID and Purpose say what it is about (stored beside the
	// extension's fields; the extension ignores them).
	OrderID string
	Purpose string
}

// The delivery states, as the Trigger Email extension names them: a new
// mail is PENDING; a sender takes a lease (PROCESSING) and ends it in
// SUCCESS or ERROR. RETRY is a mail waiting for another attempt (the
// extension's owner sets it by hand; the built-in sender sets it after a
// transient failure, with the time of the next attempt).
const (
	StatePending    = "PENDING"
	StateProcessing = "PROCESSING"
	StateSuccess    = "SUCCESS"
	StateError      = "ERROR"
	StateRetry      = "RETRY"
)

// Delivery is a mail's delivery record (the extension's delivery field).
type Delivery struct {
	State       string
	Attempts    int
	StartTime   time.Time
	EndTime     time.Time
	LeaseExpire time.Time // while PROCESSING: after it, the attempt's outcome is unknown
	NextAttempt time.Time // while PENDING or RETRY: when a sender may take it
	Error       string
	MessageID   string // the Message-ID the server accepted
	Response    string // the server's answer
	Accepted    []string
	Rejected    []string
}

// Outbox queues mail.
type Outbox interface {
	// Queue writes the mail create-if-absent (delivery PENDING) and
	// reports whether it was new.
	Queue(ctx context.Context, m Mail, now time.Time) (bool, error)
}

// MailStore is what the sender needs of the outbox.
type MailStore interface {
	// Claim takes a lease on mail id for an attempt, in one transaction:
	// only a mail PENDING, or RETRY whose next attempt is due, is taken
	// (PROCESSING until leaseExpire, attempts + 1). It answers the mail,
	// its delivery after the claim, and whether this caller took it.
	Claim(ctx context.Context, id string, now, leaseExpire time.Time) (Mail, Delivery, bool, error)
	// Finish records the attempt's outcome (its Attempts must match, so
	// that a late writer never overwrites a later attempt).
	Finish(ctx context.Context, id string, d Delivery) error
	// Due lists up to limit ids of mail whose next attempt is due by now.
	Due(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Lapsed lists up to limit ids of mail whose lease expired before now
	// while PROCESSING.
	Lapsed(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Expire ends a PROCESSING mail whose lease expired as ERROR with why,
	// unless it changed meanwhile; it reports whether it did.
	Expire(ctx context.Context, id string, now time.Time, why string) (Mail, bool, error)
}

// Sent is what the server said of a mail it accepted.
type Sent struct {
	MessageID string
	Response  string
	Accepted  []string
}

// Transport delivers a mail. Errors: UNAVAILABLE for a failure worth
// retrying (a 4xx answer, the server unreachable, a timeout before the
// mail was sent); FAILED_PRECONDITION for a refusal no retry mends (a 5xx
// answer), with the server's words, or for a delivery whose outcome is
// unknown (the mail was sent but the server's answer never came), which
// then wraps ErrDeliveryUnknown: it is never sent again blindly.
type Transport interface {
	Send(ctx context.Context, m Mail) (Sent, error)
}

// NoTransport is the transport of an instance without SMTP_URL: every
// mail waits (UNAVAILABLE), retried until one is configured.
type NoTransport struct{}

// Send implements Transport.
func (NoTransport) Send(context.Context, Mail) (Sent, error) {
	return Sent{}, apperr.New(apperr.Unavailable, "no mail server is configured (SMTP_URL)")
}

// ErrDeliveryUnknown marks an attempt whose outcome is unknown: the mail
// went to the server, but its answer did not come back.
var ErrDeliveryUnknown = errors.New("delivery unknown")
