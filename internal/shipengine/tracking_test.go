package shipengine_test

import (
	"testing"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/shipengine"
)

// What ShipEngine's tracking means for a part: a scan, out for delivery
// (by the newer status_detail_code, or the latest event's words), a
// delivery, an exception — and nothing for a label only created, or
// accepted electronically before the carrier has the parcel.
func TestTrackingUpdate(t *testing.T) {
	ev := func(at, words, detail string) shipengine.WireTrackEvent {
		return shipengine.WireTrackEvent{OccurredAt: at, Description: words, CityLocality: "AUSTIN", StateProvince: "TX", StatusDetailCode: detail}
	}
	for _, c := range []struct {
		name string
		in   shipengine.WireTracking
		want string
		note string
	}{
		{"not yet in system", shipengine.WireTracking{StatusCode: "NY"}, "", ""},
		{"electronic notice", shipengine.WireTracking{StatusCode: "AC", StatusDetailCode: "ELEC_ADVICE_RECD_BY_CARRIER"}, "", ""},
		{"label created", shipengine.WireTracking{StatusCode: "AC", Events: []shipengine.WireTrackEvent{ev("2026-12-07T10:00:00Z", "Shipping Label Created", "SHIPMENT_CREATED")}}, "", "Shipping Label Created, AUSTIN TX"},
		{"accepted", shipengine.WireTracking{StatusCode: "AC", Events: []shipengine.WireTrackEvent{ev("2026-12-07T10:00:00Z", "Accepted at USPS Origin Facility", "")}}, order.PartInTransit, "Accepted at USPS Origin Facility, AUSTIN TX"},
		{"out for delivery, by words", shipengine.WireTracking{StatusCode: "IT", Events: []shipengine.WireTrackEvent{
			ev("2026-12-07T10:00:00Z", "Arrived at Post Office", ""), ev("2026-12-08T07:00:00Z", "Out for Delivery", "")}}, order.PartOutForDelivery, "Out for Delivery, AUSTIN TX"},
		{"out for delivery, by code", shipengine.WireTracking{StatusCode: "IT", StatusDetailCode: "OUT_FOR_DELIVERY"}, order.PartOutForDelivery, ""},
		{"a delivery attempt", shipengine.WireTracking{StatusCode: "AT", Events: []shipengine.WireTrackEvent{ev("2026-12-08T15:00:00Z", "Notice Left, Out for Delivery earlier", "")}}, order.PartInTransit, "Notice Left, Out for Delivery earlier, AUSTIN TX"},
		{"delivered", shipengine.WireTracking{StatusCode: "DE"}, order.PartDelivered, ""},
		{"exception", shipengine.WireTracking{StatusCode: "EX", ExceptionDescription: "Damaged in transit"}, order.PartException, "Damaged in transit"},
		{"unknown", shipengine.WireTracking{StatusCode: "UN"}, "", ""},
		{"delivered, an early event read late", shipengine.WireTracking{StatusCode: "DE", Events: []shipengine.WireTrackEvent{
			ev("2026-12-07T10:00:00Z", "Shipping Label Created", "SHIPMENT_CREATED")}}, order.PartDelivered, "Shipping Label Created, AUSTIN TX"},
	} {
		if u := c.in.Update(); u.Status != c.want || u.Note != c.note {
			t.Errorf("%s: %+v, want %q %q", c.name, u, c.want, c.note)
		}
	}
}
