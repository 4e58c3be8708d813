package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/shipengine"
	webhookev "github.com/readyplanner/oms/internal/webhook"
)

// shipengineWebhook receives ShipEngine's track webhook: it verifies the
// RSA-SHA256 signature over the timestamp and the raw body with
// ShipEngine's published keys (missing headers 404, a stale timestamp
// 400, a bad signature or unknown key 401; nothing recorded), records the
// delivery create-if-absent and answers at once; onShipEngineEvent
// re-reads the label's tracking and acts.
func shipengineWebhook(a *app.App) http.Handler {
	return webhook(a, "shipengineWebhook", func(r *http.Request, body []byte) (any, error) {
		if err := a.TrackWebhooks.Verify(r.Context(), r.Header, body); err != nil {
			switch {
			case errors.Is(err, shipengine.ErrNoSignature):
				return nil, apperr.Wrap(err, apperr.NotFound, "not found").Because("no_signature")
			case errors.Is(err, shipengine.ErrStale):
				return nil, apperr.Wrap(err, apperr.Invalid, "%s", err.Error()).Because("stale_timestamp")
			case errors.Is(err, shipengine.ErrUnknownKey), errors.Is(err, shipengine.ErrBadSignature):
				return nil, apperr.Wrap(err, apperr.Unauthenticated, "%s", err.Error()).Because("bad_signature")
			}
			return nil, retry(err) // the key set could not be fetched: ShipEngine delivers it again
		}
		d, err := shipengine.ParseTrackWebhook(body)
		if err != nil {
			return nil, apperr.Wrap(err, apperr.Invalid, "%s", err.Error())
		}
		if d.ResourceType != "API_TRACK" {
			return map[string]any{"received": true, "outcome": "ignored"}, nil
		}
		sum := sha256.Sum256(body)
		fresh, err := a.Parts.RecordTrackEvent(r.Context(), d.Data.TrackingNumber+":"+d.Data.StatusCode+":"+hex.EncodeToString(sum[:8]),
			webhookev.TrackEvent{TrackingNumber: d.Data.TrackingNumber, StatusCode: d.Data.StatusCode})
		if err != nil {
			return nil, retry(err)
		}
		return recordedAnswer(fresh), nil
	})
}

// onShipEngineEvent acts on a newly recorded track event: fulfilment
// re-reads the label's tracking and moves the order's part.
func onShipEngineEvent(a *app.App) func(context.Context, cloudevents.Event) error {
	return onWebhookRecord(a, "onShipEngineEvent", "track event", a.Parts.HandleTrackEvent)
}
