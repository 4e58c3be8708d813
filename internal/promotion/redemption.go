package promotion

import (
	"slices"
	"sort"
)

// Redemption is one live (not released) redemption record: an order holds
// one use of PromotionID for the mailbox MailboxKey.
type Redemption struct {
	PromotionID string
	MailboxKey  string
}

// CounterKey names one usage counter: a promotion's total (MailboxKey "")
// or its count for one mailbox.
type CounterKey struct {
	PromotionID string
	MailboxKey  string
}

// Counters are usage counters by key, as read (a missing one is 0) or as
// to be written.
type Counters map[CounterKey]int64

// Usage returns the usage of each of ids for mailbox, not counting own (an
// order's own live records): what the others use is what limits it.
func (c Counters) Usage(ids []string, mailbox string, own []Redemption) map[string]Usage {
	out := make(map[string]Usage, len(ids))
	for _, id := range ids {
		out[id] = Usage{Total: c[CounterKey{id, ""}], ByEmail: c[CounterKey{id, mailbox}]}
	}
	for _, r := range own {
		u, ok := out[r.PromotionID]
		if !ok {
			continue
		}
		u.Total--
		if r.MailboxKey == mailbox {
			u.ByEmail--
		}
		out[r.PromotionID] = u
	}
	return out
}

// RedemptionChange is what an order's redemption records become: records
// given back and records made, and the counters they change (their new
// values).
type RedemptionChange struct {
	Release  []Redemption
	Redeem   []Redemption
	Counters Counters
}

// Empty reports whether the change writes nothing.
func (ch RedemptionChange) Empty() bool { return len(ch.Release) == 0 && len(ch.Redeem) == 0 }

// Split sorts an order's live records by whether they still price it: a
// record is kept when the order applies its promotion (applied) for the
// same mailbox; every other is dropped (a code removed, or the customer's
// email changed).
func Split(live []Redemption, applied []string, mailbox string) (keep, drop []Redemption) {
	for _, r := range live {
		if mailbox != "" && r.MailboxKey == mailbox && slices.Contains(applied, r.PromotionID) {
			keep = append(keep, r)
		} else {
			drop = append(drop, r)
		}
	}
	return keep, drop
}

// Follow gives back the live records that no longer price the order
// (see Split) and makes no new one: what a re-pricing does, so that a
// dropped code never keeps a limited promotion from the next customer.
// It returns the change and the promotions the order still holds.
func Follow(counters Counters, live []Redemption, applied []string, mailbox string) (RedemptionChange, []string) {
	keep, drop := Split(live, applied, mailbox)
	return tally(counters, drop, nil), promotionIDs(keep)
}

// Commit makes the order's records follow its pricing: the live records
// that no longer price it are given back, and each promotion applied and
// not yet held is redeemed for mailbox. Committing what is already held
// changes nothing.
func Commit(counters Counters, live []Redemption, applied []string, mailbox string) RedemptionChange {
	keep, drop := Split(live, applied, mailbox)
	var redeem []Redemption
	for _, id := range applied {
		if slices.ContainsFunc(keep, func(r Redemption) bool { return r.PromotionID == id }) ||
			slices.ContainsFunc(redeem, func(r Redemption) bool { return r.PromotionID == id }) {
			continue
		}
		redeem = append(redeem, Redemption{PromotionID: id, MailboxKey: mailbox})
	}
	return tally(counters, drop, redeem)
}

// ReleaseAll gives back every live record (the order expired or was
// canceled): the records, not the order's pricing, so that a code dropped
// after it was committed is given back too.
func ReleaseAll(counters Counters, live []Redemption) RedemptionChange {
	return tally(counters, live, nil)
}

// tally is the change that releases release and makes redeem, with the
// counters it changes: each record given back takes one use off its
// promotion's total and its mailbox's count, each record made adds one;
// no counter goes below 0.
func tally(counters Counters, release, redeem []Redemption) RedemptionChange {
	ch := RedemptionChange{Release: release, Redeem: redeem}
	if ch.Empty() {
		return ch
	}
	ch.Counters = Counters{}
	add := func(k CounterKey, delta int64) {
		v, ok := ch.Counters[k]
		if !ok {
			v = counters[k]
		}
		ch.Counters[k] = max(0, v+delta)
	}
	for _, r := range release {
		add(CounterKey{r.PromotionID, ""}, -1)
		add(CounterKey(r), -1)
	}
	for _, r := range redeem {
		add(CounterKey{r.PromotionID, ""}, +1)
		add(CounterKey(r), +1)
	}
	return ch
}

// Keys returns the counters' keys, sorted (for a stable order of reads and
// writes).
func (c Counters) Keys() []CounterKey {
	out := make([]CounterKey, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PromotionID != out[j].PromotionID {
			return out[i].PromotionID < out[j].PromotionID
		}
		return out[i].MailboxKey < out[j].MailboxKey
	})
	return out
}

func promotionIDs(recs []Redemption) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.PromotionID
	}
	return out
}
