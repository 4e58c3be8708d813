package checkout

import (
	"errors"
	"reflect"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/promotion"
)

// The decisions about redemptions are pure: these tables need no
// emulator (the store's transaction and contention are tested in
// functions/applycustomer_test.go).

var tenOff = promotion.Promotion{ID: "ten", Name: "Ten", Active: true, Kind: promotion.PercentOffOrder, Percent: 10,
	MaxRedemptions: 5, MaxRedemptionsPerEmail: 1}

func rec(id, mailbox string) promotion.Redemption {
	return promotion.Redemption{PromotionID: id, MailboxKey: mailbox}
}

// pricedOrder is a pending order of ann's, priced with tenOff (unused so
// far), not committed.
func pricedOrder(t *testing.T) *order.Order {
	t.Helper()
	o, err := order.New("o1", "u1", "USD", now)
	if err != nil {
		t.Fatal(err)
	}
	o.Lines = []pricing.Line{{SKU: "PLN", ProductID: "planner", Quantity: 1, UnitPrice: money.New(5000, "USD"), Total: money.New(5000, "USD")}}
	o.Customer = &order.Customer{Name: "Ann", Email: "ann@example.com", MailboxKey: "ann"}
	Reprice(o, []promotion.Promotion{tenOff}, nil, false, false, "", now)
	if len(o.Pricing.Promotions) != 1 {
		t.Fatalf("setup: %+v", o.Pricing)
	}
	return o
}

func TestDecideCommit(t *testing.T) {
	errOnCommit := errors.New("session refused")
	tests := []struct {
		name       string
		setup      func(o *order.Order) // before the decision
		live       []promotion.Redemption
		counters   promotion.Counters
		candidates []string
		onCommit   func(*order.Order) (bool, error)

		wantCode     apperr.Code // "" for no error
		wantErr      error
		wantWrite    RedemptionWrite
		wantRepriced bool
		wantRedeemed []string
		wantApplied  int  // promotions the order applies afterwards
		wantCommit   bool // CommittedRevision == Revision afterwards
	}{
		{
			name:       "free promotion: committed and redeemed",
			counters:   promotion.Counters{{PromotionID: "ten"}: 2},
			candidates: []string{"ten"},
			wantWrite: RedemptionWrite{WriteOrder: true, Change: promotion.RedemptionChange{Redeem: []promotion.Redemption{rec("ten", "ann")},
				Counters: promotion.Counters{{PromotionID: "ten"}: 3, {PromotionID: "ten", MailboxKey: "ann"}: 1}}},
			wantRedeemed: []string{"ten"}, wantApplied: 1, wantCommit: true,
		},
		{
			name:         "others used the last one: re-priced, nothing redeemed",
			counters:     promotion.Counters{{PromotionID: "ten"}: 5},
			candidates:   []string{"ten"},
			wantWrite:    RedemptionWrite{WriteOrder: true},
			wantRepriced: true, wantApplied: 0,
		},
		{
			name:         "the mailbox used its one: re-priced",
			counters:     promotion.Counters{{PromotionID: "ten"}: 1, {PromotionID: "ten", MailboxKey: "ann"}: 1},
			candidates:   []string{"ten"},
			wantWrite:    RedemptionWrite{WriteOrder: true},
			wantRepriced: true, wantApplied: 0,
		},
		{
			name:       "its own record is not counted against it: kept, nothing more redeemed",
			live:       []promotion.Redemption{rec("ten", "ann")},
			counters:   promotion.Counters{{PromotionID: "ten"}: 5, {PromotionID: "ten", MailboxKey: "ann"}: 1},
			candidates: []string{"ten"},
			wantWrite:  RedemptionWrite{WriteOrder: true}, wantRedeemed: []string{"ten"}, wantApplied: 1, wantCommit: true,
		},
		{
			name:       "a promotion no longer applied since the last commit is given back, the new one redeemed",
			live:       []promotion.Redemption{rec("old", "ann")},
			counters:   promotion.Counters{{PromotionID: "old"}: 4, {PromotionID: "old", MailboxKey: "ann"}: 1},
			candidates: []string{"old", "ten"},
			wantWrite: RedemptionWrite{WriteOrder: true, Change: promotion.RedemptionChange{Release: []promotion.Redemption{rec("old", "ann")},
				Redeem: []promotion.Redemption{rec("ten", "ann")},
				Counters: promotion.Counters{{PromotionID: "old"}: 3, {PromotionID: "old", MailboxKey: "ann"}: 0,
					{PromotionID: "ten"}: 1, {PromotionID: "ten", MailboxKey: "ann"}: 1}}},
			wantRedeemed: []string{"ten"}, wantApplied: 1, wantCommit: true,
		},
		{
			name:       "already committed: nothing without onCommit",
			setup:      func(o *order.Order) { o.Pricing.CommittedRevision = o.Pricing.Revision },
			candidates: []string{"ten"},
			wantWrite:  RedemptionWrite{}, wantApplied: 1, wantCommit: true,
		},
		{
			name:       "already committed: only onCommit runs",
			setup:      func(o *order.Order) { o.Pricing.CommittedRevision = o.Pricing.Revision },
			candidates: []string{"ten"},
			onCommit:   func(*order.Order) (bool, error) { return true, nil },
			wantWrite:  RedemptionWrite{WriteOrder: true}, wantApplied: 1, wantCommit: true,
		},
		{
			name:       "onCommit fails: nothing is written",
			candidates: []string{"ten"},
			onCommit:   func(*order.Order) (bool, error) { return false, errOnCommit },
			wantErr:    errOnCommit, wantApplied: 1,
		},
		{
			name:     "applies a promotion outside the candidates: re-priced meanwhile",
			wantCode: apperr.Aborted, wantApplied: 1,
		},
		{
			name:       "holds a record outside the candidates: re-priced meanwhile",
			live:       []promotion.Redemption{rec("old", "ann")},
			candidates: []string{"ten"},
			wantCode:   apperr.Aborted, wantApplied: 1,
		},
		{
			name:       "no customer",
			setup:      func(o *order.Order) { o.Customer = nil },
			candidates: []string{"ten"},
			wantCode:   apperr.FailedPrecondition, wantApplied: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := pricedOrder(t)
			if tt.setup != nil {
				tt.setup(o)
			}
			l := &Redemptions{Order: o, Live: tt.live, Counters: tt.counters}
			w, repriced, err := decideCommit(l, commitInput{Candidates: tt.candidates, Promotions: []promotion.Promotion{tenOff},
				Paid: false, Now: now, OnCommit: tt.onCommit})
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
			case tt.wantCode != "":
				if apperr.CodeOf(err) != tt.wantCode {
					t.Fatalf("err %v, want %s", err, tt.wantCode)
				}
			case err != nil:
				t.Fatal(err)
			}
			if err != nil {
				if !reflect.DeepEqual(w, RedemptionWrite{}) {
					t.Errorf("write %+v with an error", w)
				}
				return // the order as the decision left it is not saved
			}
			if !reflect.DeepEqual(w, tt.wantWrite) {
				t.Errorf("write %+v, want %+v", w, tt.wantWrite)
			}
			if repriced != tt.wantRepriced {
				t.Errorf("repriced %v, want %v", repriced, tt.wantRepriced)
			}
			if tt.wantRedeemed != nil && !reflect.DeepEqual(o.Pricing.Redeemed, tt.wantRedeemed) {
				t.Errorf("redeemed %v, want %v", o.Pricing.Redeemed, tt.wantRedeemed)
			}
			if len(o.Pricing.Promotions) != tt.wantApplied {
				t.Errorf("applies %d promotions, want %d", len(o.Pricing.Promotions), tt.wantApplied)
			}
			if got := o.Pricing.CommittedRevision == o.Pricing.Revision; got != tt.wantCommit {
				t.Errorf("committed %v, want %v (%+v)", got, tt.wantCommit, o.Pricing)
			}
		})
	}
}

func TestFollowPricing(t *testing.T) {
	errChange := errors.New("not pending")
	dropCode := func(o *order.Order) (bool, error) { Reprice(o, nil, nil, false, false, "", now); return true, nil }
	tests := []struct {
		name         string
		live         []promotion.Redemption
		change       func(*order.Order) (bool, error)
		wantErr      error
		wantWrite    RedemptionWrite
		wantRedeemed []string
	}{
		{
			name:   "nothing changed: nothing written",
			live:   []promotion.Redemption{rec("ten", "ann")},
			change: func(*order.Order) (bool, error) { return false, nil },
		},
		{
			name:    "the change fails: nothing written",
			change:  func(*order.Order) (bool, error) { return true, errChange },
			wantErr: errChange,
		},
		{
			name:   "the code dropped: its record given back",
			live:   []promotion.Redemption{rec("ten", "ann")},
			change: dropCode,
			wantWrite: RedemptionWrite{WriteOrder: true, Change: promotion.RedemptionChange{Release: []promotion.Redemption{rec("ten", "ann")},
				Counters: promotion.Counters{{PromotionID: "ten"}: 1, {PromotionID: "ten", MailboxKey: "ann"}: 0}}},
			wantRedeemed: []string{},
		},
		{
			name: "another email: the record of the old mailbox given back",
			live: []promotion.Redemption{rec("ten", "ann")},
			change: func(o *order.Order) (bool, error) {
				o.Customer = &order.Customer{Name: "Bob", Email: "bob@example.com", MailboxKey: "bob"}
				return true, nil
			},
			wantWrite: RedemptionWrite{WriteOrder: true, Change: promotion.RedemptionChange{Release: []promotion.Redemption{rec("ten", "ann")},
				Counters: promotion.Counters{{PromotionID: "ten"}: 1, {PromotionID: "ten", MailboxKey: "ann"}: 0}}},
			wantRedeemed: []string{},
		},
		{
			name:         "still applied: kept, nothing redeemed",
			live:         []promotion.Redemption{rec("ten", "ann")},
			change:       func(*order.Order) (bool, error) { return true, nil },
			wantWrite:    RedemptionWrite{WriteOrder: true},
			wantRedeemed: []string{"ten"},
		},
		{
			name:         "newly applied: not redeemed until committed",
			change:       func(*order.Order) (bool, error) { return true, nil },
			wantWrite:    RedemptionWrite{WriteOrder: true},
			wantRedeemed: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := pricedOrder(t)
			l := &Redemptions{Order: o, Live: tt.live, Counters: promotion.Counters{{PromotionID: "ten"}: 2, {PromotionID: "ten", MailboxKey: "ann"}: 1}}
			w, err := followPricing(l, tt.change)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(w, tt.wantWrite) {
				t.Errorf("write %+v, want %+v", w, tt.wantWrite)
			}
			if tt.wantRedeemed != nil && !reflect.DeepEqual(o.Pricing.Redeemed, tt.wantRedeemed) {
				t.Errorf("redeemed %v, want %v", o.Pricing.Redeemed, tt.wantRedeemed)
			}
		})
	}
}

func TestDecideRelease(t *testing.T) {
	tests := []struct {
		name         string
		live         []promotion.Redemption
		redeemed     []string
		released     bool // RedemptionsReleased before
		wantWrite    RedemptionWrite
		wantReleased bool
		wantFlag     bool
	}{
		{
			name: "live records: every one given back", live: []promotion.Redemption{rec("ten", "ann"), rec("old", "ann")}, redeemed: []string{"ten"},
			wantWrite: RedemptionWrite{WriteOrder: true, Change: promotion.RedemptionChange{Release: []promotion.Redemption{rec("ten", "ann"), rec("old", "ann")},
				Counters: promotion.Counters{{PromotionID: "ten"}: 2, {PromotionID: "ten", MailboxKey: "ann"}: 0,
					{PromotionID: "old"}: 0, {PromotionID: "old", MailboxKey: "ann"}: 0}}},
			wantReleased: true, wantFlag: true,
		},
		{
			name: "given back already (records released): the order is marked once", redeemed: []string{"ten"},
			wantWrite: RedemptionWrite{WriteOrder: true}, wantFlag: true,
		},
		{name: "marked already: nothing", redeemed: []string{"ten"}, released: true, wantFlag: true},
		{name: "nothing redeemed: nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := pricedOrder(t)
			o.Pricing.Redeemed, o.Pricing.RedemptionsReleased = tt.redeemed, tt.released
			l := &Redemptions{Order: o, Live: tt.live, Counters: promotion.Counters{{PromotionID: "ten"}: 3, {PromotionID: "ten", MailboxKey: "ann"}: 1}}
			w, released := decideRelease(l)
			if !reflect.DeepEqual(w, tt.wantWrite) {
				t.Errorf("write %+v, want %+v", w, tt.wantWrite)
			}
			if released != tt.wantReleased || o.Pricing.RedemptionsReleased != tt.wantFlag {
				t.Errorf("released %v, flag %v; want %v, %v", released, o.Pricing.RedemptionsReleased, tt.wantReleased, tt.wantFlag)
			}
		})
	}
}
