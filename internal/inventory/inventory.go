// Package inventory is the arithmetic of stock: on hand, held by open
// orders, available. It imports no SDK.
package inventory

import "sort"

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
