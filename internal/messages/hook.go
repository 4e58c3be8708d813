package messages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/sweep"
)

// HookPost is an alert as the alert webhook receives it.
type HookPost struct {
	Key, Kind, OrderID, Subject, Text string
}

// HookStore is what the alert webhook needs of the alerts: each alert
// raised while a webhook is configured carries its own delivery record
// (PENDING, due at once), claimed and finished like a mail's.
type HookStore interface {
	// ClaimHook takes alert key's webhook delivery if it is due (PENDING,
	// or RETRY whose time came): attempts + 1, PROCESSING until
	// leaseExpire. It answers the alert and whether this caller took it.
	ClaimHook(ctx context.Context, key string, now, leaseExpire time.Time) (HookPost, Delivery, bool, error)
	FinishHook(ctx context.Context, key string, d Delivery) error
	// DueHooks lists up to limit alerts whose webhook delivery is due.
	DueHooks(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// HookTransport posts an alert to the webhook. Errors: UNAVAILABLE worth
// retrying (429, 5xx, no answer); FAILED_PRECONDITION final (another 4xx:
// the URL is wrong or revoked).
type HookTransport interface {
	Post(ctx context.Context, p HookPost) error
}

// Hooks posts the owner's alerts to a Slack-compatible incoming webhook
// (OMS_ALERT_WEBHOOK_URL) besides mailing them: at once (a trigger on
// alerts/{key}) and, when that fails, again by the sweeper with backoff.
// It never holds up the alert's mail, which is queued with the alert
// itself.
type Hooks struct {
	Alerts      HookStore
	Transport   HookTransport
	Lease       time.Duration
	MaxAttempts int
	Now         func() time.Time
}

// Post makes one attempt at alert key's webhook delivery if it is due.
func (h *Hooks) Post(ctx context.Context, key string) (string, error) {
	now := h.Now().UTC()
	p, d, claimed, err := h.Alerts.ClaimHook(ctx, key, now, now.Add(h.Lease))
	if apperr.CodeOf(err) == apperr.NotFound {
		return "no such alert", nil
	}
	if err != nil || !claimed {
		return "not due (" + d.State + ")", err
	}
	postCtx, cancel := context.WithTimeout(ctx, h.Lease*3/4)
	perr := h.Transport.Post(postCtx, p)
	cancel()
	out := ended(d, perr, h.Now().UTC(), h.MaxAttempts)
	outcome := "posted"
	switch out.State {
	case StateRetry:
		outcome = "will retry"
		logging.FromContext(ctx).Warn().Err(perr).Str("alert", key).Msg("alert webhook failed; will retry")
	case StateError:
		outcome = "failed"
		logging.FromContext(ctx).Error().Err(perr).Str("alert", key).Msg("alert webhook failed for good (the alert's mail is not affected)")
	}
	return outcome, h.Alerts.FinishHook(ctx, key, out)
}

// Tasks returns the webhook's sweeper task: due deliveries posted.
func (h *Hooks) Tasks() map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"postAlerts": func(ctx context.Context, now time.Time) (string, error) {
		due, err := h.Alerts.DueHooks(ctx, now, sweepBatch)
		if err != nil {
			return "", err
		}
		var errs []error
		posted := 0
		for _, key := range due {
			out, err := h.Post(ctx, key)
			if err != nil {
				errs = append(errs, fmt.Errorf("alert %s: %w", key, err))
			} else if out == "posted" {
				posted++
			}
		}
		return fmt.Sprintf("%d of %d due alerts posted", posted, len(due)), errors.Join(errs...)
	}}
}
