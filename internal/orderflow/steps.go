package orderflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/order"
)

// Step names: the places in the flow. Each capability implements its own
// (see Register); until one lands, its steps only record that they were
// reached, so that the dispatch table, the logs and docs/api.md already
// show the whole flow.
const (
	StepCreateInvoice       = "createInvoice"        // authorized → invoiced (bookkeeping)
	StepAlertReview         = "alertOwnerReview"     // invoiced: tell the owner an order waits for review
	StepCapturePayment      = "capturePayment"       // approved → paid (payments)
	StepFulfil              = "fulfil"               // paid → fulfilling: the order's parts recorded (fulfilment)
	StepAlertParcel         = "alertOwnerParcel"     // fulfilling: tell the owner a parcel waits to be packed and shipped (fulfilment)
	StepSubmitPrintJob      = "submitPrintJob"       // fulfilling: the print part's job at the printer, once (fulfilment)
	StepCommitStock         = "commitStock"          // shipped: the held units leave stock (checkout)
	StepNotifyReceived      = "notifyReceived"       // authorized: the customer's "authorized, not charged" email (messages)
	StepSendReceipt         = "sendReceipt"          // paid: the customer's receipt (messages)
	StepNotifyShipped       = "notifyShipped"        // shipped: the customer's shipping email of each part (messages)
	StepNotifyParts         = "notifyShippedParts"   // any state: the shipping email of each part that shipped before the order did (messages)
	StepNotifyCanceled      = "notifyCanceled"       // canceled: the customer's cancellation email, when their card was authorized (messages)
	StepNotifyExpired       = "notifyExpired"        // expired: "nothing was charged", when the customer reached payment (messages)
	StepNotifyRefunds       = "notifyRefunds"        // any state: the customer's email of each refund made (messages)
	StepClosePaymentSession = "closePaymentSession"  // expired, canceled: the current session can no longer be paid (payments)
	StepReleaseHolds        = "releaseHolds"         // expired, canceled: give the stock back (checkout)
	StepCancelPayment       = "cancelPayment"        // canceled: release the card's authorization (payments)
	StepReleaseRedemptions  = "releaseRedemptions"   // expired, canceled: give promotion redemptions back (checkout)
	StepVoidInvoice         = "voidInvoice"          // canceled: void the QuickBooks invoice, found by its number if the order never heard of it (bookkeeping)
	StepVoidLateInvoice     = "voidLateInvoice"      // any state: void the invoice a canceled order learned of after its cancel (bookkeeping)
	StepAlertOwner          = "alertOwner"           // needs_attention: tell the owner why
	StepReleaseStrays       = "releaseStrayPayments" // any state: cancel authorizations that may not pay for the order (payments)
	StepRefundPayment       = "refundPayment"        // any state: make the owner's refunds at Stripe (payments)
	StepRecordRefund        = "recordRefund"         // any state: record the refunds made in QuickBooks (bookkeeping)
	StepSettleStock         = "settleStock"          // refunded: the holds leave stock if the parcel shipped, else go back (checkout)
)

// Register registers every step of the flow, in flow order, with its
// implementation from impl (the capabilities' Steps merged). A step
// without one only records that it was reached. StepReleaseStrays,
// StepRefundPayment, StepRecordRefund, StepVoidLateInvoice and the
// notifications of parts and refunds run in every state (OnAny).
func Register(d *Dispatcher, impl map[string]StepFunc) {
	for _, s := range []struct {
		to   order.State
		name string
	}{
		{order.Authorized, StepNotifyReceived}, // before the steps that move the order on
		{order.Authorized, StepCreateInvoice},
		{order.Invoiced, StepAlertReview},
		{order.Approved, StepCapturePayment},
		{order.Paid, StepSendReceipt},
		{order.Paid, StepFulfil},
		{order.Fulfilling, StepSubmitPrintJob},
		{order.Fulfilling, StepAlertParcel},
		{order.Shipped, StepCommitStock},
		{order.Shipped, StepNotifyShipped},
		{order.Refunded, StepSettleStock},
		{order.Expired, StepClosePaymentSession},
		{order.Expired, StepReleaseHolds},
		{order.Expired, StepReleaseRedemptions},
		{order.Expired, StepNotifyExpired},
		{order.Canceled, StepClosePaymentSession},
		{order.Canceled, StepCancelPayment},
		{order.Canceled, StepReleaseHolds},
		{order.Canceled, StepReleaseRedemptions},
		{order.Canceled, StepVoidInvoice},
		{order.Canceled, StepNotifyCanceled},
		{order.NeedsAttention, StepAlertOwner},
	} {
		d.On(s.to, s.name, implOf(impl, s.name))
	}
	for _, name := range []string{StepReleaseStrays, StepRefundPayment, StepRecordRefund, StepVoidLateInvoice, StepNotifyParts, StepNotifyRefunds} {
		d.OnAny(name, implOf(impl, name))
	}
}

func implOf(impl map[string]StepFunc, name string) StepFunc {
	if fn, ok := impl[name]; ok {
		return fn
	}
	return func(ctx context.Context, t Transition) error {
		logging.FromContext(ctx).Debug().Str("step", name).Msg("step reached; its capability has not landed yet")
		return nil
	}
}

// DueLister lists orders whose work is due (order.WorkDue) and whose last
// change is older than `before`, oldest first.
type DueLister interface {
	Due(ctx context.Context, before time.Time, limit int) ([]*order.Order, error)
}

// redriveBatch bounds one sweep's re-drives so that a sweep finishes well
// inside its deadline; the next sweep takes the rest.
const redriveBatch = 50

// RedriveTask is the sweeper task that re-drives every order, in any
// state, whose work is still due `after` its last change: an event lost,
// a crash between a transition and its steps or between a step's outside
// call and its write, a step that kept failing transiently.
func (d *Dispatcher) RedriveTask(orders DueLister, after time.Duration) func(ctx context.Context, now time.Time) (string, error) {
	return func(ctx context.Context, now time.Time) (string, error) {
		due, err := orders.Due(ctx, now.Add(-after), redriveBatch)
		if err != nil {
			return "", err
		}
		var errs []error
		for _, o := range due {
			if err := d.Redrive(ctx, o); err != nil {
				errs = append(errs, fmt.Errorf("order %s: %w", o.ID, err))
			}
		}
		return fmt.Sprintf("re-drove %d orders with work due, %d failed", len(due), len(errs)), errors.Join(errs...)
	}
}
