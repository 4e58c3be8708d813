package order

import (
	"time"

	"github.com/readyplanner/oms/internal/apperr"
)

// PlanSession plans the pending order's next payment session, to expire at
// expiresAt, for the pricing revision it has: the next attempt (part of the
// session's idempotency key), its strays kept; the holds are stretched to
// last as long as the session. It returns the plan. An order whose current
// session is still open answers ErrSessionOpen (it is closed first); one
// that is not pending, FAILED_PRECONDITION.
func (o *Order) PlanSession(expiresAt time.Time) (Payment, error) {
	if o.state != Pending {
		return Payment{}, NotPending(o, "be paid")
	}
	if o.SessionOpen() {
		return Payment{}, ErrSessionOpen
	}
	next := Payment{Revision: o.Pricing.Revision, Attempt: 1, ExpiresAt: expiresAt}
	if p := o.Payment; p != nil {
		next.Attempt, next.Strays = p.Attempt+1, p.Strays
	}
	o.Payment = &next
	if o.HoldExpiresAt.Before(expiresAt) {
		o.HoldExpiresAt = expiresAt // the holds last as long as the session
	}
	return next, nil
}

// SessionPlanFailed records that the provider refused to make the planned
// session of attempt: the plan is not asked for again with the same key
// (the next Start plans anew). It reports whether that changed anything; a
// plan already answered or replaced changes nothing.
func (o *Order) SessionPlanFailed(attempt int64) bool {
	p := o.Payment
	if p == nil || p.SessionID != "" || p.Attempt != attempt || p.ExpiresAt.IsZero() {
		return false
	}
	p.ExpiresAt = time.Time{}
	return true
}

// ErrSessionSuperseded is what SessionMade answers when the order moved
// past the plan the session was made for (another tab changed it): nobody
// is sent to that session, which is expired. Use errors.Is.
var ErrSessionSuperseded = apperr.New(apperr.Aborted, "the order changed while the payment session was made; call again").Because("order_changed")

// SessionMade makes the session the provider made for plan (its id and
// URL) the order's current, open one. It reports whether that changed
// anything (the same session again does not); an order no longer pending
// for that plan (revision and attempt) answers ErrSessionSuperseded.
func (o *Order) SessionMade(plan Payment, sessionID, url string) (bool, error) {
	p := o.Payment
	if o.state != Pending || p == nil || p.Attempt != plan.Attempt || p.Revision != plan.Revision || o.Pricing.Revision != plan.Revision {
		return false, ErrSessionSuperseded
	}
	if p.SessionID == sessionID {
		return false, nil
	}
	p.SessionID, p.URL, p.SessionClosed = sessionID, url, false
	return true, nil
}

// CloseSession records that the order's session sessionID can no longer be
// paid (expired at the provider, or lapsed). It reports whether that
// changed anything: another session than the current one, or one closed
// already, changes nothing.
func (o *Order) CloseSession(sessionID string) bool {
	p := o.Payment
	if p == nil || p.SessionID == "" || p.SessionID != sessionID || p.SessionClosed {
		return false
	}
	p.SessionClosed = true
	return true
}

// Authorization is a card authorization that a payment session brought,
// as the provider reports it.
type Authorization struct {
	SessionID     string
	IntentID      string
	Amount        int64 // capturable, minor units
	CaptureBefore time.Time
	CardBrand     string
	CardLast4     string
}

// Authorize moves the pending order to authorized, by actor, and records
// the authorization a on its payment. It reports whether it did: the
// order authorized by a.IntentID already changes nothing; an
// authorization that may not authorize the order (AuthorizationRefusal:
// record it with AddStray instead) is FAILED_PRECONDITION with the
// refusal as its reason, and changes nothing.
func (o *Order) Authorize(a Authorization, actor string, at time.Time) (bool, error) {
	if o.Payment != nil && o.Payment.IntentID == a.IntentID {
		return false, nil
	}
	if reason := o.AuthorizationRefusal(a.SessionID, a.Amount); reason != "" {
		return false, apperr.New(apperr.FailedPrecondition, "the authorization %s may not authorize order %s: %s", a.IntentID, o.ID, reason).Because(reason)
	}
	applied, err := o.Transition(Move{From: []State{Pending}, To: Authorized, Actor: actor, Reason: "the card was authorized"}, at)
	if err != nil || !applied {
		return false, err
	}
	p := o.Payment
	p.IntentID, p.AmountCapturable, p.CaptureBefore = a.IntentID, a.Amount, a.CaptureBefore
	p.CardBrand, p.CardLast4 = a.CardBrand, a.CardLast4
	return true, nil
}

// LapseWarned records that the sweeper flagged, at `at`, that the order's
// authorization lapses soon without a capture (and alerted the owner). It
// reports whether it was new: an order flagged already keeps its first
// flag.
func (o *Order) LapseWarned(at time.Time) bool {
	if o.Payment == nil || !o.Payment.LapseWarnedAt.IsZero() {
		return false
	}
	o.Payment.LapseWarnedAt = at
	return true
}
