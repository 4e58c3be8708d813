package quickbooks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
)

// ItemResolver finds the QuickBooks item of an order line by its SKU or
// item name (Items).
type ItemResolver interface {
	ForLine(ctx context.Context, sku, name string) (string, error)
}

// BuildInvoice turns an order into the body of a QuickBooks invoice: one
// item line per order line (quantity and unit price as sold), the shipping
// as a line of the shipping item, the promotions' discounts (lines' and
// shipping's together) as one amount-based discount line, the customer,
// bill email, ship address, DocNumber = the order id, and a private note
// with the order id and the Stripe PaymentIntent. An order with tax
// carries it as tax says (TaxTreatment): its lines that carry tax marked
// taxable and TxnTaxDetail stating the tax, or a line of the sales tax
// item; an order without tax is the same invoice in every kind of company,
// every line NON and no TxnTaxDetail. Its total is the order's total, tax
// included (what the card was charged), to the cent, or it is refused.
func BuildInvoice(ctx context.Context, o *order.Order, customerID string, items ItemResolver, shippingItem string, tax TaxTreatment, txnDate time.Time) (map[string]any, error) {
	figures := o.TaxFigures()
	var lines []any
	var sum int64
	itemLine := func(sku, itemName string, qty, unit, amount, lineTax int64) error {
		id, err := items.ForLine(ctx, sku, itemName)
		if err != nil {
			return err
		}
		lines = append(lines, salesLine(id, qty, moneyOf(o, unit), moneyOf(o, amount), tax.lineCode(lineTax), ""))
		sum += amount
		return nil
	}
	for i, l := range o.Lines {
		name := l.QuickBooksItem
		if name == "" {
			name = l.Name
		}
		var lineTax int64
		if i < len(figures.Lines) {
			lineTax = figures.Lines[i]
		}
		if err := itemLine(l.SKU, name, l.Quantity, l.UnitPrice.Amount, l.Total.Amount, lineTax); err != nil {
			return nil, err
		}
	}
	if ship := o.ShippingAmount().Amount; o.Shipping != nil && ship > 0 {
		if err := itemLine("", shippingItem, 1, ship, ship, figures.Shipping); err != nil {
			return nil, err
		}
	}
	if d := o.LinesDiscount().Amount + o.Pricing.ShippingDiscount.Amount; d > 0 {
		lines = append(lines, map[string]any{"Amount": Dollars(moneyOf(o, d)), "DetailType": "DiscountLineDetail",
			"DiscountLineDetail": map[string]any{"PercentBased": false}})
		sum -= d
	}
	inv := map[string]any{"CustomerRef": Ref{Value: customerID}, "Line": lines, "DocNumber": o.ID, "TxnDate": txnDate.Format("2006-01-02")}
	if figures.Total > 0 {
		if err := tax.carry(inv, moneyOf(o, figures.Total), taxDescription(figures.Jurisdiction)); err != nil {
			return nil, err
		}
		sum += figures.Total
	}
	if sum != o.Total().Amount {
		return nil, apperr.New(apperr.FailedPrecondition, "the invoice for order %s would total %d, not the order's %d", o.ID, sum, o.Total().Amount)
	}
	note := "Order " + o.ID
	if o.Payment != nil && o.Payment.IntentID != "" {
		note += "; Stripe PaymentIntent " + o.Payment.IntentID
	}
	inv["PrivateNote"] = note
	if o.Customer != nil {
		inv["BillEmail"] = EmailAddr{Address: o.Customer.Email}
	}
	if o.Shipping != nil {
		a := o.Shipping.Address
		inv["ShipAddr"] = map[string]string{"Line1": a.Name, "Line2": strings.TrimSpace(a.AddressLine1 + " " + a.AddressLine2),
			"City": a.CityLocality, "CountrySubDivisionCode": a.StateProvince, "PostalCode": a.PostalCode, "Country": a.CountryCode}
	}
	return inv, nil
}

// salesLine is a line of item itemID: qty at unit, amount in all, taxable
// or not by code, with an optional description.
func salesLine(itemID string, qty int64, unit, amount money.Money, code Ref, description string) map[string]any {
	line := map[string]any{"Amount": Dollars(amount), "DetailType": "SalesItemLineDetail",
		"SalesItemLineDetail": map[string]any{"ItemRef": Ref{Value: itemID}, "Qty": qty, "UnitPrice": Dollars(unit), "TaxCodeRef": code}}
	if description != "" {
		line["Description"] = description
	}
	return line
}

// taxDescription describes the line of the sales tax item that carries a
// sale's tax (in a company that tracks none).
func taxDescription(jurisdiction string) string {
	if jurisdiction == "" {
		return "Sales tax"
	}
	return "Sales tax (" + jurisdiction + ")"
}

// RequestID is the invoice's requestid: derived from the order, so that a
// repeated step creates nothing new.
func RequestID(orderID string) string { return fmt.Sprintf("invoice-%s", orderID) }
