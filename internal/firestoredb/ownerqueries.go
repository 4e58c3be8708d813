package firestoredb

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The owner's reads: pages of orders by state and of alerts, counts,
// search. Each query has its index in firestore.indexes.json (a test
// records every query the code makes and checks it).

var (
	_ owner.OrderReader = (*Orders)(nil)
	_ owner.AlertInbox  = (*Alerts)(nil)
)

// cursor is a page's position: the last item's time and id, opaque to
// the caller.
func cursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + "|" + id))
}

func parseCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	at, id, ok := strings.Cut(string(b), "|")
	n, perr := strconv.ParseInt(at, 10, 64)
	if err != nil || !ok || perr != nil || id == "" || strings.Contains(id, "/") {
		return time.Time{}, "", apperr.New(apperr.Invalid, "cursor is not one a page answered").Because(order.ReasonMalformed).On("cursor")
	}
	return time.Unix(0, n).UTC(), id, nil
}

// InState implements owner.OrderReader: orders in state, newest first,
// limit a page, after cursor (""= the first page). (Index: state ASC,
// createdAt DESC.)
func (s *Orders) InState(ctx context.Context, state order.State, after string, limit int) ([]*order.Order, string, error) {
	q := s.client.Collection(OrdersCollection).Where("state", "==", string(state)).
		OrderBy("createdAt", firestore.Desc).OrderBy(firestore.DocumentID, firestore.Desc).Limit(limit)
	if after != "" {
		at, id, err := parseCursor(after)
		if err != nil {
			return nil, "", err
		}
		q = q.StartAfter(at, s.client.Collection(OrdersCollection).Doc(id))
	}
	out, err := s.query(ctx, q, "list orders "+string(state))
	if err != nil || len(out) < limit {
		return out, "", err
	}
	last := out[len(out)-1]
	return out, cursor(last.CreatedAt, last.ID), nil
}

// ToShip implements owner.OrderReader: the orders with a parcel to ship
// (toShip), oldest first: the longest waiting at the top.
func (s *Orders) ToShip(ctx context.Context, limit int) ([]*order.Order, error) {
	q := s.client.Collection(OrdersCollection).Where("toShip", "==", true).
		OrderBy("createdAt", firestore.Asc).OrderBy(firestore.DocumentID, firestore.Asc).Limit(limit)
	return s.query(ctx, q, "list parcels to ship")
}

// CountInState implements owner.OrderReader: how many orders are in
// state (a count aggregation: no documents read).
func (s *Orders) CountInState(ctx context.Context, state order.State) (int64, error) {
	q := s.client.Collection(OrdersCollection).Where("state", "==", string(state))
	res, err := q.NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		return 0, wrap(err, "count orders %s", state)
	}
	v, ok := res["n"]
	if !ok {
		return 0, fmt.Errorf("count orders %s: no count in the answer", state)
	}
	switch n := v.(type) {
	case int64:
		return n, nil
	case interface{ GetIntegerValue() int64 }:
		return n.GetIntegerValue(), nil
	}
	return 0, fmt.Errorf("count orders %s: a count of type %T", state, v)
}

// PlacedSince implements owner.OrderReader: how many orders were placed
// (first authorized) at or after t, and their totals summed (aggregations
// over placedAt: no documents read).
func (s *Orders) PlacedSince(ctx context.Context, t time.Time) (count, total int64, err error) {
	q := s.client.Collection(OrdersCollection).Where("placedAt", ">=", t.UTC())
	res, err := q.NewAggregationQuery().WithCount("n").WithSum("total", "sum").Get(ctx)
	if err != nil {
		return 0, 0, wrap(err, "the orders placed since %s", t.UTC().Format(time.RFC3339))
	}
	num := func(name string) (int64, error) {
		switch v := res[name].(type) {
		case int64:
			return v, nil
		case float64:
			return int64(v), nil
		case interface{ GetIntegerValue() int64 }:
			return v.GetIntegerValue(), nil
		case interface{ GetDoubleValue() float64 }:
			return int64(v.GetDoubleValue()), nil
		case nil:
			return 0, nil
		default:
			return 0, fmt.Errorf("the orders placed: %s of type %T", name, v)
		}
	}
	if count, err = num("n"); err != nil {
		return 0, 0, err
	}
	total, err = num("sum")
	return count, total, err
}

// ByMailbox implements owner.OrderReader: a customer's orders by their
// mailbox key (the normalised email, hashed), newest first.
// (Index: customer.mailboxKey ASC, createdAt DESC.)
func (s *Orders) ByMailbox(ctx context.Context, key string, limit int) ([]*order.Order, error) {
	return s.query(ctx, s.client.Collection(OrdersCollection).Where("customer.mailboxKey", "==", key).
		OrderBy("createdAt", firestore.Desc).Limit(limit), "find a customer's orders")
}

// ByNamePrefix implements owner.OrderReader: orders whose customer's name
// starts with prefix (as typed, case-sensitive), by name.
func (s *Orders) ByNamePrefix(ctx context.Context, prefix string, limit int) ([]*order.Order, error) {
	return s.query(ctx, s.client.Collection(OrdersCollection).Where("customer.name", ">=", prefix).Where("customer.name", "<", prefix+"\uf8ff").
		OrderBy("customer.name", firestore.Asc).Limit(limit), "find orders by name")
}

// Page implements owner.AlertInbox: open alerts newest first (index:
// resolvedAt ASC, createdAt DESC), or resolved ones, the latest resolved
// first, limit a page after cursor.
func (a *Alerts) Page(ctx context.Context, open bool, after string, limit int) ([]owner.AlertRecord, string, error) {
	col := a.client.Collection(AlertsCollection)
	field := "createdAt"
	q := col.Where("resolvedAt", "==", nil).OrderBy("createdAt", firestore.Desc)
	if !open {
		field = "resolvedAt"
		q = col.Where("resolvedAt", ">", time.Unix(0, 0)).OrderBy("resolvedAt", firestore.Desc)
	}
	q = q.OrderBy(firestore.DocumentID, firestore.Desc).Limit(limit)
	if after != "" {
		at, key, err := parseCursor(after)
		if err != nil {
			return nil, "", err
		}
		q = q.StartAfter(at, col.Doc(key))
	}
	it := q.Documents(ctx)
	defer it.Stop()
	var out []owner.AlertRecord
	for {
		snap, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			return nil, "", wrap(err, "list alerts")
		}
		var d struct {
			Kind       string     `firestore:"kind"`
			OrderID    string     `firestore:"orderId"`
			Subject    string     `firestore:"subject"`
			Text       string     `firestore:"text"`
			CreatedAt  time.Time  `firestore:"createdAt"`
			ResolvedAt *time.Time `firestore:"resolvedAt"`
		}
		if err := snap.DataTo(&d); err != nil {
			return nil, "", wrap(err, "read alert %s", snap.Ref.ID)
		}
		out = append(out, owner.AlertRecord{Key: snap.Ref.ID, Kind: d.Kind, OrderID: d.OrderID, Subject: d.Subject, Text: d.Text,
			CreatedAt: d.CreatedAt, ResolvedAt: timeOf(d.ResolvedAt)})
	}
	if len(out) < limit {
		return out, "", nil
	}
	last := out[len(out)-1]
	at := last.CreatedAt
	if field == "resolvedAt" {
		at = last.ResolvedAt
	}
	return out, cursor(at, last.Key), nil
}

var (
	_ owner.MailReader  = (*Mail)(nil)
	_ owner.StockReader = (*Checkouts)(nil)
)

// mailRecords reads the mail documents of q.
func mailRecords(ctx context.Context, q firestore.Query, what string) ([]owner.MailRecord, error) {
	snaps, err := q.Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "%s", what)
	}
	out := make([]owner.MailRecord, 0, len(snaps))
	for _, snap := range snaps {
		var d mailDoc
		if err := snap.DataTo(&d); err != nil {
			return nil, wrap(err, "read mail %s", snap.Ref.ID)
		}
		out = append(out, owner.MailRecord{Mail: d.mail(snap.Ref.ID), CreatedAt: d.CreatedAt, Delivery: d.Delivery.delivery()})
	}
	return out, nil
}

// OfOrder implements owner.MailReader: an order's emails, oldest first,
// with their delivery state. (Index: orderId ASC, createdAt ASC.)
func (s *Mail) OfOrder(ctx context.Context, orderID string) ([]owner.MailRecord, error) {
	return mailRecords(ctx, s.client.Collection(MailCollection).Where("orderId", "==", orderID).OrderBy("createdAt", firestore.Asc).Limit(100),
		"list the emails of order "+orderID)
}

// Outbox implements owner.MailReader: the mail in delivery state
// (every state when ""), newest first. (Index: delivery.state ASC,
// createdAt DESC.)
func (s *Mail) Outbox(ctx context.Context, state string, limit int) ([]owner.MailRecord, error) {
	q := s.client.Collection(MailCollection).Query
	if state != "" {
		q = q.Where("delivery.state", "==", state)
	}
	return mailRecords(ctx, q.OrderBy("createdAt", firestore.Desc).Limit(limit), "list the outbox")
}

// MaxCatalog bounds the SKUs and stock levels the owner's overview
// reads (a small store's whole catalog).
const MaxCatalog = 500

// AllSKUs implements owner.SKUReader: every SKU, by id (the first
// MaxCatalog); one whose document cannot be read is left out (the
// checkout refuses it too: its owner fixes it in the prices form).
func (c *Checkouts) AllSKUs(ctx context.Context) ([]catalog.SKU, error) {
	snaps, err := c.client.Collection(SKUsCollection).OrderBy(firestore.DocumentID, firestore.Asc).Limit(MaxCatalog).Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "read the catalog")
	}
	out := make([]catalog.SKU, 0, len(snaps))
	for _, snap := range snaps {
		if k, err := c.decodeSKU(snap.Ref.ID, snap.Data()); err == nil {
			out = append(out, k)
		}
	}
	return out, nil
}

// Levels implements owner.StockReader: every stocked SKU's level, by id
// (the first MaxCatalog, the same window as AllSKUs').
func (c *Checkouts) Levels(ctx context.Context) (map[string]inventory.Level, error) {
	snaps, err := c.client.Collection(InventoryCollection).OrderBy(firestore.DocumentID, firestore.Asc).Limit(MaxCatalog).Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "read the stock")
	}
	out := make(map[string]inventory.Level, len(snaps))
	for _, snap := range snaps {
		out[snap.Ref.ID] = levelOf(snap)
	}
	return out, nil
}

// Stock implements owner.StockReader: a SKU's level and its ledger,
// newest first, a page after cursor. (Index: sku ASC, at DESC.)
func (c *Checkouts) Stock(ctx context.Context, sku, after string, limit int) (inventory.Level, []inventory.Movement, string, error) {
	snap, err := c.client.Collection(InventoryCollection).Doc(sku).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return inventory.Level{}, nil, "", apperr.New(apperr.NotFound, "%s has no stock (print on demand, or no such SKU)", sku).Because("unknown_sku")
	}
	if err != nil {
		return inventory.Level{}, nil, "", wrap(err, "read stock %s", sku)
	}
	col := c.client.Collection(InventoryMovementsCollection)
	q := col.Where("sku", "==", sku).OrderBy("at", firestore.Desc).OrderBy(firestore.DocumentID, firestore.Desc).Limit(limit)
	if after != "" {
		at, id, err := parseCursor(after)
		if err != nil {
			return inventory.Level{}, nil, "", err
		}
		q = q.StartAfter(at, col.Doc(id))
	}
	snaps, err := q.Documents(ctx).GetAll()
	if err != nil {
		return inventory.Level{}, nil, "", wrap(err, "read the ledger of %s", sku)
	}
	var out []inventory.Movement
	for _, s := range snaps {
		d := s.Data()
		m := inventory.Movement{SKU: sku}
		m.DeltaOnHand, _ = d["deltaOnHand"].(int64)
		m.DeltaHeld, _ = d["deltaHeld"].(int64)
		m.After.OnHand, _ = d["onHand"].(int64)
		m.After.Held, _ = d["held"].(int64)
		m.Reason, _ = d["reason"].(string)
		m.OrderID, _ = d["orderId"].(string)
		m.Actor, _ = d["actor"].(string)
		m.Note, _ = d["note"].(string)
		m.At, _ = d["at"].(time.Time)
		out = append(out, m)
	}
	next := ""
	if len(snaps) == limit {
		next = cursor(out[len(out)-1].At, snaps[len(snaps)-1].Ref.ID)
	}
	return levelOf(snap), out, next, nil
}

var _ messages.TaxOrders = (*Orders)(nil)

// ChargedBetween implements messages.TaxOrders: the orders charged
// (paidAt) at or after from and before to.
func (s *Orders) ChargedBetween(ctx context.Context, from, to time.Time, limit int) ([]*order.Order, error) {
	return s.query(ctx, s.client.Collection(OrdersCollection).Where("paidAt", ">=", from.UTC()).Where("paidAt", "<", to.UTC()).
		OrderBy("paidAt", firestore.Asc).Limit(limit), "list the orders charged")
}

// RefundedSince implements messages.TaxOrders: the orders whose latest
// refund was made at or after from.
func (s *Orders) RefundedSince(ctx context.Context, from time.Time, limit int) ([]*order.Order, error) {
	return s.query(ctx, s.client.Collection(OrdersCollection).Where("lastRefundAt", ">=", from.UTC()).
		OrderBy("lastRefundAt", firestore.Asc).Limit(limit), "list the orders refunded")
}
