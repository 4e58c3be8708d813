package bookkeeping

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/sweep"
)

// Steps returns this capability's order-flow steps by name.
func (s *Service) Steps() map[string]orderflow.StepFunc {
	return map[string]orderflow.StepFunc{
		orderflow.StepCreateInvoice:   s.createInvoice,
		orderflow.StepAlertReview:     s.alertReview,
		orderflow.StepVoidInvoice:     s.voidInvoice,
		orderflow.StepVoidLateInvoice: s.voidLateInvoice,
		orderflow.StepRecordRefund:    s.recordRefund,
	}
}

// Tasks returns this capability's sweeper tasks by name.
func (s *Service) Tasks() map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"reconcileInvoices": s.Reconcile}
}

// createInvoice invoices an authorized order (requestid derived from the
// order, so a repeated step creates nothing new) and moves it to invoiced
// with the invoice's id and number. An order canceled while QuickBooks
// was making the invoice keeps it, to be voided (voidLateInvoice). While QuickBooks is disconnected the
// order waits in authorized (orderflow.ErrWaiting: the sweeper and
// reconnecting send it on); a missing item or a total that differs are
// permanent (needs_attention with the reason); QuickBooks busy or down is
// retried.
func (s *Service) createInvoice(ctx context.Context, t orderflow.Transition) error {
	inv, err := s.Books.Invoice(ctx, t.Order)
	if errors.Is(err, ErrNotConnected) {
		// Not the order's fault: the owner has been alerted.
		return fmt.Errorf("%w: QuickBooks is not connected; the order waits in authorized until it is", orderflow.ErrWaiting)
	}
	if err != nil {
		return err
	}
	_, _, err = s.Orders.Update(ctx, t.Order.ID, func(o *order.Order) (bool, error) {
		return o.InvoiceMade(inv, "trigger", s.Now().UTC())
	})
	return err
}

// voidInvoice voids a canceled order's invoice (once: a voided invoice is
// left alone, and so is one the owner recorded paid) and records how it
// ended. An order whose card was authorized but that knows of no invoice
// (canceled while QuickBooks was making it, or the answer lost) looks for
// it by its document number first. While QuickBooks is disconnected it is
// retried.
func (s *Service) voidInvoice(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if o.Invoice == nil {
		if o.Payment == nil || o.Payment.IntentID == "" {
			return nil // never authorized: never invoiced
		}
		inv, found, err := s.Books.FindInvoice(ctx, o)
		if err != nil || !found {
			return notConnected(err)
		}
		if o, _, err = s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
			return cur.InvoiceMade(inv, "trigger", s.Now().UTC())
		}); err != nil {
			return err
		}
	}
	return s.void(ctx, o)
}

// voidLateInvoice (any state) voids the invoice a canceled order learned
// of after its cancel: the invoice step's answer, or a QuickBooks event.
func (s *Service) voidLateInvoice(ctx context.Context, t orderflow.Transition) error {
	return s.void(ctx, t.Order)
}

// void voids the canceled order's invoice if it is still to void, and
// records how it ended. One the owner recorded paid is left, and the
// owner told: the books say money came in for an order that is canceled.
func (s *Service) void(ctx context.Context, o *order.Order) error {
	if !o.InvoiceVoidDue() {
		return nil
	}
	how, err := s.Books.Void(ctx, o)
	if err != nil && !apperr.Transient(err) && !errors.Is(err, ErrNotConnected) {
		// QuickBooks refuses for good (a closed books period, say): the
		// owner hears of it once, and the order stops asking.
		why := err.Error()
		if e := apperr.As(err); e != nil {
			why = e.Message
		}
		if aerr := s.booksMismatch(ctx, o, alert.BooksMismatch, "invoice-void-"+o.ID, "Order "+o.ID+" is canceled but its invoice could not be voided",
			fmt.Sprintf("Order %s is canceled, but QuickBooks refused to void its invoice %s: %s\n%s Void it in QuickBooks.", o.ID, o.Invoice.DocNumber, why, moneyNote(o))); aerr != nil {
			return aerr
		}
		how, err = "not voided: "+why, nil
	}
	if err != nil {
		return notConnected(err)
	}
	settled := order.InvoiceVoided
	switch {
	case how == VoidPaid && o.Payment != nil && o.Payment.AmountCaptured > 0:
		settled = order.InvoiceBalanced // canceled after the charge: its refund is recorded against it
	case how == VoidPaid:
		settled = order.InvoiceLeft
		if err := s.alertPaidCanceled(ctx, o); err != nil {
			return err
		}
	case how != VoidDone && how != VoidAlready && how != VoidGone:
		settled = how
	}
	_, _, err = s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		return cur.InvoiceSettled(settled), nil
	})
	return err
}

// notConnected turns "QuickBooks is not connected" into a retry (the
// sweeper re-drives the order once it is).
func notConnected(err error) error {
	if errors.Is(err, ErrNotConnected) {
		return apperr.Wrap(err, apperr.Unavailable, "the invoice is voided once QuickBooks is connected again")
	}
	return err
}

// moneyNote says where the order's money stands, for an alert about its
// books.
func moneyNote(o *order.Order) string {
	p := o.Payment
	switch {
	case p == nil || p.IntentID == "":
		return "The customer paid nothing."
	case p.AmountCaptured == 0:
		return "The card was not charged."
	case o.RefundedTotal() >= p.AmountCaptured:
		return fmt.Sprintf("The card was charged %s and refunded in full.", money.New(p.AmountCaptured, o.Currency).Display())
	}
	return fmt.Sprintf("The card was charged %s; %s of it is refunded.", money.New(p.AmountCaptured, o.Currency).Display(), money.New(o.RefundedTotal(), o.Currency).Display())
}

// alertPaidCanceled tells the owner once that canceled order o's invoice
// was recorded paid (so it was not voided).
func (s *Service) alertPaidCanceled(ctx context.Context, o *order.Order) error {
	return s.booksMismatch(ctx, o, alert.BooksMismatch, "invoice-paid-"+o.ID, "Order "+o.ID+" is canceled but its invoice was recorded paid",
		fmt.Sprintf("Order %s is canceled, but its QuickBooks invoice %s was recorded paid, so it was not voided. %s\n"+
			"Undo the payment in QuickBooks (or refund the customer there) so that the books agree with the money.", o.ID, o.Invoice.DocNumber, moneyNote(o)))
}

// booksMismatch tells the owner once (key) that the books and the money
// disagree about order o.
func (s *Service) booksMismatch(ctx context.Context, o *order.Order, kind, key, subject, text string) error {
	logging.FromContext(ctx).Warn().Str("alert", key).Msg(subject)
	_, err := s.Alerts.Raise(ctx, alert.Alert{Key: key, Kind: kind, OrderID: o.ID, Subject: subject, Text: text})
	return err
}

// recordRefund records the order's refunds that Stripe made and the books
// have not, oldest first (requestid refund-<orderId>-<n>, so a repeat
// records nothing new), and writes each receipt's id on the order. While
// QuickBooks is disconnected the refunds wait (the sweeper re-drives the
// order; reconnecting alerts nothing new); busy or down is retried; a
// refusal (the refund item or account missing) is recorded on the refund
// with one owner alert.
func (s *Service) recordRefund(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if o.Payment == nil {
		return nil
	}
	var errs []error
	for _, r := range o.Payment.Refunds {
		if !r.BooksDue() {
			continue
		}
		id, err := s.Books.RecordRefund(ctx, o, r)
		switch {
		case errors.Is(err, ErrNotConnected):
			logging.FromContext(ctx).Info().Int("refund", r.N).Msg("QuickBooks is not connected: the refund is recorded once it is")
			return nil
		case apperr.Transient(err):
			errs = append(errs, fmt.Errorf("record refund %d: %w", r.N, err))
		case err != nil:
			errs = append(errs, s.refundRefused(ctx, o, r, err))
		default:
			if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
				return cur.RefundRecorded(r.N, id, s.Now().UTC()), nil
			}); err != nil {
				errs = append(errs, fmt.Errorf("record refund %d: %w", r.N, err))
			}
		}
	}
	return errors.Join(errs...)
}

// refundRefused records that the books refused refund r and tells the
// owner once.
func (s *Service) refundRefused(ctx context.Context, o *order.Order, r order.Refund, cause error) error {
	why := cause.Error()
	if e := apperr.As(cause); e != nil {
		why = e.Message
	}
	logging.FromContext(ctx).Error().Err(cause).Int("refund", r.N).Msg("QuickBooks refused the refund")
	if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		return cur.RefundFailed(r.N, false, why), nil
	}); err != nil {
		return err
	}
	_, err := s.Alerts.Raise(ctx, alert.Alert{Key: r.Key(o.ID) + "-books", Kind: alert.RefundFailed, OrderID: o.ID,
		Subject: fmt.Sprintf("Order %s: the refund could not be recorded in QuickBooks", o.ID),
		Text: fmt.Sprintf("Refund %d of order %s (%s, Stripe refund %s) was made, but QuickBooks refused to record it: %s\n"+
			"Record it by hand as a refund receipt, or fix the cause (OMS_QUICKBOOKS_REFUND_ITEM, OMS_QUICKBOOKS_REFUND_ACCOUNT).",
			r.N, o.ID, money.New(r.Amount, o.Currency).Display(), r.ProviderID, why)})
	return err
}

// alertReview tells the owner that an invoiced order waits for review in
// QuickBooks (recording the invoice paid approves it). Once per order.
func (s *Service) alertReview(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	doc, total := o.ID, o.Total()
	if o.Invoice != nil {
		doc = o.Invoice.DocNumber
	}
	name, email := "", ""
	if o.Customer != nil {
		name, email = o.Customer.Name, o.Customer.Email
	}
	text := fmt.Sprintf("Order %s for %s (%s) waits for your review: QuickBooks invoice %s, %s.\n"+
		"Record the invoice paid in QuickBooks to approve it: the card is then charged and the order fulfilled.\n"+
		"Void the invoice to cancel the order: the authorization is released.", o.ID, name, email, doc, total.Display())
	_, err := s.Alerts.Raise(ctx, alert.Alert{Key: "review-" + o.ID, Kind: alert.OrderReview, OrderID: o.ID, Subject: "Order " + doc + " waits for your review", Text: text})
	return err
}

// AlertDisconnected tells the owner that QuickBooks refused the stored
// refresh token: one alert per dead token (tokenKey identifies it),
// however many instances saw it. The token store calls it.
func (s *Service) AlertDisconnected(ctx context.Context, tokenKey string) error {
	return DisconnectAlert(s.Alerts)(ctx, tokenKey)
}

// DisconnectAlert is AlertDisconnected over alerts, for the token policy
// that is made before the service (it gets its ports at construction).
func DisconnectAlert(alerts alert.Raiser) func(ctx context.Context, tokenKey string) error {
	return func(ctx context.Context, tokenKey string) error {
		_, err := alerts.Raise(ctx, alert.Alert{Key: "quickbooks-disconnected-" + tokenKey, Kind: alert.QuickBooksDisconnected,
			Subject: "QuickBooks is disconnected: reconnect it",
			Text: "QuickBooks refused the stored refresh token (invalid_grant), so no invoice can be created or read until you connect it again.\n" +
				"Orders wait in \"authorized\" meanwhile and are invoiced once QuickBooks is reconnected.\n" +
				"Reconnect: open quickbooksConnect with your admin account, or with a one-time link from `go run ./cmd/quickbooks-link`."})
		return err
	}
}

// reconcileBatch bounds one sweep's invoice reads (QuickBooks allows 500 a
// minute per company; the pacer keeps within it).
const reconcileBatch = 200

// Reconcile is the sweeper's safety net for the owner's approval: it
// re-reads the invoices of orders that waited in invoiced longer than
// RedriveAfter and settles them as a webhook event would, so that an
// approval or void whose webhook was lost (or never configured) still
// arrives, within a sweep. Nothing is read while QuickBooks is
// disconnected.
func (s *Service) Reconcile(ctx context.Context, now time.Time) (string, error) {
	if ok, err := s.Books.Connected(ctx); err != nil || !ok {
		return "QuickBooks is not connected: nothing read", err
	}
	waiting, err := s.Orders.Stale(ctx, []order.State{order.Invoiced}, now.Add(-s.RedriveAfter), reconcileBatch)
	if err != nil {
		return "", err
	}
	var moved int
	var errs []error
	for _, o := range waiting {
		if o.Invoice == nil {
			continue
		}
		_, ok, err := s.settle(logging.WithOrder(ctx, o.ID), o, o.Invoice.ID, "Reconcile")
		if err != nil {
			errs = append(errs, fmt.Errorf("order %s: %w", o.ID, err))
			continue
		}
		if ok {
			moved++
		}
	}
	return fmt.Sprintf("moved %d of %d invoiced orders", moved, len(waiting)), errors.Join(errs...)
}
