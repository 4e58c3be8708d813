package order

import (
	"errors"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// A session's life on the order: planned (holds stretched, strays kept),
// made, closed; a plan the order moved past is superseded.
func TestSessionLife(t *testing.T) {
	o := payable(t)
	if _, err := o.PlanSession(t0.Add(time.Hour)); !errors.Is(err, ErrSessionOpen) {
		t.Fatalf("plan with an open session: %v, want ErrSessionOpen", err)
	}
	if o.CloseSession("cs_other") || !o.CloseSession("cs_1") || o.CloseSession("cs_1") {
		t.Fatal("CloseSession: only the current open session closes, once")
	}
	o.Payment.Strays = []StrayPayment{{IntentID: "pi_x"}}
	o.HoldExpiresAt = t0.Add(30 * time.Minute)
	plan, err := o.PlanSession(t0.Add(time.Hour))
	if err != nil || plan.Attempt != 3 || plan.Revision != 3 || plan.SessionID != "" || len(plan.Strays) != 1 || !o.HoldExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("plan %+v err=%v holds until %v", plan, err, o.HoldExpiresAt)
	}
	if o.SessionOpen() {
		t.Error("a planned session is open before it is made")
	}
	if !o.SessionPlanFailed(3) || !o.Payment.ExpiresAt.IsZero() || o.SessionPlanFailed(3) || o.SessionPlanFailed(2) {
		t.Error("SessionPlanFailed: only the plan of that attempt, once")
	}
	plan, _ = o.PlanSession(t0.Add(time.Hour))
	if changed, err := o.SessionMade(plan, "cs_2", "https://pay/2"); !changed || err != nil || !o.SessionOpen() || o.Payment.URL != "https://pay/2" {
		t.Fatalf("SessionMade: changed=%v err=%v payment=%+v", changed, err, o.Payment)
	}
	if changed, err := o.SessionMade(plan, "cs_2", "https://pay/2"); changed || err != nil {
		t.Errorf("SessionMade again: changed=%v err=%v", changed, err)
	}
	old := plan
	old.Attempt--
	if _, err := o.SessionMade(old, "cs_3", "u"); !errors.Is(err, ErrSessionSuperseded) {
		t.Errorf("an old plan: %v, want ErrSessionSuperseded", err)
	}
	if _, err := at(t, Expired).PlanSession(t0); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Errorf("plan of an expired order: %v, want FAILED_PRECONDITION", err)
	}
}

func TestAuthorize(t *testing.T) {
	o := payable(t)
	a := Authorization{SessionID: "cs_1", IntentID: "pi_1", Amount: o.Total().Amount, CaptureBefore: t0.Add(7 * 24 * time.Hour), CardBrand: "visa", CardLast4: "4242"}
	bad := a
	bad.Amount--
	if ok, err := o.Authorize(bad, "stripe", t0); ok || reasonOf(err) != RefusedAmount || o.State() != Pending || o.Payment.IntentID != "" {
		t.Fatalf("a refused authorization: ok=%v err=%v state=%s", ok, err, o.State())
	}
	if ok, err := o.Authorize(a, "stripe", t0); !ok || err != nil || o.State() != Authorized {
		t.Fatalf("Authorize: ok=%v err=%v state=%s", ok, err, o.State())
	}
	if p := o.Payment; p.IntentID != "pi_1" || p.AmountCapturable != a.Amount || !p.CaptureBefore.Equal(a.CaptureBefore) || p.CardLast4 != "4242" {
		t.Errorf("payment %+v", *p)
	}
	if ok, err := o.Authorize(a, "stripe", t0); ok || err != nil {
		t.Errorf("Authorize again: ok=%v err=%v, want nothing to do", ok, err)
	}
	if !o.LapseWarned(t0) || o.LapseWarned(t0.Add(time.Hour)) || !o.Payment.LapseWarnedAt.Equal(t0) {
		t.Error("LapseWarned: once, keeping the first flag")
	}
}

func TestRepriceAndCommit(t *testing.T) {
	o := payable(t)
	o.Pricing.Redeemed, o.Pricing.Code = []string{"p1"}, "OLD"
	d := Discounts{Code: "TEN", CodeStatus: "applied", Promotions: []AppliedPromotion{{ID: "p2", Discount: money.New(200, "USD")}},
		LineDiscounts: []money.Money{money.New(200, "USD")}, ShippingDiscount: money.New(0, "USD")}
	if d.SamePromotions(o.Pricing) {
		t.Error("other promotions are the same")
	}
	if err := o.Reprice(d); err != nil {
		t.Fatal(err)
	}
	if p := o.Pricing; p.Revision != 4 || p.CommittedRevision != 3 || p.Code != "TEN" || len(p.Redeemed) != 1 || o.Total().Amount != 2300 || !d.SamePromotions(p) {
		t.Errorf("repriced %+v total %d", p, o.Total().Amount)
	}
	if !o.CommitPricing() || o.Pricing.CommittedRevision != 4 || o.CommitPricing() {
		t.Error("CommitPricing: once, at the current revision")
	}
	before := o.Pricing
	for name, bad := range map[string]Discounts{
		"no line discounts":        {},
		"more than the line":       {LineDiscounts: []money.Money{money.New(2001, "USD")}},
		"negative":                 {LineDiscounts: []money.Money{money.New(-1, "USD")}},
		"more than the shipping":   {LineDiscounts: []money.Money{money.New(0, "USD")}, ShippingDiscount: money.New(501, "USD")},
		"negative shipping":        {LineDiscounts: []money.Money{money.New(0, "USD")}, ShippingDiscount: money.New(-1, "USD")},
		"a discount per line more": {LineDiscounts: []money.Money{money.New(0, "USD"), money.New(0, "USD")}},
	} {
		if err := o.Reprice(bad); apperr.CodeOf(err) != apperr.Internal || o.Pricing.Revision != before.Revision {
			t.Errorf("%s: %v (revision %d), want INTERNAL and nothing changed", name, err, o.Pricing.Revision)
		}
	}
	if !o.RecordRedeemed([]string{"p2"}) || o.RecordRedeemed([]string{"p2"}) || !o.ReleaseRedemptions() || o.ReleaseRedemptions() {
		t.Error("RecordRedeemed and ReleaseRedemptions: each changes once")
	}
}

func TestReplaceCart(t *testing.T) {
	o := payable(t)
	c := Cart{Subtotal: money.New(100, "USD"), Hash: "h2", HoldExpiresAt: t0.Add(time.Hour)}
	if err := o.ReplaceCart(c, t0); !errors.Is(err, ErrSessionOpen) {
		t.Fatalf("with an open session: %v, want ErrSessionOpen", err)
	}
	o.CloseSession("cs_1")
	o.Pricing.Code, o.Pricing.LineDiscounts = "TEN", []money.Money{money.New(1, "USD")}
	if err := o.ReplaceCart(c, t0); err != nil {
		t.Fatal(err)
	}
	if p := o.Pricing; p.Revision != 4 || p.Code != "TEN" || p.CommittedRevision != 3 || len(p.LineDiscounts) != 0 || o.Shipping != nil || o.CartHash != "h2" {
		t.Errorf("after ReplaceCart: pricing %+v shipping %v hash %s", p, o.Shipping, o.CartHash)
	}
	if err := at(t, Authorized).ReplaceCart(c, t0); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Errorf("authorized: %v, want FAILED_PRECONDITION", err)
	}
}
