package orderflow

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/readyplanner/oms/internal/order"
)

// Step names: the places in the flow. Each capability implements its own
// (see Register): a step with no implementation is an error at start-up,
// never a step recorded done without running.
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
	StepRecordTax           = "recordTax"            // any state: the paid sale's tax transaction, and each refund's share of the tax given back (payments)
	StepRecordRefund        = "recordRefund"         // any state: record the refunds made, with their tax, in QuickBooks (bookkeeping)
	StepSettleStock         = "settleStock"          // refunded: the holds leave stock if the parcel shipped, else go back (checkout)
	StepSettleLabels        = "settleLabels"         // any state: settle a label purchase whose answer was lost; void a label nothing will use (fulfilment)
	StepNotifyDelivered     = "notifyDelivered"      // any state: the customer's email of each part delivered (messages)
)

// flow is every step of the flow, in flow order, with the state it runs
// on; "" marks the steps that run in every state (OnAny).
var flow = []struct {
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
	{"", StepReleaseStrays},
	{"", StepRefundPayment},
	{"", StepRecordTax},
	{"", StepRecordRefund},
	{"", StepVoidLateInvoice},
	{"", StepNotifyParts},
	{"", StepNotifyRefunds},
	{"", StepSettleLabels},
	{"", StepNotifyDelivered},
}

// Steps returns the names of every step of the flow, each once, in flow
// order.
func Steps() []string {
	var names []string
	for _, s := range flow {
		if !slices.Contains(names, s.name) {
			names = append(names, s.name)
		}
	}
	return names
}

// Register registers every step of the flow, in flow order, with its
// implementation from the capabilities' step maps (each capability's
// Steps()). StepReleaseStrays, StepRefundPayment, StepRecordTax, StepRecordRefund,
// StepVoidLateInvoice and the notifications of parts and refunds run in
// every state (OnAny).
//
// Nothing falls back: a step of the flow that no capability implements, a
// step two capabilities implement, a nil implementation, and a name that is
// not a step of the flow are each an error, and then nothing is
// registered, so that a wiring mistake stops the start-up instead of an
// order's step being recorded done without running.
func Register(d *Dispatcher, capabilities ...map[string]StepFunc) error {
	var errs []error
	impl := map[string]StepFunc{}
	from := map[string]int{} // step → the capability (1-based) implementing it
	for i, c := range capabilities {
		for _, name := range slices.Sorted(maps.Keys(c)) {
			switch {
			case c[name] == nil:
				errs = append(errs, fmt.Errorf("step %s: capability %d's implementation is nil", name, i+1))
			case from[name] != 0:
				errs = append(errs, fmt.Errorf("step %s is implemented twice: by capabilities %d and %d", name, from[name], i+1))
			default:
				impl[name], from[name] = c[name], i+1
			}
		}
	}
	names := Steps()
	for _, name := range names {
		if impl[name] == nil && from[name] == 0 {
			errs = append(errs, fmt.Errorf("step %s has no implementation", name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(from)) {
		if !slices.Contains(names, name) {
			errs = append(errs, fmt.Errorf("%q is not a step of the flow (capability %d)", name, from[name]))
		}
	}
	if err := flowErr(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("orderflow: register the steps: %w", errors.Join(errs...))
	}
	for _, s := range flow {
		if s.to == "" {
			d.OnAny(s.name, impl[s.name])
		} else {
			d.On(s.to, s.name, impl[s.name])
		}
	}
	return nil
}

// flowErr checks the flow table itself: a step registered twice on one
// state, or both on a state and on every state, would run twice.
func flowErr() error {
	seen := map[order.State]map[string]bool{}
	var errs []error
	for _, s := range flow {
		if seen[s.to] == nil {
			seen[s.to] = map[string]bool{}
		}
		if seen[s.to][s.name] {
			errs = append(errs, fmt.Errorf("step %s is in the flow twice for state %q", s.name, s.to))
		}
		seen[s.to][s.name] = true
	}
	for _, s := range flow {
		if s.to != "" && seen[""][s.name] {
			errs = append(errs, fmt.Errorf("step %s runs in every state and also on %s", s.name, s.to))
		}
	}
	return errors.Join(errs...)
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
