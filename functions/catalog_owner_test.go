package functions

// Issue 21, part 3: a SKU's price, sale window and availability as the
// owner sets them — checked by the rules the checkout prices by, every
// change recorded, safe to repeat — and the checkout prices by them.

import (
	"context"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/testenv"

	owners "github.com/readyplanner/oms/internal/owner"
)

func TestOwnerSetsPricing(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	who := &identity.Identity{UID: testenv.ID("owner"), Claims: map[string]any{a.Config.AdminClaim: true}}
	set := a.OwnerApp.Commands.SetPricing
	sku := s.sku["A"] // 9.00
	now := time.Now().UTC()

	// A sale dearer than the list price is refused, the field named.
	dear := owners.SetPricing{RequestID: testenv.ID("req"), SKU: sku, Price: money.New(1200, "USD"), Active: true,
		Sale: &catalog.Sale{Price: money.New(1300, "USD"), StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)}}
	if _, err := set(ctx, who, dear); apperr.CodeOf(err) != apperr.Invalid || apperr.As(err).Field != "sale.price" {
		t.Errorf("a sale dearer than the price: %v", err)
	}
	if _, err := set(ctx, who, owners.SetPricing{RequestID: testenv.ID("req"), SKU: "SKU-NONE-" + testenv.ID("x"), Price: money.New(100, "USD")}); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("an unknown SKU: %v", err)
	}

	// 12.00, on sale at 10.00 for the hour: set twice under one id.
	cmd := dear
	cmd.RequestID = testenv.ID("price")
	cmd.Sale = &catalog.Sale{Price: money.New(1000, "USD"), StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)}
	for i := 0; i < 2; i++ {
		got, err := set(ctx, who, cmd)
		if err != nil || got.Price.Amount != 1200 || got.Sale == nil || got.Sale.Price.Amount != 1000 {
			t.Fatalf("set pricing: %+v %v", got, err)
		}
	}
	changes, err := a.Firestore.Collection("skuChanges").Where("sku", "==", sku).Documents(ctx).GetAll()
	if err != nil || len(changes) != 1 || changes[0].Data()["actor"] != "owner:"+who.UID {
		t.Fatalf("change records: %d %v", len(changes), err)
	}
	if before := changes[0].Data()["before"].(map[string]any); before["price"].(map[string]any)["amount"] != int64(900) {
		t.Errorf("the record's before: %v", before)
	}
	other := cmd
	other.Price = money.New(1500, "USD")
	if _, err := set(ctx, who, other); apperr.CodeOf(err) != apperr.Invalid || apperr.As(err).Reason != order.ReasonRequestReused {
		t.Errorf("the same id, another price: %v", err)
	}

	// The checkout prices by what was set: on sale, 2 × 10.00.
	_, id := checkedOut(t, a, s, "A", 2)
	if o, _ := a.Orders.Get(ctx, id); o.Subtotal.Amount != 2000 {
		t.Errorf("priced at %d after the owner's sale, want 2000", o.Subtotal.Amount)
	}

	// Off sale: the SKU is not for sale any more.
	off := owners.SetPricing{RequestID: testenv.ID("off"), SKU: sku, Price: money.New(1200, "USD"), Active: false}
	if _, err := set(ctx, who, off); err != nil {
		t.Fatal(err)
	}
	u := user(t)
	s.cart(u.UID, "A", 1)
	if ans := call(t, startCheckout(a), u.IDToken); ans.status == 200 {
		t.Errorf("a SKU the owner took off sale was checked out")
	}
}
