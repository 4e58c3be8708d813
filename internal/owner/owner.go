// Package owner is the store owner's operations on orders: retrying an
// order that needs them, canceling one before its card is charged. Each
// checks the owner's claim, writes the change through the one order write
// path with the owner as the actor in the order's history, and leaves the
// rest to the order flow's steps (the canceled steps release the
// authorization, the invoice, the holds and the redemptions; the retried
// state's steps run again).
package owner

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/order"
)

// OrderStore is the one write path of orders.
type OrderStore interface {
	Update(ctx context.Context, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error)
}

// Operations are the owner's operations on orders.
type Operations struct {
	Orders     OrderStore
	AdminClaim string // the owner's custom claim (OMS_ADMIN_CLAIM)
	Now        func() time.Time
}

// maxReason bounds the owner's words.
const maxReason = 500

func actor(who *identity.Identity) string { return "owner:" + who.UID }

// Retry sends an order that needs the owner back to the state whose step
// failed (the state it came from), so that the step runs again: the
// owner fixed the cause (added the missing QuickBooks item, the print
// files, a payment method at the printer). A print part the printer
// refused is reset to wait for a new job. FAILED_PRECONDITION
// (order_not_needing_attention) for an order that does not need them.
func (o *Operations) Retry(ctx context.Context, who *identity.Identity, orderID string) (*order.Order, error) {
	if err := identity.RequireOwner(who, o.AdminClaim); err != nil {
		return nil, err
	}
	if err := order.ValidID(orderID); err != nil {
		return nil, err
	}
	cur, _, err := o.Orders.Update(ctx, orderID, func(ord *order.Order) (bool, error) {
		if ord.State() != order.NeedsAttention {
			return false, apperr.New(apperr.FailedPrecondition, "order %s is %s; only an order that needs attention can be retried", orderID, ord.State()).
				Because("order_not_needing_attention").WithDetails(map[string]string{"state": string(ord.State())})
		}
		h := ord.History()
		from := h[len(h)-1].From
		if from == "" || !order.CanMove(order.NeedsAttention, from) {
			return false, apperr.New(apperr.FailedPrecondition, "order %s came to needs_attention from %q, which cannot be retried", orderID, from).
				Because("not_retriable")
		}
		now := o.Now().UTC()
		if p := ord.Part(order.PartPrint); p != nil && p.Status == order.PartFailed {
			p.Status, p.JobID, p.PrinterStatus, p.SubmitStarted, p.UpdatedAt = order.PartWaiting, "", "", time.Time{}, now
		}
		return ord.Transition(order.Move{From: []order.State{order.NeedsAttention}, To: from, Actor: actor(who), Reason: "retried by the owner"}, now)
	})
	return cur, err
}

// cancelable are the states an order can be canceled from by the owner:
// before its card is charged.
var cancelable = []order.State{order.Authorized, order.Invoiced, order.Approved}

// Cancel cancels an order before its card is charged, with the owner's
// reason: the canceled steps cancel the authorization, void the invoice,
// give back the holds and the redemptions. A pending order (the customer
// has not paid) is left to expire; a charged one is refunded instead
// (FAILED_PRECONDITION, reason captured). Canceling a canceled order
// again changes nothing.
func (o *Operations) Cancel(ctx context.Context, who *identity.Identity, orderID, reason string) (*order.Order, error) {
	if err := identity.RequireOwner(who, o.AdminClaim); err != nil {
		return nil, err
	}
	if err := order.ValidID(orderID); err != nil {
		return nil, err
	}
	switch reason = strings.TrimSpace(reason); {
	case reason == "":
		return nil, apperr.New(apperr.Invalid, "reason is required: say why (it is kept in the order's history)").Because(order.ReasonRequired).On("reason")
	case utf8.RuneCountInString(reason) > maxReason:
		return nil, apperr.New(apperr.Invalid, "reason must be at most %d characters", maxReason).Because(order.ReasonTooLong).On("reason").
			WithDetails(map[string]int{"max": maxReason})
	}
	cur, _, err := o.Orders.Update(ctx, orderID, func(ord *order.Order) (bool, error) {
		st := ord.State()
		switch {
		case st == order.Canceled:
			return false, nil
		case st == order.Pending:
			return false, apperr.New(apperr.FailedPrecondition, "order %s is pending: the customer has not paid; it expires by itself", orderID).
				Because("not_paid")
		case ord.Payment != nil && ord.Payment.AmountCaptured > 0:
			return false, apperr.New(apperr.FailedPrecondition, "order %s is charged (%s): refund it instead", orderID, st).
				Because("captured").WithDetails(map[string]string{"state": string(st)})
		case st == order.NeedsAttention || slices.Contains(cancelable, st):
			return ord.Transition(order.Move{To: order.Canceled, Actor: actor(who), Reason: "canceled by the owner: " + reason}, o.Now().UTC())
		}
		return false, apperr.New(apperr.FailedPrecondition, "order %s is %s and cannot be canceled", orderID, st).
			Because("not_cancelable").WithDetails(map[string]string{"state": string(st)})
	})
	return cur, err
}
