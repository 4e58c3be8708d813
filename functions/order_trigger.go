package functions

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/logging"
)

// onOrderWritten decodes the Firestore event and hands it to the order flow.
// An undecodable event is logged and dropped (a retry cannot fix it); an
// error from the flow is returned so that the platform retries.
func onOrderWritten(a *app.App) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, ce cloudevents.Event) error {
		ctx = a.Log.With().Str("function", "onOrderWritten").Str("event", ce.ID()).Logger().WithContext(ctx)
		ev, err := docevent.Decode(ce)
		if err != nil {
			logging.FromContext(ctx).Error().Err(err).Msg("undecodable order event dropped")
			return nil
		}
		return a.Flow.HandleEvent(ctx, ev)
	}
}
