package functions

// Issue 21, part 3: promotions as the owner edits them — checked by the
// rules the engine applies, every change recorded with who, when, before
// and after, safe to repeat — and what the command accepted is what the
// checkout then applies.

import (
	"context"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
	"github.com/readyplanner/oms/internal/testenv"

	owners "github.com/readyplanner/oms/internal/owner"
)

func TestOwnerEditsPromotions(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	who := &identity.Identity{UID: testenv.ID("owner"), Claims: map[string]any{a.Config.AdminClaim: true}}
	cmd := a.OwnerApp.Commands
	id, code := testenv.ID("ten-off"), strings.ToUpper(testenv.ID("TEN"))
	ten := promotion.Promotion{ID: id, Name: "Ten off", Description: "10% off the order", Active: true, Kind: promotion.PercentOffOrder, Percent: 10, Code: code}

	// Refused by the engine's rules, with the field named; nothing saved.
	bad := ten
	bad.Percent = 120
	if _, err := cmd.SavePromotion(ctx, who, owners.SavePromotion{RequestID: testenv.ID("req"), Promotion: bad}); apperr.CodeOf(err) != apperr.Invalid || apperr.As(err).Field != "percent" {
		t.Errorf("a promotion of 120%%: %v", err)
	}
	if _, err := cmd.SavePromotion(ctx, &identity.Identity{UID: "shopper"}, owners.SavePromotion{RequestID: testenv.ID("req"), Promotion: ten}); apperr.CodeOf(err) != apperr.PermissionDenied {
		t.Errorf("a customer saved a promotion: %v", err)
	}
	if ps := promotionsNamed(t, a, who, id); len(ps) != 0 {
		t.Fatalf("a refused promotion was saved: %+v", ps)
	}

	// Accepted, then repeated under its request id: saved once.
	req := testenv.ID("save-ten")
	for i := 0; i < 2; i++ {
		if _, err := cmd.SavePromotion(ctx, who, owners.SavePromotion{RequestID: req, Promotion: ten}); err != nil {
			t.Fatal(err)
		}
	}
	other := ten
	other.Percent = 15
	if _, err := cmd.SavePromotion(ctx, who, owners.SavePromotion{RequestID: req, Promotion: other}); apperr.CodeOf(err) != apperr.Invalid || apperr.As(err).Reason != order.ReasonRequestReused {
		t.Errorf("the same request id, another promotion: %v", err)
	}
	changes, err := a.Firestore.Collection("promotionChanges").Where("promotionId", "==", id).Documents(ctx).GetAll()
	if err != nil || len(changes) != 1 {
		t.Fatalf("change records: %d %v", len(changes), err)
	}
	if c := changes[0].Data(); c["actor"] != "owner:"+who.UID || c["before"] != nil || c["after"].(map[string]any)["percent"] != int64(10) {
		t.Errorf("the change record: %v", c)
	}

	// What the command accepted is what the checkout applies.
	u, oid := checkedOut(t, a, s, "A", 2) // 18.00
	ans := apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": oid, "name": "Ann Lee", "email": testenv.ID("ann") + "@example.com", "code": code})
	if ans.status != 200 || ans.Result.Discount != 180 || ans.Result.Code == nil || ans.Result.Code.Status != "applied" {
		t.Fatalf("the saved promotion at checkout: %d %+v %+v", ans.status, ans.Result, ans.Error)
	}
	if ps := promotionsNamed(t, a, who, id); len(ps) != 1 || ps[0].Promotion.Percent != 10 || !ps[0].Promotion.Active {
		t.Errorf("the promotions listed: %+v", ps)
	}

	// Ended: recorded with before and after; the code applies no more.
	if _, err := cmd.EndPromotion(ctx, who, owners.EndPromotion{RequestID: testenv.ID("end"), ID: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.EndPromotion(ctx, who, owners.EndPromotion{RequestID: testenv.ID("end"), ID: "no-such-promotion"}); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("ending an unknown promotion: %v", err)
	}
	ans = apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": oid, "name": "Ann Lee", "email": testenv.ID("ann") + "@example.com", "code": code})
	if ans.status != 200 || ans.Result.Discount != 0 || ans.Result.Code == nil || ans.Result.Code.Status == "applied" {
		t.Errorf("an ended promotion at checkout: %+v", ans.Result)
	}
	if changes, _ := a.Firestore.Collection("promotionChanges").Where("promotionId", "==", id).Documents(ctx).GetAll(); len(changes) != 2 {
		t.Errorf("change records after the end: %d", len(changes))
	}

	// A stored promotion that cannot be read is listed with why, and can
	// be ended all the same (inactive, its first form kept in the record).
	broken := testenv.ID("broken")
	if _, err := a.Firestore.Collection("promotions").Doc(broken).Set(ctx, map[string]any{"name": "Broken", "active": false, "kind": "percent_off_order", "percent": int64(400)}); err != nil {
		t.Fatal(err)
	}
	if ps := promotionsNamed(t, a, who, broken); len(ps) != 1 || ps[0].Malformed == "" {
		t.Errorf("a malformed promotion listed: %+v", ps)
	}
	if _, err := cmd.EndPromotion(ctx, who, owners.EndPromotion{RequestID: testenv.ID("end"), ID: broken}); err != nil {
		t.Errorf("ending a malformed promotion: %v", err)
	}
}

// promotionsNamed lists the owner's promotions with id.
func promotionsNamed(t *testing.T, a *app.App, who *identity.Identity, id string) []owners.PromotionUsage {
	t.Helper()
	all, err := a.OwnerApp.Promotions(context.Background(), who)
	if err != nil {
		t.Fatal(err)
	}
	var out []owners.PromotionUsage
	for _, p := range all {
		if p.Promotion.ID == id {
			out = append(out, p)
		}
	}
	return out
}
