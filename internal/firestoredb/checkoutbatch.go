package firestoredb

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/checkout"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/order"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Group commit: the checkouts of one set of stock SKUs waiting in this
// instance are decided together, one after the other, in one transaction,
// which writes every order, pointer and ledger record they make and each
// SKU's inventory document once. A flash sale then costs a few
// transactions per instance instead of one per buyer, and instances
// contend on the hot document a few times instead of a thousand.

// Limits of one group: Firestore allows 500 writes in a transaction; a
// group stops taking checkouts before it would pass maxGroupWrites, and
// reads at most maxGroupSize customers' pointers and orders.
const (
	maxGroupWrites = 500
	maxGroupSize   = 250
	// groupTimeout bounds one group's transaction (its attempts included);
	// the callers' own deadlines bound how long each waits for it.
	groupTimeout = 60 * time.Second
)

// waitingCheckout is one startCheckout waiting for its group.
type waitingCheckout struct {
	uid    string
	decide func(checkout.State) (checkout.Decision, error)
	done   chan checkoutResult // buffered: the committer never waits for the caller
	// contended is set once a group holding this checkout lost its
	// transaction (aborted by another's, or its stock changed first): a
	// caller whose time runs out then answers contention, not a timeout.
	contended atomic.Bool
	// deadline is the caller's (zero: none); a group gives up when the
	// last of its callers has.
	deadline time.Time
}

type checkoutResult struct {
	d   checkout.Decision
	err error
}

// checkoutQueue holds the waiting checkouts by their set of stock SKUs,
// with at most one committer per set.
type checkoutQueue struct {
	mu      sync.Mutex
	waiting map[string][]*waitingCheckout
}

// groupKey names a set of stock SKUs.
func groupKey(skus []string) string {
	s := slices.Clone(skus)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), "\x00")
}

// enqueue adds w to its group's queue and starts a committer for it if
// none runs (the queue exists exactly while one does).
func (c *Checkouts) enqueue(ctx context.Context, stockSKUs []string, w *waitingCheckout) {
	key := groupKey(stockSKUs)
	w.deadline, _ = ctx.Deadline()
	q := &c.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiting == nil {
		q.waiting = map[string][]*waitingCheckout{}
	}
	list, running := q.waiting[key]
	q.waiting[key] = append(list, w)
	if !running {
		go c.commitGroups(context.WithoutCancel(ctx), key, slices.Clone(stockSKUs))
	}
}

// abandon takes w out of its queue if it is still waiting there (its
// caller gave up).
func (c *Checkouts) abandon(stockSKUs []string, w *waitingCheckout) {
	key := groupKey(stockSKUs)
	q := &c.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	list := q.waiting[key]
	if i := slices.Index(list, w); i >= 0 {
		q.waiting[key] = slices.Delete(list, i, i+1)
	}
}

// take removes the next group from key's queue: up to maxGroupSize
// checkouts of distinct customers (a customer's second checkout waits for
// the next group, which sees what the first wrote). An empty group means
// the queue is empty and closed: a later checkout starts a new committer.
func (c *Checkouts) take(key string) []*waitingCheckout {
	q := &c.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	list := q.waiting[key]
	if len(list) == 0 {
		delete(q.waiting, key)
		return nil
	}
	var group, rest []*waitingCheckout
	seen := map[string]bool{}
	for _, w := range list {
		if len(group) == maxGroupSize || seen[w.uid] {
			rest = append(rest, w)
			continue
		}
		seen[w.uid] = true
		group = append(group, w)
	}
	q.waiting[key] = rest
	return group
}

// putBack returns checkouts a group could not fit to the front of key's
// queue.
func (c *Checkouts) putBack(key string, ws []*waitingCheckout) {
	q := &c.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	q.waiting[key] = append(slices.Clone(ws), q.waiting[key]...)
}

// commitGroups commits key's groups one after the other until its queue
// is empty.
func (c *Checkouts) commitGroups(base context.Context, key string, stockSKUs []string) {
	for {
		group := c.take(key)
		if len(group) == 0 {
			return
		}
		ctx, cancel := context.WithDeadline(base, groupDeadline(group, time.Now()))
		results, left, err := c.commitStale(ctx, stockSKUs, group)
		cancel()
		if len(left) > 0 {
			c.putBack(key, left)
		}
		for i, w := range group[:len(group)-len(left)] {
			if err != nil {
				w.done <- checkoutResult{err: err}
			} else {
				w.done <- results[i]
			}
		}
	}
}

// staleAttempts bounds how often a group is decided again because its
// stock changed between the read and the commit (another instance's group
// committed first).
const staleAttempts = 50

// commitStale commits group, deciding it again on fresh stock as long as
// another writer changed the stock first.
func (c *Checkouts) commitStale(ctx context.Context, stockSKUs []string, group []*waitingCheckout) ([]checkoutResult, []*waitingCheckout, error) {
	for attempt := 1; ; attempt++ {
		results, left, err := c.commitGroup(ctx, stockSKUs, group, true)
		if status.Code(err) != codes.FailedPrecondition {
			return results, left, err
		}
		markContended(group)
		if attempt == staleAttempts || ctx.Err() != nil {
			return nil, nil, apperr.Wrap(err, apperr.Aborted, "checkout: too much contention, try again").Because("contention")
		}
		if attempt > 2 { // a few instances in a row won: step aside a little
			time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(5*time.Millisecond))))
		}
	}
}

// commitGroup decides group (checkouts of distinct customers, all of
// stockSKUs) in one transaction, in order, each on the stock the ones
// before it left, and writes what they decided. It returns each decided
// checkout's result, and the tail of group that did not fit in the
// transaction's writes (to go in a later group). err is the
// transaction's own failure, which is every checkout's answer. Within this
// instance (queued), the group holds the locks of its SKUs and customers,
// and reads the stock optimistically (readGroup): the commit fails with
// FAILED_PRECONDITION if another writer changed it meanwhile.
func (c *Checkouts) commitGroup(ctx context.Context, stockSKUs []string, group []*waitingCheckout, queued bool) (results []checkoutResult, left []*waitingCheckout, err error) {
	var keys []string
	if queued {
		for _, s := range stockSKUs {
			keys = append(keys, "sku/"+s)
		}
		for _, w := range group {
			keys = append(keys, "uid/"+w.uid)
		}
	}
	var opts []firestore.TransactionOption
	if !queued {
		opts = []firestore.TransactionOption{firestore.MaxAttempts(firestore.DefaultTransactionMaxAttempts)}
	}
	tries := 0
	err = c.orders.transact(ctx, "checkout", keys, func(tx *firestore.Transaction) error {
		if tries++; tries > 1 {
			markContended(group)
		}
		results, left = make([]checkoutResult, 0, len(group)), nil
		opens, stock, err := c.readGroup(ctx, tx, stockSKUs, group, queued)
		if err != nil {
			return err
		}
		levels := stock.levels()
		writes := 0
		for _, s := range stockSKUs {
			if _, ok := stock[s]; ok {
				writes++ // its inventory document, written once at the end
			}
		}
		var ws []groupWrite
		extra := map[string]bool{}
		for i, w := range group {
			d, err := w.decide(checkout.State{Open: opens[i], Levels: levels})
			if err != nil {
				if apperr.As(err) == nil {
					err = wrap(err, "checkout")
				}
				results = append(results, checkoutResult{err: err})
				continue
			}
			if !d.Write {
				results = append(results, checkoutResult{d: d})
				continue
			}
			gw := groupWrite{uid: w.uid, d: d,
				moves: inventory.Movements(levels, d.Levels, inventory.MoveCheckout, d.Order.ID, "checkout", c.orders.now().UTC())}
			n := len(gw.moves) + 2 // the order, the pointer
			if d.Expired != nil {
				n++
			}
			var other []string // SKUs only open orders held: one more inventory document each
			for sku := range d.Levels {
				if !slices.Contains(stockSKUs, sku) && !extra[sku] {
					other = append(other, sku)
				}
			}
			n += len(other)
			if writes+n > maxGroupWrites && len(ws) > 0 {
				left = group[i:]
				break
			}
			writes += n
			for _, sku := range other {
				extra[sku] = true
			}
			for sku, l := range d.Levels {
				levels[sku] = l
			}
			ws = append(ws, gw)
			results = append(results, checkoutResult{d: d})
		}
		for _, gw := range ws {
			if err := c.writeCheckout(tx, gw); err != nil {
				return err
			}
		}
		return c.writeLevels(tx, stock, levels, queued)
	}, opts...)
	return results, left, err
}

// groupWrite is what one checkout of a group writes.
type groupWrite struct {
	uid   string
	d     checkout.Decision
	moves []inventory.Movement
}

// readGroup reads, in tx, each customer's latest order (through the
// pointers, one batch read, then the orders, another) and the stock of
// stockSKUs and of every SKU those orders hold. With optimistic, the stock
// of stockSKUs is read outside tx (one batch read at one instant, locking
// nothing): the caller's writes then require it unchanged.
func (c *Checkouts) readGroup(ctx context.Context, tx *firestore.Transaction, stockSKUs []string, group []*waitingCheckout, optimistic bool) ([]*order.Order, stockLevels, error) {
	refs := make([]*firestore.DocumentRef, 0, len(group)+len(stockSKUs))
	for _, w := range group {
		refs = append(refs, c.client.Collection(CheckoutsCollection).Doc(w.uid))
	}
	var invRefs []*firestore.DocumentRef
	for _, s := range stockSKUs {
		invRefs = append(invRefs, c.client.Collection(InventoryCollection).Doc(s))
	}
	var invSnaps []*firestore.DocumentSnapshot
	var err error
	if optimistic {
		if invSnaps, err = c.client.GetAll(ctx, invRefs); err != nil {
			return nil, nil, wrap(err, "read stock")
		}
	} else {
		refs = append(refs, invRefs...)
	}
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return nil, nil, wrap(err, "read checkout state")
	}
	if !optimistic {
		invSnaps = snaps[len(group):]
	}
	stock := stockLevels{}
	for _, snap := range invSnaps {
		if snap.Exists() {
			stock.add(snap)
		}
	}
	opens := make([]*order.Order, len(group))
	var orderRefs []*firestore.DocumentRef
	var which []int
	for i, snap := range snaps[:len(group)] {
		if !snap.Exists() {
			continue
		}
		if id, _ := snap.Data()["orderId"].(string); id != "" {
			orderRefs = append(orderRefs, c.client.Collection(OrdersCollection).Doc(id))
			which = append(which, i)
		}
	}
	if len(orderRefs) == 0 {
		return opens, stock, nil
	}
	osnaps, err := tx.GetAll(orderRefs)
	if err != nil {
		return nil, nil, wrap(err, "read open orders")
	}
	var more []*firestore.DocumentRef
	asked := map[string]bool{}
	for j, osnap := range osnaps {
		if !osnap.Exists() {
			continue
		}
		o, err := decode(osnap)
		if err != nil {
			return nil, nil, err
		}
		opens[which[j]] = o
		// The open order's holds may name SKUs the new cart does not.
		for _, h := range o.Holds {
			if _, ok := stock[h.SKU]; !ok && !slices.Contains(stockSKUs, h.SKU) && !asked[h.SKU] {
				asked[h.SKU] = true
				more = append(more, c.client.Collection(InventoryCollection).Doc(h.SKU))
			}
		}
	}
	if len(more) > 0 {
		msnaps, err := tx.GetAll(more)
		if err != nil {
			return nil, nil, wrap(err, "read held stock")
		}
		for _, s := range msnaps {
			if s.Exists() {
				stock.add(s)
			}
		}
	}
	return opens, stock, nil
}

// markContended records that group lost a transaction.
func markContended(group []*waitingCheckout) {
	for _, w := range group {
		w.contended.Store(true)
	}
}

// groupDeadline is when a group started at now gives up: when the last of
// its callers gives up, and at most groupTimeout on. A group whose callers
// have all gone stops retrying, and frees its SKUs' lock for the next.
func groupDeadline(group []*waitingCheckout, now time.Time) time.Time {
	var last time.Time
	for _, w := range group {
		if w.deadline.IsZero() {
			return now.Add(groupTimeout)
		}
		if w.deadline.After(last) {
			last = w.deadline
		}
	}
	if limit := now.Add(groupTimeout); last.IsZero() || last.After(limit) {
		return limit
	}
	return last
}
