// Package messages tells people what happened to an order. So far: the
// owner's alerts of the order flow — an order that needs them, a step that
// failed for good after the order ended. (Customer emails and the sender
// come with the messages capability.)
package messages

import (
	"context"
	"fmt"
	"strconv"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
)

// Alerts raises the order flow's owner alerts.
type Alerts struct {
	Alerts alert.Raiser
}

// Steps returns this capability's order-flow steps by name.
func (m *Alerts) Steps() map[string]orderflow.StepFunc {
	return map[string]orderflow.StepFunc{orderflow.StepAlertOwner: m.attention}
}

// attention tells the owner why an order needs them. Once per entry into
// needs_attention (a duplicate delivery of the same entry raises nothing
// new).
func (m *Alerts) attention(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	key := "attention-" + o.ID + "-" + strconv.Itoa(o.Work.Entry)
	text := fmt.Sprintf("Order %s needs you: %s\nIt stays in needs_attention until you act on it.", o.ID, o.Attention)
	_, err := m.Alerts.Raise(ctx, alert.Alert{Key: key, Kind: alert.NeedsAttention, OrderID: o.ID, Subject: "Order " + o.ID + " needs your attention", Text: text})
	return err
}

// StepFailed tells the owner that a step failed for good in a state that
// cannot move to needs_attention (expired, canceled, shipped): the failure
// is recorded on the order (work.failed) and the other steps ran. Once per
// order, state entry and step. It is the order flow's FailureFunc.
func (m *Alerts) StepFailed(ctx context.Context, o *order.Order, step, reason string) error {
	key := fmt.Sprintf("step-%s-%d-%s", o.ID, o.Work.Entry, step)
	text := fmt.Sprintf("Order %s is %s, and its step %s failed for good: %s\n"+
		"The order's other steps ran. Finish this one by hand (the order's work.failed records it).", o.ID, o.State(), step, reason)
	_, err := m.Alerts.Raise(ctx, alert.Alert{Key: key, Kind: alert.StepFailed, OrderID: o.ID, Subject: "Order " + o.ID + ": step " + step + " failed", Text: text})
	return err
}
