package order

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// Label is a shipping label bought for a parcel part (from the rate the
// customer chose, or a fresh one for the same carrier service).
type Label struct {
	ID             string
	RateID         string // the rate it was bought from
	Carrier        string // as the customer reads it ("USPS")
	CarrierCode    string // the carrier's code at the label service (stamps_com, ups, …)
	Service        string // the carrier's service code (usps_ground_advantage)
	TrackingNumber string
	TrackingURL    string // the carrier's public tracking page
	DownloadURL    string
	Format         string // pdf, zpl
	Cost           money.Money
	BoughtAt       time.Time
	// VoidedAt is when the label was voided (its cost given back); zero
	// while it is good. VoidRefused is the label service's words when it
	// would not void it (the carrier scanned it).
	VoidedAt    time.Time
	VoidRefused string
}

// Voided reports whether the label was voided.
func (l Label) Voided() bool { return !l.VoidedAt.IsZero() }

// LabelClaim is a label purchase in flight for a parcel part: written
// before the label service is asked, so that one purchase runs at a time
// and a purchase whose answer was lost (a crash between the answer and
// the write) is found again by its rates instead of bought twice.
type LabelClaim struct {
	// Rates are every rate a label was asked for under this claim, each
	// recorded before the call.
	Rates []string
	Since time.Time
	// RequestIDs are the owner's requests that claimed the parcel (a
	// stale claim taken over keeps its own): each is remembered with the
	// label it comes to, so that a retry of any answers that label.
	RequestIDs []string
}

// Reasons of the label commands' refusals.
const (
	ReasonLabelExists   = "label_exists"      // the parcel has a good label: void it first
	ReasonNoLabel       = "no_label"          // the parcel has no good label to void
	ReasonLabelScanned  = "label_scanned"     // the carrier has the parcel: too late to void
	ReasonLabelInFlight = "label_in_flight"   // a purchase for the parcel is in flight
	ReasonNotParcel     = "not_a_parcel"      // the part is the printer's
	ReasonNoParcel      = "no_parcel"         // the order has no parcel part
	ReasonLabelRefused  = "label_refused"     // the label service refused (its words)
	ReasonServiceGone   = "service_not_rated" // the carrier service the customer chose is not offered any more
)

// Label returns the part's good label (the latest one not voided), or nil.
func (p *Part) Label() *Label {
	for i := len(p.Labels) - 1; i >= 0; i-- {
		if !p.Labels[i].Voided() {
			return &p.Labels[i]
		}
	}
	return nil
}

// Parcel returns the order's parcel part, or FAILED_PRECONDITION
// (no_parcel) when it has none.
func (o *Order) Parcel() (*Part, error) {
	p := o.Part(PartParcel)
	if p == nil {
		return nil, apperr.New(apperr.FailedPrecondition, "order %s has no parcel to ship: its lines are printed and shipped by the printer", o.ID).
			Because(ReasonNoParcel)
	}
	return p, nil
}

// ClaimLabel claims the order's parcel for one label purchase by
// requestID at `at`: only a fulfilling order's waiting parcel without a
// good label, and not while another purchase's claim (made less than
// claimFor ago) stands. It answers the claim (with the rates of a stale
// claim it replaces, to be looked up before anything is bought) and
// whether it is the caller's; not claimed with no error means a purchase
// is in flight. A parcel with a good label is FAILED_PRECONDITION
// (label_exists).
func (o *Order) ClaimLabel(requestID string, claimFor time.Duration, at time.Time) (*LabelClaim, bool, error) {
	if o.state != Fulfilling {
		return nil, false, apperr.New(apperr.FailedPrecondition, "order %s is %s; a label is bought for a fulfilling order's parcel", o.ID, o.state).
			Because(ReasonNotFulfilling).WithDetails(map[string]string{"state": string(o.state)})
	}
	p, err := o.Parcel()
	if err != nil {
		return nil, false, err
	}
	if l := p.Label(); l != nil || p.Status != PartWaiting {
		if l == nil {
			return nil, false, apperr.New(apperr.FailedPrecondition, "the parcel of order %s is %s: it needs no label", o.ID, p.Status).
				Because(ReasonBadPartMove).WithDetails(map[string]string{"status": p.Status})
		}
		return nil, false, apperr.New(apperr.FailedPrecondition, "the parcel of order %s has label %s (%s %s): void it first to buy another", o.ID, l.ID, l.Carrier, l.TrackingNumber).
			Because(ReasonLabelExists).WithDetails(map[string]string{"labelId": l.ID, "trackingNumber": l.TrackingNumber})
	}
	if p.Buying != nil && at.Sub(p.Buying.Since) < claimFor {
		return nil, false, nil
	}
	// The claim is known by its time: to the microsecond, as the store
	// keeps it.
	c := &LabelClaim{Since: at.Truncate(time.Microsecond)}
	if p.Buying != nil {
		c.Rates, c.RequestIDs = slices.Clone(p.Buying.Rates), slices.Clone(p.Buying.RequestIDs)
	}
	if requestID != "" && !slices.Contains(c.RequestIDs, requestID) {
		c.RequestIDs = append(c.RequestIDs, requestID)
	}
	p.Buying, p.UpdatedAt = c, at
	return c, true, nil
}

// RenewLabelClaim takes over the parcel's purchase claim that stood for
// claimFor or longer at `at` (its runner died between the label service's
// answer and our write): the claim keeps its rates, to be looked up, and
// is the caller's from at. nil when there is no such claim.
func (o *Order) RenewLabelClaim(claimFor time.Duration, at time.Time) *LabelClaim {
	p := o.Part(PartParcel)
	if p == nil || p.Buying == nil || at.Sub(p.Buying.Since) < claimFor {
		return nil
	}
	p.Buying = &LabelClaim{Rates: slices.Clone(p.Buying.Rates), Since: at.Truncate(time.Microsecond), RequestIDs: slices.Clone(p.Buying.RequestIDs)}
	c := *p.Buying
	return &c
}

// AddClaimRate records, under the claim made at since, that a label is
// about to be bought from rateID. It reports whether the claim still
// stands (another runner may have replaced a claim it judged stale).
func (o *Order) AddClaimRate(since time.Time, rateID string) bool {
	p := o.Part(PartParcel)
	if p == nil || p.Buying == nil || !p.Buying.Since.Equal(since) {
		return false
	}
	if !slices.Contains(p.Buying.Rates, rateID) {
		p.Buying.Rates = append(p.Buying.Rates, rateID)
	}
	return true
}

// ReleaseLabelClaim drops the parcel's claim made at since (the purchase
// was refused: nothing was bought). It reports whether it did.
func (o *Order) ReleaseLabelClaim(since time.Time) bool {
	p := o.Part(PartParcel)
	if p == nil || p.Buying == nil || !p.Buying.Since.Equal(since) {
		return false
	}
	p.Buying = nil
	return true
}

// RecordLabel records a label bought for the order's parcel, by actor, and
// drops the purchase's claim, remembering the requests that claimed it
// (command buyLabel, input hash): a waiting parcel is labelled, waiting
// for the carrier's first scan. A label recorded already changes nothing
// but the claim. It is recorded in any state: a label bought for an order
// canceled or refunded meanwhile, or for a parcel shipped another way, is
// the parcel's, to be voided (the order's work wakes for it).
func (o *Order) RecordLabel(l Label, actor, command, hash string, at time.Time) (bool, error) {
	p, err := o.Parcel()
	if err != nil {
		return false, err
	}
	changed := false
	if c := p.Buying; c != nil {
		for _, id := range c.RequestIDs {
			if _, seen, _ := o.Requested(id, command, hash); !seen {
				o.Remember(Request{ID: id, Command: command, Hash: hash, Actor: actor, At: at})
			}
		}
		p.Buying, changed = nil, true
	}
	if slices.ContainsFunc(p.Labels, func(x Label) bool { return x.ID == l.ID }) {
		return changed, nil
	}
	p.Labels, p.UpdatedAt = append(p.Labels, l), at
	if p.Status == PartWaiting {
		p.Status = PartLabelled
	}
	o.Note(actor, fmt.Sprintf("label %s bought: %s %s, %s", l.ID, l.Carrier, l.TrackingNumber, l.Cost), at)
	if o.LabelToVoid() != nil {
		o.Work.Wake++ // a label nothing will use: void it
	}
	return true, nil
}

// RecordLabelVoid records that the parcel's label labelID was voided at
// the label service (its cost given back), by actor: a labelled parcel
// waits again for a label. A void recorded already changes nothing.
func (o *Order) RecordLabelVoid(labelID, actor string, at time.Time) bool {
	p := o.Part(PartParcel)
	if p == nil {
		return false
	}
	i := slices.IndexFunc(p.Labels, func(x Label) bool { return x.ID == labelID })
	if i < 0 || p.Labels[i].Voided() {
		return false
	}
	l := &p.Labels[i]
	l.VoidedAt, l.VoidRefused, p.UpdatedAt = at, "", at
	if p.Status == PartLabelled && p.Label() == nil {
		p.Status = PartWaiting
	}
	o.Note(actor, fmt.Sprintf("label %s voided: %s comes back", l.ID, l.Cost), at)
	return true
}

// RecordVoidRefused records the label service's refusal to void the
// parcel's label labelID (words): it is not asked again. It reports
// whether that changed anything.
func (o *Order) RecordVoidRefused(labelID, words string, at time.Time) bool {
	p := o.Part(PartParcel)
	if p == nil {
		return false
	}
	i := slices.IndexFunc(p.Labels, func(x Label) bool { return x.ID == labelID })
	if i < 0 || p.Labels[i].Voided() || p.Labels[i].VoidRefused != "" {
		return false
	}
	p.Labels[i].VoidRefused, p.UpdatedAt = words, at
	o.Note("shipengine", fmt.Sprintf("label %s could not be voided: %s", labelID, words), at)
	return true
}

// LabelToVoid returns the parcel's good label that nothing will use — its
// part canceled, its order canceled or refunded before the carrier
// scanned it, or the parcel shipped with other tracking (the owner sent
// it another way) — and not refused a void already; nil when there is
// none.
func (o *Order) LabelToVoid() *Label {
	p := o.Part(PartParcel)
	if p == nil {
		return nil
	}
	for i := range p.Labels {
		l := &p.Labels[i]
		unused := p.Status == PartCanceled || (p.Status == PartLabelled && (o.state == Canceled || o.state == Refunded)) ||
			(p.Shipped() && !SameTracking(p.TrackingNumber, l.TrackingNumber))
		if unused && !l.Voided() && l.VoidRefused == "" {
			return l
		}
	}
	return nil
}

// LabelWorkDue reports whether the order's labels need the flow: a
// purchase's claim stands (its outcome is to be found), or a label nothing
// will use is to be voided.
func (o *Order) LabelWorkDue() bool {
	p := o.Part(PartParcel)
	return p != nil && (p.Buying != nil || o.LabelToVoid() != nil)
}

// LabelCosts returns what the order's labels cost (the good ones) and
// what came back (the voided ones).
func (o *Order) LabelCosts() (cost, voided money.Money) {
	cost, voided = money.New(0, o.Currency), money.New(0, o.Currency)
	for _, p := range o.Parts {
		for _, l := range p.Labels {
			if l.Voided() {
				voided.Amount += l.Cost.Amount
			} else {
				cost.Amount += l.Cost.Amount
			}
		}
	}
	return cost, voided
}

// TrackingUpdate is what the carrier's tracking says of a part, in the
// order's words.
type TrackingUpdate struct {
	// Status is PartInTransit, PartOutForDelivery, PartException or
	// PartDelivered; "" when tracking says nothing a part moves on (a
	// label created, not yet in the carrier's system, unknown).
	Status string
	Note   string // the carrier's words of its latest event
}

// RecordTracking records tracking read from the carrier on part id at
// `at`, and reports whether anything changed. A labelled parcel's first
// scan ships it with its label's tracking (by "carrier"; the order ships
// when every part has); then the part moves as the part table allows: a
// status it cannot reach from where it is (an older event read late) is
// left. A delivered part wakes the order's work (the customer's email).
func (o *Order) RecordTracking(id string, u TrackingUpdate, at time.Time) (bool, error) {
	p := o.Part(id)
	if p == nil {
		return false, nil
	}
	changed := false
	if u.Note != "" && u.Note != p.TrackingNote {
		p.TrackingNote, changed = u.Note, true
	}
	if u.Status == "" {
		if changed {
			p.TrackedAt, p.UpdatedAt = at, at
		}
		return changed, nil
	}
	if p.Status == PartLabelled {
		l := p.Label()
		if l == nil {
			return changed, nil
		}
		t := Tracking{Carrier: l.Carrier, TrackingNumber: l.TrackingNumber, TrackingURL: l.TrackingURL}
		if o.state == Fulfilling {
			if _, err := o.ShipPart(id, t, "carrier", at); err != nil {
				return false, err
			}
		} else {
			p.Status, p.Carrier, p.TrackingNumber, p.TrackingURL, p.ShippedAt = PartShipped, t.Carrier, t.TrackingNumber, t.TrackingURL, at
		}
		p = o.Part(id)
		changed = true
	}
	if p.Status != u.Status && CanMovePart(p.Status, u.Status) {
		p.Status, changed = u.Status, true
		if u.Status == PartDelivered {
			p.DeliveredAt = at
			o.Work.Wake++ // the customer's delivered email
		}
	}
	if changed {
		p.TrackedAt, p.UpdatedAt = at, at
	}
	return changed, nil
}

// MarkTracked records that part id's tracking was read at `at` and said
// nothing new. It reports whether that changed anything.
func (o *Order) MarkTracked(id string, at time.Time) bool {
	p := o.Part(id)
	if p == nil || p.TrackedAt.Equal(at) {
		return false
	}
	p.TrackedAt = at
	return true
}

// SameTracking reports whether two tracking numbers are the same as a
// carrier reads them: spaces and dashes (as labels print them) and case
// aside.
func SameTracking(a, b string) bool {
	norm := func(s string) string {
		return strings.ToUpper(strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' || r == '\u00a0' {
				return -1
			}
			return r
		}, s))
	}
	return norm(a) == norm(b)
}

// ParcelToShip reports whether the owner has a parcel to ship: the order
// is fulfilling and its parcel waits to be packed, or is labelled and
// waits for the carrier's first scan.
func (o *Order) ParcelToShip() bool {
	p := o.Part(PartParcel)
	return o.state == Fulfilling && p != nil && (p.Status == PartWaiting || p.Status == PartLabelled)
}

// Tracked returns the parts whose carrier is followed by tracking: a
// labelled parcel, or one shipped with its good label's tracking, not
// delivered yet.
func (o *Order) Tracked() []*Part {
	var out []*Part
	for i := range o.Parts {
		p := &o.Parts[i]
		l := p.Label()
		if p.Kind == PartParcel && l != nil && (p.Status == PartLabelled || (p.Shipped() && p.Status != PartDelivered && SameTracking(p.TrackingNumber, l.TrackingNumber))) {
			out = append(out, p)
		}
	}
	return out
}
