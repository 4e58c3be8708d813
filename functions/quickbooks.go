package functions

import (
	"context"
	"errors"
	"net/http"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/quickbooks"
)

// quickbooksWebhook receives QuickBooks' notifications (legacy or
// CloudEvents format): it verifies intuit-signature (401 if it fails;
// nothing recorded), records each entity event of the connected company
// create-if-absent, and answers 200 at once (Intuit wants an answer within
// 3 s); onQuickBooksEvent acts on the recorded events.
func quickbooksWebhook(a *app.App) http.Handler {
	verifier := a.Config.Secret(app.QuickBooksWebhookVerifier).Reveal()
	return webhook(a, "quickbooksWebhook", func(r *http.Request, body []byte, answer func(int, any)) {
		log := logging.FromContext(r.Context())
		if err := quickbooks.VerifyWebhook(body, r.Header.Get("intuit-signature"), verifier); err != nil {
			log.Warn().Err(err).Msg("quickbooks webhook refused")
			answer(http.StatusUnauthorized, map[string]string{"error": err.Error()})
			return
		}
		events, err := quickbooks.ParseWebhook(body)
		if err != nil {
			answer(http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if a.Books == nil {
			answer(http.StatusInternalServerError, map[string]string{"error": "QuickBooks is not configured"})
			return
		}
		realm, err := a.Books.Realm(r.Context())
		if err != nil {
			log.Error().Err(err).Msg("quickbooks webhook: no connected company")
			answer(http.StatusInternalServerError, map[string]string{"error": "not connected; retry"})
			return
		}
		recorded, ignored := 0, 0
		for _, e := range events {
			if e.Realm != realm {
				ignored++ // another company's event
				continue
			}
			if _, err := a.WebhookEvents.Record(r.Context(), "quickbooks", e.Key(), map[string]any{"entity": e.Entity, "entityId": e.ID,
				"operation": e.Operation, "realmId": e.Realm}, a.Now()); err != nil {
				log.Error().Err(err).Msg("quickbooks event not recorded; QuickBooks will retry")
				answer(http.StatusInternalServerError, map[string]string{"error": "not recorded; retry"})
				return
			}
			recorded++
		}
		log.Info().Int("recorded", recorded).Int("ignored", ignored).Msg("quickbooks webhook")
		answer(http.StatusOK, map[string]any{"recorded": recorded, "ignored": ignored})
	})
}

// onQuickBooksEvent acts on a newly recorded QuickBooks event (not the
// webhook itself, which only records): it re-reads the invoice and moves
// the order, then marks the event processed.
func onQuickBooksEvent(a *app.App) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, ce cloudevents.Event) error {
		ctx = a.Log.With().Str("function", "onQuickBooksEvent").Str("event", ce.ID()).Logger().WithContext(ctx)
		log := logging.FromContext(ctx)
		ev, err := docevent.Decode(ce)
		if err != nil {
			log.Error().Err(err).Msg("undecodable event dropped")
			return nil
		}
		if ev.New == nil || ev.Old != nil {
			return nil // only a newly recorded event is work
		}
		if src, _ := ev.New.String("source"); src != "quickbooks" {
			return nil
		}
		entity, _ := ev.New.String("entity")
		id, _ := ev.New.String("entityId")
		op, _ := ev.New.String("operation")
		outcome, err := a.HandleQuickBooksEvent(ctx, entity, id, op)
		if err != nil {
			log.Warn().Err(err).Msg("quickbooks event not handled; will retry")
			return err
		}
		eventID, _ := ev.New.String("eventId")
		log.Info().Str("outcome", outcome).Msg("quickbooks event")
		return errors.Join(a.WebhookEvents.Processed(ctx, "quickbooks", eventID, outcome, a.Now()))
	}
}
