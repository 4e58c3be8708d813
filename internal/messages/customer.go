package messages

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
)

// Purposes of the customer's emails (mail/{orderId}-{purpose}[-{part or
// refund}]), stored on each mail.
const (
	PurposeReceived  = "received"
	PurposeReceipt   = "receipt"
	PurposeShipped   = "shipped"
	PurposeDelivered = "delivered"
	PurposeCanceled  = "canceled"
	PurposeRefunded  = "refunded"
	PurposeExpired   = "expired"
)

// Customers queues the customer's emails as the order moves: each once per
// order and purpose (per part for shipping news, per refund for refunds),
// rendered from the templates with the store's identity.
type Customers struct {
	Outbox Outbox
	Store  Store
	Now    func() time.Time
}

// Steps returns the customer emails' order-flow steps by name.
func (c *Customers) Steps() map[string]orderflow.StepFunc {
	return map[string]orderflow.StepFunc{
		orderflow.StepNotifyReceived:  c.received,
		orderflow.StepSendReceipt:     c.receipt,
		orderflow.StepNotifyShipped:   c.shipped,
		orderflow.StepNotifyParts:     c.shipped,
		orderflow.StepNotifyCanceled:  c.canceled,
		orderflow.StepNotifyExpired:   c.expired,
		orderflow.StepNotifyRefunds:   c.refunds,
		orderflow.StepNotifyDelivered: c.delivered,
	}
}

// MailID is the id of an order's email for purpose (and part or refund).
func MailID(orderID, purpose string, of ...string) string {
	id := orderID + "-" + purpose
	for _, s := range of {
		id += "-" + s
	}
	return id
}

// queue renders template name for o (v's order and store filled in) and
// queues it to the customer once under id. An order without a customer
// email gets none.
func (c *Customers) queue(ctx context.Context, o *order.Order, id, purpose, name string, v View) error {
	if o.Customer == nil || o.Customer.Email == "" {
		return nil
	}
	v.Store, v.Order = c.Store, OrderViewOf(o)
	r, err := Render(name, v)
	if err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	to := (&mail.Address{Name: o.Customer.Name, Address: o.Customer.Email}).String()
	_, err = c.Outbox.Queue(ctx, Mail{ID: id, To: to, From: c.Store.From, ReplyTo: c.Store.SupportEmail, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		OrderID: o.ID, Purpose: purpose}, c.Now())
	return err
}

// received: on authorized, "your card is authorized, not charged".
func (c *Customers) received(ctx context.Context, t orderflow.Transition) error {
	return c.queue(ctx, t.Order, MailID(t.Order.ID, PurposeReceived), PurposeReceived, "received", View{})
}

// receipt: on paid, the receipt (lines, discounts, shipping, total, card).
func (c *Customers) receipt(ctx context.Context, t orderflow.Transition) error {
	return c.queue(ctx, t.Order, MailID(t.Order.ID, PurposeReceipt), PurposeReceipt, "receipt", View{})
}

// shipped: each part that shipped, once (in any state: a part ships while
// the order is fulfilling; the last one moves it to shipped).
func (c *Customers) shipped(ctx context.Context, t orderflow.Transition) error {
	var errs []error
	for _, p := range t.Order.Parts {
		if p.Shipped() {
			errs = append(errs, c.queue(ctx, t.Order, MailID(t.Order.ID, PurposeShipped, p.ID), PurposeShipped, "shipped", View{Part: PartViewOf(t.Order, p)}))
		}
	}
	return errors.Join(errs...)
}

// delivered: each part the carrier delivered, once (in any state).
func (c *Customers) delivered(ctx context.Context, t orderflow.Transition) error {
	var errs []error
	for _, p := range t.Order.Parts {
		if p.Status == order.PartDelivered && !p.DeliveredAt.IsZero() { // a part delivered before this email existed has no time: no late news
			errs = append(errs, c.queue(ctx, t.Order, MailID(t.Order.ID, PurposeDelivered, p.ID), PurposeDelivered, "delivered", View{Part: PartViewOf(t.Order, p)}))
		}
	}
	return errors.Join(errs...)
}

// canceled: on canceled, to a customer whose card was authorized (what
// happens to the money, released or refunded).
func (c *Customers) canceled(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if p := o.Payment; p == nil || p.IntentID == "" {
		return nil
	}
	if o.Payment.AmountCaptured == 0 && o.Work.State == order.Canceled && !o.Work.Finished(orderflow.StepCancelPayment) {
		// Whether the card was charged (a capture in flight as the order
		// was canceled) is known once the payment's cancel has run.
		return apperr.New(apperr.Unavailable, "the cancellation email waits for the payment's cancel, which tells whether the card was charged")
	}
	return c.queue(ctx, o, MailID(o.ID, PurposeCanceled), PurposeCanceled, "canceled", View{})
}

// expired: on expired, only to a customer who reached payment (a session
// was made): nothing was charged.
func (c *Customers) expired(ctx context.Context, t orderflow.Transition) error {
	if p := t.Order.Payment; p == nil || p.SessionID == "" {
		return nil
	}
	return c.queue(ctx, t.Order, MailID(t.Order.ID, PurposeExpired), PurposeExpired, "expired", View{})
}

// refunds: each refund Stripe made, once (a canceled order's refund is in
// its cancellation email). A refund of an order charged tax is told once
// its share of the tax is settled (the share the books record): settling
// it wakes the order's work, which runs this step again.
func (c *Customers) refunds(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if o.Payment == nil || o.State() == order.Canceled {
		return nil
	}
	cur := func(a int64) string { return Format(money.New(a, o.Currency)) }
	var errs []error
	var total int64
	for _, r := range o.Payment.Refunds {
		if !r.Made() {
			continue
		}
		total += r.Amount
		if r.TaxDue {
			continue
		}
		v := View{Refund: RefundView{Amount: cur(r.Amount), Reason: r.Reason, Total: cur(total)}}
		if r.Tax > 0 {
			v.Refund.Tax = cur(r.Tax)
		}
		errs = append(errs, c.queue(ctx, o, MailID(o.ID, PurposeRefunded, strconv.Itoa(r.N)), PurposeRefunded, "refunded", v))
	}
	return errors.Join(errs...)
}
