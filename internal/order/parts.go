package order

import (
	"fmt"
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/pricing"
)

// Part kinds: how a part of an order reaches the customer.
const (
	PartPrint  = "print"  // the print-on-demand lines: one print job at the printer, which ships it
	PartParcel = "parcel" // the stock lines: the owner packs and ships them
)

// Part statuses. Stored on the order (fulfilment.parts[].status) and
// documented. A part's status changes only as the part table allows
// (CanMovePart), through the order's methods.
const (
	PartWaiting        = "waiting"          // parcel: for the owner to pack and ship; print: for its print job
	PartLabelled       = "labelled"         // parcel: its label is bought; it waits for the carrier's first scan (or the owner's word)
	PartSubmitted      = "submitted"        // print: the job exists at the printer
	PartInProduction   = "in_production"    // print: the printer is making it
	PartShipped        = "shipped"          // on its way: carrier and tracking are known
	PartInTransit      = "in_transit"       // the carrier has it (tracking says so)
	PartOutForDelivery = "out_for_delivery" // the carrier is delivering it today
	PartException      = "exception"        // the carrier reports a problem (the owner is alerted); tracking may still move on
	PartDelivered      = "delivered"        // the carrier delivered it (when the carrier says so)
	PartFailed         = "failed"           // the printer refused or lost it: the order needs the owner
	PartCanceled       = "canceled"         // the order was canceled before the part shipped
)

// PartStatuses lists every part status, in the order a part goes through
// them, then the side exits.
var PartStatuses = []string{PartWaiting, PartLabelled, PartSubmitted, PartInProduction, PartShipped, PartInTransit, PartOutForDelivery,
	PartException, PartDelivered, PartFailed, PartCanceled}

// onTheWay are the statuses of a part that left: the carrier has it, or
// delivered it.
var onTheWay = []string{PartShipped, PartInTransit, PartOutForDelivery, PartException, PartDelivered}

// partMoves is the one table of a part's allowed status changes: from →
// the statuses it may move to. delivered and canceled are terminal.
//
// A parcel goes waiting → labelled (its label bought; back to waiting when
// the label is voided) → shipped (the owner's markShipped, or the
// carrier's first scan) → in_transit → out_for_delivery → delivered as
// tracking reports, skipping what the carrier went through between two
// reads (a parcel shipped without a bought label goes waiting → shipped);
// a print part goes waiting → submitted (its job exists) → in_production
// → shipped → delivered as the printer reports. A carrier's exception
// may resolve into any later status. The printer refusing or losing a job
// fails the part; the owner's retry sends a failed part back to wait for a
// new job. The owner's cancel of a charged order cancels every part not
// yet shipped (a labelled one's label is then voided).
var partMoves = map[string][]string{
	PartWaiting:        {PartLabelled, PartSubmitted, PartShipped, PartCanceled},
	PartLabelled:       {PartWaiting, PartShipped, PartCanceled},
	PartSubmitted:      {PartInProduction, PartShipped, PartFailed, PartCanceled},
	PartInProduction:   {PartShipped, PartFailed, PartCanceled},
	PartShipped:        {PartInTransit, PartOutForDelivery, PartException, PartDelivered},
	PartInTransit:      {PartOutForDelivery, PartException, PartDelivered},
	PartOutForDelivery: {PartInTransit, PartException, PartDelivered},
	PartException:      {PartInTransit, PartOutForDelivery, PartDelivered},
	PartFailed:         {PartWaiting, PartCanceled},
}

// ValidPartStatus reports whether s is one of the part statuses.
func ValidPartStatus(s string) bool { return slices.Contains(PartStatuses, s) }

// CanMovePart reports whether the part table allows from → to.
func CanMovePart(from, to string) bool { return slices.Contains(partMoves[from], to) }

// NextPart returns the statuses the part table allows after s (a copy).
func NextPart(s string) []string { return slices.Clone(partMoves[s]) }

// ReasonBadPartMove is the FAILED_PRECONDITION reason of a part status
// change the part table does not allow.
const ReasonBadPartMove = "bad_part_transition"

// PartLine is a line of a part: what and how many.
type PartLine struct {
	SKU      string
	Name     string
	Quantity int64
}

// Part is one shipment of an order.
type Part struct {
	ID     string // the part's id within the order: its kind
	Kind   string
	Lines  []PartLine
	Status string
	// PrinterStatus is the printer's own name of the job's status, as last
	// read (a print part); JobID the printer's job.
	PrinterStatus string
	JobID         string
	// SubmitStarted is when a runner claimed the part to create its print
	// job (zero: not claimed): one runner at a time talks to the printer.
	SubmitStarted  time.Time
	Carrier        string
	TrackingNumber string
	TrackingURL    string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ShippedAt      time.Time
	// Labels are the labels bought for a parcel part, oldest first (a
	// voided one stays, with its cost given back); Buying is the purchase
	// in flight, recorded before ShipEngine is asked (label.go).
	Labels []Label
	Buying *LabelClaim
	// Tracking as the carrier last reported it: its words (TrackingNote),
	// when it was read (TrackedAt), and when the part was delivered.
	TrackingNote string
	TrackedAt    time.Time
	DeliveredAt  time.Time
}

// Shipped reports whether the part is on its way (or arrived).
func (p Part) Shipped() bool { return slices.Contains(onTheWay, p.Status) }

// SplitParts splits priced lines into the order's parts: one print part
// for the print-on-demand lines, one parcel part for the stock lines
// (either absent when it would be empty), in that order.
func SplitParts(lines []pricing.Line, at time.Time) []Part {
	var print, parcel []PartLine
	for _, l := range lines {
		pl := PartLine{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity}
		if l.Fulfillment == catalog.PrintOnDemand {
			print = append(print, pl)
		} else {
			parcel = append(parcel, pl)
		}
	}
	var parts []Part
	for _, p := range []struct {
		kind  string
		lines []PartLine
	}{{PartPrint, print}, {PartParcel, parcel}} {
		if len(p.lines) > 0 {
			parts = append(parts, Part{ID: p.kind, Kind: p.kind, Lines: p.lines, Status: PartWaiting, CreatedAt: at, UpdatedAt: at})
		}
	}
	return parts
}

// Part returns the order's part with id, or nil.
func (o *Order) Part(id string) *Part {
	i := slices.IndexFunc(o.Parts, func(p Part) bool { return p.ID == id })
	if i < 0 {
		return nil
	}
	return &o.Parts[i]
}

// AllShipped reports whether the order has parts and every one is on its
// way.
func (o *Order) AllShipped() bool {
	return len(o.Parts) > 0 && !slices.ContainsFunc(o.Parts, func(p Part) bool { return !p.Shipped() })
}

// MovePart moves part id to status to at `at`, if the part table allows
// it, and reports whether it changed anything: a part in to already is
// nothing to do; an unknown part is NOT_FOUND (unknown_part); a move the
// table does not allow is FAILED_PRECONDITION (bad_part_transition) and
// changes nothing. It checks the part only: what the order's state allows
// is the caller's to check (ShipPart, RecordPrintJob and CancelParts do).
func (o *Order) MovePart(id, to string, at time.Time) (bool, error) {
	p, err := o.movablePart(id, to)
	if err != nil || p == nil {
		return false, err
	}
	p.Status, p.UpdatedAt = to, at
	return true, nil
}

// movablePart returns part id when the table allows its move to `to`, nil
// when it is there already, or the error MovePart answers.
func (o *Order) movablePart(id, to string) (*Part, error) {
	if !ValidPartStatus(to) {
		return nil, apperr.New(apperr.Invalid, "unknown part status %q", to)
	}
	p := o.Part(id)
	switch {
	case p == nil:
		return nil, apperr.New(apperr.NotFound, "order %s has no part %q", o.ID, id).Because("unknown_part")
	case p.Status == to:
		return nil, nil
	case !CanMovePart(p.Status, to):
		return nil, apperr.New(apperr.FailedPrecondition, "part %s of order %s is %s and cannot move to %s", id, o.ID, p.Status, to).
			Because(ReasonBadPartMove).WithDetails(map[string]string{"status": p.Status})
	}
	return p, nil
}

// Fulfil records a paid order's parts (SplitParts of its lines, once) and
// moves it to fulfilling, by actor, in one change. It reports whether the
// order moved; from any other state it answers as Transition does (an
// order that was fulfilling already: nothing to do).
func (o *Order) Fulfil(actor string, at time.Time) (bool, error) {
	if o.state == Paid && len(o.Parts) == 0 {
		o.Parts = SplitParts(o.Lines, at)
	}
	return o.Transition(Move{From: []State{Paid}, To: Fulfilling, Actor: actor, Reason: "parts recorded"}, at)
}

// ClaimPrintJob claims a fulfilling order's print part for one runner to
// create its print job at the printer: only a waiting part without a job,
// and not while another runner's claim (made less than claimFor ago)
// stands. It reports whether the claim is the caller's.
func (o *Order) ClaimPrintJob(claimFor time.Duration, at time.Time) bool {
	p := o.Part(PartPrint)
	if o.state != Fulfilling || p == nil || p.JobID != "" || p.Status != PartWaiting {
		return false
	}
	if !p.SubmitStarted.IsZero() && at.Sub(p.SubmitStarted) < claimFor {
		return false // another runner is at it
	}
	p.SubmitStarted = at
	return true
}

// ReleasePrintJobClaim gives up the claim made at (ClaimPrintJob) while
// the part still has no job: the printer was asked, failed, and says it has
// no job for the order, so the next runner need not wait the claim out. It
// reports whether it released it (not when another claim replaced it).
func (o *Order) ReleasePrintJobClaim(at time.Time) bool {
	p := o.Part(PartPrint)
	if p == nil || p.JobID != "" || p.SubmitStarted.IsZero() {
		return false
	}
	// The claim as stored: Firestore keeps microseconds.
	if d := p.SubmitStarted.Sub(at); d <= -time.Microsecond || d >= time.Microsecond {
		return false
	}
	p.SubmitStarted = time.Time{}
	return true
}

// PrintJob is what the printer says of an order's print job, in the
// order's words.
type PrintJob struct {
	ID string
	// PrinterStatus is the printer's own name of the job's status, stored
	// as read (Part.PrinterStatus).
	PrinterStatus string
	// Part is what that status means for the print part: PartSubmitted
	// (the job waits at the printer), PartInProduction, PartShipped,
	// PartDelivered or PartFailed.
	Part string
	// Tracking says how the job left (once shipped); Message is the
	// printer's words (once failed).
	Tracking Tracking
	Message  string
}

// RecordPrintJob records what the printer says of the order's print job on
// its print part, and reports whether anything changed: the job's id (the
// part's first job; a job of another id is not the part's and changes
// nothing), the printer's status, and the part's status by the part table.
// A job in production, shipped (with its tracking: ShipPart, by "printer",
// while the order is fulfilling) or delivered moves the part on; a job the
// printer refused or lost fails the part, and the order needs the owner
// (where the order table allows it). A status the part cannot reach from
// where it is (a canceled part's job recorded, say) leaves it as it is.
func (o *Order) RecordPrintJob(j PrintJob, at time.Time) (bool, error) {
	part := o.Part(PartPrint)
	if part == nil {
		return false, nil
	}
	changed := false
	if part.JobID == "" && j.Part == PartFailed {
		// A job the printer ended is no waiting part's job: the owner sent
		// the part back after it failed (a late or repeated event of it
		// must not fail the part again), and a new job is to be made.
		return false, nil
	}
	if part.JobID == "" {
		part.JobID, part.SubmitStarted, changed = j.ID, time.Time{}, true
		if CanMovePart(part.Status, PartSubmitted) {
			part.Status = PartSubmitted
		}
	}
	if part.JobID != j.ID {
		return false, nil // another job than the part's: not this order's to act on
	}
	if part.PrinterStatus != j.PrinterStatus {
		part.PrinterStatus, changed = j.PrinterStatus, true
	}
	switch j.Part {
	case PartInProduction:
		if part.Status == PartSubmitted {
			part.Status, changed = PartInProduction, true
		}
	case PartShipped, PartDelivered:
		if !part.Shipped() && o.state == Fulfilling {
			if _, err := o.ShipPart(PartPrint, j.Tracking, "printer", at); err != nil {
				return false, err
			}
			changed = true
		}
		if j.Part == PartDelivered && part.Shipped() && part.Status != PartDelivered {
			part.Status, part.DeliveredAt, changed = PartDelivered, at, true
			o.Work.Wake++ // its delivered email
		}
	case PartFailed:
		if CanMovePart(part.Status, PartFailed) {
			part.Status, changed = PartFailed, true
			if CanMove(o.state, NeedsAttention) {
				msg := j.Message
				if msg == "" {
					msg = "no reason given"
				}
				if _, err := o.Transition(Move{To: NeedsAttention, Actor: "printer",
					Reason: fmt.Sprintf("the printer's job %s is %s: %s", j.ID, j.PrinterStatus, msg)}, at); err != nil {
					return false, err
				}
			}
		}
	}
	if changed {
		part.UpdatedAt = at
	}
	return changed, nil
}

// RetryPrintPart sends a print part the printer refused (failed) back to
// wait for a new job (the owner's retry): its job, the printer's status
// and any claim are forgotten. It reports whether there was one to send
// back.
func (o *Order) RetryPrintPart(at time.Time) bool {
	p := o.Part(PartPrint)
	if p == nil || p.Status != PartFailed {
		return false
	}
	p.Status, p.JobID, p.PrinterStatus, p.SubmitStarted, p.UpdatedAt = PartWaiting, "", "", time.Time{}, at
	return true
}

// CancelParts cancels every part of the order that has not shipped (the
// owner canceled a charged order): none of it is to ship, and no claim to
// make a print job stands. A canceled part's label is to be voided (the
// order's work wakes for it). It reports whether any part changed.
func (o *Order) CancelParts(at time.Time) bool {
	changed := false
	for i := range o.Parts {
		if p := &o.Parts[i]; CanMovePart(p.Status, PartCanceled) {
			p.Status, p.SubmitStarted, p.UpdatedAt, changed = PartCanceled, time.Time{}, at, true
			if p.Label() != nil || p.Buying != nil {
				o.Work.Wake++
			}
		}
	}
	return changed
}

// Tracking is how a part was shipped, as the owner (or the printer) says.
type Tracking struct {
	Carrier        string
	TrackingNumber string
	TrackingURL    string
}

// ShipPart records that part id left with tracking, and moves a
// fulfilling order whose parts have all shipped to shipped, by actor. The
// same tracking again changes nothing; other tracking for a part already
// shipped is FAILED_PRECONDITION (already_shipped).
func (o *Order) ShipPart(id string, t Tracking, actor string, at time.Time) (changed bool, err error) {
	if o.state != Fulfilling {
		return false, apperr.New(apperr.FailedPrecondition, "order %s is %s; only a fulfilling order ships parts", o.ID, o.state).
			Because(ReasonNotFulfilling).WithDetails(map[string]string{"state": string(o.state)})
	}
	p := o.Part(id)
	if p == nil {
		return false, apperr.New(apperr.NotFound, "order %s has no part %q", o.ID, id).Because("unknown_part")
	}
	if p.Shipped() {
		if p.Carrier == t.Carrier && p.TrackingNumber == t.TrackingNumber {
			return false, nil
		}
		return false, apperr.New(apperr.FailedPrecondition, "part %s of order %s already shipped with %s %s", id, o.ID, p.Carrier, p.TrackingNumber).
			Because("already_shipped")
	}
	if _, err := o.movablePart(id, PartShipped); err != nil {
		return false, err
	}
	p.Status, p.Carrier, p.TrackingNumber, p.TrackingURL, p.ShippedAt, p.UpdatedAt = PartShipped, t.Carrier, t.TrackingNumber, t.TrackingURL, at, at
	if l := p.Label(); l != nil && !SameTracking(l.TrackingNumber, t.TrackingNumber) {
		o.Work.Wake++ // shipped another way: its bought label is to be voided
	}
	if o.AllShipped() {
		if _, err := o.Transition(Move{From: []State{Fulfilling}, To: Shipped, Actor: actor, Reason: "every part shipped"}, at); err != nil {
			return false, err
		}
		return true, nil
	}
	o.Note(actor, fmt.Sprintf("part %s shipped: %s %s", id, t.Carrier, t.TrackingNumber), at)
	o.Work.Wake++ // its shipping email
	return true, nil
}

// ReasonNotFulfilling is the FAILED_PRECONDITION reason of a part change
// on an order that is not fulfilling (details.state says where it is).
const ReasonNotFulfilling = "order_not_fulfilling"
