package firestoredb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/checkout"
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

// Promotions reads promotions and stores their redemptions: it loads and
// saves; the checkout decides what is redeemed and given back.
type Promotions struct {
	client *firestore.Client
	orders *Orders
	tz     *time.Location
}

// NewPromotions returns the promotion store; tz is the store's time zone
// (for dates written as local times).
func NewPromotions(orders *Orders, tz *time.Location) *Promotions {
	return &Promotions{client: orders.client, orders: orders, tz: tz}
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

// liveTx reads, in a transaction, the order's live redemption records: the
// truth of what the order holds of each promotion's limits.
func (p *Promotions) liveTx(tx *firestore.Transaction, orderID string) ([]promotion.Redemption, error) {
	snaps, err := tx.Documents(p.client.Collection(RedemptionsCollection).Where("orderId", "==", orderID)).GetAll()
	if err != nil {
		return nil, wrap(err, "read the redemptions of order %s", orderID)
	}
	var out []promotion.Redemption
	for _, s := range snaps {
		d := s.Data()
		if d["releasedAt"] != nil {
			continue
		}
		out = append(out, promotion.Redemption{PromotionID: str(d["promotionId"]), MailboxKey: str(d["mailboxKey"])})
	}
	return out, nil
}

func (p *Promotions) counterRef(k promotion.CounterKey) *firestore.DocumentRef {
	if k.MailboxKey == "" {
		return p.counter(k.PromotionID)
	}
	return p.mailbox(k.PromotionID, k.MailboxKey)
}

// countersTx reads, in a transaction, the total and per-mailbox counters
// of promotions ids for every mailbox named.
func (p *Promotions) countersTx(tx *firestore.Transaction, ids, mailboxes []string) (promotion.Counters, error) {
	ids, mailboxes = sorted(ids), sorted(mailboxes)
	var keys []promotion.CounterKey
	for _, id := range ids {
		keys = append(keys, promotion.CounterKey{PromotionID: id})
		for _, m := range mailboxes {
			keys = append(keys, promotion.CounterKey{PromotionID: id, MailboxKey: m})
		}
	}
	c := promotion.Counters{}
	if len(keys) == 0 {
		return c, nil
	}
	refs := make([]*firestore.DocumentRef, len(keys))
	for i, k := range keys {
		refs[i] = p.counterRef(k)
	}
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return nil, wrap(err, "read promotion usage")
	}
	for i, k := range keys {
		field := "count"
		if k.MailboxKey == "" {
			field = "total"
		}
		c[k] = count(snaps[i], field)
	}
	return c, nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(slices.DeleteFunc(s, func(v string) bool { return v == "" }))
}

var _ checkout.PromotionStore = (*Promotions)(nil)

// UpdateRedemptions implements checkout.RedemptionStore: in one
// transaction it loads order orderID, its live redemption records and
// the counters of candidates and of the live records' promotions (for the
// order's mailbox and the live records' mailboxes), calls decide, and
// saves what it returns: the order, the records released (stamped
// releasedAt) and made, the counters. A counter decide writes must be one
// that was loaded. It returns the order as decide left it.
func (p *Promotions) UpdateRedemptions(ctx context.Context, orderID string, candidates []string,
	decide func(*checkout.Redemptions) (checkout.RedemptionWrite, error)) (*order.Order, error) {
	candidates = sorted(candidates)
	// Limited promotions are hot documents when many orders race for the
	// last redemptions: one transaction per promotion at a time here.
	keys := []string{orderKey(orderID)}
	for _, k := range candidates {
		keys = append(keys, "promotion/"+k)
	}
	var result *order.Order
	err := p.orders.transact(ctx, fmt.Sprintf("update the redemptions of order %s", orderID), keys, func(tx *firestore.Transaction) error {
		ref, o, err := getTx(tx, p.client, orderID)
		if err != nil {
			return err
		}
		result = o
		live, err := p.liveTx(tx, orderID)
		if err != nil {
			return err
		}
		ids, mailboxes := slices.Clone(candidates), []string{}
		if o.Customer != nil {
			mailboxes = append(mailboxes, o.Customer.MailboxKey)
		}
		for _, r := range live {
			ids, mailboxes = append(ids, r.PromotionID), append(mailboxes, r.MailboxKey)
		}
		counters, err := p.countersTx(tx, ids, mailboxes)
		if err != nil {
			return err
		}
		w, err := decide(&checkout.Redemptions{Order: o, Live: live, Counters: maps.Clone(counters)})
		if err != nil {
			return err
		}
		for _, k := range w.Change.Counters.Keys() {
			if _, ok := counters[k]; !ok {
				return fmt.Errorf("redemptions of order %s: counter %v written but not read", orderID, k)
			}
		}
		now := p.orders.now().UTC()
		for _, r := range w.Change.Release {
			if err := tx.Set(p.redemption(r.PromotionID, orderID), map[string]any{"releasedAt": now}, firestore.MergeAll); err != nil {
				return err
			}
		}
		for _, r := range w.Change.Redeem {
			if err := tx.Set(p.redemption(r.PromotionID, orderID), map[string]any{"promotionId": r.PromotionID, "orderId": orderID,
				"mailboxKey": r.MailboxKey, "at": now, "releasedAt": nil}); err != nil {
				return err
			}
		}
		for _, k := range w.Change.Counters.Keys() {
			field := "count"
			if k.MailboxKey == "" {
				field = "total"
			}
			if err := tx.Set(p.counterRef(k), map[string]any{field: w.Change.Counters[k]}, firestore.MergeAll); err != nil {
				return err
			}
		}
		if !w.WriteOrder {
			return nil
		}
		return p.orders.setTx(tx, ref, o)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
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

// HasOrderIn reports whether the mailbox has an order in one of states.
// (Index: customer.mailboxKey ASC, state ASC.)
func (p *Promotions) HasOrderIn(ctx context.Context, mailboxKey string, states []order.State) (bool, error) {
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = string(st)
	}
	snaps, err := p.client.Collection(OrdersCollection).Where("customer.mailboxKey", "==", mailboxKey).
		Where("state", "in", names).Limit(1).Documents(ctx).GetAll()
	if err != nil {
		return false, wrap(err, "find earlier orders")
	}
	return len(snaps) > 0, nil
}
