package functions

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
)

// The order document's fields the order flow is told of (firestoredb's
// stored order: state, and work.wake, the count of work added without a
// transition).
const (
	orderStateField = "state"
	orderWakeField  = "work.wake"
)

// onOrderWritten decodes the Firestore event into the order flow's Change
// and hands it over. An undecodable event is logged and dropped (a retry
// cannot fix it); an error from the flow is returned so that the platform
// retries.
func onOrderWritten(a *app.App) func(context.Context, cloudevents.Event) error {
	return func(ctx context.Context, ce cloudevents.Event) error {
		ctx = a.Log.With().Str("function", "onOrderWritten").Str("event", ce.ID()).Logger().WithContext(ctx)
		ev, err := docevent.Decode(ce)
		if err != nil {
			logging.FromContext(ctx).Error().Err(err).Msg("undecodable order event dropped")
			return nil
		}
		return a.Flow.HandleEvent(ctx, orderChange(ev))
	}
}

// orderChange is what the order flow needs of a write to orders/{id}: the
// states before and after, and the wake counter before and after (an
// absent field reads as zero, a document created or deleted as "").
func orderChange(ev *docevent.Event) orderflow.Change {
	c := orderflow.Change{OrderID: ev.DocumentID(), EventID: ev.ID, Deleted: ev.New == nil}
	from, _ := ev.Old.String(orderStateField)
	to, _ := ev.New.String(orderStateField)
	c.From, c.To = order.State(from), order.State(to)
	c.OldWake, _ = ev.Old.Int(orderWakeField)
	c.NewWake, _ = ev.New.Int(orderWakeField)
	return c
}
