// Package storefront is the storefront's contract: the one public view of
// an order (the same names and meanings on orders/{id} and in every
// callable's answer), every callable's request and answer, and every
// error's stable reason. clients/ts/oms.d.ts is generated from it
// (go run ./cmd/gen-ts); a test fails when they drift.
package storefront

import (
	"time"

	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/promotion"
	"github.com/readyplanner/oms/internal/shipping"
)

// Order is an order as the customer's page shows it. The order document
// orders/{id} carries these fields under these names (its timestamps are
// Firestore timestamps; answers carry RFC 3339 strings), and every callable
// that answers an order answers this. Amounts are integer minor units
// (cents), and always add up: total = subtotal − discount + shipping −
// shippingDiscount + tax.
type Order struct {
	OrderID  string      `json:"orderId"`
	State    order.State `json:"state"`
	Currency string      `json:"currency"` // ISO 4217
	Lines    []Line      `json:"lines"`
	// Subtotal is the lines' totals before discounts.
	Subtotal int64 `json:"subtotal"`
	// Discount is what the promotions take off the lines (the sum of the
	// lines' discounts); the shipping's discount is ShippingDiscount.
	Discount int64 `json:"discount"`
	// Shipping is the chosen rate's amount, 0 before one is chosen.
	Shipping         int64 `json:"shipping"`
	ShippingDiscount int64 `json:"shippingDiscount"`
	// Tax is the order's sales tax (0 when the store collects none, and
	// until shipping is chosen): the lines' tax plus ShippingTax. It is
	// worked out by selectShipping (and again by any change it depends
	// on) before a payment session is made.
	Tax         int64 `json:"tax"`
	ShippingTax int64 `json:"shippingTax"`
	Total       int64 `json:"total"`
	// Promotions are those that price the order, including ones that
	// apply but take nothing yet (a free-shipping promotion before
	// shipping is chosen: discount 0).
	Promotions []Promotion `json:"promotions"`
	// Code is what became of the code the customer typed; null when none.
	Code *CodeResult `json:"code"`
	// Customer is null until applyCustomer.
	Customer *Customer `json:"customer"`
	// ShippingChoice is null until selectShipping.
	ShippingChoice *ShippingChoice     `json:"shippingChoice"`
	PaymentStatus  order.PaymentStatus `json:"paymentStatus"`
	// Refunded is what was refunded of the charge, in minor units (0
	// until the owner refunds; Total when refunded in full).
	Refunded int64 `json:"refunded"`
	// Fulfilment is how the order reaches the customer, null until it is
	// paid: its parts, each with its status and, once shipped, tracking.
	Fulfilment *Fulfilment `json:"fulfilment"`
	// HoldExpiresAt is when a pending order lapses (and its stock holds
	// are released) unless it is paid; null once the card is authorized.
	HoldExpiresAt *time.Time `json:"holdExpiresAt"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
}

// Line is an order line. Lines of the same SKU are one line.
type Line struct {
	SKU         string              `json:"sku"`
	ProductID   string              `json:"productId"`
	Name        string              `json:"name"`
	Quantity    int64               `json:"quantity"`
	UnitPrice   int64               `json:"unitPrice"` // what is paid per unit: the sale price when on sale
	ListPrice   int64               `json:"listPrice"`
	OnSale      bool                `json:"onSale"`
	Total       int64               `json:"total"`    // unitPrice × quantity, before the discount
	Discount    int64               `json:"discount"` // what the promotions take off this line; never more than total
	Tax         int64               `json:"tax"`      // the line's sales tax, on its total after the discount
	Fulfillment catalog.Fulfillment `json:"fulfillment"`
}

// Promotion is a promotion that prices the order.
type Promotion struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Discount    int64  `json:"discount"` // what it takes off, lines and shipping together
}

// CodeResult says what became of a typed code.
type CodeResult struct {
	Code    string               `json:"code"` // as the customer typed it, trimmed
	Status  promotion.CodeStatus `json:"status"`
	Message string               `json:"message,omitempty"` // for the customer, when it did not apply
}

// Customer is who the order is for.
type Customer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// ShippingChoice is the chosen rate and where it ships to.
type ShippingChoice struct {
	RateID            string           `json:"rateId"`
	Carrier           string           `json:"carrier"`
	Service           string           `json:"service"`
	Amount            int64            `json:"amount"` // before the shipping discount
	DeliveryDays      int64            `json:"deliveryDays"`
	EstimatedDelivery *time.Time       `json:"estimatedDelivery"`
	Address           shipping.Address `json:"address"`
}

// Fulfilment is the parts an order ships in.
type Fulfilment struct {
	Parts []Part `json:"parts"`
}

// Part is one shipment of an order: the print part (printed and shipped by
// the printer) or the parcel part (packed and shipped by the store).
type Part struct {
	ID     string     `json:"id"`
	Kind   string     `json:"kind"`   // print, parcel
	Status string     `json:"status"` // waiting, labelled, submitted, in_production, shipped, in_transit, out_for_delivery, exception, delivered, failed, canceled
	Lines  []PartLine `json:"lines"`
	// Carrier, TrackingNumber and TrackingURL are set once it shipped
	// (empty before).
	Carrier        string     `json:"carrier"`
	TrackingNumber string     `json:"trackingNumber"`
	TrackingURL    string     `json:"trackingUrl"`
	ShippedAt      *time.Time `json:"shippedAt"`
	// TrackingNote is the carrier's words of its latest event (""
	// before any); DeliveredAt is when the carrier delivered it.
	TrackingNote string     `json:"trackingNote"`
	DeliveredAt  *time.Time `json:"deliveredAt"`
}

// LabelAnswerOf is buyLabel's and voidLabel's answer for o (fresh: the
// label was bought from a fresh rate just now).
func LabelAnswerOf(o *order.Order, fresh bool) LabelAnswer {
	a := LabelAnswer{Order: OrderOf(o), FreshRate: fresh, ShippingPaid: o.ShippingAmount().Amount - o.Pricing.ShippingDiscount.Amount}
	cost, voided := o.LabelCosts()
	a.LabelCost, a.LabelRefunded = cost.Amount, voided.Amount
	if p := o.Part(order.PartParcel); p != nil {
		l := p.Label()
		if l == nil && len(p.Labels) > 0 {
			l = &p.Labels[len(p.Labels)-1]
		}
		if l != nil {
			a.Label = &ParcelLabel{LabelID: l.ID, Carrier: l.Carrier, Service: l.Service, TrackingNumber: l.TrackingNumber, TrackingURL: l.TrackingURL,
				DownloadURL: l.DownloadURL, Format: l.Format, Cost: l.Cost.Amount, BoughtAt: stored(l.BoughtAt), VoidedAt: utcOrNil(l.VoidedAt)}
			a.CostsMore = l.Cost.Amount > a.ShippingPaid
			a.FreshRate = a.FreshRate || (o.Shipping != nil && l.RateID != o.Shipping.Rate.RateID)
		}
	}
	return a
}

// PartLine is what a part holds of a line.
type PartLine struct {
	SKU      string `json:"sku"`
	Name     string `json:"name"`
	Quantity int64  `json:"quantity"`
}

// OrderOf is o's public view. Its times are those the order document
// holds, to the microsecond Firestore keeps: an answer built from a write
// (whose clock has nanoseconds) says what a read of the document says.
func OrderOf(o *order.Order) Order {
	v := Order{OrderID: o.ID, State: o.State(), Currency: o.Currency, Lines: []Line{}, Subtotal: o.Subtotal.Amount,
		Discount: o.LinesDiscount().Amount, Shipping: o.ShippingAmount().Amount, ShippingDiscount: o.Pricing.ShippingDiscount.Amount,
		Total: o.Total().Amount, Promotions: []Promotion{}, PaymentStatus: o.PaymentStatus(),
		Refunded: o.RefundedTotal(), CreatedAt: stored(o.CreatedAt), UpdatedAt: stored(o.UpdatedAt)}
	taxes := o.TaxFigures()
	v.Tax, v.ShippingTax = taxes.Total, taxes.Shipping
	for i, l := range o.Lines {
		vl := Line{SKU: l.SKU, ProductID: l.ProductID, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice.Amount,
			ListPrice: l.ListPrice.Amount, OnSale: l.OnSale, Total: l.Total.Amount, Fulfillment: l.Fulfillment}
		if i < len(o.Pricing.LineDiscounts) {
			vl.Discount = o.Pricing.LineDiscounts[i].Amount
		}
		if i < len(taxes.Lines) {
			vl.Tax = taxes.Lines[i]
		}
		v.Lines = append(v.Lines, vl)
	}
	for _, a := range o.Pricing.Promotions {
		v.Promotions = append(v.Promotions, Promotion{ID: a.ID, Name: a.Name, Description: a.Description, Discount: a.Discount.Amount})
	}
	if p := o.Pricing; p.Code != "" {
		v.Code = &CodeResult{Code: p.Code, Status: promotion.CodeStatus(p.CodeStatus), Message: p.CodeReason}
	}
	if c := o.Customer; c != nil {
		v.Customer = &Customer{Name: c.Name, Email: c.Email}
	}
	if s := o.Shipping; s != nil {
		v.ShippingChoice = &ShippingChoice{RateID: s.Rate.RateID, Carrier: s.Rate.Carrier, Service: s.Rate.Service,
			Amount: s.Rate.Amount.Amount, DeliveryDays: s.Rate.DeliveryDays, EstimatedDelivery: utcOrNil(s.Rate.EstimatedDelivery),
			Address: s.Address}
	}
	v.HoldExpiresAt = utcOrNil(o.HoldExpiresAt)
	if len(o.Parts) > 0 {
		v.Fulfilment = &Fulfilment{}
		for _, p := range o.Parts {
			vp := Part{ID: p.ID, Kind: p.Kind, Status: p.Status, Lines: []PartLine{}, Carrier: p.Carrier, TrackingNumber: p.TrackingNumber,
				TrackingURL: p.TrackingURL, ShippedAt: utcOrNil(p.ShippedAt), TrackingNote: p.TrackingNote, DeliveredAt: utcOrNil(p.DeliveredAt)}
			for _, l := range p.Lines {
				vp.Lines = append(vp.Lines, PartLine{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity})
			}
			v.Fulfilment.Parts = append(v.Fulfilment.Parts, vp)
		}
	}
	return v
}

func utcOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := stored(t)
	return &u
}

// stored is t as a Firestore timestamp keeps it: UTC, to the microsecond.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
