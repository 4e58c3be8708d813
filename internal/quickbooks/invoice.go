package quickbooks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
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
// with the order id and the Stripe PaymentIntent. Its total is the order's
// total to the cent, or it is refused.
func BuildInvoice(ctx context.Context, o *order.Order, customerID string, items ItemResolver, shippingItem string, txnDate time.Time) (map[string]any, error) {
	var lines []any
	var sum int64
	itemLine := func(sku, itemName string, qty, unit, amount int64) error {
		id, err := items.ForLine(ctx, sku, itemName)
		if err != nil {
			return err
		}
		lines = append(lines, map[string]any{"Amount": Dollars(moneyOf(o, amount)), "DetailType": "SalesItemLineDetail",
			"SalesItemLineDetail": map[string]any{"ItemRef": Ref{Value: id}, "Qty": qty, "UnitPrice": Dollars(moneyOf(o, unit)), "TaxCodeRef": Ref{Value: "NON"}}})
		sum += amount
		return nil
	}
	for _, l := range o.Lines {
		name := l.QuickBooksItem
		if name == "" {
			name = l.Name
		}
		if err := itemLine(l.SKU, name, l.Quantity, l.UnitPrice.Amount, l.Total.Amount); err != nil {
			return nil, err
		}
	}
	if ship := o.ShippingAmount().Amount; o.Shipping != nil && ship > 0 {
		if err := itemLine("", shippingItem, 1, ship, ship); err != nil {
			return nil, err
		}
	}
	if d := o.LinesDiscount().Amount + o.Pricing.ShippingDiscount.Amount; d > 0 {
		lines = append(lines, map[string]any{"Amount": Dollars(moneyOf(o, d)), "DetailType": "DiscountLineDetail",
			"DiscountLineDetail": map[string]any{"PercentBased": false}})
		sum -= d
	}
	if sum != o.Total().Amount {
		return nil, apperr.New(apperr.FailedPrecondition, "the invoice for order %s would total %d, not the order's %d", o.ID, sum, o.Total().Amount)
	}
	inv := map[string]any{"CustomerRef": Ref{Value: customerID}, "Line": lines, "DocNumber": o.ID, "TxnDate": txnDate.Format("2006-01-02")}
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

// RequestID is the invoice's requestid: derived from the order, so that a
// repeated step creates nothing new.
func RequestID(orderID string) string { return fmt.Sprintf("invoice-%s", orderID) }
