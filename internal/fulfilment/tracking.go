package fulfilment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/webhook"
)

// RecordTrackEvent records a delivery of ShipEngine's track webhook (its
// signature checked by the caller) under id, and reports whether this
// call recorded it: onShipEngineEvent acts on the record it made, once.
func (p *Parts) RecordTrackEvent(ctx context.Context, id string, e webhook.TrackEvent) (bool, error) {
	return p.Events.Create(ctx, webhook.Event{ID: id, ShipEngine: &e}, p.Now())
}

// HandleTrackEvent acts on a recorded track event (another source's is
// not its work): the order is found by the tracking number, the label's
// tracking re-read from ShipEngine (the delivery's body is never
// trusted) and recorded on the part; the event is marked processed. A
// tracking number no order has is recorded with that outcome.
func (p *Parts) HandleTrackEvent(ctx context.Context, e webhook.Event) (string, error) {
	if e.ShipEngine == nil {
		return "not a ShipEngine event", nil
	}
	o, err := p.Reader.ByTrackingNumber(ctx, e.ShipEngine.TrackingNumber)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "unknown tracking number", p.Events.Processed(ctx, webhook.ShipEngine, e.ID, "unknown tracking number", p.Now())
	}
	if err != nil {
		return "", err
	}
	outcome := "not a tracked label"
	for _, part := range o.Tracked() {
		if l := part.Label(); l.TrackingNumber == e.ShipEngine.TrackingNumber {
			if outcome, _, err = p.track(ctx, o.ID, part.ID, *l, false); err != nil {
				if apperr.Transient(err) {
					return "", err
				}
				// ShipEngine refuses to track it (the label is unknown to
				// it): retrying changes nothing; the sweeper reads it again.
				outcome = "tracking refused: " + err.Error()
			}
		}
	}
	return outcome, p.Events.Processed(ctx, webhook.ShipEngine, e.ID, outcome, p.Now())
}

// track re-reads a label's tracking and records it on the part (swept:
// the read itself too, so that the sweeper goes round every tracked
// order instead of re-reading the same stuck ones); an exception alerts
// the owner once per label. It answers the outcome and whether tracking moved the part.
func (p *Parts) track(ctx context.Context, orderID, partID string, l order.Label, swept bool) (string, bool, error) {
	u, err := p.Labels.Track(ctx, l.ID)
	if err != nil {
		return "", false, err
	}
	moved := false
	o, _, err := p.Orders.Update(ctx, orderID, func(o *order.Order) (bool, error) {
		changed, err := o.RecordTracking(partID, u, p.Now().UTC())
		moved = changed
		if swept && err == nil && !changed {
			changed = o.MarkTracked(partID, p.Now().UTC())
		}
		return changed, err
	})
	if err != nil {
		return "", false, err
	}
	part := o.Part(partID)
	if part.Status == order.PartException {
		if _, err := p.Alerts.Raise(ctx, alert.Alert{Key: "parcel-exception-" + l.ID, Kind: alert.ParcelException, OrderID: orderID,
			Subject: fmt.Sprintf("Order %s: the carrier reports a problem with the parcel", orderID),
			Text: fmt.Sprintf("%s reports a problem with the parcel of order %s (%s %s): %s\nCheck with the carrier: %s",
				l.Carrier, orderID, l.Carrier, l.TrackingNumber, part.TrackingNote, l.TrackingURL)}); err != nil {
			return "", false, err
		}
	}
	if !moved {
		return "tracking " + part.Status + ", unchanged", false, nil
	}
	return "tracking " + part.Status, true, nil
}

// rereadTracking re-reads the tracking of labels whose orders have not
// changed for longer than redriveAfter (their webhook lost or late), so
// that a lost webhook costs a sweep, not a delivered email.
func (p *Parts) rereadTracking(ctx context.Context, now time.Time, redriveAfter time.Duration) (string, error) {
	orders, err := p.Reader.Tracked(ctx, now.Add(-redriveAfter), rereadBatch)
	if err != nil {
		return "", err
	}
	n, moved := 0, 0
	var errs []error
	for _, o := range orders {
		for _, part := range o.Tracked() {
			_, changed, err := p.track(ctx, o.ID, part.ID, *part.Label(), true)
			if err != nil {
				// One label ShipEngine will not read does not hold back
				// the others; a refused one goes to the back of the queue.
				errs = append(errs, fmt.Errorf("order %s: %w", o.ID, err))
				if !apperr.Transient(err) {
					if _, _, uerr := p.Orders.Update(ctx, o.ID, func(o *order.Order) (bool, error) {
						return o.MarkTracked(part.ID, p.Now().UTC()), nil
					}); uerr != nil {
						errs = append(errs, uerr)
					}
				}
				continue
			}
			n++
			if changed {
				moved++
			}
		}
	}
	return fmt.Sprintf("re-read %d labels' tracking, %d moved, %d failed", n, moved, len(errs)), errors.Join(errs...)
}
