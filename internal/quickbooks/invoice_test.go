package quickbooks_test

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/shipping"
)

// Random orders with awkward discounts, invoiced on the local QuickBooks:
// the total QuickBooks computes is always the order's, to the cent.
func TestInvoiceTotalEqualsOrderTotal(t *testing.T) {
	f, c, _ := connect(t)
	ctx := context.Background()
	cust, err := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	items := &quickbooks.Items{Client: c}
	names := []string{"Daily Planner A5", "Weekly Planner A5", "Pen Set", "Sticker Pack", "Bookmark Band"}
	r := rand.New(rand.NewSource(11))
	usd := func(c int64) money.Money { return money.New(c, "USD") }
	for i := 0; i < 40; i++ {
		o, _ := order.New("ORDER"+string(rune('A'+i%26))+string(rune('A'+i/26)), "u", "USD", time.Now())
		for j := 0; j < 1+r.Intn(3); j++ {
			q, unit := int64(1+r.Intn(4)), int64(1+r.Intn(4000))
			disc := int64(r.Intn(int(q*unit) + 1))
			o.Lines = append(o.Lines, pricing.Line{SKU: names[j], Name: names[j], QuickBooksItem: names[j], Quantity: q, UnitPrice: usd(unit), Total: usd(q * unit)})
			o.Pricing.LineDiscounts = append(o.Pricing.LineDiscounts, usd(disc))
			o.Subtotal.Amount += q * unit
		}
		o.Subtotal.Currency = "USD"
		ship := int64(r.Intn(2500))
		o.Shipping = &order.ShippingChoice{Rate: shipping.Rate{Amount: usd(ship)}, Address: shipping.Address{Name: "Ann", AddressLine1: "1 Main St",
			CityLocality: "Austin", StateProvince: "TX", PostalCode: "78701", CountryCode: "US"}}
		if r.Intn(3) == 0 {
			o.Pricing.ShippingDiscount = usd(ship) // free shipping
		}
		o.Customer = &order.Customer{Name: "Ann Lee", Email: "ann@example.com"}
		o.Payment = &order.Payment{IntentID: "pi_test_1"}
		body, err := quickbooks.BuildInvoice(ctx, o, cust, items, "Shipping", quickbooks.TaxTreatment{}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		inv, err := c.CreateInvoice(ctx, body, quickbooks.RequestID(o.ID), "USD")
		if err != nil {
			t.Fatalf("order %d: %v", i, err)
		}
		if inv.Total != o.Total() || inv.DocNumber != o.ID {
			t.Fatalf("order %d: QuickBooks total %v, order total %v", i, inv.Total, o.Total())
		}
	}
	if f.InvoiceCount() != 40 {
		t.Errorf("%d invoices", f.InvoiceCount())
	}
}
