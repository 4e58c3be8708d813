package messages

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/sweep"
)

// PurposeAlert is the purpose of the owner's alert mail. A failure to
// deliver one is logged (and sent to the alert webhook), never mailed as
// another alert: that would go to the same failing address.
const PurposeAlert = "alert"

// Sender is the built-in sender: a trigger on mail/{id} and a sweeper task
// that deliver the outbox through the Transport, keeping the extension's
// delivery state machine (PENDING → PROCESSING under a lease → SUCCESS |
// ERROR; RETRY after a transient failure, with backoff).
type Sender struct {
	Mail      MailStore
	Transport Transport
	Alerts    alert.Raiser
	// Lease is how long an attempt holds a mail; an attempt not finished
	// by then has an unknown outcome. It must be longer than the
	// Transport's longest attempt (smtpmail: 5.5 minutes, a slow server's
	// final answer waited for): the attempt is given 3/4 of it.
	Lease time.Duration
	// MaxAttempts bounds the attempts after transient failures; the last
	// one failing ends the mail in ERROR (and one owner alert).
	MaxAttempts int
	Now         func() time.Time
}

// Backoff is how long a mail waits after its nth failed attempt: 1, 2, 4,
// … minutes, at most an hour.
func Backoff(n int) time.Duration {
	d := time.Minute << min(max(n-1, 0), 6)
	return min(d, time.Hour)
}

// Deliver makes one attempt at mail id if it is due, and records how it
// ended. It answers what happened; an error only when the outbox could not
// be read or written (the trigger retries).
func (s *Sender) Deliver(ctx context.Context, id string) (string, error) {
	now := s.Now().UTC()
	m, d, claimed, err := s.Mail.Claim(ctx, id, now, now.Add(s.Lease))
	if apperr.CodeOf(err) == apperr.NotFound {
		return "no such mail", nil
	}
	if err != nil || !claimed {
		return "not due (" + d.State + ")", err
	}
	log := logging.FromContext(ctx).With().Str("mail", id).Int("attempt", d.Attempts).Logger()
	// The attempt must end within the lease, so that an attempt still
	// running is never taken for a lost one.
	sendCtx, cancel := context.WithTimeout(ctx, s.Lease*3/4)
	sent, serr := s.Transport.Send(sendCtx, m)
	cancel()
	out := ended(d, serr, s.Now().UTC(), s.MaxAttempts)
	outcome := ""
	switch out.State {
	case StateSuccess:
		out.MessageID, out.Response, out.Accepted = sent.MessageID, sent.Response, sent.Accepted
		outcome = "sent"
		log.Info().Str("messageId", sent.MessageID).Msg("mail sent")
	case StateRetry:
		outcome = "will retry at " + out.NextAttempt.Format(time.RFC3339)
		log.Warn().Err(serr).Time("next", out.NextAttempt).Msg("mail not sent; will retry")
	default:
		outcome = "failed: " + out.Error
		log.Error().Err(serr).Msg("mail not sent, for good")
	}
	if err := s.Mail.Finish(ctx, id, out); err != nil {
		return "", err
	}
	if out.State == StateError {
		return outcome, s.alertFailed(ctx, m, out.Error)
	}
	return outcome, nil
}

// ended is the delivery record d of an attempt that ended at end with
// err (nil: delivered): SUCCESS; RETRY after Backoff when err is worth
// retrying and attempts remain; otherwise ERROR. The mail's sender and
// the alert webhook share it.
func ended(d Delivery, err error, end time.Time, maxAttempts int) Delivery {
	d.EndTime, d.LeaseExpire, d.NextAttempt = end, time.Time{}, time.Time{}
	switch {
	case err == nil:
		d.State, d.Error = StateSuccess, ""
	case apperr.Transient(err) && d.Attempts < maxAttempts:
		d.State, d.Error, d.NextAttempt = StateRetry, messageOf(err), end.Add(Backoff(d.Attempts))
	default:
		d.State, d.Error = StateError, messageOf(err)
	}
	return d
}

func messageOf(err error) string {
	if e := apperr.As(err); e != nil {
		return e.Message
	}
	return err.Error()
}

// alertFailed tells the owner, once per mail, that it was not delivered.
func (s *Sender) alertFailed(ctx context.Context, m Mail, why string) error {
	return alertFailed(ctx, s.Alerts, m, why)
}

// alertFailed tells the owner, once per mail (the alert's key is the
// mail's), that it was not delivered, or may not have been.
func alertFailed(ctx context.Context, alerts alert.Raiser, m Mail, why string) error {
	if m.Purpose == PurposeAlert {
		logging.FromContext(ctx).Error().Str("mail", m.ID).Str("why", why).Msg("an alert mail to the owner was not delivered")
		return nil
	}
	subject, fate := "An email to %s was not delivered", "The customer has not received it; write to them yourself"
	if strings.HasPrefix(why, "delivery unknown") {
		subject, fate = "An email to %s may not have been delivered", "The customer may or may not have received it; ask them"
	}
	_, err := alerts.Raise(ctx, alert.Alert{Key: "mail-" + m.ID, Kind: alert.MailFailed, OrderID: m.OrderID,
		Subject: fmt.Sprintf(subject, m.To),
		Text:    fmt.Sprintf("The email %q (%s) to %s: %s\n%s, or set mail/%s's delivery.state to RETRY once the cause is fixed.", m.Subject, m.ID, m.To, why, fate, m.ID)})
	return err
}

// Tasks returns the sender's sweeper task: due mail delivered (the
// retries, and any whose trigger was lost), and attempts whose lease ran
// out ended as ERROR "delivery unknown" — never sent again blindly.
func (s *Sender) Tasks() map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"deliverMail": s.sweep}
}

// sweepBatch bounds one sweep's deliveries.
const sweepBatch = 50

// sweepBudget is how long one sweep starts attempts: a slow server's
// attempt may take minutes, and the sweep must end within its function's
// timeout (15 minutes) rather than be cut mid-attempt, which would leave
// that attempt's outcome unknown. The next sweep takes the rest.
const sweepBudget = 2 * time.Minute

// DeliveryUnknown is the error of a mail whose attempt's lease ran out:
// the server may or may not have accepted it.
const DeliveryUnknown = "delivery unknown: the attempt did not finish within its lease (the server may or may not have accepted the mail); not sent again"

func (s *Sender) sweep(ctx context.Context, now time.Time) (string, error) {
	var errs []error
	lapsed, err := s.Mail.Lapsed(ctx, now, sweepBatch)
	if err != nil {
		return "", err
	}
	unknown := 0
	for _, id := range lapsed {
		m, ended, err := s.Mail.Expire(ctx, id, now, DeliveryUnknown)
		if err == nil && ended {
			unknown++
			err = s.alertFailed(ctx, m, DeliveryUnknown)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("mail %s: %w", id, err))
		}
	}
	due, err := s.Mail.Due(ctx, now, sweepBatch)
	if err != nil {
		return "", errors.Join(append(errs, err)...)
	}
	sent, started := 0, time.Now()
	for _, id := range due {
		if time.Since(started) > sweepBudget {
			break
		}
		out, err := s.Deliver(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("mail %s: %w", id, err))
		} else if out == "sent" {
			sent++
		}
	}
	return fmt.Sprintf("%d of %d due mails sent, %d ended with their delivery unknown", sent, len(due), unknown), errors.Join(errs...)
}
