package firestoredb

import (
	"context"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/promotion"
)

// Save writes pr as promotions/{pr.ID}, replacing what was there, in the
// form Active reads back (the demo seed writes its promotions with it).
// It does not validate pr.
func (p *Promotions) Save(ctx context.Context, pr promotion.Promotion) error {
	_, err := p.client.Collection(PromotionsCollection).Doc(pr.ID).Set(ctx, promotionDoc(pr))
	return wrap(err, "save promotion %s", pr.ID)
}

// promotionDoc is pr as a promotions/{id} document (decode reads it).
func promotionDoc(pr promotion.Promotion) map[string]any {
	doc := map[string]any{"name": pr.Name, "description": pr.Description, "active": pr.Active, "kind": string(pr.Kind),
		"exclusive": pr.Exclusive, "priority": pr.Priority, "firstOrderOnly": pr.FirstOrderOnly}
	moneyDoc := func(m money.Money) map[string]any { return map[string]any{"amount": m.Amount, "currency": m.Currency} }
	switch pr.Kind {
	case promotion.PercentOffOrder, promotion.PercentOffItems:
		doc["percent"] = pr.Percent
	case promotion.AmountOffOrder, promotion.AmountOffItems:
		doc["amount"] = moneyDoc(pr.Amount)
	}
	for field, v := range map[string]string{"code": pr.Code} {
		if v != "" {
			doc[field] = v
		}
	}
	for field, v := range map[string][]string{"skus": pr.SKUs, "products": pr.Products, "emails": pr.Emails} {
		if len(v) > 0 {
			doc[field] = v
		}
	}
	for field, v := range map[string]int64{"maxRedemptions": pr.MaxRedemptions, "maxRedemptionsPerEmail": pr.MaxRedemptionsPerEmail} {
		if v != 0 {
			doc[field] = v
		}
	}
	if pr.MinSubtotal.Currency != "" {
		doc["minSubtotal"] = moneyDoc(pr.MinSubtotal)
	}
	if !pr.StartsAt.IsZero() {
		doc["startsAt"] = pr.StartsAt.UTC()
	}
	if !pr.EndsAt.IsZero() {
		doc["endsAt"] = pr.EndsAt.UTC()
	}
	return doc
}
