package payments

import (
	"context"
	"errors"
	"fmt"

	"github.com/readyplanner/oms/internal/logging"
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
// next call takes a new key (order.RecordKey, order.Refund.TaxKey).
func (s *Service) recordTax(ctx context.Context, t orderflow.Transition) error {
	o := t.Order
	if !o.TaxToRecord() && len(o.RefundsTaxDue()) == 0 {
		return nil
	}
	log := logging.FromContext(ctx)
	if o.TaxToRecord() && s.TaxRecords != nil {
		key := o.RecordKey()
		id, err := s.TaxRecords.Record(ctx, o.Tax.CalculationID, o.ID, key)
		if errors.Is(err, ErrFailureStored) {
			// Stripe replays a stored 5xx for the key: the next call takes another.
			if _, _, uerr := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) { return cur.TaxRecordFailed(key), nil }); uerr != nil {
				err = errors.Join(err, uerr)
			}
		}
		if err != nil {
			return fmt.Errorf("record the sale's tax: %w", err)
		}
		if o, _, err = s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
			return cur.TaxRecorded(id), nil
		}); err != nil {
			return err
		}
		log.Info().Str("taxTransaction", id).Msg("the sale's tax recorded")
	}
	var errs []error
	for _, r := range o.RefundsTaxDue() {
		given, reversal := int64(-1), "" // -1: the order's proportion, worked out as it is settled
		if o.Tax.TransactionID != "" && s.TaxRecords != nil {
			key := r.TaxKey(o.ID)
			rev, err := s.TaxRecords.Reverse(ctx, o.Tax.TransactionID, r.Key(o.ID), r.Amount, key)
			if errors.Is(err, ErrFailureStored) {
				if _, _, uerr := s.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) { return cur.RefundTaxFailed(r.N, key), nil }); uerr != nil {
					err = errors.Join(err, uerr)
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("reverse the tax of refund %d: %w", r.N, err))
				continue
			}
			given, reversal = rev.Tax, rev.ID
		} else if o.Tax.CalculationID != "" {
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
			return cur.RefundTaxSettled(r.N, share, reversal), nil
		}); err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info().Int("refund", r.N).Int64("tax", share).Str("taxReversal", reversal).Msg("the refund's tax given back")
	}
	return errors.Join(errs...)
}
