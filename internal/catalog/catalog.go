// Package catalog is what the store sells: SKUs (the things a cart names)
// grouped into products, with list and sale prices, fulfilment kind, weight
// and size. It imports no SDK; the Firestore adapter loads it.
package catalog

import (
	"time"

	"github.com/readyplanner/oms/internal/money"
)

// Fulfillment says how a SKU reaches the customer.
type Fulfillment string

// Fulfilment kinds.
const (
	Stock         Fulfillment = "stock"           // counted inventory, packed and shipped by the owner
	PrintOnDemand Fulfillment = "print_on_demand" // printed and shipped by the printer; no stock limit
)

// Sale is a sale price valid from StartsAt (inclusive) to EndsAt
// (exclusive), to the second.
type Sale struct {
	Price    money.Money
	StartsAt time.Time
	EndsAt   time.Time
}

// SKU is one sellable variant.
type SKU struct {
	ID          string
	ProductID   string
	Name        string
	Active      bool
	Price       money.Money // the list price
	Sale        *Sale       // optional
	Fulfillment Fulfillment
	WeightGrams int64
	SizeMM      [3]int64 // length, width, height
	// MaxPerOrder caps the quantity of this SKU in one order (0: the
	// store's default).
	MaxPerOrder int64
	// QuickBooksItem names the QuickBooks item the SKU is invoiced as
	// ("" : its Name).
	QuickBooksItem string
	// TaxCode is the SKU's product tax code at the tax provider (Stripe
	// Tax's txcd_…; "" : the store's default, OMS_TAX_CODE).
	TaxCode string
	// Printer is what the printer prints for a print-on-demand SKU (nil:
	// not set up).
	Printer *PrintFiles
}

// PrintFiles are a print-on-demand SKU's product at the printer and its
// printable files.
type PrintFiles struct {
	// PodPackageID is the printer's product (size, binding, paper,
	// colour): Lulu's legacy 27-character id or its dotted form.
	PodPackageID string
	InteriorURL  string
	CoverURL     string
}

// PriceAt returns the unit price at instant t: the sale price inside the
// sale's window, the list price otherwise.
func (s SKU) PriceAt(t time.Time) (price money.Money, onSale bool) {
	if s.Sale != nil && !t.Before(s.Sale.StartsAt) && t.Before(s.Sale.EndsAt) {
		return s.Sale.Price, true
	}
	return s.Price, false
}

// Limited reports whether the SKU's stock is counted.
func (s SKU) Limited() bool { return s.Fulfillment != PrintOnDemand }

// MaxSKULength bounds a SKU id (the cart rules allow the same).
const MaxSKULength = 64

// ValidSKU reports whether id can name a SKU: 1–64 characters of
// A–Z a–z 0–9 . _ -, the first a letter or a digit — so never ".", ".." or
// a __reserved__ name, which Firestore cannot store as a document id. The
// cart's security rule allows exactly these.
func ValidSKU(id string) bool {
	if id == "" || len(id) > MaxSKULength {
		return false
	}
	for i, c := range id {
		alnum := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}
