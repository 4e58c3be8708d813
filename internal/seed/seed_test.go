package seed

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/promotion"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func TestSeedTwice(t *testing.T) {
	env := testenv.Firestore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	first, err := Seed(ctx, env.Client, now)
	if err != nil {
		t.Fatal(err)
	}
	if first.Products != 5 || first.SKUs != 8 || first.Promotions != 4 || first.InventoryCreated != 4 {
		t.Errorf("first seed: %+v", first)
	}
	// Someone holds a sticker pack between the two seeds; a re-seed keeps it.
	if _, err := env.Client.Collection("inventory").Doc("STK-PACK-120").Update(ctx, []firestore.Update{{Path: "held", Value: 1}}); err != nil {
		t.Fatal(err)
	}
	second, err := Seed(ctx, env.Client, now)
	if err != nil {
		t.Fatal(err)
	}
	if second.InventoryCreated != 0 || second.InventoryKept != 4 || second.SKUs != 8 {
		t.Errorf("second seed: %+v", second)
	}
	snap, err := env.Client.Collection("inventory").Doc("STK-PACK-120").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if held, _ := snap.DataAt("held"); held != int64(1) {
		t.Errorf("re-seed reset held to %v", held)
	}

	// The store is believable: low stock, a sale running now, both kinds.
	sale, err := env.Client.Collection("skus").Doc("STK-PACK-120").Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	starts, _ := sale.DataAt("sale.startsAt")
	ends, _ := sale.DataAt("sale.endsAt")
	if !starts.(time.Time).Before(now) || !ends.(time.Time).After(now) {
		t.Errorf("the sale is not running at seed time: %v – %v", starts, ends)
	}
	pod, _ := env.Client.Collection("skus").Doc("PLN-DAY-A5-LINEN").Get(ctx)
	if k, _ := pod.DataAt("fulfillment"); k != "print_on_demand" {
		t.Errorf("planner fulfilment %v", k)
	}
	if _, err := env.Client.Collection("inventory").Doc("PLN-DAY-A5-LINEN").Get(ctx); err == nil {
		t.Error("print-on-demand SKUs must have no inventory document")
	}

	// The promotions read back as the seed wrote them, through their store.
	got, err := firestoredb.NewPromotions(firestoredb.NewOrders(env.Client, nil), time.UTC).Active(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := promotions(now.Truncate(24 * time.Hour))
	if len(got) != len(want) {
		t.Fatalf("%d promotions read back, want %d", len(got), len(want))
	}
	for _, w := range want {
		i := slices.IndexFunc(got, func(p promotion.Promotion) bool { return p.ID == w.ID })
		if i < 0 {
			t.Errorf("promotion %s not read back", w.ID)
		} else if g, w := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", w); g != w { // nil and empty lists alike
			t.Errorf("promotion read back as\n%s\nwant\n%s", g, w)
		}
	}
}
