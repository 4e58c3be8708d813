// Package inventory is the arithmetic of stock: on hand, held by open
// orders, available. It imports no SDK.
package inventory

import (
	"sort"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
)

// Level is one stock SKU's counts.
type Level struct {
	OnHand int64
	Held   int64
}

// Available is on hand minus held, never negative.
func (l Level) Available() int64 {
	if a := l.OnHand - l.Held; a > 0 {
		return a
	}
	return 0
}

// Shortage is a line that cannot be held: what was asked and what is there.
type Shortage struct {
	SKU       string `json:"sku"`
	Requested int64  `json:"requested"`
	Available int64  `json:"available"`
}

// Reserve returns the levels after releasing `release` and holding `hold`
// (quantities by SKU), all or nothing: if any SKU is short, it returns the
// shortages (sorted by SKU) and no levels. Only changed SKUs are returned.
// A SKU missing from levels has nothing on hand.
func Reserve(levels map[string]Level, release, hold map[string]int64) (map[string]Level, []Shortage) {
	next := map[string]Level{}
	get := func(sku string) Level {
		if l, ok := next[sku]; ok {
			return l
		}
		return levels[sku]
	}
	for sku, q := range release {
		l := get(sku)
		l.Held -= q
		if l.Held < 0 {
			l.Held = 0
		}
		next[sku] = l
	}
	var short []Shortage
	for sku, q := range hold {
		l := get(sku)
		if q > l.Available() {
			short = append(short, Shortage{SKU: sku, Requested: q, Available: l.Available()})
			continue
		}
		l.Held += q
		next[sku] = l
	}
	if len(short) > 0 {
		sort.Slice(short, func(i, j int) bool { return short[i].SKU < short[j].SKU })
		return nil, short
	}
	for sku, l := range next {
		if l == levels[sku] {
			delete(next, sku)
		}
	}
	return next, nil
}

// Release returns the levels after giving `holds` back (held never below 0).
func Release(levels map[string]Level, holds map[string]int64) map[string]Level {
	next, _ := Reserve(levels, holds, nil)
	return next
}

// Commit returns the levels after shipping `holds`: the units leave both on
// hand and held (neither below 0).
func Commit(levels map[string]Level, holds map[string]int64) map[string]Level {
	next := map[string]Level{}
	for sku, q := range holds {
		l := levels[sku]
		l.OnHand = max(0, l.OnHand-q)
		l.Held = max(0, l.Held-q)
		next[sku] = l
	}
	return next
}

// Why a SKU's stock changed (Movement.Reason); stored and documented.
const (
	MoveCheckout = "checkout" // startCheckout held (or re-held) an order's lines; an order it replaced gave its holds back
	MoveRelease  = "release"  // an expired or canceled order gave its holds back
	MoveShip     = "ship"     // a shipped order's units left the shelf: on hand and held both fall
	MoveAdjust   = "adjust"   // the owner changed what is on hand (restock, damage, a count)
	MoveSeed     = "seed"     // the stock a SKU started with
)

// Movement is one change of one SKU's stock, as the ledger
// (inventoryMovements) records it: replaying every movement of a SKU gives
// its level.
type Movement struct {
	SKU         string
	DeltaOnHand int64
	DeltaHeld   int64
	After       Level // the level the change left
	Reason      string
	OrderID     string // the order it was for, if any
	Actor       string // who: "checkout", "trigger", "owner:<uid>", …
	Note        string // the owner's words, for an adjustment
	At          time.Time
}

// Movements are the changes from levels to next, one per SKU whose level
// changed, sorted by SKU. A SKU missing from levels had nothing.
func Movements(levels, next map[string]Level, reason, orderID, actor string, at time.Time) []Movement {
	var out []Movement
	for sku, n := range next {
		old := levels[sku]
		if n == old {
			continue
		}
		out = append(out, Movement{SKU: sku, DeltaOnHand: n.OnHand - old.OnHand, DeltaHeld: n.Held - old.Held, After: n,
			Reason: reason, OrderID: orderID, Actor: actor, At: at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out
}

// MaxAdjustment bounds one adjustment, so that a typo cannot add a
// million units.
const MaxAdjustment = 100_000

// Adjust returns the level after the owner changes what is on hand by
// delta. It never takes on hand below what open orders hold (nor below
// zero): that is FAILED_PRECONDITION, reason below_held.
func Adjust(l Level, delta int64) (Level, error) {
	if delta == 0 || delta > MaxAdjustment || delta < -MaxAdjustment {
		return l, apperr.New(apperr.Invalid, "delta must be a whole number from -%d to %d, not 0", MaxAdjustment, MaxAdjustment).
			Because("malformed").On("delta")
	}
	n := Level{OnHand: l.OnHand + delta, Held: l.Held}
	if n.OnHand < n.Held || n.OnHand < 0 {
		return l, apperr.New(apperr.FailedPrecondition, "on hand would be %d, below the %d units open orders hold", n.OnHand, l.Held).
			Because(ReasonBelowHeld).WithDetails(map[string]int64{"onHand": l.OnHand, "held": l.Held})
	}
	return n, nil
}

// ReasonBelowHeld is the FAILED_PRECONDITION reason of an adjustment that
// would leave less on hand than open orders hold.
const ReasonBelowHeld = "below_held"

// FellBelow reports whether the available stock crossed below threshold
// from before to after (a threshold of 0 or less is off).
func FellBelow(before, after Level, threshold int64) bool {
	return threshold > 0 && before.Available() >= threshold && after.Available() < threshold
}

// LowStockChange decides a SKU's low-stock flag as its level changes from
// before to after: set (a new crossing, for one alert) when it fell below
// threshold, cleared when a SKU flagged low (wasLow) is back at or above
// it, left otherwise.
func LowStockChange(before, after Level, threshold int64, wasLow bool) (crossed, cleared bool) {
	switch {
	case FellBelow(before, after, threshold):
		return true, false
	case wasLow && after.Available() >= threshold:
		return false, true
	}
	return false, false
}
