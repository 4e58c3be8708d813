package checkout

import (
	"context"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
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
	for attempt := 0; attempt < closeAttempts; attempt++ {
		d, err := s.Store.Run(ctx, uid, stock, func(st State) (Decision, error) { return Decide(st, req) })
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
