// Package fulfilment is the order's second half and the stock it ships
// from. So far: the owner's stock adjustments and the low-stock alert (the
// stock ledger is written by every change of stock, in the store). Parts,
// the printer and the owner's parcels come next (issue 14).
package fulfilment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/sweep"
)

// LowStockSKU is a SKU whose available units fell below its threshold and
// whose owner has not been told of that crossing yet.
type LowStockSKU struct {
	SKU        string
	Crossing   int64
	Level      inventory.Level
	LowStockAt int64
}

// StockStore is what stock operations need of the database.
type StockStore interface {
	// AdjustStock runs change on sku's level in a transaction and writes
	// the result with its ledger record. NOT_FOUND (unknown_sku) when sku
	// has no stock.
	AdjustStock(ctx context.Context, sku string, change func(inventory.Level) (inventory.Level, error), actor, note, requestID, requestHash string) (inventory.Level, error)
	// LowStock lists up to limit SKUs with an unalerted low-stock crossing.
	LowStock(ctx context.Context, limit int) ([]LowStockSKU, error)
	// LowStockAlerted records that crossing of sku was alerted.
	LowStockAlerted(ctx context.Context, sku string, crossing int64) error
}

// Stock is the owner's stock operations and the low-stock alert.
type Stock struct {
	Store      StockStore
	Alerts     alert.Raiser
	AdminClaim string // the owner's custom claim (OMS_ADMIN_CLAIM)
}

// maxNote bounds the owner's words on an adjustment.
const maxNote = 200

// The owner's commands of fulfilment, as their request ids remember them.
const (
	CommandAdjustStock = "adjustStock"
	CommandMarkShipped = "markShipped"
)

// Adjust changes what is on hand of sku by delta (restock: positive;
// damage or a count correction: either), never below what open orders
// hold, and records why in the stock ledger with the owner as actor, as
// the owner's request requestID: the same request again answers the
// level as it stands and changes nothing. It answers the new level.
func (s *Stock) Adjust(ctx context.Context, who *identity.Identity, requestID, sku string, delta int64, note string) (inventory.Level, error) {
	if err := identity.RequireOwner(who, s.AdminClaim); err != nil {
		return inventory.Level{}, err
	}
	if err := order.ValidRequestID(requestID); err != nil {
		return inventory.Level{}, err
	}
	switch {
	case sku == "":
		return inventory.Level{}, apperr.New(apperr.Invalid, "sku is required").Because(order.ReasonRequired).On("sku")
	case !catalog.ValidSKU(sku):
		return inventory.Level{}, apperr.New(apperr.Invalid, "sku %q is not a SKU id", sku).Because(order.ReasonMalformed).On("sku")
	case strings.TrimSpace(note) == "":
		return inventory.Level{}, apperr.New(apperr.Invalid, "reason is required: say why (restock, damage, count)").Because(order.ReasonRequired).On("reason")
	}
	note, err := order.OwnerText("reason", note, maxNote)
	if err != nil {
		return inventory.Level{}, err
	}
	return s.Store.AdjustStock(ctx, sku, func(l inventory.Level) (inventory.Level, error) { return inventory.Adjust(l, delta) },
		"owner:"+who.UID, note, requestID, order.RequestHash(CommandAdjustStock, sku, delta, note))
}

// Tasks returns the sweeper tasks by name.
func (s *Stock) Tasks() map[string]sweep.TaskFunc {
	return map[string]sweep.TaskFunc{"alertLowStock": s.alertLowStock}
}

// lowStockBatch bounds one sweep's low-stock alerts.
const lowStockBatch = 100

// alertLowStock tells the owner of every SKU whose available units fell
// below its lowStockAt: one alert per crossing (alerts/low-stock-<sku>-<n>),
// raised within a sweep of the change that crossed (the crossing is
// recorded with the change, so none is lost).
func (s *Stock) alertLowStock(ctx context.Context, _ time.Time) (string, error) {
	low, err := s.Store.LowStock(ctx, lowStockBatch)
	if err != nil {
		return "", err
	}
	n := 0
	for _, l := range low {
		key := fmt.Sprintf("low-stock-%s-%d", l.SKU, l.Crossing)
		text := fmt.Sprintf("%s is low: %d available (%d on hand, %d held by open orders); you asked to hear below %d.\n"+
			"Restock it with adjustStock (or in the owner's console).", l.SKU, l.Level.Available(), l.Level.OnHand, l.Level.Held, l.LowStockAt)
		if _, err := s.Alerts.Raise(ctx, alert.Alert{Key: key, Kind: alert.LowStock, Subject: "Low stock: " + l.SKU, Text: text}); err != nil {
			return fmt.Sprintf("alerted %d low SKUs", n), err
		}
		if err := s.Store.LowStockAlerted(ctx, l.SKU, l.Crossing); err != nil {
			return fmt.Sprintf("alerted %d low SKUs", n), err
		}
		n++
	}
	return fmt.Sprintf("alerted %d low SKUs", n), nil
}
