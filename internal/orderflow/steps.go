package orderflow

import (
	"context"

	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
)

// Step names: the places in the flow that later capabilities fill. Each is
// registered now so that the dispatch table, the logs and docs/api.md
// already show the whole flow.
const (
	StepCreateInvoice      = "createInvoice"      // authorized → invoiced (bookkeeping)
	StepAlertReview        = "alertOwnerReview"   // invoiced: tell the owner an order waits for review
	StepCapturePayment     = "capturePayment"     // approved → paid (payments)
	StepFulfil             = "fulfil"             // paid → fulfilling (printer, manual shipping)
	StepCommitStock        = "commitStock"        // shipped: the held units leave stock (checkout)
	StepNotifyShipped      = "notifyShipped"      // shipped: the customer's shipping email
	StepReleaseHolds       = "releaseHolds"       // expired, canceled: give the stock back (checkout)
	StepCancelPayment      = "cancelPayment"      // canceled: cancel the authorization, void the invoice (payments)
	StepReleaseRedemptions = "releaseRedemptions" // expired, canceled: give promotion redemptions back (promotions)
	StepVoidInvoice        = "voidInvoice"        // canceled: void the QuickBooks invoice (bookkeeping)
	StepAlertOwner         = "alertOwner"         // needs_attention: tell the owner why
)

// RedriveStates are the states whose steps move the order on by themselves;
// an order that sits in one of them too long lost its event or its step, and
// the sweeper re-drives it.
var RedriveStates = []order.State{order.Authorized, order.Approved, order.Paid}

// Register registers every step of the flow, in flow order, with its
// implementation from impl. Until the capability that owns a step lands
// (no entry in impl), the step only records that it was reached.
func Register(d *Dispatcher, impl map[string]StepFunc) {
	for _, s := range []struct {
		to   order.State
		name string
	}{
		{order.Authorized, StepCreateInvoice},
		{order.Invoiced, StepAlertReview},
		{order.Approved, StepCapturePayment},
		{order.Paid, StepFulfil},
		{order.Shipped, StepCommitStock},
		{order.Shipped, StepNotifyShipped},
		{order.Expired, StepReleaseHolds},
		{order.Expired, StepReleaseRedemptions},
		{order.Canceled, StepCancelPayment},
		{order.Canceled, StepReleaseHolds},
		{order.Canceled, StepReleaseRedemptions},
		{order.Canceled, StepVoidInvoice},
		{order.NeedsAttention, StepAlertOwner},
	} {
		fn, ok := impl[s.name]
		if !ok {
			fn = reached(s.name)
		}
		d.On(s.to, s.name, fn)
	}
}

func reached(name string) StepFunc {
	return func(ctx context.Context, t Transition) error {
		logging.FromContext(ctx).Debug().Str("step", name).Msg("step reached; its capability has not landed yet")
		return nil
	}
}
