package fulfilment

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/shipping"
)

// Catalog reads the SKUs a print job is made of.
type Catalog interface {
	SKUs(ctx context.Context, ids []string) (map[string]catalog.SKU, error)
}

// PrintSettings are the store's settings for its printer.
type PrintSettings struct {
	// Levels maps a shipping rate's service code to the printer's shipping
	// level; DefaultLevel is any other's.
	Levels       map[string]string
	DefaultLevel string
	// Phone is the store's phone, sent when the customer gave none.
	Phone string
	// ContactEmail is who the printer writes to about a job: the owner
	// (OMS_OWNER_EMAIL), required; a job is never made without it.
	ContactEmail string
	// UnpaidAlertAfter is how long a job may wait unpaid before the owner
	// is alerted.
	UnpaidAlertAfter time.Duration
	// PaymentWait is how long canceling a job waits while the printer takes
	// payment for it (PAYMENT_IN_PROGRESS cannot be canceled; what follows
	// it can); DefaultPaymentWait when 0.
	PaymentWait time.Duration
}

// DefaultPaymentWait is how long a cancel waits, by default, for the
// printer to finish taking payment for a job: Lulu takes moments.
const DefaultPaymentWait = 10 * time.Second

// claimFor is how long a claim to create a print job stands: a runner that
// died holding it is replaced after that (and finds the job it may have
// made by its external id).
const claimFor = 2 * time.Minute

// submitPrintJob sends a fulfilling order's print part to the printer, once:
// it claims the part (one runner at a time), looks the job up by the order
// id first (a job made before a crash is found, never made twice), creates
// it if there is none, and records its id. The printer's refusal (400:
// its words) fails the step for good (the order needs the owner); the
// printer down is retried.
func (p *Parts) submitPrintJob(ctx context.Context, t orderflow.Transition) error {
	now := p.Now().UTC()
	claimed := false
	o, _, err := p.Orders.Update(ctx, t.Order.ID, func(o *order.Order) (bool, error) {
		claimed = o.ClaimPrintJob(claimFor, now)
		return claimed, nil
	})
	if err != nil {
		return err
	}
	if !claimed {
		if part := o.Part(order.PartPrint); part != nil && part.JobID == "" && part.Status == order.PartWaiting && o.State() == order.Fulfilling {
			return orderflow.ErrWaiting // the other runner records it; if it died, a later re-drive takes over
		}
		return nil
	}
	job, err := p.Printer.FindJob(ctx, o.ID)
	if err != nil {
		return err
	}
	if job == nil {
		req, err := p.jobRequest(ctx, o)
		if err != nil {
			return err
		}
		created, err := p.Printer.CreateJob(ctx, req)
		if err != nil {
			// The answer may be lost with the job made (a timeout, a 5xx):
			// look it up now; with none there, give the claim up so that the
			// retry need not wait it out.
			found, ferr := p.Printer.FindJob(ctx, o.ID)
			if ferr != nil {
				return err
			}
			if found == nil {
				if _, _, rerr := p.Orders.Update(ctx, o.ID, func(o *order.Order) (bool, error) {
					return o.ReleasePrintJobClaim(now), nil
				}); rerr != nil {
					return errors.Join(err, rerr)
				}
				return err
			}
			created = *found
		}
		job = &created
	}
	if err := p.recordJob(ctx, o.ID, *job); err != nil {
		return err
	}
	// The owner canceled the order while the job was being made: the
	// job must not print.
	if cur, err := p.Reader.Get(ctx, o.ID); err != nil || cur.State() != order.Canceled {
		return err
	}
	return p.StopPrint(ctx, o.ID, job.ID)
}

// stoppable are the job statuses the printer still cancels: before it
// takes payment and production (Lulu's table of transitions).
var stoppable = []string{JobCreated, JobUnpaid, JobProductionDelayed}

// ReasonInProduction is cancelOrder's reason when the printer is past the
// point where its job can be canceled.
const ReasonInProduction = "in_production"

// StopPrint cancels the order's print job (jobID; "" to look it up by the
// order id) unless the printer has gone past canceling, so that a canceled
// order prints nothing. No job, or one that ended without printing, is
// nothing to stop. FAILED_PRECONDITION (in_production, with the printer's
// status) when it is too late.
func (p *Parts) StopPrint(ctx context.Context, orderID, jobID string) error {
	err := p.stopPrint(ctx, orderID, jobID, true)
	if e := apperr.As(err); e != nil && e.Code == apperr.Unavailable && e.Reason == "printer_unavailable" && e.Err == nil {
		return err // ours, with its own words: the printer kept taking payment
	}
	if apperr.CodeOf(err) == apperr.Unavailable {
		return apperr.Wrap(err, apperr.Unavailable, "the printer could not be asked to cancel the job of order %s; try again", orderID).Because("printer_unavailable")
	}
	return err
}

func (p *Parts) stopPrint(ctx context.Context, orderID, jobID string, again bool) error {
	var job *PrintJob
	if jobID == "" {
		found, err := p.Printer.FindJob(ctx, orderID)
		if err != nil || found == nil {
			return err
		}
		job = found
	} else {
		j, err := p.Printer.Job(ctx, jobID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
		job = &j
	}
	if job.Status == JobPaymentInProgress {
		// The printer is taking payment: moments later the job is
		// PRODUCTION_DELAYED (or UNPAID again), and both can be canceled.
		paid, err := p.awaitPayment(ctx, orderID, job.ID)
		if err != nil {
			return err
		}
		job = &paid
	}
	switch {
	case job.Status == JobCanceled || job.Status == JobRejected || job.Status == JobError:
		return nil
	case slices.Contains(stoppable, job.Status):
		_, err := p.Printer.CancelJob(ctx, job.ID)
		if apperr.CodeOf(err) == apperr.FailedPrecondition && again {
			// It moved on between the read and the cancel: say where to.
			return p.stopPrint(ctx, orderID, job.ID, false)
		}
		if err != nil {
			return err
		}
		logging.FromContext(ctx).Info().Str("job", job.ID).Msg("print job canceled")
		return nil
	}
	return apperr.New(apperr.FailedPrecondition, "the printer's job %s for order %s is %s: too late to cancel; refund the order instead", job.ID, orderID, job.Status).
		Because(ReasonInProduction).WithDetails(map[string]string{"printerStatus": job.Status})
}

// awaitPayment re-reads a job the printer is taking payment for until it
// has moved on, backing off, for at most Settings.PaymentWait: UNAVAILABLE
// (printer_unavailable) when it still takes payment then, so that the
// caller tries again.
func (p *Parts) awaitPayment(ctx context.Context, orderID, jobID string) (PrintJob, error) {
	wait := p.Settings.PaymentWait
	if wait <= 0 {
		wait = DefaultPaymentWait
	}
	pause := 250 * time.Millisecond
	for waited := time.Duration(0); waited < wait; {
		pause = min(pause, wait-waited)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return PrintJob{}, apperr.Wrap(ctx.Err(), apperr.Unavailable, "the printer did not finish taking payment in time").Because("printer_unavailable")
		case <-t.C:
		}
		waited += pause
		pause *= 2
		job, err := p.Printer.Job(ctx, jobID)
		if err != nil {
			return PrintJob{}, err
		}
		if job.Status != JobPaymentInProgress {
			return job, nil
		}
	}
	return PrintJob{}, apperr.New(apperr.Unavailable,
		"the printer is taking payment for job %s of order %s (%s), when it cannot be canceled; it can be in a moment: try again", jobID, orderID, JobPaymentInProgress).
		Because("printer_unavailable")
}

// recordJob writes what the printer says of the order's print job on its
// print part (order.RecordPrintJob): the job id, the printer's status and
// the part's status (shipped with tracking, failed with the printer's
// words: the order then needs the owner).
func (p *Parts) recordJob(ctx context.Context, id string, job PrintJob) error {
	_, _, err := p.Orders.Update(ctx, id, func(o *order.Order) (bool, error) {
		return o.RecordPrintJob(order.PrintJob{ID: job.ID, PrinterStatus: job.Status, Part: partStatusOf(job.Status),
			Tracking: order.Tracking{Carrier: job.Carrier, TrackingNumber: job.TrackingNumber, TrackingURL: job.TrackingURL},
			Message:  job.StatusMessage}, p.Now().UTC())
	})
	return err
}

// partStatusOf is what the printer's status of a job means for its print
// part: made (in production, ready), shipped, delivered, refused or lost
// (failed), or still waiting at the printer (submitted).
func partStatusOf(jobStatus string) string {
	switch jobStatus {
	case JobInProduction, JobProductionReady:
		return order.PartInProduction
	case JobShipped:
		return order.PartShipped
	case JobDelivered:
		return order.PartDelivered
	case JobRejected, JobError, JobCanceled:
		return order.PartFailed
	}
	return order.PartSubmitted
}

// jobRequest is the print job of an order's print part: its lines with
// the SKUs' printable files, the shipping address and level.
func (p *Parts) jobRequest(ctx context.Context, o *order.Order) (PrintJobRequest, error) {
	part := o.Part(order.PartPrint)
	var ids []string
	for _, l := range part.Lines {
		ids = append(ids, l.SKU)
	}
	skus, err := p.Catalog.SKUs(ctx, ids)
	if err != nil {
		return PrintJobRequest{}, err
	}
	if o.Shipping == nil || o.Customer == nil {
		return PrintJobRequest{}, apperr.New(apperr.FailedPrecondition, "order %s has no shipping address or customer to print for", o.ID).Because("no_shipping")
	}
	a := o.Shipping.Address
	phone := a.Phone
	if phone == "" {
		phone = p.Settings.Phone
	}
	if phone == "" {
		return PrintJobRequest{}, apperr.New(apperr.FailedPrecondition,
			"the printer needs a phone number: the customer gave none and the store has none (OMS_PRINTER_PHONE)").Because("no_phone")
	}
	level := p.Settings.Levels[o.Shipping.Rate.ServiceCode]
	if level == "" {
		level = p.Settings.DefaultLevel
	}
	// The printer writes to the contact about the job: the owner, never
	// the customer (the configuration requires it with the printer).
	if p.Settings.ContactEmail == "" {
		return PrintJobRequest{}, apperr.New(apperr.FailedPrecondition,
			"the printer needs the owner's email as its jobs' contact (OMS_OWNER_EMAIL)").Because("no_contact_email")
	}
	r := PrintJobRequest{ExternalID: o.ID, ContactEmail: p.Settings.ContactEmail, ShippingLevel: level,
		Address: PrintAddress{Name: a.Name, Street1: a.AddressLine1, Street2: a.AddressLine2, City: a.CityLocality, StateCode: a.StateProvince,
			PostCode: a.PostalCode, CountryCode: a.CountryCode, Phone: phone, Email: o.Customer.Email}}
	for _, l := range part.Lines {
		s, ok := skus[l.SKU]
		if !ok || s.Printer == nil || s.Printer.PodPackageID == "" || s.Printer.InteriorURL == "" || s.Printer.CoverURL == "" {
			return PrintJobRequest{}, apperr.New(apperr.FailedPrecondition,
				"SKU %s has no printer set-up (skus/%s.printer: podPackageId, interiorUrl, coverUrl)", l.SKU, l.SKU).Because("no_print_files")
		}
		r.Lines = append(r.Lines, PrintLine{ExternalID: l.SKU, Title: l.Name, Quantity: l.Quantity, PodPackageID: s.Printer.PodPackageID,
			InteriorURL: s.Printer.InteriorURL, CoverURL: s.Printer.CoverURL})
	}
	return r, nil
}

// Printable checks, before the card is authorized, that the printer can
// ship the order's print-on-demand lines to its address: a phone number
// (the customer's, in the printer's pattern, or else the store's), and a
// country where the printer needs nothing the checkout does not collect
// (a recipient tax id). FAILED_PRECONDITION with the reason; an order
// without print-on-demand lines always passes.
func (p *Parts) Printable(o *order.Order) error {
	prints := false
	for _, l := range o.Lines {
		prints = prints || l.Fulfillment == catalog.PrintOnDemand
	}
	if !prints || o.Shipping == nil {
		return nil
	}
	a := o.Shipping.Address
	switch {
	case slices.Contains(shipping.PrinterTaxIDCountries, a.CountryCode):
		return apperr.New(apperr.FailedPrecondition, "printed planners cannot ship to %s yet (the printer needs the recipient's tax id there)", a.CountryCode).
			Because("printer_cannot_ship")
	case a.Phone != "" && !shipping.PrinterPhone.MatchString(a.Phone):
		return apperr.New(apperr.FailedPrecondition, "the phone number %q is not one the printer accepts (8–20 digits, spaces, + - . / ( )): correct it and quote shipping again", a.Phone).
			Because("printer_needs_phone")
	case a.Phone == "" && p.Settings.Phone == "":
		return apperr.New(apperr.FailedPrecondition, "printed planners need a phone number for the carrier: add one to the address and quote shipping again").
			Because("printer_needs_phone")
	}
	return nil
}
