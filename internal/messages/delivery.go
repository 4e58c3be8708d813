package messages

import "time"

// The delivery record's transitions, decided here and saved by the store:
// its methods read the record in a transaction, call one of these and
// write what it answers, or nothing when it answers false. They serve the
// mail's delivery record and the alert webhook's alike.

// Queued is the delivery record the built-in sender starts a new mail
// with: PENDING, due at now. (With the Trigger Email extension a new mail
// has no record: the extension writes it.)
func Queued(now time.Time) Delivery {
	return Delivery{State: StatePending, NextAttempt: now}
}

// Claim is d taken for an attempt at now. Only a record PENDING, or RETRY,
// whose next attempt is unset or at or before now is taken: it becomes
// PROCESSING until leaseExpire, started at now, with one attempt more and
// no next attempt, and Claim answers it and true. Any other record
// (PROCESSING, SUCCESS, ERROR, or not yet due) is answered as it is, with
// false: the attempt is someone else's, or over, or later.
func (d Delivery) Claim(now, leaseExpire time.Time) (Delivery, bool) {
	if d.State != StatePending && d.State != StateRetry {
		return d, false
	}
	if d.NextAttempt.After(now) {
		return d, false
	}
	d.State, d.Attempts, d.StartTime, d.LeaseExpire, d.NextAttempt = StateProcessing, d.Attempts+1, now, leaseExpire, time.Time{}
	return d, true
}

// Finish is the stored record d replaced by out, an attempt's outcome:
// out and true only when d is the same attempt (the same Attempts) and
// still PROCESSING, or ERROR because its lease ran out (a late answer is
// the better record). Otherwise d and false: a late writer never
// overwrites a later attempt, nor a record the owner or the extension
// changed meanwhile.
func (d Delivery) Finish(out Delivery) (Delivery, bool) {
	if d.Attempts != out.Attempts || (d.State != StateProcessing && d.State != StateError) {
		return d, false
	}
	return out, true
}

// Expire ends d's attempt if its lease ran out by now: a PROCESSING record
// whose lease expired at or before now becomes ERROR with why, ended at
// now, without a lease, and Expire answers it and true. Any other record
// (another state, a lease still running, or none) is answered as it is,
// with false: the attempt ended, or may still end, by itself.
func (d Delivery) Expire(now time.Time, why string) (Delivery, bool) {
	if d.State != StateProcessing || d.LeaseExpire.IsZero() || d.LeaseExpire.After(now) {
		return d, false
	}
	d.State, d.Error, d.EndTime, d.LeaseExpire = StateError, why, now, time.Time{}
	return d, true
}

// HandOver gives d, if the built-in sender scheduled it (PENDING or RETRY
// with a next attempt), to the Trigger Email extension: RETRY without a
// next attempt, the write the extension acts on, and true. It changes
// nothing else of the record. Any other record is answered as it is, with
// false: the extension already has it, or it is being or was delivered.
func (d Delivery) HandOver() (Delivery, bool) {
	if (d.State != StatePending && d.State != StateRetry) || d.NextAttempt.IsZero() {
		return d, false
	}
	d.State, d.NextAttempt = StateRetry, time.Time{}
	return d, true
}
