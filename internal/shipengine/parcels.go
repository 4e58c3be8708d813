package shipengine

import (
	"context"
	"errors"
	"net/http"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/shipping"
)

// Parcels is the label service of the store's parcels (fulfilment's
// LabelService) on ShipEngine: fresh rates, labels bought, found, voided
// and tracked, in the order's types.
type Parcels struct {
	Client     *Client
	CarrierIDs []string
	Options    LabelOptions // the label's format and layout (PDF 4×6 by default)
}

// ReasonRateUnavailable is the FAILED_PRECONDITION reason of a purchase
// from a rate ShipEngine no longer honours (expired or unknown): a fresh
// rate is needed.
const ReasonRateUnavailable = "rate_unavailable"

// Rates quotes a package fresh (the cache skipped: ref, our id for the
// shipment, is new for each quote), with the account's carriers.
func (p Parcels) Rates(ctx context.Context, from, to shipping.Address, pkg shipping.Package, ref string) ([]shipping.Rate, error) {
	rates, err := p.Client.Rates(ctx, RatesQuery{From: from, To: to, Package: pkg, CarrierIDs: p.CarrierIDs, ExternalShipmentID: ref})
	return rates, refusalOf(err)
}

// Buy buys a label from a rate (BuyLabel). A rate ShipEngine does not
// honour (expired, unknown) is FAILED_PRECONDITION rate_unavailable.
func (p Parcels) Buy(ctx context.Context, rateID string) (order.Label, error) {
	l, err := p.Client.BuyLabel(ctx, rateID, p.Options)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status < http.StatusInternalServerError {
			for _, it := range ae.Errors {
				if it.ErrorCode == "invalid_status" || (it.ErrorCode == "invalid_identifier" && ae.Status != http.StatusNotFound) {
					return order.Label{}, apperr.Wrap(err, apperr.FailedPrecondition, "ShipEngine: %s", it.Message).Because(ReasonRateUnavailable)
				}
			}
		}
		if e := apperr.As(err); e != nil && e.Code == apperr.Invalid && e.Reason == ReasonLabelRefused {
			// The carrier refused what the owner cannot change here (the
			// address, the package): a refusal, not bad input.
			return order.Label{}, apperr.Wrap(err, apperr.FailedPrecondition, "%s", e.Message).Because(ReasonLabelRefused)
		}
		return order.Label{}, err
	}
	return orderLabel(l, rateID), nil
}

// ForRate finds the label bought from a rate, not voided (nil: none).
func (p Parcels) ForRate(ctx context.Context, rateID string) (*order.Label, error) {
	l, found, err := p.Client.LabelForRate(ctx, rateID, p.Options.wire().LabelFormat)
	if err != nil || !found || l.Voided {
		return nil, refusalOf(err)
	}
	ol := orderLabel(l, rateID)
	return &ol, nil
}

// Void voids a label; ShipEngine's refusal is FAILED_PRECONDITION
// label_refused with its words. A label voided already is voided.
func (p Parcels) Void(ctx context.Context, labelID string) error {
	_, err := p.Client.VoidLabel(ctx, labelID, p.Options.wire().LabelFormat)
	return err
}

// Track reads a label's tracking in the order's words.
func (p Parcels) Track(ctx context.Context, labelID string) (order.TrackingUpdate, error) {
	t, err := p.Client.Track(ctx, labelID)
	if err != nil {
		return order.TrackingUpdate{}, refusalOf(err)
	}
	return t.Update(), nil
}

func orderLabel(l Label, rateID string) order.Label {
	return order.Label{ID: l.ID, RateID: rateID, CarrierCode: l.Carrier, Carrier: shipping.CarrierName(l.Carrier), Service: l.Service,
		TrackingNumber: l.TrackingNumber, TrackingURL: shipping.TrackingURL(l.Carrier, l.TrackingNumber), DownloadURL: l.DownloadURL,
		Format: l.Format, Cost: l.Cost, BoughtAt: l.CreatedAt}
}
