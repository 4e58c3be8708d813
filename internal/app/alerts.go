package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
)

// Alert kinds raised by the order flow (alert.OrderReview, …), kept here
// under their earlier names for the tests and pages that use them.
const (
	AlertOrderReview    = alert.OrderReview
	AlertNeedsAttention = alert.NeedsAttention
)

// alertReview tells the owner that an invoiced order waits for review in
// QuickBooks (recording the invoice paid approves it). Once per order.
func (a *App) alertReview(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	doc, total := o.ID, o.Total()
	if o.Invoice != nil {
		doc = o.Invoice.DocNumber
	}
	text := fmt.Sprintf("Order %s for %s (%s) waits for your review: QuickBooks invoice %s, %s.\n"+
		"Record the invoice paid in QuickBooks to approve it: the card is then charged and the order fulfilled.\n"+
		"Void the invoice to cancel the order: the authorization is released.", o.ID, o.Customer.Name, o.Customer.Email, doc, total)
	_, err := a.Alerts.Raise(ctx, alert.Alert{Key: "review-" + o.ID, Kind: alert.OrderReview, OrderID: o.ID, Subject: "Order " + doc + " waits for your review", Text: text})
	return err
}

// alertAttention tells the owner why an order needs them. Once per entry
// into needs_attention (a duplicate delivery of the same entry raises
// nothing new).
func (a *App) alertAttention(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	key := "attention-" + o.ID + "-" + strconv.Itoa(len(o.History()))
	text := fmt.Sprintf("Order %s needs you: %s\nIt stays in needs_attention until you act on it.", o.ID, o.Attention)
	_, err := a.Alerts.Raise(ctx, alert.Alert{Key: key, Kind: alert.NeedsAttention, OrderID: o.ID, Subject: "Order " + o.ID + " needs your attention", Text: text})
	return err
}

// alertStepFailed tells the owner that a step failed for good in a state
// that cannot move to needs_attention (expired, canceled, shipped): the
// failure is recorded on the order (work.failed) and the other steps ran.
// Once per order, state entry and step.
func (a *App) alertStepFailed(ctx context.Context, o *order.Order, step, reason string) error {
	key := fmt.Sprintf("step-%s-%d-%s", o.ID, o.Work.Entry, step)
	text := fmt.Sprintf("Order %s is %s, and its step %s failed for good: %s\n"+
		"The order's other steps ran. Finish this one by hand (the order's work.failed records it).", o.ID, o.State(), step, reason)
	_, err := a.Alerts.Raise(ctx, alert.Alert{Key: key, Kind: alert.StepFailed, OrderID: o.ID, Subject: "Order " + o.ID + ": step " + step + " failed", Text: text})
	return err
}
