package firestoredb

import (
	"context"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
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

// PromotionChangesCollection records every change the owner made to a
// promotion: promotionChanges/{requestId} = {promotionId, command, hash,
// actor, at, before, after}.
const PromotionChangesCollection = "promotionChanges"

var _ owner.PromotionStore = (*Promotions)(nil)

// Edit runs the owner's change of promotion id in one transaction: change
// is given the promotion as stored (found false when there is none) and
// returns what it must become, which is saved with its change record
// (promotionChanges/{requestID}: who, when, before and after). The same
// request again answers the promotion as it stands and changes nothing;
// other input under its id is INVALID_ARGUMENT request_id_reused.
func (p *Promotions) Edit(ctx context.Context, requestID, command, hash, actor, id string, change func(cur promotion.Promotion, found bool) (promotion.Promotion, error)) (promotion.Promotion, error) {
	ref := p.client.Collection(PromotionsCollection).Doc(id)
	rec := p.client.Collection(PromotionChangesCollection).Doc(requestID)
	var out promotion.Promotion
	err := p.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll([]*firestore.DocumentRef{ref, rec})
		if err != nil {
			return err
		}
		cur := promotion.Promotion{ID: id}
		var before map[string]any
		if snaps[0].Exists() {
			before = snaps[0].Data()
			if decoded, err := p.decode(id, before); err == nil {
				cur = decoded
			} // a malformed one is replaced or ended all the same: before keeps it
		}
		if snaps[1].Exists() {
			if h, _ := snaps[1].Data()["hash"].(string); h != hash {
				return apperr.New(apperr.Invalid, "requestId %s was used for another change: use a new id for a new act", requestID).
					Because(order.ReasonRequestReused).On("requestId")
			}
			out = cur // the same act again
			return nil
		}
		if out, err = change(cur, snaps[0].Exists()); err != nil {
			return err
		}
		after := promotionDoc(out)
		if err := tx.Set(ref, after); err != nil {
			return err
		}
		return tx.Create(rec, map[string]any{"promotionId": id, "command": command, "hash": hash, "actor": actor, "at": p.orders.now().UTC(),
			"before": before, "after": after})
	}, firestore.MaxAttempts(transactionAttempts))
	if e := apperr.As(err); e != nil && e.Err == nil {
		return promotion.Promotion{}, err // the decision's own answer
	}
	if err != nil {
		return promotion.Promotion{}, wrap(err, "change promotion %s", id)
	}
	return out, nil
}

// List implements owner.PromotionStore: every promotion, active or not,
// with its redemptions so far (its usage counter).
func (p *Promotions) List(ctx context.Context) ([]owner.PromotionUsage, error) {
	snaps, err := p.client.Collection(PromotionsCollection).Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "read promotions")
	}
	refs := make([]*firestore.DocumentRef, len(snaps))
	for i, s := range snaps {
		refs[i] = p.counter(s.Ref.ID)
	}
	counters, err := p.client.GetAll(ctx, refs)
	if err != nil {
		return nil, wrap(err, "read promotion counters")
	}
	out := make([]owner.PromotionUsage, 0, len(snaps))
	for i, s := range snaps {
		pr, err := p.decode(s.Ref.ID, s.Data())
		u := owner.PromotionUsage{Promotion: pr, Redemptions: count(counters[i], "total")}
		if err != nil {
			u.Promotion, u.Malformed = promotion.Promotion{ID: s.Ref.ID, Name: str(s.Data()["name"])}, err.Error()
		}
		out = append(out, u)
	}
	return out, nil
}
