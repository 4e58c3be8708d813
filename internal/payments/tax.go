package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
)

// recordTax keeps the tax provider's records in step with the money: once
// the order is charged, its calculation becomes the sale's transaction
// (key taxtx-<orderId>, reference the order id, so a repeat is the same
// transaction); each refund made then gives back its share of the tax — a
// reversal of the transaction for the refund's amount (key
// taxrev-refund-<orderId>-<n>, reference refund-<orderId>-<n>), whose tax
// is what the provider says it gave back; with the rate table, the share
// worked out here (order.RefundTaxShare). Only then is the refund
// recorded in the books, with that tax. The provider down is retried; a
// 5xx it stores for the call's key is recorded on the order, so that the
// next call takes a new key (order.RecordKey, order.Refund.TaxKey). A
// refusal for good is recorded and told to the owner once, and nothing
// waits for it: the refunds give back the order's proportion and are
// booked.
func (s *Service) recordTax(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if !o.TaxToRecord() && len(o.RefundsTaxDue()) == 0 {
		return nil
	}
	log := logging.FromContext(ctx)
	if o.TaxToRecord() && s.TaxRecords != nil {
		key := o.RecordKey()
		id, err := s.TaxRecords.Record(ctx, o.Tax.CalculationID, o.ID, key)
		switch {
		case errors.Is(err, ErrFailureStored):
			// Stripe replays a stored 5xx for the key: the next call takes another.
			if _, _, uerr := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) { return cur.TaxRecordFailed(key), nil }); uerr != nil {
				err = errors.Join(err, uerr)
			}
			return fmt.Errorf("record the sale's tax: %w", err)
		case err != nil && apperr.Transient(err):
			return fmt.Errorf("record the sale's tax: %w", err)
		case err != nil:
			// Refused for good (the calculation expired, or a sale a lost
			// answer recorded under its reference): the owner files it.
			why := fmt.Sprintf("Stripe Tax refused to record the sale: %v", err)
			if o, _, err = s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) { return cur.TaxRecordRefused(why), nil }); err != nil {
				return err
			}
			if err := s.taxAlert(ctx, o, "tax-record-"+o.ID, "the sale's tax was not recorded at Stripe Tax", why+
				".\nCheck Stripe's tax transactions for reference "+o.ID+" and file the sale's tax by hand if it is not there. Refunds of the order give back its proportion of the tax."); err != nil {
				return err
			}
		default:
			if o, _, err = s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
				return cur.TaxRecorded(id), nil
			}); err != nil {
				return err
			}
			log.Info().Str("taxTransaction", id).Msg("the sale's tax recorded")
		}
	}
	var errs []error
	for _, r := range o.RefundsTaxDue() {
		given, reversal, failure := int64(-1), "", "" // given -1: the order's proportion, worked out as it is settled
		switch {
		case o.Tax.TransactionID != "" && s.TaxRecords != nil:
			key := r.TaxKey(o.ID)
			rev, err := s.TaxRecords.Reverse(ctx, o.Tax.TransactionID, r.Key(o.ID), r.Amount, key)
			if errors.Is(err, ErrFailureStored) {
				if _, _, uerr := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) { return cur.RefundTaxFailed(r.N, key), nil }); uerr != nil {
					err = errors.Join(err, uerr)
				}
			}
			if err != nil && (errors.Is(err, ErrFailureStored) || apperr.Transient(err)) {
				errs = append(errs, fmt.Errorf("reverse the tax of refund %d: %w", r.N, err))
				continue
			}
			if err != nil {
				failure = fmt.Sprintf("Stripe Tax refused the reversal: %v", err)
				if aerr := s.taxAlert(ctx, o, "tax-reversal-"+r.Key(o.ID), fmt.Sprintf("refund %d's tax was not reversed at Stripe Tax", r.N), failure+
					fmt.Sprintf(".\nThe refund of %s was made and is booked with the order's proportion of the tax; reverse it in Stripe's tax transactions by hand (reference %s).",
						money.New(r.Amount, o.Currency).Display(), r.Key(o.ID))); aerr != nil {
					errs = append(errs, aerr)
					continue
				}
				break
			}
			given, reversal = rev.Tax, rev.ID
		case o.Tax.CalculationID != "" && o.Tax.RecordFailure == "":
			log.Warn().Int("refund", r.N).Msg("the sale's tax was never recorded at the provider (none configured now): the refund gives back the order's proportion")
		}
		var share int64
		if _, _, err := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
			share = cur.RefundTaxShare(r.N)
			if given >= 0 && given != share {
				log.Warn().Int("refund", r.N).Int64("providerTax", given).Int64("share", share).
					Msg("the tax provider gave back another share of the tax than the order's proportion: its figure is recorded")
				share = given
			}
			return cur.RefundTaxSettled(r.N, share, reversal, failure), nil
		}); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info().Int("refund", r.N).Int64("tax", share).Str("taxReversal", reversal).Msg("the refund's tax given back")
	}
	return errors.Join(errs...)
}

// taxAlert tells the owner, once (key), that the tax provider's records
// of the order need them.
func (s *Service) taxAlert(ctx context.Context, o *order.Order, key, what, text string) error {
	_, err := s.Alerts.Raise(ctx, alert.Alert{Key: key, Kind: alert.TaxNotRecorded, OrderID: o.ID,
		Subject: fmt.Sprintf("Order %s: %s", o.ID, what), Text: fmt.Sprintf("Order %s: %s", o.ID, text)})
	return err
}
