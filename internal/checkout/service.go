package checkout

import (
	"context"
	"crypto/rand"
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

// Service is startCheckout's logic.
type Service struct {
	Store      Store
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
// the customer's pending order. See Decide for the rules.
func (s *Service) Start(ctx context.Context, uid string) (Result, error) {
	if uid == "" {
		return Result{}, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	lines, hash, err := s.Store.Cart(ctx, uid)
	if err != nil {
		return Result{}, err
	}
	if len(lines) == 0 {
		return Result{}, apperr.New(apperr.Invalid, "the cart is empty")
	}
	ids := make([]string, len(lines))
	for i, l := range lines {
		ids[i] = l.SKU
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
	req := Request{UID: uid, Currency: s.Currency, CartHash: hash, Priced: priced, NewID: NewOrderID(), Now: now, HoldTTL: s.HoldTTL}
	d, err := s.Store.Run(ctx, uid, stock, func(st State) (Decision, error) { return Decide(st, req) })
	if err != nil {
		return Result{}, err
	}
	return Result{Order: d.Order, Reused: d.Reused}, nil
}

const idAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789" // no 0/O, 1/I: ids are read over the phone

// NewOrderID returns a random order id of 12 unambiguous characters
// (60 bits), short enough to read to a customer.
func NewOrderID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}
