package fulfilment

// The parcel's label: bought once from the rate the customer chose (or a
// fresh rate for the same carrier service), voided when nothing will use
// it, and tracked to the customer's door.
//
// A label is bought once. Before the label service is asked, the order's
// parcel is claimed (order.ClaimLabel) and every rate asked for is
// recorded under the claim (AddClaimRate): a second command, concurrent or
// repeated, waits for the claim; a claim left by a runner that died
// between the service's answer and our write is settled by the next
// command or the sweeper's re-drive, which looks the label up by each
// recorded rate (GET /v1/labels?rate_id=) before anything is bought.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/shipping"
)

// LabelService sells, finds, voids and tracks labels (ShipEngine:
// shipengine.Parcels).
//
// Errors: UNAVAILABLE when the service is down or a purchase's outcome is
// not known (label_outcome_unknown: look for it by its rate later);
// FAILED_PRECONDITION or INVALID_ARGUMENT (label_refused) with the
// service's words when it refuses (no funds, a bad address, a used label);
// FAILED_PRECONDITION rate_unavailable for a rate it no longer honours.
type LabelService interface {
	// Rates quotes a package fresh; ref is our id for the shipment, new
	// for each quote.
	Rates(ctx context.Context, from, to shipping.Address, p shipping.Package, ref string) ([]shipping.Rate, error)
	// Buy buys a label from a rate.
	Buy(ctx context.Context, rateID string) (order.Label, error)
	// ForRate finds the good label bought from a rate (nil: none).
	ForRate(ctx context.Context, rateID string) (*order.Label, error)
	// Void voids a label.
	Void(ctx context.Context, labelID string) error
	// Track reads a label's tracking.
	Track(ctx context.Context, labelID string) (order.TrackingUpdate, error)
}

// ReasonRateUnavailable is the label service's reason for a rate it no
// longer honours (shipengine.ReasonRateUnavailable).
const ReasonRateUnavailable = "rate_unavailable"

// LabelSettings are the store's settings for its parcels' labels.
type LabelSettings struct {
	From shipping.Address // the ship-from address (OMS_SHIP_FROM)
	Box  shipping.Box     // the box the parcel ships in (OMS_DEFAULT_BOX)
	// ClaimFor is how long a purchase's claim stands before another
	// runner settles it (DefaultLabelClaim when 0); Wait how long a
	// command waits for a purchase in flight (DefaultLabelWait when 0).
	ClaimFor time.Duration
	Wait     time.Duration
}

// Defaults of LabelSettings.
const (
	DefaultLabelClaim = 2 * time.Minute
	DefaultLabelWait  = 20 * time.Second
)

// The owner's label commands, as their request ids remember them.
const (
	CommandBuyLabel  = "buyLabel"
	CommandVoidLabel = "voidLabel"
)

func (p *Parts) claimFor() time.Duration {
	if p.LabelSettings.ClaimFor > 0 {
		return p.LabelSettings.ClaimFor
	}
	return DefaultLabelClaim
}

// BuyLabel buys the label of an order's parcel for the owner, once, and
// answers the order and whether the label came from a fresh rate: the
// same request again answers the label bought; a purchase in flight (this
// command from another tab, or a retry) is waited for; a parcel with a
// label is FAILED_PRECONDITION (label_exists). The label service's
// refusals answer in its words and change nothing.
func (p *Parts) BuyLabel(ctx context.Context, who *identity.Identity, requestID, orderID string) (*order.Order, bool, error) {
	if err := order.CheckOwnerCommand(who, p.AdminClaim, requestID, orderID); err != nil {
		return nil, false, err
	}
	req := order.Request{ID: requestID, Command: CommandBuyLabel, Hash: order.RequestHash(CommandBuyLabel, orderID), Actor: "owner:" + who.UID}
	wait := p.LabelSettings.Wait
	if wait <= 0 {
		wait = DefaultLabelWait
	}
	until := time.Now().Add(wait)
	for pause := 100 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		var claim *order.LabelClaim
		seen := false
		o, _, err := p.Orders.Update(ctx, orderID, func(o *order.Order) (bool, error) {
			var err error
			if _, seen, err = o.Requested(req.ID, req.Command, req.Hash); seen || err != nil {
				return false, err
			}
			var claimed bool
			claim, claimed, err = o.ClaimLabel(requestID, p.claimFor(), p.Now().UTC())
			if !claimed {
				claim = nil
			}
			return claimed, err
		})
		switch {
		case err != nil:
			return nil, false, err
		case seen:
			return o, false, nil
		case claim != nil:
			return p.buy(ctx, o, claim, &req)
		case time.Now().After(until):
			return nil, false, apperr.New(apperr.Unavailable, "a label purchase for order %s is in flight; try again in a moment", orderID).
				Because(order.ReasonLabelInFlight)
		}
		select {
		case <-ctx.Done():
			return nil, false, apperr.Wrap(ctx.Err(), apperr.Unavailable, "a label purchase for order %s is in flight; try again in a moment", orderID).
				Because(order.ReasonLabelInFlight)
		case <-time.After(pause):
		}
	}
}

// buy settles a claim on o's parcel: the label bought under an earlier
// claim's rates if one is found, else one bought now (from the rate the
// customer chose while it is honoured and fits, else a fresh rate for the
// same carrier service), recorded on the order with req (nil: the
// sweeper's settling, no request).
func (p *Parts) buy(ctx context.Context, o *order.Order, claim *order.LabelClaim, req *order.Request) (*order.Order, bool, error) {
	actor := "sweeper"
	if req != nil {
		actor = req.Actor
	}
	label, err := p.findClaimed(ctx, claim.Rates)
	if err != nil {
		return nil, false, err
	}
	fresh := false
	if label == nil {
		if label, fresh, err = p.purchase(ctx, o, claim); err != nil {
			if nothingBought(err) {
				// Refused, or failed before ShipEngine acted: nothing was
				// bought; the parcel is free again.
				if _, _, uerr := p.Orders.Update(ctx, o.ID, func(o *order.Order) (bool, error) {
					return o.ReleaseLabelClaim(claim.Since), nil
				}); uerr != nil {
					return nil, false, errors.Join(err, uerr)
				}
			}
			return nil, false, err
		}
	}
	if s := o.Shipping; s != nil && label.Carrier == label.CarrierCode {
		label.Carrier = s.Rate.Carrier // a carrier the adapter has no name for: the name the customer chose
	}
	now := p.Now().UTC()
	o, _, err = p.Orders.Update(ctx, o.ID, func(o *order.Order) (bool, error) {
		changed, err := o.RecordLabel(*label, actor, CommandBuyLabel, order.RequestHash(CommandBuyLabel, o.ID), now)
		if err != nil {
			return false, err
		}
		if req != nil {
			// The sweeper may have settled this command's claim meanwhile
			// (a purchase slower than the claim): remember it all the same.
			if _, seen, _ := o.Requested(req.ID, req.Command, req.Hash); !seen {
				req.At = now
				o.Remember(*req)
				changed = true
			}
		}
		return changed, nil
	})
	if err != nil {
		return nil, false, err
	}
	logging.FromContext(ctx).Info().Str("order", o.ID).Str("label", label.ID).Bool("freshRate", fresh).Msg("label bought")
	return o, fresh, nil
}

// nothingBought reports whether a purchase's failure proves that no label
// was bought: ShipEngine refused (a validation or business rule), or it
// was unavailable without acting on the purchase (rate-limited, or down
// before it was asked). An unknown outcome (label_outcome_unknown) or an
// unexpected error (an answer we could not read) keeps the claim, whose
// rates are looked up before anything is bought again.
func nothingBought(err error) bool {
	e := apperr.As(err)
	if e == nil {
		return false
	}
	switch e.Code {
	case apperr.FailedPrecondition, apperr.Invalid:
		return true
	case apperr.Unavailable:
		return e.Reason != ReasonLabelUnknown && e.Reason != order.ReasonLabelInFlight
	}
	return false
}

// ReasonLabelUnknown is the label service's reason for a purchase whose
// outcome is not known (shipengine.ReasonLabelUnknown).
const ReasonLabelUnknown = "label_outcome_unknown"

// findClaimed looks for a good label bought from any of a claim's rates
// (a purchase whose answer was lost).
func (p *Parts) findClaimed(ctx context.Context, rates []string) (*order.Label, error) {
	for _, r := range rates {
		l, err := p.Labels.ForRate(ctx, r)
		if err != nil || l != nil {
			return l, err
		}
	}
	return nil, nil
}

// purchase buys the parcel's label under claim, each rate recorded on the
// claim before it is bought from.
func (p *Parts) purchase(ctx context.Context, o *order.Order, claim *order.LabelClaim) (*order.Label, bool, error) {
	s := o.Shipping
	if s == nil || s.Rate.RateID == "" {
		return nil, false, apperr.New(apperr.Internal, "order %s was paid without a shipping address and rate", o.ID)
	}
	parcel, _ := o.Parcel()
	// The chosen rate was quoted for every line of the order: it fits the
	// parcel when the parcel is the whole order, once (a label voided
	// since used it).
	useChosen := o.Part(order.PartPrint) == nil && len(parcel.Labels) == 0
	if useChosen {
		l, err := p.buyFrom(ctx, o.ID, claim, s.Rate.RateID)
		if e := apperr.As(err); e == nil || e.Reason != ReasonRateUnavailable {
			return l, false, err
		}
		logging.FromContext(ctx).Info().Str("order", o.ID).Str("rate", s.Rate.RateID).Msg("the chosen rate is not honoured any more: a fresh one")
	}
	var grams int64
	for _, pl := range parcel.Lines {
		for _, l := range o.Lines {
			if l.SKU == pl.SKU {
				grams += l.WeightGrams * pl.Quantity
				break
			}
		}
	}
	ref := fmt.Sprintf("%s-parcel-%d", o.ID, claim.Since.UnixNano())
	rates, err := p.Labels.Rates(ctx, p.LabelSettings.From, s.Address, shipping.PackageFor(grams, p.LabelSettings.Box), ref)
	if err != nil {
		return nil, true, err
	}
	for _, r := range rates {
		if r.CarrierID == s.Rate.CarrierID && r.ServiceCode == s.Rate.ServiceCode {
			l, err := p.buyFrom(ctx, o.ID, claim, r.RateID)
			return l, true, err
		}
	}
	return nil, true, apperr.New(apperr.FailedPrecondition, "%s %s is not offered for this parcel any more; ship it another way and record it with markShipped",
		s.Rate.Carrier, s.Rate.Service).Because(order.ReasonServiceGone)
}

// buyFrom records rateID on the claim, then buys from it.
func (p *Parts) buyFrom(ctx context.Context, orderID string, claim *order.LabelClaim, rateID string) (*order.Label, error) {
	held := false
	if _, _, err := p.Orders.Update(ctx, orderID, func(o *order.Order) (bool, error) {
		held = o.AddClaimRate(claim.Since, rateID)
		return held, nil
	}); err != nil {
		return nil, err
	}
	if !held {
		return nil, apperr.New(apperr.Unavailable, "another runner took over the label purchase of order %s; try again in a moment", orderID).
			Because(order.ReasonLabelInFlight)
	}
	claim.Rates = append(claim.Rates, rateID)
	l, err := p.Labels.Buy(ctx, rateID)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// VoidLabel voids the good label of an order's parcel for the owner,
// before the carrier scanned it: its cost comes back (a figure on the
// order) and the parcel waits for a label again. The same request again
// answers the order as it stands. No label is FAILED_PRECONDITION
// (no_label); a label the carrier has is label_scanned; the label
// service's refusal answers in its words.
func (p *Parts) VoidLabel(ctx context.Context, who *identity.Identity, requestID, orderID string) (*order.Order, error) {
	if err := order.CheckOwnerCommand(who, p.AdminClaim, requestID, orderID); err != nil {
		return nil, err
	}
	req := order.Request{ID: requestID, Command: CommandVoidLabel, Hash: order.RequestHash(CommandVoidLabel, orderID), Actor: "owner:" + who.UID}
	o, err := p.Reader.Get(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if _, seen, err := o.Requested(req.ID, req.Command, req.Hash); seen || err != nil {
		return o, err
	}
	part, err := o.Parcel()
	if err != nil {
		return nil, err
	}
	l := part.Label()
	switch {
	case l == nil && part.Buying != nil:
		return nil, apperr.New(apperr.Unavailable, "a label purchase for order %s is in flight; try again in a moment", orderID).Because(order.ReasonLabelInFlight)
	case l == nil:
		return nil, apperr.New(apperr.FailedPrecondition, "the parcel of order %s has no label to void", orderID).Because(order.ReasonNoLabel)
	case part.Status != order.PartLabelled && part.Status != order.PartCanceled:
		return nil, apperr.New(apperr.FailedPrecondition, "the parcel of order %s is %s: the carrier has it, too late to void its label", orderID, part.Status).
			Because(order.ReasonLabelScanned).WithDetails(map[string]string{"status": part.Status})
	}
	if err := p.Labels.Void(ctx, l.ID); err != nil {
		return nil, err
	}
	now := p.Now().UTC()
	o, _, err = p.Orders.Update(ctx, orderID, func(o *order.Order) (bool, error) {
		if _, seen, err := o.Requested(req.ID, req.Command, req.Hash); seen || err != nil {
			return false, err
		}
		o.RecordLabelVoid(l.ID, req.Actor, now)
		req.At = now
		o.Remember(req)
		return true, nil
	})
	return o, err
}

// settleLabels is the any-state step of the parcel's labels: a purchase's
// claim older than its time is settled (the label found by its rates and
// recorded, or the claim dropped when none was bought), and a label
// nothing will use (its part or order canceled, or the order refunded
// before the carrier scanned it) is voided — a refusal recorded and the
// owner alerted once.
func (p *Parts) settleLabels(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	part := o.Part(order.PartParcel)
	if part == nil || !o.LabelWorkDue() {
		return nil
	}
	now := p.Now().UTC()
	if c := part.Buying; c != nil && now.Sub(c.Since) >= p.claimFor() {
		var claim *order.LabelClaim
		cur, _, err := p.Orders.Update(ctx, o.ID, func(o *order.Order) (bool, error) {
			claim = o.RenewLabelClaim(p.claimFor(), now)
			return claim != nil, nil
		})
		if err != nil || claim == nil {
			return err
		}
		l, err := p.findClaimed(ctx, claim.Rates)
		if err != nil {
			return err
		}
		if o, _, err = p.Orders.Update(ctx, cur.ID, func(o *order.Order) (bool, error) {
			if l == nil {
				return o.ReleaseLabelClaim(claim.Since), nil
			}
			return o.RecordLabel(*l, "sweeper", CommandBuyLabel, order.RequestHash(CommandBuyLabel, o.ID), now)
		}); err != nil {
			return err
		}
	}
	l := o.LabelToVoid()
	if l == nil {
		return nil
	}
	err := p.Labels.Void(ctx, l.ID)
	switch {
	case err == nil:
		_, _, err = p.Orders.Update(ctx, o.ID, func(o *order.Order) (bool, error) {
			return o.RecordLabelVoid(l.ID, "trigger", now), nil
		})
		return err
	case apperr.CodeOf(err) == apperr.Unavailable:
		return err
	}
	words := err.Error()
	if e := apperr.As(err); e != nil {
		words = e.Message
	}
	if _, _, uerr := p.Orders.Update(ctx, o.ID, func(o *order.Order) (bool, error) {
		return o.RecordVoidRefused(l.ID, words, now), nil
	}); uerr != nil {
		return uerr
	}
	_, aerr := p.Alerts.Raise(ctx, alert.Alert{Key: "label-not-voided-" + l.ID, Kind: alert.LabelNotVoided, OrderID: o.ID,
		Subject: fmt.Sprintf("Order %s: its label %s could not be voided", o.ID, l.ID),
		Text: fmt.Sprintf("Order %s no longer uses its label %s (%s %s, %s), but it could not be voided: %s\nIts cost stays spent unless the carrier refunds it.",
			o.ID, l.ID, l.Carrier, l.TrackingNumber, l.Cost, strings.TrimPrefix(words, "ShipEngine: "))})
	return aerr
}
