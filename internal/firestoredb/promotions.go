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

// liveRecord is one of an order's redemption records that is not released.
type liveRecord struct {
	promotionID, mailboxKey string
}

// liveTx reads, in a transaction, the order's live redemption records: the
// truth of what the order holds of each promotion's limits.
func (p *Promotions) liveTx(tx *firestore.Transaction, orderID string) ([]liveRecord, error) {
	snaps, err := tx.Documents(p.client.Collection(RedemptionsCollection).Where("orderId", "==", orderID)).GetAll()
	if err != nil {
		return nil, wrap(err, "read the redemptions of order %s", orderID)
	}
	var out []liveRecord
	for _, s := range snaps {
		d := s.Data()
		if d["releasedAt"] != nil {
			continue
		}
		out = append(out, liveRecord{promotionID: str(d["promotionId"]), mailboxKey: str(d["mailboxKey"])})
	}
	return out, nil
}

// counters holds, read in a transaction, the total and per-mailbox counts
// of some promotions, and writes them back changed.
type counters struct {
	p      *Promotions
	total  map[string]int64
	byMail map[[2]string]int64 // {promotion, mailbox}
	dirty  map[[2]string]bool  // what add changed: {promotion, ""} for the total
}

// countersTx reads the counters of promotions ids for every mailbox named.
func (p *Promotions) countersTx(tx *firestore.Transaction, ids []string, mailboxes []string) (*counters, error) {
	c := &counters{p: p, total: map[string]int64{}, byMail: map[[2]string]int64{}, dirty: map[[2]string]bool{}}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	slices.Sort(mailboxes)
	mailboxes = slices.Compact(mailboxes)
	var refs []*firestore.DocumentRef
	for _, id := range ids {
		refs = append(refs, p.counter(id))
		for _, m := range mailboxes {
			refs = append(refs, p.mailbox(id, m))
		}
	}
	if len(refs) == 0 {
		return c, nil
	}
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return nil, wrap(err, "read promotion usage")
	}
	k := 0
	for _, id := range ids {
		c.total[id] = count(snaps[k], "total")
		k++
		for _, m := range mailboxes {
			c.byMail[[2]string{id, m}] = count(snaps[k], "count")
			k++
		}
	}
	return c, nil
}

// add changes a promotion's counts by delta (never below 0) for mailbox.
func (c *counters) add(id, mailbox string, delta int64) {
	c.total[id] = max(0, c.total[id]+delta)
	c.byMail[[2]string{id, mailbox}] = max(0, c.byMail[[2]string{id, mailbox}]+delta)
	c.dirty[[2]string{id, ""}], c.dirty[[2]string{id, mailbox}] = true, true
}

// write writes the counters add changed (after all reads of the
// transaction).
func (c *counters) write(tx *firestore.Transaction) error {
	for k := range c.dirty {
		var err error
		if k[1] == "" {
			err = tx.Set(c.p.counter(k[0]), map[string]any{"total": c.total[k[0]]}, firestore.MergeAll)
		} else {
			err = tx.Set(c.p.mailbox(k[0], k[1]), map[string]any{"count": c.byMail[k]}, firestore.MergeAll)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// releaseTx gives back live records (after all reads).
func (p *Promotions) releaseTx(tx *firestore.Transaction, c *counters, orderID string, recs []liveRecord, now time.Time) error {
	for _, r := range recs {
		c.add(r.promotionID, r.mailboxKey, -1)
		if err := tx.Set(p.redemption(r.promotionID, orderID), map[string]any{"releasedAt": now.UTC()}, firestore.MergeAll); err != nil {
			return err
		}
	}
	return nil
}

// kept reports whether a live record still prices the order: the order
// applies its promotion, for the same mailbox.
func kept(o *order.Order, r liveRecord) bool {
	if o.Customer == nil || o.Customer.MailboxKey != r.mailboxKey {
		return false
	}
	return slices.ContainsFunc(o.Pricing.Promotions, func(a order.AppliedPromotion) bool { return a.ID == r.promotionID })
}

func split(o *order.Order, live []liveRecord) (keep, drop []liveRecord) {
	for _, r := range live {
		if kept(o, r) {
			keep = append(keep, r)
		} else {
			drop = append(drop, r)
		}
	}
	return keep, drop
}

func promotionIDs(recs []liveRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.promotionID
	}
	return out
}

func mailboxKeys(recs []liveRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.mailboxKey
	}
	return out
}

// Reprice changes order orderID with fn (which reports whether it did) and,
// in the same transaction, gives back the order's live redemptions of
// promotions the order no longer applies (or applies for another mailbox),
// so that a dropped code never keeps a limited promotion from the next
// customer. It returns the order as committed (or as read, when fn changed
// nothing).
func (p *Promotions) Reprice(ctx context.Context, orderID string, fn func(*order.Order) (bool, error)) (*order.Order, error) {
	var result *order.Order
	err := p.orders.transact(ctx, fmt.Sprintf("price order %s", orderID), []string{orderKey(orderID)}, func(tx *firestore.Transaction) error {
		ref, o, err := getTx(tx, p.client, orderID)
		if err != nil {
			return err
		}
		result = o
		live, err := p.liveTx(tx, orderID)
		if err != nil {
			return err
		}
		changed, err := fn(o)
		if err != nil || !changed {
			return err
		}
		keep, drop := split(o, live)
		if len(drop) > 0 {
			c, err := p.countersTx(tx, promotionIDs(drop), mailboxKeys(drop))
			if err != nil {
				return err
			}
			if err := p.releaseTx(tx, c, orderID, drop, p.orders.now()); err != nil {
				return err
			}
			if err := c.write(tx); err != nil {
				return err
			}
		}
		o.Pricing.Redeemed = promotionIDs(keep)
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

// paidStates are the states of an order that was paid for (or is being).
var paidStates = []string{string(order.Authorized), string(order.Invoiced), string(order.Approved), string(order.Paid),
	string(order.Fulfilling), string(order.Shipped), string(order.Refunded)}

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

// Redeem runs fn on order orderID in one transaction with the order's
// redemption records and the usage counters of candidates (the order's
// own live redemptions not counted: usage is what others use), so that
// fn can decide with limits as they are now. fn reports whether it
// changed the order (then it is written) and whether the order's
// redemptions are to follow its pricing now (commit): then the promotions
// it applies are recorded for its customer's mailbox and its live records
// of any other promotion (or mailbox) are given back, in the same
// transaction. Every promotion the order applies or holds must be among
// candidates (the order was re-priced meanwhile otherwise: ABORTED). It
// returns the order as fn left it.
func (p *Promotions) Redeem(ctx context.Context, orderID string, candidates []string,
	fn func(o *order.Order, usage map[string]promotion.Usage) (changed, commit bool, err error)) (*order.Order, error) {
	candidates = slices.Clone(candidates)
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	// Limited promotions are hot documents when many orders race for the
	// last redemptions: one transaction per promotion at a time here.
	keys := []string{orderKey(orderID)}
	for _, k := range candidates {
		keys = append(keys, "promotion/"+k)
	}
	now := p.orders.now().UTC()
	var result *order.Order
	err := p.orders.transact(ctx, fmt.Sprintf("redeem promotions of order %s", orderID), keys, func(tx *firestore.Transaction) error {
		ref, o, err := getTx(tx, p.client, orderID)
		if err != nil {
			return err
		}
		result = o
		live, err := p.liveTx(tx, orderID)
		if err != nil {
			return err
		}
		key := ""
		if o.Customer != nil {
			key = o.Customer.MailboxKey
		}
		for _, id := range append(promotionIDs(live), appliedIDs(o)...) {
			if !slices.Contains(candidates, id) {
				return apperr.New(apperr.Aborted, "order %s was re-priced meanwhile; try again", orderID).Because("order_changed")
			}
		}
		c, err := p.countersTx(tx, candidates, append(mailboxKeys(live), key))
		if err != nil {
			return err
		}
		usage := map[string]promotion.Usage{}
		for _, id := range candidates {
			usage[id] = promotion.Usage{Total: c.total[id], ByEmail: c.byMail[[2]string{id, key}]}
		}
		for _, r := range live {
			u := usage[r.promotionID]
			u.Total--
			if r.mailboxKey == key {
				u.ByEmail--
			}
			usage[r.promotionID] = u
		}
		changed, commit, err := fn(o, usage)
		if err != nil {
			return err
		}
		if commit {
			if o.Customer == nil {
				return apperr.New(apperr.FailedPrecondition, "order %s has no customer to redeem promotions for", orderID).Because("no_customer")
			}
			keep, drop := split(o, live)
			if err := p.releaseTx(tx, c, orderID, drop, now); err != nil {
				return err
			}
			for _, id := range appliedIDs(o) {
				if slices.ContainsFunc(keep, func(r liveRecord) bool { return r.promotionID == id }) {
					continue
				}
				c.add(id, key, +1)
				if err := tx.Set(p.redemption(id, orderID), map[string]any{"promotionId": id, "orderId": orderID, "mailboxKey": key, "at": now, "releasedAt": nil}); err != nil {
					return err
				}
			}
			if err := c.write(tx); err != nil {
				return err
			}
			o.Pricing.Redeemed, changed = appliedIDs(o), true
		}
		if !changed {
			return nil
		}
		return p.orders.setTx(tx, ref, o)
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

func appliedIDs(o *order.Order) []string {
	ids := make([]string, 0, len(o.Pricing.Promotions))
	for _, a := range o.Pricing.Promotions {
		ids = append(ids, a.ID)
	}
	return ids
}

// Release gives back every live redemption record of an order (it expired
// or was canceled) — the records, not the order's current pricing, so that
// a code dropped after it was committed is given back too. A second call
// finds nothing live and changes nothing. It reports whether it released
// anything.
func (p *Promotions) Release(ctx context.Context, orderID string, now time.Time) (bool, error) {
	var released bool
	err := p.orders.transact(ctx, fmt.Sprintf("release redemptions of order %s", orderID), []string{orderKey(orderID)}, func(tx *firestore.Transaction) error {
		released = false
		ref, o, err := getTx(tx, p.client, orderID)
		if err != nil {
			return err
		}
		live, err := p.liveTx(tx, orderID)
		if err != nil {
			return err
		}
		if len(live) == 0 {
			if o.Pricing.RedemptionsReleased || len(o.Pricing.Redeemed) == 0 {
				return nil
			}
			o.Pricing.RedemptionsReleased = true
			return p.orders.setTx(tx, ref, o)
		}
		c, err := p.countersTx(tx, promotionIDs(live), mailboxKeys(live))
		if err != nil {
			return err
		}
		if err := p.releaseTx(tx, c, orderID, live, now); err != nil {
			return err
		}
		if err := c.write(tx); err != nil {
			return err
		}
		released = true
		o.Pricing.RedemptionsReleased = true
		return p.orders.setTx(tx, ref, o)
	})
	return released, err
}
