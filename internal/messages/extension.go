package messages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/sweep"
)

// ExtensionStore is what the watch over the extension needs of the outbox.
type ExtensionStore interface {
	// Get reads mail id and its delivery record (NOT_FOUND if none).
	Get(ctx context.Context, id string) (Mail, Delivery, error)
	// Due lists up to limit ids of mail whose nextAttempt (the built-in
	// sender's) is due by now.
	Due(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Lapsed lists up to limit ids of mail PROCESSING whose lease expired
	// before the given time.
	Lapsed(ctx context.Context, before time.Time, limit int) ([]string, error)
	// Expire ends a PROCESSING mail whose lease expired before the given
	// time as ERROR with why, unless it changed meanwhile.
	Expire(ctx context.Context, id string, before time.Time, why string) (Mail, bool, error)
	// HandOver gives a mail the built-in sender scheduled (PENDING or
	// RETRY with a nextAttempt) to the extension: RETRY, without
	// nextAttempt — a write the extension acts on. It reports whether it
	// did.
	HandOver(ctx context.Context, id string) (bool, error)
}

// Extension watches the outbox while the Trigger Email extension delivers
// it (OMS_MAIL_SENDER=extension), for what the extension does not do:
//
//   - it alerts no one when a mail ends ERROR: Ended alerts the owner,
//     once per mail (onMailWritten calls it when the extension writes
//     ERROR). The extension never retries: the mail stays ERROR until the
//     owner sets delivery.state to RETRY;
//   - it ends an attempt it lost (its instance died mid-send: PROCESSING
//     past leaseExpireTime) only on a later write of that document, which
//     may never come: the sweeper ends it ERROR "delivery unknown" after
//     Grace, and alerts;
//   - it never sees mail the built-in sender left PENDING or RETRY (due by
//     their nextAttempt) when the owner switched senders: the sweeper
//     hands each over with a write the extension acts on.
type Extension struct {
	Mail   ExtensionStore
	Alerts alert.Raiser
	// Grace is how long past its lease an extension attempt is taken for
	// lost (the extension's lease is 60 s, its function's timeout 60 s).
	Grace time.Duration
}

// Ended alerts the owner, once, about mail id if the extension ended it
// ERROR.
func (e *Extension) Ended(ctx context.Context, id string) (string, error) {
	m, d, err := e.Mail.Get(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "no such mail", nil
	}
	if err != nil || d.State != StateError {
		return "not ended (" + d.State + ")", err
	}
	why := d.Error
	if why == "" {
		why = "the extension recorded no error"
	}
	logging.FromContext(ctx).Error().Str("mail", id).Str("why", why).Msg("the Trigger Email extension did not deliver a mail")
	return "alerted", alertFailed(ctx, e.Alerts, m, why)
}

// DeliveryUnknownExtension is the error of an extension attempt lost
// past its lease.
const DeliveryUnknownExtension = "delivery unknown: the Trigger Email extension's attempt did not finish within its lease (the server may or may not have accepted the mail); not sent again"

// Tasks returns the watch's sweeper task.
func (e *Extension) Tasks() map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"watchMail": e.sweep}
}

func (e *Extension) sweep(ctx context.Context, now time.Time) (string, error) {
	var errs []error
	lapsed, err := e.Mail.Lapsed(ctx, now.Add(-e.Grace), sweepBatch)
	if err != nil {
		return "", err
	}
	unknown := 0
	for _, id := range lapsed {
		m, ended, err := e.Mail.Expire(ctx, id, now.Add(-e.Grace), DeliveryUnknownExtension)
		if err == nil && ended {
			unknown++
			err = alertFailed(ctx, e.Alerts, m, DeliveryUnknownExtension)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("mail %s: %w", id, err))
		}
	}
	due, err := e.Mail.Due(ctx, now, sweepBatch)
	if err != nil {
		return "", errors.Join(append(errs, err)...)
	}
	handed := 0
	for _, id := range due {
		ok, err := e.Mail.HandOver(ctx, id)
		if err != nil {
			errs = append(errs, fmt.Errorf("mail %s: %w", id, err))
		} else if ok {
			handed++
		}
	}
	return fmt.Sprintf("%d mails of the built-in sender handed over to the extension, %d lost extension attempts ended with their delivery unknown", handed, unknown), errors.Join(errs...)
}
