package fulfilment

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/webhook"
)

// OrderStore is what the parts need of the orders: the one write path.
type OrderStore interface {
	Update(ctx context.Context, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error)
}

// Parts splits a paid order into the parts it ships in and ships the
// owner's parcels.
type Parts struct {
	Orders     OrderStore
	Alerts     alert.Raiser
	AdminClaim string // the owner's custom claim (OMS_ADMIN_CLAIM)
	Printer    Printer
	Catalog    Catalog
	Reader     OrderReader
	Events     webhook.Recorder
	Settings   PrintSettings
	// Labels sells the parcels' labels (nil: none is bought; the owner
	// ships by hand with markShipped); LabelSettings are the store's.
	Labels        LabelService
	LabelSettings LabelSettings
	Now           func() time.Time
}

// Steps returns this capability's order-flow steps by name.
func (p *Parts) Steps() map[string]orderflow.StepFunc {
	return map[string]orderflow.StepFunc{orderflow.StepFulfil: p.fulfil, orderflow.StepAlertParcel: p.alertParcel,
		orderflow.StepSubmitPrintJob: p.submitPrintJob, orderflow.StepSettleLabels: p.settleLabels}
}

// fulfil records a paid order's parts (a print part for its
// print-on-demand lines, a parcel part for its stock lines) and moves it
// to fulfilling, in one write. A repeat finds it fulfilling and changes
// nothing.
func (p *Parts) fulfil(ctx context.Context, t orderflow.Transition) error {
	_, _, err := p.Orders.Update(ctx, t.Order.ID, func(o *order.Order) (bool, error) {
		if o.State() != order.Paid {
			return false, nil
		}
		return o.Fulfil("trigger", p.Now().UTC())
	})
	return err
}

// alertParcel tells the owner that a fulfilling order's parcel waits to be
// packed and shipped: what goes in it, and where to. Once per order.
func (p *Parts) alertParcel(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	part := o.Part(order.PartParcel)
	if part == nil || part.Shipped() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Order %s is paid: pack and ship its parcel.\n\n", o.ID)
	for _, l := range part.Lines {
		fmt.Fprintf(&b, "  %d × %s (%s)\n", l.Quantity, l.Name, l.SKU)
	}
	if s := o.Shipping; s != nil {
		fmt.Fprintf(&b, "\nShip to: %s\nService: %s\n", s.Address.OneLine(), s.Rate.Name())
	}
	b.WriteString("\nBuy its label with buyLabel (the customer's service, through ShipEngine), or ship it another way and record its tracking with markShipped (part \"parcel\").\n")
	_, err := p.Alerts.Raise(ctx, alert.Alert{Key: "parcel-" + o.ID, Kind: alert.ParcelToShip, OrderID: o.ID,
		Subject: "Order " + o.ID + ": a parcel to ship", Text: b.String()})
	return err
}

// Bounds of what the owner types when shipping a parcel.
const (
	maxTrackingField = 100
	maxTrackingURL   = 2000
)

// MarkShipped records the owner's shipment of an order's parcel part:
// carrier, tracking number and (optional) tracking URL — or none of them
// for a parcel whose bought label the owner handed over to the carrier
// (its label's) — with the owner as the actor in the order's history. When every part has shipped the order
// moves to shipped in the same write. Marking it again with the same
// carrier and tracking answers the order unchanged, also once it shipped
// (or went on to refunded, canceled…).
func (p *Parts) MarkShipped(ctx context.Context, who *identity.Identity, requestID, orderID, partID string, t order.Tracking) (*order.Order, error) {
	if err := order.CheckOwnerCommand(who, p.AdminClaim, requestID, orderID); err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(partID) == "":
		return nil, apperr.New(apperr.Invalid, "partId is required").Because(order.ReasonRequired).On("partId")
	case utf8.RuneCountInString(partID) > maxTrackingField:
		return nil, apperr.New(apperr.Invalid, "partId must be at most %d characters", maxTrackingField).Because(order.ReasonTooLong).
			On("partId").WithDetails(map[string]int{"max": maxTrackingField})
	}
	// The carrier and the tracking number reach the customer's email: one
	// line of text each. Both left out: the parcel's bought label was
	// handed over (its carrier and tracking).
	var err error
	handedOver := strings.TrimSpace(t.Carrier) == "" && strings.TrimSpace(t.TrackingNumber) == "" && strings.TrimSpace(t.TrackingURL) == ""
	if !handedOver {
		if t.Carrier, err = order.OwnerText("carrier", t.Carrier, maxTrackingField); err != nil {
			return nil, err
		}
		if t.TrackingNumber, err = order.OwnerText("trackingNumber", t.TrackingNumber, maxTrackingField); err != nil {
			return nil, err
		}
	}
	t.TrackingURL = strings.TrimSpace(t.TrackingURL)
	if t.TrackingURL != "" {
		u, err := url.Parse(t.TrackingURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(t.TrackingURL) > maxTrackingURL {
			return nil, apperr.New(apperr.Invalid, "trackingUrl must be an http(s) URL of at most %d characters", maxTrackingURL).
				Because(order.ReasonMalformed).On("trackingUrl")
		}
	}
	req := order.Request{ID: requestID, Command: CommandMarkShipped, Hash: order.RequestHash(CommandMarkShipped, orderID, partID, t.Carrier, t.TrackingNumber, t.TrackingURL),
		Actor: "owner:" + who.UID}
	o, _, err := p.Orders.Update(ctx, orderID, func(o *order.Order) (bool, error) {
		if _, seen, err := o.Requested(req.ID, req.Command, req.Hash); seen || err != nil {
			return false, err // the same act again: the order as it stands
		}
		part := o.Part(partID)
		if part != nil && part.Kind != order.PartParcel {
			return false, apperr.New(apperr.FailedPrecondition, "part %s of order %s is shipped by the printer, not by hand", partID, orderID).
				Because("not_a_parcel")
		}
		if handedOver {
			l := (*order.Label)(nil)
			if part != nil {
				l = part.Label()
			}
			if l == nil {
				return false, apperr.New(apperr.Invalid, "carrier is required (or buy the parcel's label first: handing it over needs no carrier or tracking)").
					Because(order.ReasonRequired).On("carrier")
			}
			t = order.Tracking{Carrier: l.Carrier, TrackingNumber: l.TrackingNumber, TrackingURL: l.TrackingURL}
		}
		if part != nil && part.Shipped() && part.Carrier == t.Carrier && part.TrackingNumber == t.TrackingNumber {
			// A repeat (the owner's page sent it twice, or the answer was
			// lost), in whatever state the order went on to: the order as
			// it is.
			return false, nil
		}
		changed, err := o.ShipPart(partID, t, "owner:"+who.UID, p.Now().UTC())
		if err != nil || !changed {
			return false, err
		}
		req.At = p.Now().UTC()
		o.Remember(req)
		return true, nil
	})
	return o, err
}
