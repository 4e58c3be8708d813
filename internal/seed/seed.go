// Package seed writes the demo store the local system runs with: planners
// printed on demand in a few variants, stocked items (some low on stock),
// one item on sale, and example promotions. Running it twice leaves the same
// store: catalog and promotions are overwritten with the same data, and
// inventory is created only where none exists, so holds and stock changes
// made while trying the system out survive a re-seed.
package seed

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/promotion"
)

// Report says what Seed wrote.
type Report struct {
	Products, SKUs, Promotions int
	InventoryCreated           int // inventory documents that did not exist
	InventoryKept              int // inventory documents left as they were
}

type sku struct {
	id, product, name string
	price             int64
	kind              string // "stock" or "print_on_demand"
	weightGrams       int
	sizeMM            [3]int
	onHand            int // stock SKUs only
	sale              int64
	qbItem            string
	podPackage        string
}

var products = []struct {
	id, name, description string
}{
	{"planner-daily", "Daily Planner", "A dated daily planner, one page a day, printed and bound when you order it."},
	{"planner-weekly", "Weekly Planner", "A week on two pages with habit trackers, printed when you order it."},
	{"pen-set", "Fine-liner Pen Set", "Six archival fine-liners that do not bleed through planner paper."},
	{"sticker-pack", "Planner Sticker Pack", "120 functional stickers for appointments, deadlines and habits."},
	{"bookmark", "Elastic Bookmark Band", "Keeps your planner closed and your page marked."},
}

var skus = []sku{
	{id: "PLN-DAY-A5-LINEN", product: "planner-daily", name: "Daily Planner, A5, linen cover", price: 3800, kind: "print_on_demand", weightGrams: 620, sizeMM: [3]int{216, 154, 28}, qbItem: "Daily Planner A5", podPackage: "0583X0827FCSTDCW080CW444MXX"},
	{id: "PLN-DAY-A5-SOFT", product: "planner-daily", name: "Daily Planner, A5, softcover", price: 3200, kind: "print_on_demand", weightGrams: 540, sizeMM: [3]int{216, 154, 24}, qbItem: "Daily Planner A5", podPackage: "0583X0827FCSTDPB080CW444MXX"},
	{id: "PLN-WK-A5-LINEN", product: "planner-weekly", name: "Weekly Planner, A5, linen cover", price: 3400, kind: "print_on_demand", weightGrams: 480, sizeMM: [3]int{216, 154, 20}, qbItem: "Weekly Planner A5", podPackage: "0583X0827.FC.STD.CW.080CW444.MXX"},
	{id: "PLN-WK-LTR-SOFT", product: "planner-weekly", name: "Weekly Planner, US Letter, softcover", price: 2900, kind: "print_on_demand", weightGrams: 560, sizeMM: [3]int{279, 216, 16}, qbItem: "Weekly Planner Letter", podPackage: "0850X1100.FC.STD.PB.080CW444.MXX"},
	{id: "PEN-SET-6", product: "pen-set", name: "Fine-liner Pen Set (6 colours)", price: 1800, kind: "stock", weightGrams: 90, sizeMM: [3]int{160, 70, 15}, onHand: 24, qbItem: "Pen Set"},
	{id: "STK-PACK-120", product: "sticker-pack", name: "Planner Sticker Pack (120)", price: 900, kind: "stock", weightGrams: 40, sizeMM: [3]int{180, 110, 3}, onHand: 3, sale: 650, qbItem: "Sticker Pack"},
	{id: "BND-BLACK", product: "bookmark", name: "Bookmark Band, black", price: 600, kind: "stock", weightGrams: 15, sizeMM: [3]int{220, 20, 5}, onHand: 40, qbItem: "Bookmark Band"},
	{id: "BND-SAGE", product: "bookmark", name: "Bookmark Band, sage", price: 600, kind: "stock", weightGrams: 15, sizeMM: [3]int{220, 20, 5}, onHand: 1, qbItem: "Bookmark Band"},
}

// Seed writes the demo store. now places the sale window (it began
// yesterday and ends in 30 days, whole days in UTC) and the promotions'
// dates.
func Seed(ctx context.Context, c *firestore.Client, now time.Time) (Report, error) {
	var r Report
	day := now.UTC().Truncate(24 * time.Hour)
	// Promotions and stock through their stores, the only writers of
	// their collections. Stock only where there is none: a re-seed keeps
	// holds and counts.
	orders := firestoredb.NewOrders(c, nil)
	promos := firestoredb.NewPromotions(orders, time.UTC)
	for _, p := range promotions(day) {
		if err := promos.Save(ctx, p); err != nil {
			return r, fmt.Errorf("seed: %w", err)
		}
		r.Promotions++
	}
	stock := firestoredb.NewCheckouts(orders, time.UTC)
	cat := firestoredb.NewCatalog(stock)
	for _, p := range products {
		var ids []string
		for _, s := range skus {
			if s.product == p.id {
				ids = append(ids, s.id)
			}
		}
		if err := cat.SaveProduct(ctx, p.id, p.name, p.description, ids); err != nil {
			return r, fmt.Errorf("seed: %w", err)
		}
		r.Products++
	}
	for _, s := range skus {
		k := catalog.SKU{ID: s.id, ProductID: s.product, Name: s.name, Active: true, Price: money.New(s.price, "USD"),
			Fulfillment: catalog.Fulfillment(s.kind), WeightGrams: int64(s.weightGrams), SizeMM: [3]int64{int64(s.sizeMM[0]), int64(s.sizeMM[1]), int64(s.sizeMM[2])}, QuickBooksItem: s.qbItem, MaxPerOrder: 10}
		if s.sale > 0 {
			k.Sale = &catalog.Sale{Price: money.New(s.sale, "USD"), StartsAt: day.Add(-24 * time.Hour), EndsAt: day.Add(30 * 24 * time.Hour)}
		}
		if s.kind == "print_on_demand" {
			k.Printer = &catalog.PrintFiles{PodPackageID: s.podPackage,
				InteriorURL: "https://files.example.com/planners/" + s.id + "/interior.pdf",
				CoverURL:    "https://files.example.com/planners/" + s.id + "/cover.pdf"}
		}
		if err := cat.SaveSKU(ctx, k); err != nil {
			return r, fmt.Errorf("seed: %w", err)
		}
		r.SKUs++
	}
	for _, s := range skus {
		if s.kind != "stock" {
			continue
		}
		// Low stock: fewer than 2 available units.
		created, err := stock.OpenStock(ctx, s.id, int64(s.onHand), 2, "seed")
		switch {
		case err != nil:
			return r, fmt.Errorf("seed: %w", err)
		case created:
			r.InventoryCreated++
		default:
			r.InventoryKept++
		}
	}
	return r, nil
}

func promotions(day time.Time) []promotion.Promotion {
	start, year := day.Add(-24*time.Hour), day.Add(365*24*time.Hour)
	return []promotion.Promotion{
		{ID: "welcome10", Name: "10% off your first order", Description: "10% off your first planner order.",
			Kind: promotion.PercentOffOrder, Percent: 10, Code: "WELCOME10", FirstOrderOnly: true,
			Priority: 20, StartsAt: start, EndsAt: year, Active: true},
		{ID: "friends-family", Name: "Friends and family", Description: "20% off everything, with love.",
			Kind: promotion.PercentOffOrder, Percent: 20, Emails: []string{"friend@example.com", "aunt.may@example.com"},
			Exclusive: true, Priority: 10, MaxRedemptionsPerEmail: 3, StartsAt: start, EndsAt: year, Active: true},
		{ID: "newsletter-pens", Name: "Newsletter: $5 off pens", Description: "$5 off the fine-liner set for newsletter subscribers.",
			Kind: promotion.AmountOffItems, Amount: money.New(500, "USD"), SKUs: []string{"PEN-SET-6"}, Emails: []string{"reader@example.com"},
			Priority: 30, StartsAt: start, EndsAt: year, Active: true},
		{ID: "free-shipping-75", Name: "Free shipping over $75", Description: "Free standard shipping on orders of $75 or more.",
			Kind: promotion.FreeShipping, MinSubtotal: money.New(7500, "USD"),
			Priority: 40, MaxRedemptions: 500, StartsAt: start, EndsAt: year, Active: true},
	}
}
