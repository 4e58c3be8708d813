package firestoredb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
)

// Collections of promotions.
const (
	PromotionsCollection = "promotions"
	// CountersCollection holds promotionCounters/{promotionId} = {total} and
	// promotionCounters/{promotionId}/mailboxes/{mailboxKey} = {count}:
	// redemptions so far (server-only; the owner edits promotions/{id}).
	CountersCollection = "promotionCounters"
	// RedemptionsCollection holds redemptions/{promotionId}_{orderId}: one
	// record per promotion per order, with releasedAt once given back.
	RedemptionsCollection = "redemptions"
)

// Promotions reads promotions and records their redemptions.
type Promotions struct {
	client *firestore.Client
	tz     *time.Location
	locks  keyLock
}

// NewPromotions returns the promotion store; tz is the store's time zone
// (for dates written as local times).
func NewPromotions(client *firestore.Client, tz *time.Location) *Promotions {
	return &Promotions{client: client, tz: tz}
}

// Active returns every promotion whose active flag is set. A malformed
// promotion is an error naming it, so that the owner hears of it.
func (p *Promotions) Active(ctx context.Context) ([]promotion.Promotion, error) {
	snaps, err := p.client.Collection(PromotionsCollection).Where("active", "==", true).Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "read promotions")
	}
	out := make([]promotion.Promotion, 0, len(snaps))
	for _, s := range snaps {
		pr, err := p.decode(s.Ref.ID, s.Data())
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *Promotions) decode(id string, d map[string]any) (promotion.Promotion, error) {
	bad := func(field string) error { return fmt.Errorf("promotions/%s has a malformed %s", id, field) }
	pr := promotion.Promotion{ID: id, Kind: promotion.Kind(str(d["kind"])), Name: str(d["name"]), Description: str(d["description"]),
		Code: str(d["code"]), SKUs: strs(d["skus"]), Products: strs(d["products"]), Emails: strs(d["emails"])}
	pr.Active, _ = d["active"].(bool)
	pr.FirstOrderOnly, _ = d["firstOrderOnly"].(bool)
	pr.Exclusive, _ = d["exclusive"].(bool)
	pr.Priority, _ = d["priority"].(int64)
	pr.MaxRedemptions, _ = d["maxRedemptions"].(int64)
	pr.MaxRedemptionsPerEmail, _ = d["maxRedemptionsPerEmail"].(int64)
	switch pr.Kind {
	case promotion.PercentOffOrder, promotion.PercentOffItems:
		pct, ok := d["percent"].(int64)
		if !ok || pct < 1 || pct > 100 {
			return pr, bad("percent (a whole number 1–100)")
		}
		pr.Percent = pct
	case promotion.AmountOffOrder, promotion.AmountOffItems:
		m, ok := moneyOf(d["amount"])
		if !ok {
			return pr, bad("amount ({amount: cents, currency})")
		}
		pr.Amount = m
	case promotion.FreeShipping:
	default:
		return pr, bad("kind")
	}
	if (pr.Kind == promotion.PercentOffItems || pr.Kind == promotion.AmountOffItems) && len(pr.SKUs)+len(pr.Products) == 0 {
		return pr, bad("target (skus or products)")
	}
	if v, ok := d["minSubtotal"]; ok && v != nil {
		m, ok := moneyOf(v)
		if !ok {
			return pr, bad("minSubtotal")
		}
		pr.MinSubtotal = m
	}
	for field, dst := range map[string]*time.Time{"startsAt": &pr.StartsAt, "endsAt": &pr.EndsAt} {
		if v, ok := d[field]; ok && v != nil {
			t, ok := instantIn(p.tz, v)
			if !ok {
				return pr, bad(field)
			}
			*dst = t
		}
	}
	return pr, nil
}

func (p *Promotions) counter(id string) *firestore.DocumentRef {
	return p.client.Collection(CountersCollection).Doc(id)
}

func (p *Promotions) mailbox(id, key string) *firestore.DocumentRef {
	return p.counter(id).Collection("mailboxes").Doc(key)
}

func (p *Promotions) redemption(promotionID, orderID string) *firestore.DocumentRef {
	return p.client.Collection(RedemptionsCollection).Doc(promotionID + "_" + orderID)
}

// recordsTx reads, in a transaction, the order's redemption records of the
// promotions ids and their usage counters for the mailbox.
func (p *Promotions) recordsTx(tx *firestore.Transaction, orderID, mailboxKey string, ids []string) ([]*firestore.DocumentSnapshot, map[string]promotion.Usage, error) {
	refs := make([]*firestore.DocumentRef, len(ids))
	for i, id := range ids {
		refs[i] = p.redemption(id, orderID)
	}
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return nil, nil, wrap(err, "read redemptions")
	}
	usage, err := p.usage(ids, mailboxKey, tx.GetAll)
	return snaps, usage, err
}

func count(s *firestore.DocumentSnapshot, field string) int64 {
	if !s.Exists() {
		return 0
	}
	n, _ := s.Data()[field].(int64)
	return n
}

// Usage returns the redemptions so far of each promotion, in all and by
// the mailbox.
func (p *Promotions) Usage(ctx context.Context, ids []string, mailboxKey string) (map[string]promotion.Usage, error) {
	return p.usage(ids, mailboxKey, func(refs []*firestore.DocumentRef) ([]*firestore.DocumentSnapshot, error) {
		return p.client.GetAll(ctx, refs)
	})
}

func (p *Promotions) usage(ids []string, mailboxKey string, getAll func([]*firestore.DocumentRef) ([]*firestore.DocumentSnapshot, error)) (map[string]promotion.Usage, error) {
	out := map[string]promotion.Usage{}
	if len(ids) == 0 {
		return out, nil
	}
	var refs []*firestore.DocumentRef
	for _, id := range ids {
		refs = append(refs, p.counter(id), p.mailbox(id, mailboxKey))
	}
	snaps, err := getAll(refs)
	if err != nil {
		return nil, wrap(err, "read promotion usage")
	}
	for i, id := range ids {
		out[id] = promotion.Usage{Total: count(snaps[2*i], "total"), ByEmail: count(snaps[2*i+1], "count")}
	}
	return out, nil
}

// paidStates are the states of an order that was paid for (or is being).
var paidStates = []string{string(order.Authorized), string(order.Invoiced), string(order.Approved), string(order.Paid),
	string(order.Fulfilling), string(order.Shipped)}

// HasPaidOrder reports whether the mailbox has an order that got as far as
// payment. (Index: customer.mailboxKey ASC, state ASC.)
func (p *Promotions) HasPaidOrder(ctx context.Context, mailboxKey string) (bool, error) {
	snaps, err := p.client.Collection(OrdersCollection).Where("customer.mailboxKey", "==", mailboxKey).
		Where("state", "in", paidStates).Limit(1).Documents(ctx).GetAll()
	if err != nil {
		return false, wrap(err, "find earlier orders")
	}
	return len(snaps) > 0, nil
}

// Commit records the redemptions of the order's current pricing, in one
// transaction with the limits checked there: reprice is called with the
// usage as it is now of the applied promotions and of limited (every
// promotion with a limit that could apply); if that changes the pricing (a
// limit was reached, or one freed up), the re-priced order is written, no
// redemption is recorded, and repriced is true (the customer must see the
// new total). Committing the same pricing again records nothing more.
// onCommit, if set, changes the order in the same transaction once its
// pricing is committed (the payment step plans its session and stretches
// the holds there) and reports whether it changed anything.
func (p *Promotions) Commit(ctx context.Context, orderID string, now time.Time, limited []string,
	reprice func(o *order.Order, usage map[string]promotion.Usage) error, onCommit func(o *order.Order) (bool, error)) (repriced bool, err error) {
	o, err := NewOrders(p.client, nil).Get(ctx, orderID)
	if err != nil {
		return false, err
	}
	candidates := slices.Clone(limited)
	for _, a := range o.Pricing.Promotions {
		candidates = append(candidates, a.ID)
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	// Limited promotions are hot documents when many orders race for the
	// last redemptions: one transaction per promotion at a time here.
	keys := append([]string{"order/" + orderID}, candidates...)
	for _, k := range keys {
		unlock, err := p.locks.lock(ctx, k)
		if err != nil {
			return false, wrap(err, "commit redemptions")
		}
		defer unlock()
	}

	err = p.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		repriced = false
		ref, o, err := getTx(tx, p.client, orderID)
		if err != nil {
			return err
		}
		if o.Pricing.CommittedRevision == o.Pricing.Revision && o.Pricing.Revision > 0 {
			// Already committed: only what follows the commit may be left.
			if onCommit == nil {
				return nil
			}
			changed, err := onCommit(o)
			if err != nil || !changed {
				return err
			}
			return tx.Set(ref, toDoc(o))
		}
		if o.Customer == nil {
			return apperr.New(apperr.FailedPrecondition, "order %s has no customer yet", orderID)
		}
		ids := make([]string, 0, len(o.Pricing.Promotions))
		for _, a := range o.Pricing.Promotions {
			ids = append(ids, a.ID)
		}
		key := o.Customer.MailboxKey
		for _, id := range ids {
			if !slices.Contains(candidates, id) {
				return apperr.New(apperr.Aborted, "order %s was re-priced meanwhile; try again", orderID)
			}
		}
		rsnaps, usage, err := p.recordsTx(tx, orderID, key, candidates)
		if err != nil {
			return err
		}
		// This order's own live redemptions are already counted.
		own := map[string]bool{}
		for i, s := range rsnaps {
			if s.Exists() && s.Data()["releasedAt"] == nil {
				own[candidates[i]] = true
				u := usage[candidates[i]]
				u.Total, u.ByEmail = u.Total-1, u.ByEmail-1
				usage[candidates[i]] = u
			}
		}
		before := o.Pricing
		if err := reprice(o, usage); err != nil {
			return err
		}
		if !samePromotions(before, o.Pricing) {
			repriced = true
			return tx.Set(ref, toDoc(o))
		}
		o.Pricing = before
		for _, id := range ids {
			if own[id] {
				continue
			}
			u := usage[id]
			if err := tx.Set(p.counter(id), map[string]any{"total": u.Total + 1}, firestore.MergeAll); err != nil {
				return err
			}
			if err := tx.Set(p.mailbox(id, key), map[string]any{"count": u.ByEmail + 1}, firestore.MergeAll); err != nil {
				return err
			}
			if err := tx.Set(p.redemption(id, orderID), map[string]any{"promotionId": id, "orderId": orderID, "mailboxKey": key, "at": now.UTC(), "releasedAt": nil}); err != nil {
				return err
			}
		}
		o.Pricing.CommittedRevision = o.Pricing.Revision
		o.Pricing.Redeemed = ids
		if onCommit != nil {
			if _, err := onCommit(o); err != nil {
				return err
			}
		}
		return tx.Set(ref, toDoc(o))
	}, firestore.MaxAttempts(transactionAttempts))
	if err != nil && apperr.As(err) == nil {
		err = wrap(err, "commit redemptions of order %s", orderID)
	}
	return repriced, err
}

func samePromotions(a, b order.Pricing) bool {
	if len(a.Promotions) != len(b.Promotions) || a.Discount != b.Discount {
		return false
	}
	for i := range a.Promotions {
		if a.Promotions[i].ID != b.Promotions[i].ID || a.Promotions[i].Discount != b.Promotions[i].Discount {
			return false
		}
	}
	return true
}

// Release gives back the redemptions recorded for an order (it expired or
// was canceled), once. It reports whether it released anything.
func (p *Promotions) Release(ctx context.Context, orderID string, now time.Time) (bool, error) {
	var released bool
	err := p.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		released = false
		ref, o, err := getTx(tx, p.client, orderID)
		if err != nil {
			return err
		}
		if o.Pricing.RedemptionsReleased || len(o.Pricing.Redeemed) == 0 || o.Customer == nil {
			return nil
		}
		ids := o.Pricing.Redeemed
		rsnaps, usage, err := p.recordsTx(tx, orderID, o.Customer.MailboxKey, ids)
		if err != nil {
			return err
		}
		for i, id := range ids {
			if !rsnaps[i].Exists() || rsnaps[i].Data()["releasedAt"] != nil {
				continue
			}
			u := usage[id]
			if err := tx.Set(p.counter(id), map[string]any{"total": max(0, u.Total-1)}, firestore.MergeAll); err != nil {
				return err
			}
			if err := tx.Set(p.mailbox(id, o.Customer.MailboxKey), map[string]any{"count": max(0, u.ByEmail-1)}, firestore.MergeAll); err != nil {
				return err
			}
			if err := tx.Set(p.redemption(id, orderID), map[string]any{"releasedAt": now.UTC()}, firestore.MergeAll); err != nil {
				return err
			}
		}
		released = true
		o.Pricing.RedemptionsReleased = true
		return tx.Set(ref, toDoc(o))
	}, firestore.MaxAttempts(transactionAttempts))
	if err != nil && apperr.As(err) == nil {
		err = wrap(err, "release redemptions of order %s", orderID)
	}
	return released, err
}
