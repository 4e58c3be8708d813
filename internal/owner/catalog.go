package owner

import (
	"context"
	"fmt"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
)

// CommandSetPricing is SetPricing's name, as its request id remembers it.
const CommandSetPricing = "setPricing"

// SetPricing sets a SKU's list price, its sale (nil: none) and whether
// it is for sale.
type SetPricing struct {
	RequestID string
	SKU       string
	Price     money.Money
	Sale      *catalog.Sale
	Active    bool
}

// CatalogStore changes SKUs as the owner edits them.
type CatalogStore interface {
	// EditSKU changes SKU id's pricing in one transaction, recording the
	// change (who, when, before, after) under requestID: the same request
	// again answers the SKU and changes nothing.
	EditSKU(ctx context.Context, requestID, command, hash, actor, id string, change func(cur catalog.SKU) (catalog.SKU, error)) (catalog.SKU, error)
}

// Catalog is the owner's catalog: prices, sales and availability,
// checked by the rules the checkout prices by (catalog.CheckPricing),
// every change recorded.
type Catalog struct {
	Store      CatalogStore
	AdminClaim string
	Now        func() time.Time
}

// SetPricing sets a SKU's price, sale window and availability.
func (c *Catalog) SetPricing(ctx context.Context, who *identity.Identity, cmd SetPricing) (catalog.SKU, error) {
	if err := identity.RequireOwner(who, c.AdminClaim); err != nil {
		return catalog.SKU{}, err
	}
	if err := order.ValidRequestID(cmd.RequestID); err != nil {
		return catalog.SKU{}, err
	}
	if !catalog.ValidSKU(cmd.SKU) {
		return catalog.SKU{}, apperr.New(apperr.Invalid, "sku %q is not a SKU id", cmd.SKU).Because(order.ReasonMalformed).On("sku")
	}
	hash := order.RequestHash(CommandSetPricing, cmd.SKU, cmd.Price, fmt.Sprintf("%+v", cmd.Sale), cmd.Active)
	return c.Store.EditSKU(ctx, cmd.RequestID, CommandSetPricing, hash, actor(who), cmd.SKU, func(cur catalog.SKU) (catalog.SKU, error) {
		cur.Price, cur.Sale, cur.Active = cmd.Price, cmd.Sale, cmd.Active
		if cur.Sale != nil {
			sale := *cur.Sale
			cur.Sale = &sale
		}
		return cur, catalog.CheckPricing(cur)
	})
}
