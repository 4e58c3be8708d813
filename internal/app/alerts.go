package app

import (
	"context"
	"fmt"
	"strconv"

	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/orderflow"
)

// Alert kinds raised by the order flow.
const (
	AlertOrderReview    = "order_review"    // an invoice waits for the owner
	AlertNeedsAttention = "needs_attention" // a step failed for good
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
	_, err := a.Alerts.Raise(ctx, firestoredb.Alert{Key: "review-" + o.ID, Kind: AlertOrderReview, OrderID: o.ID, Subject: "Order " + doc + " waits for your review", Text: text})
	return err
}

// alertAttention tells the owner why an order needs them. Once per entry
// into needs_attention (a duplicate delivery of the same entry raises
// nothing new).
func (a *App) alertAttention(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	key := "attention-" + o.ID + "-" + strconv.Itoa(len(o.History()))
	text := fmt.Sprintf("Order %s needs you: %s\nIt stays in needs_attention until you act on it.", o.ID, o.Attention)
	_, err := a.Alerts.Raise(ctx, firestoredb.Alert{Key: key, Kind: AlertNeedsAttention, OrderID: o.ID, Subject: "Order " + o.ID + " needs your attention", Text: text})
	return err
}
