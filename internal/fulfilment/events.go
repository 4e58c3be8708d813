package fulfilment

import (
	"context"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/sweep"
	"github.com/readyplanner/oms/internal/webhook"
)

// OrderReader reads orders, and lists the fulfilling ones whose print
// part waits on the printer.
type OrderReader interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	// PrintsWaiting lists up to limit fulfilling orders last changed
	// before `before` (their print parts are re-read).
	PrintsWaiting(ctx context.Context, before time.Time, limit int) ([]*order.Order, error)
	// Tracked lists up to limit orders with a part tracking follows
	// (order.Tracked), last changed before `before`.
	Tracked(ctx context.Context, before time.Time, limit int) ([]*order.Order, error)
	// ByTrackingNumber finds the order whose parcel has a good label with
	// that tracking number (NOT_FOUND: none).
	ByTrackingNumber(ctx context.Context, n string) (*order.Order, error)
}

// RecordEvent records a delivery of the printer's webhook (its signature
// checked by the caller) under id, and reports whether this call recorded
// it: onPrinterEvent acts on the record it made. Any other copy of the
// delivery, concurrent or later, is a duplicate (false): the record is
// acted on once, whoever answers first.
func (p *Parts) RecordEvent(ctx context.Context, id string, e webhook.PrinterEvent) (bool, error) {
	return p.Events.Create(ctx, webhook.Event{ID: id, Printer: &e}, p.Now())
}

// HandleEvent acts on a recorded printer event (another source's is not
// its work): it re-reads the job from the printer (the delivery's body is
// never trusted), updates the order's print part (shipped with tracking;
// failed → the order needs the owner, alerted once), and marks the event
// processed. An event of a job no order knows is recorded with that
// outcome.
func (p *Parts) HandleEvent(ctx context.Context, e webhook.Event) (string, error) {
	if e.Printer == nil {
		return "not a printer event", nil
	}
	job, err := p.Printer.Job(ctx, e.Printer.JobID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown job", p.Events.Processed(ctx, webhook.Printer, e.ID, "unknown job", p.Now())
	}
	if err != nil {
		return "", err
	}
	outcome, err := p.applyJob(ctx, job)
	if err != nil {
		return "", err
	}
	return outcome, p.Events.Processed(ctx, webhook.Printer, e.ID, outcome, p.Now())
}

// applyJob records a job read from the printer on its order.
func (p *Parts) applyJob(ctx context.Context, job PrintJob) (string, error) {
	if order.ValidID(job.ExternalID) != nil {
		return "not an order's job", nil
	}
	o, err := p.Reader.Get(ctx, job.ExternalID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown order", nil
	}
	if err != nil {
		return "", err
	}
	if part := o.Part(order.PartPrint); part == nil || (part.JobID != "" && part.JobID != job.ID) {
		return "not the order's job", nil
	}
	if err := p.recordJob(ctx, o.ID, job); err != nil {
		return "", err
	}
	if part := o.Part(order.PartPrint); part.Status == order.PartCanceled || o.State() == order.Canceled {
		return "job " + job.Status + " of a canceled order", nil // the owner canceled it: nothing to tell
	}
	if err := p.alertJob(ctx, o.ID, job); err != nil {
		return "", err
	}
	return "job " + job.Status, nil
}

// alertJob tells the owner of a job the printer refused or lost (once per
// job and status) and of one stuck unpaid (the account has no payment
// method) longer than the settings allow.
func (p *Parts) alertJob(ctx context.Context, orderID string, job PrintJob) error {
	switch job.Status {
	case JobRejected, JobError, JobCanceled:
		_, err := p.Alerts.Raise(ctx, alert.Alert{Key: fmt.Sprintf("print-%s-%s", job.ID, job.Status), Kind: alert.PrintJob, OrderID: orderID,
			Subject: fmt.Sprintf("Order %s: the printer's job is %s", orderID, job.Status),
			Text: fmt.Sprintf("The printer's job %s for order %s is %s: %s\nThe order needs your attention; retryOrder sends it again once the cause is fixed.",
				job.ID, orderID, job.Status, job.StatusMessage)})
		return err
	case JobUnpaid:
		if !job.Changed.IsZero() && p.Now().Sub(job.Changed) > p.Settings.UnpaidAlertAfter {
			_, err := p.Alerts.Raise(ctx, alert.Alert{Key: "print-unpaid-" + job.ID, Kind: alert.PrintJob, OrderID: orderID,
				Subject: fmt.Sprintf("Order %s: the print job waits to be paid", orderID),
				Text: fmt.Sprintf("The printer's job %s for order %s has been UNPAID since %s: the printer account has no payment method. "+
					"Add one at the printer; the job then goes into production.", job.ID, orderID, job.Changed.UTC().Format(time.RFC3339))})
			return err
		}
	}
	return nil
}

// Tasks returns the sweeper tasks by name.
func (p *Parts) Tasks(redriveAfter time.Duration) map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"rereadPrintJobs": func(ctx context.Context, now time.Time) (string, error) {
		return p.rereadPrintJobs(ctx, now, redriveAfter)
	}, "rereadTracking": func(ctx context.Context, now time.Time) (string, error) {
		return p.rereadTracking(ctx, now, redriveAfter)
	}}
}

// rereadBatch bounds one sweep's re-reads.
const rereadBatch = 50

// rereadPrintJobs re-reads the print jobs of fulfilling orders unchanged
// for longer than redriveAfter, so that a lost webhook costs a sweep, not
// an order; an UNPAID job past its time alerts the owner.
func (p *Parts) rereadPrintJobs(ctx context.Context, now time.Time, redriveAfter time.Duration) (string, error) {
	orders, err := p.Reader.PrintsWaiting(ctx, now.Add(-redriveAfter), rereadBatch)
	if err != nil {
		return "", err
	}
	n, moved := 0, 0
	for _, o := range orders {
		part := o.Part(order.PartPrint)
		if part == nil || part.JobID == "" || part.Shipped() || part.Status == order.PartFailed || part.Status == order.PartCanceled {
			continue
		}
		job, err := p.Printer.Job(ctx, part.JobID)
		if err != nil {
			return fmt.Sprintf("re-read %d print jobs, %d moved", n, moved), err
		}
		n++
		if job.Status != part.PrinterStatus {
			moved++
		}
		if _, err := p.applyJob(ctx, job); err != nil {
			return fmt.Sprintf("re-read %d print jobs, %d moved", n, moved), err
		}
	}
	return fmt.Sprintf("re-read %d print jobs, %d moved", n, moved), nil
}
