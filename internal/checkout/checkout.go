// Package checkout decides what startCheckout does with the stock and the
// customer's open order, as a pure function: the Firestore adapter reads
// the state in a transaction, calls Decide, and writes what it says.
package checkout

import (
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
)

// State is what the transaction read.
type State struct {
	// Open is the customer's latest checkout order, in any state, or nil.
	Open *order.Order
	// Levels holds the stock of every stock SKU in the new cart and in the
	// open order's holds (a SKU without an inventory document is absent).
	Levels map[string]inventory.Level
}

// Request is a priced cart to check out.
type Request struct {
	UID      string
	Currency string
	CartHash string
	Priced   pricing.Priced
	NewID    string // the id a new order gets
	Now      time.Time
	HoldTTL  time.Duration
}

// Decision is what to write. Nothing is written when Write is false.
type Decision struct {
	// CloseFirst names the open order whose payment session is open and
	// must be closed before the order may change (nothing is written).
	CloseFirst string
	Order      *order.Order // the order to answer with
	Write      bool         // write Order (created or replaced) and Levels
	Create     bool         // Order is new
	Reused     bool         // the open order already held this cart
	Expired    *order.Order // the open order whose holds lapsed: write it (now expired, holds released)
	Levels     map[string]inventory.Level
}

// Decide checks out req against st:
//   - the open order is pending, unexpired and holds this very cart: reuse
//     it, write nothing;
//   - it is pending and unexpired with another cart: replace its lines and
//     holds atomically (its old holds are released in the same step);
//   - it is pending but its holds lapsed: expire it (releasing them) and
//     create a new order;
//   - otherwise create a new order.
//
// An open order that would change (new lines, or expired) while its payment
// session is open changes nothing: the decision is CloseFirst, so that the
// session can no longer be paid before the order changes.
//
// If any stock line is short, nothing is written and the error is
// FAILED_PRECONDITION with details.unavailable = []inventory.Shortage.
func Decide(st State, req Request) (Decision, error) {
	want := req.stockWanted()
	var holds []order.Hold
	for _, l := range req.Priced.Lines {
		if l.Fulfillment != catalog.PrintOnDemand {
			holds = append(holds, order.Hold{SKU: l.SKU, Quantity: l.Quantity})
		}
	}
	expires := req.Now.Add(req.HoldTTL).UTC()

	open := st.Open
	if open != nil && open.State() == order.Pending && !open.HoldsReleased && open.HoldExpiresAt.After(req.Now) {
		if open.CartHash == req.CartHash {
			return Decision{Order: open, Reused: true}, nil
		}
		if open.SessionOpen() {
			return Decision{CloseFirst: open.ID}, nil
		}
		levels, short := inventory.Reserve(st.Levels, open.HoldQuantities(), want)
		if short != nil {
			return Decision{}, shortage(short)
		}
		// The discounts were for the old lines: they are cleared (the
		// caller re-applies the customer's promotions), and the shipping
		// is quoted and chosen again.
		if err := open.ReplaceCart(order.Cart{Lines: req.Priced.Lines, Subtotal: req.Priced.Subtotal, Hash: req.CartHash,
			Holds: holds, HoldExpiresAt: expires}, req.Now.UTC()); err != nil {
			return Decision{}, err
		}
		return Decision{Order: open, Write: true, Levels: levels}, nil
	}

	var d Decision
	release := map[string]int64{}
	if open != nil && open.State() == order.Pending {
		if open.SessionOpen() {
			return Decision{CloseFirst: open.ID}, nil
		}
		// Its holds lapsed and the sweeper has not run yet.
		if !open.HoldsReleased {
			release = open.HoldQuantities()
		}
		if _, err := open.Transition(order.Move{From: []order.State{order.Pending}, To: order.Expired, Actor: "checkout",
			Reason: "holds expired before payment"}, req.Now.UTC()); err != nil {
			return Decision{}, fmt.Errorf("expire order %s: %w", open.ID, err)
		}
		open.HoldsReleased = true
		d.Expired = open
	}
	levels, short := inventory.Reserve(st.Levels, release, want)
	if short != nil {
		return Decision{}, shortage(short)
	}
	o, err := order.New(req.NewID, req.UID, req.Currency, req.Now.UTC())
	if err != nil {
		return Decision{}, err
	}
	o.Lines, o.Subtotal, o.CartHash, o.Holds, o.HoldExpiresAt = req.Priced.Lines, req.Priced.Subtotal, req.CartHash, holds, expires
	d.Order, d.Write, d.Create, d.Levels = o, true, true, levels
	return d, nil
}

// stockWanted is the units of each stock SKU the request holds.
func (req Request) stockWanted() map[string]int64 {
	want := map[string]int64{}
	for _, l := range req.Priced.Lines {
		if l.Fulfillment != catalog.PrintOnDemand {
			want[l.SKU] += l.Quantity
		}
	}
	return want
}

// RefuseEarly decides from stock read outside a transaction (at one
// instant) whether req can be refused without one: only a customer with no
// checkout order (whose holds could be reused or given back) is, and only
// with the out-of-stock error Decide would answer on that stock. nil means
// the transaction decides.
func RefuseEarly(levels map[string]inventory.Level, hasOrder bool, req Request) error {
	if hasOrder {
		return nil
	}
	if _, err := Decide(State{Levels: levels}, req); err != nil && apperr.As(err) != nil && apperr.As(err).Reason == ReasonOutOfStock {
		return err
	}
	return nil
}

// ReasonOutOfStock is the FAILED_PRECONDITION reason of a checkout with a
// short line.
const ReasonOutOfStock = "out_of_stock"

func shortage(short []inventory.Shortage) error {
	msg := fmt.Sprintf("%s: only %d left", short[0].SKU, short[0].Available)
	if short[0].Available == 0 {
		msg = short[0].SKU + " is out of stock"
	}
	if len(short) > 1 {
		msg += fmt.Sprintf(" (and %d more lines are short)", len(short)-1)
	}
	return apperr.New(apperr.FailedPrecondition, "%s", msg).Because(ReasonOutOfStock).WithDetails(map[string]any{"unavailable": short})
}
