package owner

import (
	"context"

	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
)

// Application is the owner's side of the application, in one place (as
// wild-workouts' app.Application): every command the owner can give, for
// the owner's callables now and the console next, and every query the
// console reads. Each command carries a request id, so that a repeat is
// the same act (see the commands' types).
type Application struct {
	Commands Commands
	Queries  *Reads
	// Promotions answers the promotions with their usage (the commands
	// that edit them are SavePromotion and EndPromotion).
	Promotions func(context.Context, *identity.Identity) ([]PromotionUsage, error)
}

// Commands are the owner's commands.
type Commands struct {
	RetryOrder  func(context.Context, *identity.Identity, RetryOrder) (*order.Order, error)
	CancelOrder func(context.Context, *identity.Identity, CancelOrder) (*order.Order, error)
	RefundOrder func(context.Context, *identity.Identity, RefundOrder) (*order.Order, order.Refund, error)
	MarkShipped func(context.Context, *identity.Identity, MarkShipped) (*order.Order, error)
	// BuyLabel buys the parcel's label (and answers whether it came from
	// a fresh rate); VoidLabel voids it.
	BuyLabel     func(context.Context, *identity.Identity, LabelCommand) (*order.Order, bool, error)
	VoidLabel    func(context.Context, *identity.Identity, LabelCommand) (*order.Order, error)
	AdjustStock  func(context.Context, *identity.Identity, AdjustStock) (inventory.Level, error)
	ResolveAlert func(context.Context, *identity.Identity, ResolveAlert) (AlertRecord, error)
	// SavePromotion creates or replaces a promotion; EndPromotion ends
	// one now.
	SavePromotion func(context.Context, *identity.Identity, SavePromotion) (promotion.Promotion, error)
	EndPromotion  func(context.Context, *identity.Identity, EndPromotion) (promotion.Promotion, error)
	// SetPricing sets a SKU's price, sale window and availability.
	SetPricing func(context.Context, *identity.Identity, SetPricing) (catalog.SKU, error)
}

// MarkShipped records the carrier and tracking of an order's parcel part.
type MarkShipped struct {
	RequestID string
	OrderID   string
	PartID    string
	Tracking  order.Tracking
}

// LabelCommand names the order whose parcel's label the owner buys or
// voids.
type LabelCommand struct {
	RequestID string
	OrderID   string
}

// AdjustStock changes a SKU's stock on hand by Delta, with the owner's
// reason for the ledger.
type AdjustStock struct {
	RequestID string
	SKU       string
	Delta     int64
	Reason    string
}

// Shipper ships the owner's parcels: their labels bought and voided, and
// their shipment recorded (fulfilment.Parts).
type Shipper interface {
	MarkShipped(ctx context.Context, who *identity.Identity, requestID, orderID, partID string, t order.Tracking) (*order.Order, error)
	BuyLabel(ctx context.Context, who *identity.Identity, requestID, orderID string) (*order.Order, bool, error)
	VoidLabel(ctx context.Context, who *identity.Identity, requestID, orderID string) (*order.Order, error)
}

// StockAdjuster changes stock on the owner's word (fulfilment.Stock).
type StockAdjuster interface {
	Adjust(ctx context.Context, who *identity.Identity, requestID, sku string, delta int64, note string) (inventory.Level, error)
}

// NewApplication assembles the owner's application from the order
// operations, fulfilment's parcels and stock, the owner's reads,
// promotions and catalog.
func NewApplication(orders *Operations, parcels Shipper, stock StockAdjuster, reads *Reads, promos *Promotions, skus *Catalog) Application {
	return Application{Queries: reads, Promotions: promos.List, Commands: Commands{
		SetPricing:    skus.SetPricing,
		ResolveAlert:  reads.ResolveAlert,
		SavePromotion: promos.Save,
		EndPromotion:  promos.End,
		RetryOrder:    orders.Retry,
		CancelOrder:   orders.Cancel,
		RefundOrder:   orders.Refund,
		MarkShipped: func(ctx context.Context, who *identity.Identity, c MarkShipped) (*order.Order, error) {
			return parcels.MarkShipped(ctx, who, c.RequestID, c.OrderID, c.PartID, c.Tracking)
		},
		BuyLabel: func(ctx context.Context, who *identity.Identity, c LabelCommand) (*order.Order, bool, error) {
			return parcels.BuyLabel(ctx, who, c.RequestID, c.OrderID)
		},
		VoidLabel: func(ctx context.Context, who *identity.Identity, c LabelCommand) (*order.Order, error) {
			return parcels.VoidLabel(ctx, who, c.RequestID, c.OrderID)
		},
		AdjustStock: func(ctx context.Context, who *identity.Identity, c AdjustStock) (inventory.Level, error) {
			return stock.Adjust(ctx, who, c.RequestID, c.SKU, c.Delta, c.Reason)
		},
	}}
}
