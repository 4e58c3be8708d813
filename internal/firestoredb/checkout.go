package firestoredb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/readyplanner/oms/internal/fulfilment"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Collections the checkout uses.
const (
	SKUsCollection      = "skus"
	CartsCollection     = "carts"
	InventoryCollection = "inventory"
	// CheckoutsCollection holds checkouts/{uid} = {orderId}: the customer's
	// latest checkout order (server-only).
	CheckoutsCollection = "checkouts"
)

// Checkouts reads carts and the catalog and runs the checkout transaction.
type Checkouts struct {
	client *firestore.Client
	orders *Orders
	tz     *time.Location // the store's, for sale windows written as local times
	// unqueued runs the naive design (each checkout its own transaction,
	// reading the stock in it, no per-instance queue or group, the
	// client's default 5 attempts), only so that the benchmark can
	// measure it beside the real one.
	unqueued bool
	queue    checkoutQueue // the checkouts waiting for their group
}

// NewCheckouts returns the checkout store, which writes orders through
// orders; tz is the store's time zone.
func NewCheckouts(orders *Orders, tz *time.Location) *Checkouts {
	return &Checkouts{client: orders.client, orders: orders, tz: tz}
}

// Cart reads carts/{uid} and returns its lines and a hash that identifies
// them. A missing cart is an empty one; a malformed line is
// INVALID_ARGUMENT naming it.
func (c *Checkouts) Cart(ctx context.Context, uid string) ([]pricing.CartLine, string, error) {
	snap, err := c.client.Collection(CartsCollection).Doc(uid).Get(ctx)
	if status.Code(err) == codes.NotFound {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", wrap(err, "read cart")
	}
	return cartLines(snap.Data())
}

// cartLines reads a cart document's data ({items: [{sku, quantity}]}, as
// Firestore gives it): its lines, in order, and a hash that identifies
// them. Items that are not a list, or a line that is not {sku: string,
// quantity: integer}, are INVALID_ARGUMENT naming it; the lines' SKUs and
// quantities are checked when the cart is priced.
func cartLines(data map[string]any) ([]pricing.CartLine, string, error) {
	raw, _ := data["items"].([]any)
	if v := data["items"]; v != nil && raw == nil {
		return nil, "", apperr.New(apperr.Invalid, "the cart's items must be a list").Because("malformed_cart")
	}
	lines := make([]pricing.CartLine, 0, len(raw))
	h := sha256.New()
	for i, it := range raw {
		m, _ := it.(map[string]any)
		sku, okS := m["sku"].(string)
		qty, okQ := m["quantity"].(int64)
		if !okS || !okQ {
			return nil, "", apperr.New(apperr.Invalid, "cart line %d: want {sku: string, quantity: integer}", i+1).
				Because(pricing.ReasonBadLines).WithDetails(map[string]any{"lines": []pricing.LineProblem{{Line: i + 1, SKU: sku, Reason: pricing.LineMalformedEntry, Message: "malformed line"}}})
		}
		lines = append(lines, pricing.CartLine{SKU: sku, Quantity: qty})
		fmt.Fprintf(h, "%s\x00%d\n", sku, qty)
	}
	return lines, hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// SKUs reads the catalog entries named (missing ones are left out).
func (c *Checkouts) SKUs(ctx context.Context, ids []string) (map[string]catalog.SKU, error) {
	refs := make([]*firestore.DocumentRef, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		refs = append(refs, c.client.Collection(SKUsCollection).Doc(id))
	}
	snaps, err := c.client.GetAll(ctx, refs)
	if err != nil {
		return nil, wrap(err, "read catalog")
	}
	out := map[string]catalog.SKU{}
	for _, snap := range snaps {
		if !snap.Exists() {
			continue
		}
		s, err := c.decodeSKU(snap.Ref.ID, snap.Data())
		if err != nil {
			return nil, err
		}
		out[s.ID] = s
	}
	return out, nil
}

func (c *Checkouts) decodeSKU(id string, d map[string]any) (catalog.SKU, error) {
	bad := func(field string) error { return fmt.Errorf("catalog: skus/%s has a malformed %s", id, field) }
	s := catalog.SKU{ID: id}
	s.ProductID, _ = d["productId"].(string)
	s.Name, _ = d["name"].(string)
	s.Active, _ = d["active"].(bool)
	s.Fulfillment = catalog.Fulfillment(str(d["fulfillment"]))
	if s.Fulfillment != catalog.Stock && s.Fulfillment != catalog.PrintOnDemand {
		return s, bad("fulfillment")
	}
	var ok bool
	if s.Price, ok = moneyOf(d["price"]); !ok {
		return s, bad("price")
	}
	s.WeightGrams, _ = d["weightGrams"].(int64)
	s.MaxPerOrder, _ = d["maxPerOrder"].(int64)
	s.QuickBooksItem, _ = d["quickbooksItem"].(string)
	s.TaxCode, _ = d["taxCode"].(string)
	if p, ok := d["printer"].(map[string]any); ok {
		s.Printer = &catalog.PrintFiles{PodPackageID: str(p["podPackageId"]), InteriorURL: str(p["interiorUrl"]), CoverURL: str(p["coverUrl"])}
	}
	if size, ok := d["sizeMm"].(map[string]any); ok {
		for i, k := range []string{"length", "width", "height"} {
			s.SizeMM[i], _ = size[k].(int64)
		}
	}
	if sale, ok := d["sale"].(map[string]any); ok {
		p, okP := moneyOf(sale["price"])
		from, okF := c.instant(sale["startsAt"])
		to, okT := c.instant(sale["endsAt"])
		if !okP || !okF || !okT || p.Currency != s.Price.Currency {
			return s, bad("sale")
		}
		s.Sale = &catalog.Sale{Price: p, StartsAt: from, EndsAt: to}
	}
	return s, nil
}

func str(v any) string { s, _ := v.(string); return s }

func moneyOf(v any) (money.Money, bool) {
	m, ok := v.(map[string]any)
	amt, okA := m["amount"].(int64)
	cur, okC := m["currency"].(string)
	if !ok || !okA || !okC || len(cur) != 3 || amt < 0 || amt > catalog.MaxAmount {
		return money.Money{}, false
	}
	return money.New(amt, cur), true
}

// instant reads a timestamp, or a "2006-01-02 15:04:05" string in the
// store's time zone (how an owner writes a sale that starts at local
// midnight).
func (c *Checkouts) instant(v any) (time.Time, bool) { return instantIn(c.tz, v) }

func instantIn(tz *time.Location, v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
			if tm, err := time.ParseInLocation(layout, t, tz); err == nil {
				return tm, true
			}
		}
	}
	return time.Time{}, false
}

// Run runs one checkout: in a transaction it reads the customer's latest
// order and the stock of every SKU involved, asks decide what to do, and
// writes the decision (new or replaced order, stock levels, an expired
// order, the pointer). decide's error is returned and nothing is written.
//
// Within this instance, checkouts of the same set of stock SKUs are
// committed in groups (checkoutbatch.go): the checkouts waiting when a
// transaction starts are decided in it one after the other, each on the
// stock the ones before it left, so a flash sale makes a few transactions
// per instance, not one per buyer. Groups touching the same SKU or the
// same customer run one at a time (locks taken in sorted order): the
// emulator — and to a lesser degree Firestore — lets concurrent
// transactions on one document abort each other. The transaction is what
// keeps instances correct.
func (c *Checkouts) Run(ctx context.Context, uid string, stockSKUs []string, decide func(checkout.State) (checkout.Decision, error)) (checkout.Decision, error) {
	w := &waitingCheckout{uid: uid, decide: decide, done: make(chan checkoutResult, 1)}
	if c.unqueued {
		results, _, err := c.commitGroup(ctx, stockSKUs, []*waitingCheckout{w}, false)
		if err != nil {
			return checkout.Decision{}, err
		}
		return results[0].d, results[0].err
	}
	if err := ctx.Err(); err != nil {
		return checkout.Decision{}, wrap(err, "checkout")
	}
	c.enqueue(ctx, stockSKUs, w)
	select {
	case r := <-w.done:
		return r.d, r.err
	case <-ctx.Done():
		// Taken out of the queue, it will not run; if its group is being
		// committed, it may yet hold (as when a transaction's answer is
		// lost): the customer's next call finds the order and reuses it.
		c.abandon(stockSKUs, w)
		if w.contended.Load() && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// The call's time ran out while its group was retried after
			// losing to contention, which a retry may win.
			return checkout.Decision{}, apperr.Wrap(ctx.Err(), apperr.Aborted, "checkout: too much contention, try again").Because("contention")
		}
		return checkout.Decision{}, wrap(ctx.Err(), "checkout")
	}
}

// Peek reads, in one batch read (one instant, no transaction, no lock),
// whether uid has a checkout pointer and the stock of stockSKUs (SKUs
// without an inventory document absent).
func (c *Checkouts) Peek(ctx context.Context, uid string, stockSKUs []string) (bool, map[string]inventory.Level, error) {
	refs := []*firestore.DocumentRef{c.client.Collection(CheckoutsCollection).Doc(uid)}
	for _, s := range stockSKUs {
		refs = append(refs, c.client.Collection(InventoryCollection).Doc(s))
	}
	snaps, err := c.client.GetAll(ctx, refs)
	if err != nil {
		return false, nil, wrap(err, "read stock")
	}
	stock := stockLevels{}
	for _, snap := range snaps[1:] {
		if snap.Exists() {
			stock.add(snap)
		}
	}
	return snaps[0].Exists(), stock.levels(), nil
}

// writeCheckout writes in tx what one checkout decided: its ledger
// records, the order it expired, its order (created or replaced) and the
// customer's pointer to it. The inventory documents are the caller's.
func (c *Checkouts) writeCheckout(tx *firestore.Transaction, gw groupWrite) error {
	d := gw.d
	for _, m := range gw.moves {
		if err := c.recordMovement(tx, m, "", "", ""); err != nil {
			return err
		}
	}
	if d.Expired != nil {
		if err := c.orders.setTx(tx, c.orders.ref(d.Expired.ID), d.Expired); err != nil {
			return err
		}
	}
	var err error
	if d.Create {
		err = c.orders.createTx(tx, d.Order)
	} else {
		err = c.orders.setTx(tx, c.orders.ref(d.Order.ID), d.Order)
	}
	if err != nil {
		return err
	}
	return tx.Set(c.client.Collection(CheckoutsCollection).Doc(gw.uid), map[string]any{"orderId": d.Order.ID, "updatedAt": d.Order.UpdatedAt})
}

func levelOf(snap *firestore.DocumentSnapshot) inventory.Level {
	d := snap.Data()
	on, _ := d["onHand"].(int64)
	held, _ := d["held"].(int64)
	return inventory.Level{OnHand: on, Held: held}
}

// stockDoc is what a transaction read of inventory/{sku}: the level and
// the low-stock bookkeeping.
type stockDoc struct {
	level      inventory.Level
	lowStockAt int64 // the owner's threshold of available units (0: off)
	lowStock   bool  // available is below lowStockAt (since the last crossing)
	crossings  int64 // how many times available fell below lowStockAt
	// version is the document's update time as read, for a write that
	// must find it unchanged (zero: there was no document).
	version time.Time
}

// stockLevels are the inventory documents a transaction read, by SKU.
type stockLevels map[string]stockDoc

func (s stockLevels) add(snap *firestore.DocumentSnapshot) {
	d := snap.Data()
	sd := stockDoc{level: levelOf(snap)}
	sd.lowStockAt, _ = d["lowStockAt"].(int64)
	sd.lowStock, _ = d["lowStock"].(bool)
	sd.crossings, _ = d["lowStockCrossings"].(int64)
	sd.version = snap.UpdateTime
	s[snap.Ref.ID] = sd
}

func (s stockLevels) levels() map[string]inventory.Level {
	out := make(map[string]inventory.Level, len(s))
	for sku, d := range s {
		out[sku] = d.level
	}
	return out
}

// InventoryMovementsCollection is the stock ledger: one record per change
// of one SKU's on-hand or held units, written in the transaction that
// changes them.
const InventoryMovementsCollection = "inventoryMovements"

// writeStock writes the levels next (read as stock in the same
// transaction) and, for each SKU that changed, its ledger record; when a
// SKU's available units fall below its lowStockAt, the crossing is
// recorded on it for the low-stock alert (lowStock, lowStockAlerted:
// false, lowStockCrossings + 1), and cleared when they are back.
func (c *Checkouts) writeStock(tx *firestore.Transaction, stock stockLevels, next map[string]inventory.Level, reason, orderID, actor, note string) error {
	return c.writeStockAs(tx, stock, next, reason, orderID, actor, note, "", "")
}

// writeStockAs is writeStock whose ledger record is the owner's request
// (requestID, requestHash): inventoryMovements/request-<requestID>, so
// that the same request again finds it.
func (c *Checkouts) writeStockAs(tx *firestore.Transaction, stock stockLevels, next map[string]inventory.Level, reason, orderID, actor, note, requestID, requestHash string) error {
	now := c.orders.now().UTC()
	for _, m := range inventory.Movements(stock.levels(), next, reason, orderID, actor, now) {
		if err := c.recordMovement(tx, m, note, requestID, requestHash); err != nil {
			return err
		}
	}
	return c.writeLevels(tx, stock, next, false)
}

// writeLevels writes in tx the inventory document of each SKU whose level
// in next differs from what stock read (SKUs next does not name are left
// as they are); when a SKU's available units fall below its lowStockAt,
// the crossing is recorded on it for the low-stock alert (lowStock,
// lowStockAlerted: false, lowStockCrossings + 1), and cleared when they
// are back. The ledger records are the caller's. With unchanged, each
// write requires the document to be as stock read it (its update time, or
// still absent), so that stock read outside the transaction is as good as
// read in it: the commit fails with FAILED_PRECONDITION if any changed.
func (c *Checkouts) writeLevels(tx *firestore.Transaction, stock stockLevels, next map[string]inventory.Level, unchanged bool) error {
	for _, sku := range slices.Sorted(maps.Keys(next)) {
		before, after := stock[sku], next[sku]
		if after == before.level {
			continue
		}
		fields := map[string]any{"onHand": after.OnHand, "held": after.Held}
		switch crossed, cleared := inventory.LowStockChange(before.level, after, before.lowStockAt, before.lowStock); {
		case crossed:
			fields["lowStock"], fields["lowStockAlerted"], fields["lowStockCrossings"] = true, false, before.crossings+1
		case cleared:
			fields["lowStock"] = false
		}
		ref := c.client.Collection(InventoryCollection).Doc(sku)
		var err error
		switch {
		case !unchanged:
			err = tx.Set(ref, fields, firestore.MergeAll)
		case before.version.IsZero():
			err = tx.Create(ref, fields)
		default:
			var ups []firestore.Update
			for _, k := range slices.Sorted(maps.Keys(fields)) {
				ups = append(ups, firestore.Update{Path: k, Value: fields[k]})
			}
			err = tx.Update(ref, ups, firestore.LastUpdateTime(before.version))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// recordMovement writes m's ledger record in tx (as the owner's request
// requestID, when given).
func (c *Checkouts) recordMovement(tx *firestore.Transaction, m inventory.Movement, note, requestID, requestHash string) error {
	rec := map[string]any{"sku": m.SKU, "deltaOnHand": m.DeltaOnHand, "deltaHeld": m.DeltaHeld, "onHand": m.After.OnHand,
		"held": m.After.Held, "reason": m.Reason, "orderId": m.OrderID, "actor": m.Actor, "at": m.At}
	if note != "" {
		rec["note"] = note
	}
	ref := c.client.Collection(InventoryMovementsCollection).NewDoc()
	if requestID != "" {
		ref = c.client.Collection(InventoryMovementsCollection).Doc("request-" + requestID)
		rec["requestHash"] = requestHash
	}
	return tx.Create(ref, rec)
}

// OpenStock gives sku its stock, onHand units of which none held, with its
// first ledger record (reason seed), in one transaction, and only where
// sku has none: an existing stock is left as it is (a re-seed keeps the
// holds and counts made since) and OpenStock reports false. lowStockAt is
// the available units under which the owner is alerted.
func (c *Checkouts) OpenStock(ctx context.Context, sku string, onHand, lowStockAt int64, actor string) (bool, error) {
	ref := c.client.Collection(InventoryCollection).Doc(sku)
	var created bool
	err := c.orders.transact(ctx, "open stock "+sku, []string{"sku/" + sku}, func(tx *firestore.Transaction) error {
		created = false
		if _, err := tx.Get(ref); status.Code(err) != codes.NotFound {
			return err // nil: the stock exists
		}
		if err := tx.Create(ref, map[string]any{"onHand": onHand, "held": 0, "lowStockAt": lowStockAt}); err != nil {
			return err
		}
		created = true
		ms := inventory.Movements(nil, map[string]inventory.Level{sku: {OnHand: onHand}}, inventory.MoveSeed, "", actor, c.orders.now().UTC())
		for _, m := range ms {
			if err := c.recordMovement(tx, m, "", "", ""); err != nil {
				return err
			}
		}
		return nil
	})
	return created, err
}

// Holds runs fn on an order and the stock of its holds in one
// transaction, writing the order and the levels fn returns when it says so
// (the checkout decides: release, expire, commit). It reports whether it
// wrote.
func (c *Checkouts) Holds(ctx context.Context, id, reason string, fn func(o *order.Order, levels map[string]inventory.Level) (write bool, next map[string]inventory.Level, err error)) (bool, error) {
	var wrote bool
	err := c.orders.transact(ctx, fmt.Sprintf("order %s holds", id), []string{orderKey(id)}, func(tx *firestore.Transaction) error {
		wrote = false
		ref, o, err := getTx(tx, c.client, id)
		if err != nil {
			return err
		}
		stock := stockLevels{}
		if len(o.Holds) > 0 {
			var refs []*firestore.DocumentRef
			for sku := range o.HoldQuantities() {
				refs = append(refs, c.client.Collection(InventoryCollection).Doc(sku))
			}
			snaps, err := tx.GetAll(refs)
			if err != nil {
				return wrap(err, "read held stock")
			}
			for _, s := range snaps {
				stock.add(s)
			}
		}
		write, next, err := fn(o, stock.levels())
		if err != nil || !write {
			return err
		}
		wrote = true
		if err := c.writeStock(tx, stock, next, reason, id, "order flow", ""); err != nil {
			return err
		}
		return c.orders.setTx(tx, ref, o)
	})
	return wrote, err
}

// Lapsed returns the ids of up to limit pending orders whose holds lapsed
// before now. (Index: state ASC, holdExpiresAt ASC.)
func (c *Checkouts) Lapsed(ctx context.Context, now time.Time, limit int) ([]string, error) {
	snaps, err := c.client.Collection(OrdersCollection).Where("state", "==", string(order.Pending)).
		Where("holdExpiresAt", "<", now).OrderBy("holdExpiresAt", firestore.Asc).Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "query lapsed holds")
	}
	ids := make([]string, len(snaps))
	for i, s := range snaps {
		ids[i] = s.Ref.ID
	}
	return ids, nil
}

// AdjustStock runs change on the level of sku in one transaction and
// writes what it returns with its ledger record (reason adjust), which is
// the owner's request requestID: the same request again (the same hash)
// answers the level as it stands and changes nothing; other input under
// it is INVALID_ARGUMENT request_id_reused. A SKU with no inventory
// document (print on demand, or unknown) is NOT_FOUND, reason
// unknown_sku.
func (c *Checkouts) AdjustStock(ctx context.Context, sku string, change func(inventory.Level) (inventory.Level, error), actor, note, requestID, requestHash string) (inventory.Level, error) {
	var after inventory.Level
	ref := c.client.Collection(InventoryCollection).Doc(sku)
	request := c.client.Collection(InventoryMovementsCollection).Doc("request-" + requestID)
	err := c.orders.transact(ctx, "adjust stock "+sku, []string{"sku/" + sku}, func(tx *firestore.Transaction) error {
		prev, err := tx.Get(request)
		if err != nil && status.Code(err) != codes.NotFound {
			return wrap(err, "read request %s", requestID)
		}
		snap, err := tx.Get(ref)
		if status.Code(err) == codes.NotFound {
			return apperr.New(apperr.NotFound, "%s has no stock to adjust (print on demand, or no such SKU)", sku).Because("unknown_sku")
		}
		if err != nil {
			return wrap(err, "read stock %s", sku)
		}
		stock := stockLevels{}
		stock.add(snap)
		if prev != nil && prev.Exists() {
			if h, _ := prev.Data()["requestHash"].(string); h != requestHash {
				return apperr.New(apperr.Invalid, "requestId %s was used for another adjustment: use a new id for a new act", requestID).
					Because(order.ReasonRequestReused).On("requestId")
			}
			after = stock[sku].level // the same act again: the level as it stands
			return nil
		}
		if after, err = change(stock[sku].level); err != nil {
			return err
		}
		return c.writeStockAs(tx, stock, map[string]inventory.Level{sku: after}, inventory.MoveAdjust, "", actor, note, requestID, requestHash)
	})
	return after, err
}

// LowStock returns up to limit SKUs with an unalerted low-stock crossing.
func (c *Checkouts) LowStock(ctx context.Context, limit int) ([]fulfilment.LowStockSKU, error) {
	snaps, err := c.client.Collection(InventoryCollection).Where("lowStock", "==", true).Where("lowStockAlerted", "==", false).
		Limit(limit).Documents(ctx).GetAll()
	if err != nil {
		return nil, wrap(err, "query low stock")
	}
	out := make([]fulfilment.LowStockSKU, 0, len(snaps))
	for _, s := range snaps {
		stock := stockLevels{}
		stock.add(s)
		d := stock[s.Ref.ID]
		out = append(out, fulfilment.LowStockSKU{SKU: s.Ref.ID, Crossing: d.crossings, Level: d.level, LowStockAt: d.lowStockAt})
	}
	return out, nil
}

// LowStockAlerted records that crossing of sku was alerted (a later
// crossing stays to alert).
func (c *Checkouts) LowStockAlerted(ctx context.Context, sku string, crossing int64) error {
	ref := c.client.Collection(InventoryCollection).Doc(sku)
	return c.orders.transact(ctx, "low stock "+sku, []string{"sku/" + sku}, func(tx *firestore.Transaction) error {
		snap, err := tx.Get(ref)
		if err != nil {
			return wrap(err, "read stock %s", sku)
		}
		if n, _ := snap.Data()["lowStockCrossings"].(int64); n != crossing {
			return nil
		}
		return tx.Update(ref, []firestore.Update{{Path: "lowStockAlerted", Value: true}})
	})
}
