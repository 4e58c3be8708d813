package order

import (
	"fmt"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/pricing"
)

// withParcel returns an order in state s with a waiting parcel part (and
// a print part too when print).
func withParcel(t *testing.T, s State, print bool) *Order {
	t.Helper()
	o := at(t, s)
	o.Parts = []Part{{ID: PartParcel, Kind: PartParcel, Status: PartWaiting, CreatedAt: t0, UpdatedAt: t0}}
	if print {
		o.Parts = append(o.Parts, Part{ID: PartPrint, Kind: PartPrint, Status: PartSubmitted, JobID: "job-1", CreatedAt: t0, UpdatedAt: t0})
	}
	return o
}

func label(id, tracking string) Label {
	return Label{ID: id, RateID: "se-rate-" + id, Carrier: "USPS", CarrierCode: "stamps_com", TrackingNumber: tracking,
		TrackingURL: "https://tools.usps.com/go/TrackConfirmAction?tLabels=" + tracking, Cost: money.New(455, "USD"), BoughtAt: t0}
}

// A purchase claims the parcel: one at a time, a stale claim replaced
// with its rates kept, never for a parcel with a good label, a shipped
// one, or an order that is not fulfilling.
func TestClaimLabel(t *testing.T) {
	if _, _, err := withParcel(t, Paid, false).ClaimLabel("r1", time.Minute, t0); reasonOf(err) != ReasonNotFulfilling {
		t.Errorf("paid: %v", err)
	}
	if _, _, err := at(t, Fulfilling).ClaimLabel("r1", time.Minute, t0); reasonOf(err) != ReasonNoParcel {
		t.Errorf("no parcel: %v", err)
	}
	o := withParcel(t, Fulfilling, false)
	c, ok, err := o.ClaimLabel("r1", time.Minute, t0.Add(time.Nanosecond))
	if !ok || err != nil || !c.Since.Equal(t0) || len(c.Rates) != 0 {
		t.Fatalf("first claim: %+v %v %v (its time to the microsecond)", c, ok, err)
	}
	if !o.AddClaimRate(c.Since, "se-1") || o.AddClaimRate(t0.Add(time.Second), "se-2") {
		t.Error("a rate is recorded under the claim that stands, not under another")
	}
	if _, ok, err := o.ClaimLabel("r2", time.Minute, t0.Add(30*time.Second)); ok || err != nil {
		t.Errorf("a second claim while the first stands: %v %v", ok, err)
	}
	if r := o.RenewLabelClaim(time.Minute, t0.Add(30*time.Second)); r != nil {
		t.Errorf("a fresh claim renewed: %+v", r)
	}
	c2, ok, err := o.ClaimLabel("r2", time.Minute, t0.Add(2*time.Minute))
	if !ok || err != nil || len(c2.Rates) != 1 || c2.Rates[0] != "se-1" {
		t.Errorf("a stale claim replaced: %+v %v %v, want its rates kept", c2, ok, err)
	}
	if o.ReleaseLabelClaim(c.Since) || !o.ReleaseLabelClaim(c2.Since) || o.Part(PartParcel).Buying != nil {
		t.Error("only the claim that stands is released")
	}
	if _, err := o.RecordLabel(label("se-9", "9400"), "owner:u", "buyLabel", "h", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.ClaimLabel("r3", time.Minute, t0.Add(time.Hour)); reasonOf(err) != ReasonLabelExists {
		t.Errorf("with a good label: %v", err)
	}
	shipped := withParcel(t, Fulfilling, true)
	if _, err := shipped.ShipPart(PartParcel, Tracking{Carrier: "UPS", TrackingNumber: "1Z"}, "owner", t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := shipped.ClaimLabel("r1", time.Minute, t0); reasonOf(err) != ReasonBadPartMove {
		t.Errorf("a parcel shipped by hand: %v", err)
	}
}

// A label recorded labels the parcel (once), is voided back to waiting
// with its cost counted as given back, and a label nothing will use is
// to be voided: its part canceled, its order refunded before the scan,
// or the parcel shipped with other tracking.
func TestLabelsRecordedAndVoided(t *testing.T) {
	o := withParcel(t, Fulfilling, false)
	c, _, _ := o.ClaimLabel("r1", time.Minute, t0)
	o.AddClaimRate(c.Since, "se-rate-se-1")
	if changed, err := o.RecordLabel(label("se-1", "9400111"), "owner:u", "buyLabel", "h", t0); !changed || err != nil {
		t.Fatalf("record: %v %v", changed, err)
	}
	p := o.Part(PartParcel)
	if p.Status != PartLabelled || p.Buying != nil || p.Label().ID != "se-1" || o.LabelWorkDue() || o.LabelToVoid() != nil {
		t.Errorf("labelled: %+v", p)
	}
	if changed, _ := o.RecordLabel(label("se-1", "9400111"), "owner:u", "buyLabel", "h", t0); changed {
		t.Error("the same label again changed the order")
	}
	if !o.RecordLabelVoid("se-1", "owner:u", t0) || o.RecordLabelVoid("se-1", "owner:u", t0) {
		t.Error("a void is recorded once")
	}
	cost, voided := o.LabelCosts()
	if p := o.Part(PartParcel); p.Status != PartWaiting || p.Label() != nil || cost.Amount != 0 || voided.Amount != 455 {
		t.Errorf("voided: %+v, cost %v, voided %v", p, cost, voided)
	}

	canceled := withParcel(t, Fulfilling, false)
	canceled.ClaimLabel("r1", time.Minute, t0)
	wake := canceled.Work.Wake
	if !canceled.CancelParts(t0) || canceled.Work.Wake != wake+1 {
		t.Error("canceling a parcel with a purchase in flight wakes the order's work")
	}
	if _, err := canceled.RecordLabel(label("se-2", "9400222"), "owner:u", "buyLabel", "h", t0); err != nil {
		t.Fatal(err)
	}
	if l := canceled.LabelToVoid(); l == nil || l.ID != "se-2" || !canceled.LabelWorkDue() {
		t.Errorf("a label bought for a canceled part is to be voided: %+v", l)
	}
	if !canceled.RecordVoidRefused("se-2", "used", t0) || canceled.LabelToVoid() != nil || canceled.LabelWorkDue() {
		t.Error("a refused void is not asked again")
	}

	refunded := withParcel(t, Fulfilling, false)
	refunded.RecordLabel(label("se-3", "9400333"), "owner:u", "buyLabel", "h", t0)
	refunded, _ = Restore(*refunded, Refunded, refunded.History())
	if l := refunded.LabelToVoid(); l == nil || l.ID != "se-3" {
		t.Errorf("refunded before the scan: %+v", l)
	}

	other := withParcel(t, Fulfilling, true)
	other.RecordLabel(label("se-4", "9400444"), "owner:u", "buyLabel", "h", t0)
	wake = other.Work.Wake
	if _, err := other.ShipPart(PartParcel, Tracking{Carrier: "UPS", TrackingNumber: "1Z9"}, "owner:u", t0); err != nil {
		t.Fatal(err)
	}
	if l := other.LabelToVoid(); l == nil || l.ID != "se-4" || other.Work.Wake <= wake || len(other.Tracked()) != 0 {
		t.Errorf("shipped another way: to void %+v, wake %d, tracked %d", l, other.Work.Wake, len(other.Tracked()))
	}
}

// Tracking moves a labelled parcel: the first scan ships it with its
// label's tracking, then it goes on as the part table allows — never
// back — and its delivery wakes the order's work once.
func TestRecordTracking(t *testing.T) {
	o := withParcel(t, Fulfilling, false)
	o.RecordLabel(label("se-1", "9400111"), "owner:u", "buyLabel", "h", t0)
	if changed, err := o.RecordTracking(PartParcel, TrackingUpdate{Note: "Label created"}, t0); !changed || err != nil || o.Part(PartParcel).Status != PartLabelled {
		t.Errorf("words only: %v %v %+v", changed, err, o.Part(PartParcel))
	}
	if _, err := o.RecordTracking(PartParcel, TrackingUpdate{Status: PartInTransit, Note: "Accepted, PORTLAND OR"}, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p := o.Part(PartParcel)
	if p.Status != PartInTransit || p.TrackingNumber != "9400111" || p.Carrier != "USPS" || p.ShippedAt.IsZero() || o.State() != Shipped ||
		len(o.Tracked()) != 1 {
		t.Fatalf("the first scan: %s %+v", o.State(), p)
	}
	o.RecordTracking(PartParcel, TrackingUpdate{Status: PartOutForDelivery}, t0.Add(2*time.Hour))
	wake := o.Work.Wake
	if changed, _ := o.RecordTracking(PartParcel, TrackingUpdate{Status: PartDelivered, Note: "Delivered"}, t0.Add(3*time.Hour)); !changed ||
		o.Part(PartParcel).Status != PartDelivered || o.Work.Wake != wake+1 || !o.Part(PartParcel).DeliveredAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("delivered: %+v", o.Part(PartParcel))
	}
	if changed, _ := o.RecordTracking(PartParcel, TrackingUpdate{Status: PartInTransit, Note: "Delivered"}, t0.Add(4*time.Hour)); changed ||
		o.Part(PartParcel).Status != PartDelivered || o.Work.Wake != wake+1 || len(o.Tracked()) != 0 {
		t.Errorf("an older event read late: %v %+v", changed, o.Part(PartParcel))
	}
	if _, err := o.RecordTracking("box", TrackingUpdate{Status: PartDelivered}, t0); err != nil {
		t.Errorf("an unknown part: %v", err)
	}
}

// A purchase that lands after the order was refunded (or needs the owner)
// still labels the waiting parcel, so that it is voided (refunded) or
// tracked; the requests that claimed the parcel are remembered with it, a
// stale claim's too.
func TestALabelLandingLate(t *testing.T) {
	o := withParcel(t, Fulfilling, false)
	c, _, _ := o.ClaimLabel("first-request", time.Minute, t0)
	o.AddClaimRate(c.Since, "se-rate-se-1")
	if _, ok, _ := o.ClaimLabel("second-request", time.Minute, t0.Add(2*time.Minute)); !ok {
		t.Fatal("the stale claim was not taken over")
	}
	if _, err := o.Transition(Move{To: Refunded, Actor: "stripe"}, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	wake := o.Work.Wake
	if _, err := o.RecordLabel(label("se-1", "9400111"), "sweeper", "buyLabel", "h", t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	p := o.Part(PartParcel)
	if p.Status != PartLabelled || o.LabelToVoid() == nil || o.Work.Wake != wake+1 {
		t.Errorf("refunded during the purchase: %+v, to void %+v, wake %d→%d", p, o.LabelToVoid(), wake, o.Work.Wake)
	}
	for _, id := range []string{"first-request", "second-request"} {
		if _, seen, err := o.Requested(id, "buyLabel", "h"); !seen || err != nil {
			t.Errorf("request %s not remembered with the label: %v", id, err)
		}
	}

	attention := withParcel(t, Fulfilling, true)
	attention.ClaimLabel("r1", time.Minute, t0)
	if _, err := attention.Transition(Move{To: NeedsAttention, Actor: "printer", Reason: "the job was rejected"}, t0); err != nil {
		t.Fatal(err)
	}
	attention.RecordLabel(label("se-2", "9400222"), "owner:u", "buyLabel", "h", t0)
	if p := attention.Part(PartParcel); p.Status != PartLabelled || len(attention.Tracked()) != 1 || attention.LabelToVoid() != nil {
		t.Errorf("needs attention during the purchase: %+v", p)
	}

	// Refunded after the label, before the scan: the move wakes the work.
	later := withParcel(t, Fulfilling, false)
	later.RecordLabel(label("se-3", "9400333"), "owner:u", "buyLabel", "h", t0)
	wake = later.Work.Wake
	if _, err := later.Transition(Move{To: Refunded, Actor: "owner:u"}, t0); err != nil {
		t.Fatal(err)
	}
	if later.Work.Wake != wake+1 || later.LabelToVoid() == nil {
		t.Errorf("refunded before the scan: wake %d→%d", wake, later.Work.Wake)
	}
}

// The owner types the label's tracking number as the label prints it
// (spaced): the parcel ships on its label, which stays good and tracked.
func TestShippedOnItsLabelTypedAsPrinted(t *testing.T) {
	o := withParcel(t, Fulfilling, true)
	o.RecordLabel(label("se-1", "9400111202600000000001"), "owner:u", "buyLabel", "h", t0)
	wake := o.Work.Wake
	if _, err := o.ShipPart(PartParcel, Tracking{Carrier: "USPS", TrackingNumber: "9400 1112 0260 0000 0000 01"}, "owner:u", t0); err != nil {
		t.Fatal(err)
	}
	if o.LabelToVoid() != nil || len(o.Tracked()) != 1 || o.Work.Wake != wake+1 { // +1: the shipped email
		t.Errorf("typed as printed: to void %+v, tracked %d, wake %d→%d", o.LabelToVoid(), len(o.Tracked()), wake, o.Work.Wake)
	}
	if !SameTracking("1z 999-aa1 01", "1Z999AA101") || SameTracking("1Z999AA101", "1Z999AA102") {
		t.Error("SameTracking")
	}
}

// A parcel is to ship while the order is fulfilling and the parcel waits
// to be packed or for the carrier's first scan; not once it shipped, not
// for a print-only order, not before the order is fulfilling.
func TestParcelToShip(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	mk := func(kinds ...catalog.Fulfillment) *Order {
		o, _ := New(NewID(), "u", "USD", at)
		for i, k := range kinds {
			o.Lines = append(o.Lines, pricing.Line{SKU: fmt.Sprintf("S%d", i), Name: "x", Quantity: 1, UnitPrice: money.New(100, "USD"), Total: money.New(100, "USD"), Fulfillment: k})
		}
		o, _ = Restore(*o, Paid, o.History())
		return o
	}
	o := mk(catalog.Stock, catalog.PrintOnDemand)
	if o.ParcelToShip() {
		t.Error("a paid order, not fulfilling yet: to ship")
	}
	if _, err := o.Fulfil("t", at); err != nil {
		t.Fatal(err)
	}
	if !o.ParcelToShip() {
		t.Error("a waiting parcel: not to ship")
	}
	if _, err := o.RecordLabel(Label{ID: "se-1", Carrier: "USPS", TrackingNumber: "9400100000000000000001", Cost: money.New(595, "USD"), BoughtAt: at}, "owner", "buyLabel", "h", at); err != nil {
		t.Fatal(err)
	}
	if o.Part(PartParcel).Status != PartLabelled || !o.ParcelToShip() {
		t.Errorf("a labelled parcel (%s), waiting for the carrier's scan: not to ship", o.Part(PartParcel).Status)
	}
	if _, err := o.ShipPart(PartParcel, Tracking{Carrier: "USPS", TrackingNumber: "9400100000000000000001"}, "t", at); err != nil {
		t.Fatal(err)
	}
	if o.ParcelToShip() {
		t.Error("a shipped parcel: to ship")
	}
	printed := mk(catalog.PrintOnDemand)
	if _, err := printed.Fulfil("t", at); err != nil {
		t.Fatal(err)
	}
	if printed.ParcelToShip() {
		t.Error("a print-only order: to ship")
	}
}
