// Package owner is the store owner's operations on orders: retrying an
// order that needs them, canceling one (before its card is charged, or
// after but before anything ships, refunding it), refunding one. Each
// checks the owner's claim, decides from the money as Stripe has it (a
// capture in flight, refunds made in its dashboard: the Money port), writes
// the change through the one order write
// path with the owner as the actor in the order's history, and leaves the
// rest to the order flow's steps (the canceled steps release the
// authorization, the invoice, the holds and the redemptions; the refund
// steps make the refund at Stripe and record it in QuickBooks; the retried
// state's steps run again).
package owner

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
)

// OrderStore is the one write path of orders.
type OrderStore interface {
	Get(ctx context.Context, id string) (*order.Order, error)
	Update(ctx context.Context, id string, fn func(*order.Order) (bool, error)) (*order.Order, bool, error)
}

// PrintStopper cancels an order's print job while the printer still
// allows it (fulfilment.Parts): FAILED_PRECONDITION (in_production) once
// it does not.
type PrintStopper interface {
	StopPrint(ctx context.Context, orderID, jobID string) error
}

// Money re-reads an order's money at the payment provider, so that the
// owner's commands decide from it rather than from what the order
// recorded (payments.Service): a capture whose answer was lost or is still
// on its way, refunds made in the provider's dashboard. UNAVAILABLE while
// the provider is down.
type Money interface {
	// Captured is what the provider has captured of the order's payment.
	Captured(ctx context.Context, o *order.Order) (int64, error)
	// SyncRefunds brings the order's refunds in step with the
	// provider's and answers the order as it then stands.
	SyncRefunds(ctx context.Context, orderID string) (*order.Order, error)
}

// Operations are the owner's operations on orders.
type Operations struct {
	Orders     OrderStore
	Print      PrintStopper
	Money      Money
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
func (o *Operations) Retry(ctx context.Context, who *identity.Identity, c RetryOrder) (*order.Order, error) {
	if err := order.CheckOwnerCommand(who, o.AdminClaim, c.RequestID, c.OrderID); err != nil {
		return nil, err
	}
	orderID := c.OrderID
	req := order.Request{ID: c.RequestID, Command: CommandRetry, Hash: order.RequestHash(CommandRetry, orderID), Actor: actor(who)}
	cur, _, err := o.Orders.Update(ctx, orderID, func(ord *order.Order) (bool, error) {
		if _, seen, err := ord.Requested(req.ID, req.Command, req.Hash); seen || err != nil {
			return false, err // the same act again: the order as it stands
		}
		if ord.State() != order.NeedsAttention {
			return false, apperr.New(apperr.FailedPrecondition, "order %s is %s; only an order that needs attention can be retried", orderID, ord.State()).
				Because("order_not_needing_attention").WithDetails(map[string]string{"state": string(ord.State())})
		}
		last, _ := ord.LastTransition()
		from := last.From
		if from == "" || !order.CanMove(order.NeedsAttention, from) {
			return false, apperr.New(apperr.FailedPrecondition, "order %s came to needs_attention from %q, which cannot be retried", orderID, from).
				Because("not_retriable")
		}
		now := o.Now().UTC()
		ord.RetryPrintPart(now)
		req.At = now
		ord.Remember(req)
		return ord.Transition(order.Move{From: []order.State{order.NeedsAttention}, To: from, Actor: actor(who), Reason: "retried by the owner"}, now)
	})
	return cur, err
}

// cancelable are the states an order can be canceled from by the owner
// before its card is charged.
var cancelable = []order.State{order.Authorized, order.Invoiced, order.Approved}

// chargedCancelable are the states a charged order can be canceled (and
// refunded in full) from, while none of it has shipped.
var chargedCancelable = []order.State{order.Paid, order.Fulfilling, order.NeedsAttention}

// ReasonPartShipped is cancelOrder's reason when part of a charged order
// has shipped already.
const ReasonPartShipped = "part_shipped"

// checkReason checks the owner's words.
func checkReason(reason string) (string, error) {
	if strings.TrimSpace(reason) == "" {
		return "", apperr.New(apperr.Invalid, "reason is required: say why (it is kept in the order's history)").Because(order.ReasonRequired).On("reason")
	}
	return order.OwnerText("reason", reason, maxReason)
}

// Cancel cancels an order with the owner's reason. Before its card is
// charged, the canceled steps cancel the authorization, void the invoice,
// give back the holds and the redemptions. After the charge, while none
// of it has shipped, the printer's job is canceled first (too late once
// the printer started: FAILED_PRECONDITION in_production), then the order
// is canceled with a refund of everything charged, which the refund steps
// make at Stripe and record in QuickBooks. A pending order (the customer
// has not paid) is left to expire; one with a part shipped is refunded
// instead (part_shipped). Canceling a canceled order again changes
// nothing.
func (o *Operations) Cancel(ctx context.Context, who *identity.Identity, c CancelOrder) (*order.Order, error) {
	if err := order.CheckOwnerCommand(who, o.AdminClaim, c.RequestID, c.OrderID); err != nil {
		return nil, err
	}
	orderID := c.OrderID
	reason, err := checkReason(c.Reason)
	if err != nil {
		return nil, err
	}
	req := order.Request{ID: c.RequestID, Command: CommandCancel, Hash: order.RequestHash(CommandCancel, orderID, reason), Actor: actor(who)}
	cur, err := o.Orders.Get(ctx, orderID)
	if err != nil {
		return nil, err
	}
	if _, seen, err := cur.Requested(req.ID, req.Command, req.Hash); seen || err != nil {
		return cur, err // the same act again: nothing new is asked of Stripe or the printer
	}
	// Decide from the money as Stripe has it: a capture in flight, or
	// whose answer was lost, makes this a cancel of a charged order.
	captured, err := o.Money.Captured(ctx, cur)
	if err != nil {
		return nil, err
	}
	if charged(cur) {
		// What is left to refund is Stripe's word: refunds made in its
		// dashboard count.
		if cur, err = o.Money.SyncRefunds(ctx, orderID); err != nil {
			return nil, err
		}
	}
	if _, err := cur.Captured(captured, actor(who), o.Now().UTC()); err != nil {
		return nil, err
	}
	if err := cancelRefusal(cur); err != nil {
		return nil, err
	}
	if charged(cur) {
		if p := cur.Part(order.PartPrint); p != nil && p.Status != order.PartCanceled && (p.JobID != "" || !p.SubmitStarted.IsZero()) {
			if err := o.Print.StopPrint(ctx, orderID, p.JobID); err != nil {
				return nil, err
			}
		}
	}
	cur, _, err = o.Orders.Update(ctx, orderID, func(ord *order.Order) (bool, error) {
		if _, seen, err := ord.Requested(req.ID, req.Command, req.Hash); seen || err != nil {
			return false, err
		}
		if ord.State() == order.Canceled {
			return false, nil
		}
		now := o.Now().UTC()
		req.At = now
		ord.Remember(req)
		if _, err := ord.Captured(captured, actor(who), now); err != nil {
			return false, err
		}
		if err := cancelRefusal(ord); err != nil {
			return false, err
		}
		why := "canceled by the owner: " + reason
		if _, err := ord.Transition(order.Move{To: order.Canceled, Actor: actor(who), Reason: why}, now); err != nil {
			return false, err
		}
		if !charged(ord) {
			return true, nil
		}
		ord.CancelParts(now)
		if _, err := ord.AddRefund(0, why, actor(who), now); err != nil && apperr.As(err).Reason != order.ReasonFullyRefunded {
			return false, err
		}
		return true, nil
	})
	return cur, err
}

func charged(o *order.Order) bool { return o.Payment != nil && o.Payment.AmountCaptured > 0 }

// cancelRefusal says why the order cannot be canceled now, or nil.
func cancelRefusal(ord *order.Order) error {
	st, id := ord.State(), ord.ID
	switch {
	case st == order.Canceled:
		return nil
	case st == order.Pending:
		return apperr.New(apperr.FailedPrecondition, "order %s is pending: the customer has not paid; it expires by itself", id).Because("not_paid")
	case charged(ord) && slices.Contains(chargedCancelable, st):
		if slices.ContainsFunc(ord.Parts, func(p order.Part) bool { return p.Shipped() }) {
			return apperr.New(apperr.FailedPrecondition, "part of order %s has shipped: refund it instead", id).Because(ReasonPartShipped)
		}
		return nil
	case !charged(ord) && (st == order.NeedsAttention || slices.Contains(cancelable, st)):
		return nil
	}
	return apperr.New(apperr.FailedPrecondition, "order %s is %s and cannot be canceled", id, st).
		Because("not_cancelable").WithDetails(map[string]string{"state": string(st)})
}

// ReasonFullWithAmount is refundOrder's reason when the owner asks for
// a full refund and an amount at once.
const ReasonFullWithAmount = "full_with_amount"

// Refund asks for a refund of a charged order, with the owner's reason:
// amount minor units, or — full, and no amount — everything left to
// refund. A missing amount is never read as everything (the JS SDK sends
// undefined as null): without full it is INVALID_ARGUMENT required on
// amount, and full with an amount is full_with_amount. The refund steps make it at Stripe (key
// refund-<orderId>-<n>) and record it in QuickBooks, and the order becomes
// refunded when its refunds reach the charge. The order is answered with
// the refund asked for (its outcome follows on the order).
func (o *Operations) Refund(ctx context.Context, who *identity.Identity, c RefundOrder) (*order.Order, order.Refund, error) {
	if err := order.CheckOwnerCommand(who, o.AdminClaim, c.RequestID, c.OrderID); err != nil {
		return nil, order.Refund{}, err
	}
	orderID := c.OrderID
	reason, err := checkReason(c.Reason)
	if err != nil {
		return nil, order.Refund{}, err
	}
	var cents int64 // the domain's 0: everything left
	switch amount := c.Amount; {
	case c.Full && amount != nil:
		return nil, order.Refund{}, apperr.New(apperr.Invalid, "ask for full: true or an amount, not both").Because(ReasonFullWithAmount).On("amount")
	case c.Full: // cents stays 0
	case amount == nil:
		return nil, order.Refund{}, apperr.New(apperr.Invalid, "amount is required: the minor units (cents) to refund, or full: true for all that is left").
			Because(order.ReasonRequired).On("amount")
	case *amount <= 0:
		return nil, order.Refund{}, apperr.New(apperr.Invalid, "amount must be a positive number of minor units (cents); full: true refunds all that is left").
			Because(order.ReasonAmountInvalid).On("amount")
	default:
		cents = *amount
	}
	req := order.Request{ID: c.RequestID, Command: CommandRefund, Hash: order.RequestHash(CommandRefund, orderID, cents, c.Full, reason), Actor: actor(who)}
	cur, err := o.Orders.Get(ctx, orderID)
	if err != nil {
		return nil, order.Refund{}, err
	}
	if prev, seen, err := cur.Requested(req.ID, req.Command, req.Hash); seen || err != nil {
		made, _ := cur.RefundOf(prev.Refund)
		return cur, made, err // the same act again: nothing is asked of Stripe
	}
	// What is left to refund is Stripe's word: refunds made in its
	// dashboard count.
	if _, err := o.Money.SyncRefunds(ctx, orderID); err != nil {
		return nil, order.Refund{}, err
	}
	var made order.Refund
	cur, _, err = o.Orders.Update(ctx, orderID, func(ord *order.Order) (bool, error) {
		prev, seen, err := ord.Requested(req.ID, req.Command, req.Hash)
		if err != nil {
			return false, err
		}
		if seen { // the same act again: the refund it asked for
			made, _ = ord.RefundOf(prev.Refund)
			return false, nil
		}
		now := o.Now().UTC()
		if cents > 0 && !c.ConfirmDuplicate {
			if dup, ok := ord.DuplicateRefund(cents, now, DuplicateWindow); ok {
				return false, apperr.New(apperr.FailedPrecondition, "refund %d of the same %s was asked for %s ago: send confirmDuplicate: true to refund it again",
					dup.N, money.New(cents, ord.Currency).Display(), now.Sub(dup.At).Round(time.Second)).
					Because(order.ReasonPossibleDuplicate).WithDetails(map[string]int64{"refund": int64(dup.N), "amount": dup.Amount})
			}
		}
		r, err := ord.AddRefund(cents, reason, actor(who), now)
		if err != nil {
			return false, err
		}
		made = r
		req.At, req.Refund = now, r.N
		ord.Remember(req)
		return true, nil
	})
	return cur, made, err
}

// DuplicateWindow is how long after a refund the same amount again,
// under another request id, is taken for a second click the owner cannot
// have meant (possible_duplicate, unless confirmDuplicate).
const DuplicateWindow = time.Minute
