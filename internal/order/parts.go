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
// documented.
const (
	PartWaiting      = "waiting"       // parcel: for the owner to pack and ship; print: for its print job
	PartSubmitted    = "submitted"     // print: the job exists at the printer
	PartInProduction = "in_production" // print: the printer is making it
	PartShipped      = "shipped"       // on its way: carrier and tracking are known
	PartDelivered    = "delivered"     // the carrier delivered it (when the carrier says so)
	PartFailed       = "failed"        // the printer refused or lost it: the order needs the owner
	PartCanceled     = "canceled"
)

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
}

// Shipped reports whether the part is on its way (or arrived).
func (p Part) Shipped() bool { return p.Status == PartShipped || p.Status == PartDelivered }

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
	p.Status, p.Carrier, p.TrackingNumber, p.TrackingURL, p.ShippedAt, p.UpdatedAt = PartShipped, t.Carrier, t.TrackingNumber, t.TrackingURL, at, at
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
