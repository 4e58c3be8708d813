package checkout

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
)

// Store is what the checkout needs of the database.
type Store interface {
	// Cart returns the customer's cart lines and a hash identifying them.
	Cart(ctx context.Context, uid string) ([]pricing.CartLine, string, error)
	// SKUs returns the catalog entries named (unknown ones absent).
	SKUs(ctx context.Context, ids []string) (map[string]catalog.SKU, error)
	// Run reads State in a transaction, calls decide, writes the Decision.
	Run(ctx context.Context, uid string, stockSKUs []string, decide func(State) (Decision, error)) (Decision, error)
	// Peek reads at one instant, outside any transaction and locking
	// nothing, whether the customer has a checkout order and the stock of
	// stockSKUs (a SKU without stock absent).
	Peek(ctx context.Context, uid string, stockSKUs []string) (hasOrder bool, levels map[string]inventory.Level, err error)
}

// SessionCloser makes sure an order's current payment session can no
// longer be paid, before anything that would be paid changes (the payments
// capability). Errors: UNAVAILABLE (the provider is down; nothing
// changed), FAILED_PRECONDITION reason payment_completed (the customer
// paid it first).
type SessionCloser interface {
	CloseSession(ctx context.Context, orderID string) error
}

// closeAttempts bounds how often a change closes a session that another
// tab opened meanwhile before giving up with ABORTED.
const closeAttempts = 3

// errChangingElsewhere is the answer when another tab keeps opening
// sessions while this one changes the order.
var errChangingElsewhere = apperr.New(apperr.Aborted, "the order keeps changing in another tab; try again").Because(order.ReasonChangingElsewhere)

// Service is startCheckout's logic.
type Service struct {
	Store      Store
	Customers  *Customers // prices a changed cart with the customer's promotions
	Sessions   SessionCloser
	Currency   string
	HoldTTL    time.Duration
	MaxPerLine int64
	Now        func() time.Time

	// known is what this instance last saw of each stock SKU's available
	// units: a hint, never an answer (see Start).
	known stockHints
}

// stockHints are the available units of stock SKUs as this instance's
// checkouts last saw them.
type stockHints struct {
	mu    sync.Mutex
	avail map[string]int64
}

func (h *stockHints) learn(levels map[string]inventory.Level, skus []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.avail == nil {
		h.avail = map[string]int64{}
	}
	for _, sku := range skus {
		h.avail[sku] = levels[sku].Available()
	}
}

// short reports whether the hints say some line of want is short.
func (h *stockHints) short(want map[string]int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sku, q := range want {
		if a, ok := h.avail[sku]; ok && q > a {
			return true
		}
	}
	return false
}

// Result is a checked-out order.
type Result struct {
	Order  *order.Order
	Reused bool // the same cart was already held by this order
}

// Start checks out uid's cart: prices it from the catalog and, in one
// transaction, holds its stock lines and creates (or reuses, or replaces)
// the customer's pending order (see Decide). A changed cart under an order
// with an open payment session closes that session first; an order that
// already has a customer is priced again with its promotions.
func (s *Service) Start(ctx context.Context, uid string) (Result, error) {
	if uid == "" {
		return Result{}, apperr.New(apperr.Unauthenticated, "sign in first").Because("sign_in_required")
	}
	lines, hash, err := s.Store.Cart(ctx, uid)
	if err != nil {
		return Result{}, err
	}
	if len(lines) == 0 {
		return Result{}, apperr.New(apperr.Invalid, "the cart is empty").Because(pricing.ReasonEmptyCart)
	}
	var ids []string
	for _, l := range lines {
		if catalog.ValidSKU(l.SKU) {
			ids = append(ids, l.SKU) // the others are reported by Price
		}
	}
	skus, err := s.Store.SKUs(ctx, ids)
	if err != nil {
		return Result{}, err
	}
	now := s.Now()
	priced, err := pricing.Price(skus, lines, s.Currency, now, s.MaxPerLine)
	if err != nil {
		return Result{}, err
	}
	var stock []string
	for _, l := range priced.Lines {
		if skus[l.SKU].Limited() {
			stock = append(stock, l.SKU)
		}
	}
	req := Request{UID: uid, Currency: s.Currency, CartHash: hash, Priced: priced, NewID: order.NewID(), Now: now, HoldTTL: s.HoldTTL}
	if s.known.short(req.stockWanted()) {
		// Sold out, as far as this instance saw: look again, at one
		// instant and without queueing, and refuse at once if that is
		// what the transaction would answer.
		hasOrder, levels, err := s.Store.Peek(ctx, uid, stock)
		if err == nil {
			s.known.learn(levels, stock)
			if err := RefuseEarly(levels, hasOrder, req); err != nil {
				return Result{}, err
			}
		} // a failed look: the transaction decides
	}
	for attempt := 0; attempt < closeAttempts; attempt++ {
		d, err := s.Store.Run(ctx, uid, stock, func(st State) (Decision, error) {
			d, err := Decide(st, req)
			after := maps.Clone(st.Levels)
			maps.Copy(after, d.Levels)
			s.known.learn(after, stock)
			return d, err
		})
		if err != nil {
			return Result{}, err
		}
		if d.CloseFirst != "" {
			if err := s.Sessions.CloseSession(ctx, d.CloseFirst); err != nil {
				return Result{}, err
			}
			continue
		}
		o := d.Order
		if o.Customer != nil && !d.Reused && !d.Create {
			// The cart changed under a priced order: price it again with
			// the customer's promotions (and code).
			if o, err = s.Customers.Reprice(ctx, uid, o.ID); err != nil {
				return Result{}, err
			}
		}
		return Result{Order: o, Reused: d.Reused}, nil
	}
	return Result{}, errChangingElsewhere
}
