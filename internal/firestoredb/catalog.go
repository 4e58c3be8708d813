package firestoredb

import (
	"context"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/owner"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ProductsCollection holds the catalog's products: products/{id} =
// {name, description, active, skus}.
const ProductsCollection = "products"

// SKUChangesCollection records every change the owner made to a SKU's
// pricing: skuChanges/{requestId} = {sku, command, hash, actor, at,
// before, after}.
const SKUChangesCollection = "skuChanges"

// Catalog is the one writer of the catalog, its products and SKUs: the
// seed saves them whole, the owner changes SKUs' pricing (price, sale,
// availability).
type Catalog struct {
	client    *firestore.Client
	checkouts *Checkouts // reads SKUs as the checkout does
}

var _ owner.CatalogStore = (*Catalog)(nil)

// NewCatalog returns the catalog store.
func NewCatalog(checkouts *Checkouts) *Catalog {
	return &Catalog{client: checkouts.client, checkouts: checkouts}
}

func moneyDoc(m money.Money) map[string]any {
	return map[string]any{"amount": m.Amount, "currency": m.Currency}
}

// skuPricingDoc is a SKU's pricing as its document holds it.
func skuPricingDoc(s catalog.SKU) map[string]any {
	doc := map[string]any{"price": moneyDoc(s.Price), "active": s.Active, "sale": nil}
	if s.Sale != nil {
		doc["sale"] = map[string]any{"price": moneyDoc(s.Sale.Price), "startsAt": s.Sale.StartsAt.UTC(), "endsAt": s.Sale.EndsAt.UTC()}
	}
	return doc
}

// SaveProduct writes products/{id}, replacing what was there (the demo
// seed writes its products with it).
func (c *Catalog) SaveProduct(ctx context.Context, id, name, description string, skus []string) error {
	_, err := c.client.Collection(ProductsCollection).Doc(id).Set(ctx, map[string]any{"name": name, "description": description, "active": true, "skus": skus})
	return wrap(err, "save product %s", id)
}

// SaveSKU writes s as skus/{s.ID}, replacing what was there, in the form
// the checkout reads (the demo seed writes its catalog with it).
func (c *Catalog) SaveSKU(ctx context.Context, s catalog.SKU) error {
	doc := skuPricingDoc(s)
	doc["productId"], doc["name"], doc["fulfillment"], doc["weightGrams"] = s.ProductID, s.Name, string(s.Fulfillment), s.WeightGrams
	doc["sizeMm"] = map[string]any{"length": s.SizeMM[0], "width": s.SizeMM[1], "height": s.SizeMM[2]}
	doc["quickbooksItem"], doc["maxPerOrder"] = s.QuickBooksItem, s.MaxPerOrder
	if s.TaxCode != "" {
		doc["taxCode"] = s.TaxCode
	}
	if s.Sale == nil {
		delete(doc, "sale")
	}
	if p := s.Printer; p != nil {
		doc["printer"] = map[string]any{"podPackageId": p.PodPackageID, "interiorUrl": p.InteriorURL, "coverUrl": p.CoverURL}
	}
	_, err := c.client.Collection(SKUsCollection).Doc(s.ID).Set(ctx, doc)
	return wrap(err, "save SKU %s", s.ID)
}

// EditSKU changes the pricing of SKU id in one transaction: change gets
// the SKU as the checkout reads it and returns it as it must become; its
// price, sale and availability are written with the change's record
// (skuChanges/{requestID}: who, when, before and after). The same request
// again answers the SKU as it stands and changes nothing; other input
// under its id is INVALID_ARGUMENT request_id_reused; an unknown SKU is
// NOT_FOUND (unknown_sku).
func (c *Catalog) EditSKU(ctx context.Context, requestID, command, hash, actor, id string, change func(cur catalog.SKU) (catalog.SKU, error)) (catalog.SKU, error) {
	ref := c.client.Collection(SKUsCollection).Doc(id)
	rec := c.client.Collection(SKUChangesCollection).Doc(requestID)
	var out catalog.SKU
	err := c.client.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll([]*firestore.DocumentRef{ref, rec})
		if err != nil {
			return err
		}
		if !snaps[0].Exists() {
			return apperr.New(apperr.NotFound, "no SKU %s", id).Because("unknown_sku").On("sku")
		}
		cur, err := c.checkouts.decodeSKU(id, snaps[0].Data())
		if err != nil {
			cur = catalog.SKU{ID: id} // its pricing is what is malformed, or is written over: the change repairs it
		}
		if snaps[1].Exists() {
			if h, _ := snaps[1].Data()["hash"].(string); h != hash {
				return apperr.New(apperr.Invalid, "requestId %s was used for another change: use a new id for a new act", requestID).
					Because(order.ReasonRequestReused).On("requestId")
			}
			out = cur
			return nil
		}
		if out, err = change(cur); err != nil {
			return err
		}
		after := skuPricingDoc(out)
		if err := tx.Set(ref, after, firestore.Merge([]string{"price"}, []string{"sale"}, []string{"active"})); err != nil {
			return err
		}
		return tx.Create(rec, map[string]any{"sku": id, "command": command, "hash": hash, "actor": actor, "at": c.checkouts.orders.now().UTC(),
			"before": snaps[0].Data(), "after": after})
	}, firestore.MaxAttempts(transactionAttempts))
	if e := apperr.As(err); e != nil && e.Err == nil {
		return catalog.SKU{}, err
	}
	if status.Code(err) == codes.NotFound {
		return catalog.SKU{}, apperr.New(apperr.NotFound, "no SKU %s", id).Because("unknown_sku").On("sku")
	}
	if err != nil {
		return catalog.SKU{}, wrap(err, "change SKU %s", id)
	}
	return out, nil
}
