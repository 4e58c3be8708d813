package shipengine

// Tracking: a label's tracking as ShipEngine reads it from the carrier
// (GET /v1/labels/{label_id}/track), in the part statuses of an order.
//
// ShipEngine's status_code is one of UN (unknown), AC (accepted), IT (in
// transit), DE (delivered), EX (exception), AT (delivery attempt), NY (not
// yet in system); its newer answers add a status_detail_code
// (OUT_FOR_DELIVERY, …), which its published description (1.4.0) does not
// have yet. Out for delivery is read from status_detail_code when it is
// there, else from the latest event's words.

import (
	"context"
	"net/url"
	"strings"

	"github.com/readyplanner/oms/internal/order"
)

// WireTrackEvent is one carrier event of a tracking answer.
type WireTrackEvent struct {
	OccurredAt       string `json:"occurred_at"`
	Description      string `json:"description"`
	CityLocality     string `json:"city_locality"`
	StateProvince    string `json:"state_province"`
	PostalCode       string `json:"postal_code"`
	EventCode        string `json:"event_code,omitempty"`
	StatusCode       string `json:"status_code,omitempty"`
	StatusDetailCode string `json:"status_detail_code,omitempty"`
}

// WireTracking is GET /v1/labels/{label_id}/track's answer (and a track
// webhook's data), the fields this adapter reads.
type WireTracking struct {
	TrackingNumber           string           `json:"tracking_number"`
	StatusCode               string           `json:"status_code"`
	StatusDetailCode         string           `json:"status_detail_code,omitempty"`
	StatusDescription        string           `json:"status_description"`
	CarrierStatusCode        string           `json:"carrier_status_code"`
	CarrierStatusDescription string           `json:"carrier_status_description"`
	ExceptionDescription     string           `json:"exception_description"`
	ActualDeliveryDate       *string          `json:"actual_delivery_date"`
	Events                   []WireTrackEvent `json:"events"`
}

// Track reads a label's tracking (GET /v1/labels/{label_id}/track).
func (c *Client) Track(ctx context.Context, labelID string) (WireTracking, error) {
	var out WireTracking
	err := c.get(ctx, "/v1/labels/"+url.PathEscape(labelID)+"/track", &out)
	return out, err
}

// Update is what tracking means for the order's part: its status (""
// when the carrier has said nothing a part moves on) and the carrier's
// words of the latest event.
func (t WireTracking) Update() order.TrackingUpdate {
	var latest WireTrackEvent
	if len(t.Events) > 0 {
		latest = t.Events[0] // ShipEngine lists the most recent first
		for _, e := range t.Events[1:] {
			if e.OccurredAt > latest.OccurredAt {
				latest = e
			}
		}
	}
	u := order.TrackingUpdate{Note: t.CarrierStatusDescription}
	if latest.Description != "" {
		u.Note = latest.Description
		if place := strings.TrimSpace(strings.Join([]string{latest.CityLocality, latest.StateProvince}, " ")); place != "" {
			u.Note += ", " + place
		}
	}
	if t.StatusCode == "EX" && t.ExceptionDescription != "" {
		u.Note = t.ExceptionDescription
	}
	outForDelivery := t.StatusDetailCode == "OUT_FOR_DELIVERY" || latest.StatusDetailCode == "OUT_FOR_DELIVERY" ||
		strings.Contains(strings.ToLower(latest.Description), "out for delivery")
	// Accepted electronically, before the carrier has the parcel (the
	// label was created, or awaits pickup): not a scan.
	for _, code := range []string{t.StatusDetailCode, latest.StatusDetailCode} {
		if t.StatusCode == "AC" && (code == "SHIPMENT_CREATED" || code == "AWAITING_PICKUP_DROP_OFF" || code == "ELEC_ADVICE_RECD_BY_CARRIER") {
			return u
		}
	}
	switch t.StatusCode {
	case "DE", "SP": // delivered (SP: to a service point)
		u.Status = order.PartDelivered
	case "EX":
		u.Status = order.PartException
	case "AC", "IT", "AT":
		u.Status = order.PartInTransit
		if outForDelivery && t.StatusCode != "AT" {
			u.Status = order.PartOutForDelivery
		}
	}
	return u
}
