package quickbooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/shipping"
	"github.com/readyplanner/oms/internal/tax"
)

func usd(c int64) money.Money { return money.New(c, "USD") }

// The order the sales-tax tests invoice: a planner (2 × $24.00, $5.00 off)
// taxed at Austin's 8.25%, a pen set that is not taxed, and $8.99 of taxed
// shipping to Austin.
const (
	orderTax   = 355 + 74                           // the planner's tax and the shipping's
	orderTotal = 4800 + 1200 - 500 + 899 + orderTax // what the card is charged
)

// taxedOrder is that order, its tax worked out (current: it counts in its
// total) unless untaxed.
func taxedOrder(t *testing.T, id string, untaxed bool) *order.Order {
	t.Helper()
	o, err := order.New(id, "u", "USD", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	o.Lines = []pricing.Line{
		{SKU: "PLANNER-A5", Name: "Daily Planner A5", QuickBooksItem: "Daily Planner A5", Quantity: 2, UnitPrice: usd(2400), Total: usd(4800)},
		{SKU: "PEN-SET", Name: "Pen Set", QuickBooksItem: "Pen Set", Quantity: 1, UnitPrice: usd(1200), Total: usd(1200), TaxCode: "exempt"},
	}
	o.Pricing.LineDiscounts = []money.Money{usd(500), usd(0)}
	o.Subtotal = usd(6000)
	o.Shipping = &order.ShippingChoice{Rate: shipping.Rate{Amount: usd(899)}, Address: shipping.Address{Name: "Ann Lee",
		AddressLine1: "1 Congress Ave", CityLocality: "Austin", StateProvince: "TX", PostalCode: "78701", CountryCode: "US"}}
	o.Customer = &order.Customer{Name: "Ann Lee", Email: "ann." + id + "@example.com"}
	if !untaxed {
		f := tax.Figures{Lines: []int64{355, 0}, Shipping: 74, Total: orderTax, Rate: 82_500, Jurisdiction: "Austin, TX"}
		if changed, err := o.SetTax(order.TaxByTable, o.TaxBasis(), "", f, time.Now()); err != nil || !changed {
			t.Fatalf("set tax: %v %v", changed, err)
		}
		if o.Total().Amount != orderTotal {
			t.Fatalf("the order totals %d, want %d", o.Total().Amount, orderTotal)
		}
	}
	o.Payment = &order.Payment{IntentID: "pi_" + id}
	return o
}

// namedItems resolves every item to "item:<name>": the builders' unit
// tests need no QuickBooks.
type namedItems struct{}

func (namedItems) ForLine(_ context.Context, _, name string) (string, error) {
	return "item:" + name, nil
}

// wire is a body as QuickBooks receives it (numbers kept as written).
func wire(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// itemLines lists a body's item lines as "item amount code".
func itemLines(body map[string]any) []string {
	var out []string
	lines, _ := body["Line"].([]any)
	for _, l := range lines {
		line := l.(map[string]any)
		d, ok := line["SalesItemLineDetail"].(map[string]any)
		if !ok {
			continue
		}
		out = append(out, fmt.Sprintf("%v %v %v", d["ItemRef"].(map[string]any)["value"], line["Amount"], d["TaxCodeRef"].(map[string]any)["value"]))
	}
	return out
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// An order's tax rides on its invoice as the company writes sales tax:
// with Automated Sales Tax and manual sales tax, the lines that carry tax
// are TAX and TxnTaxDetail states the order's tax (and the tax code where
// there is one); in a company that tracks none, a NON line of the sales
// tax item. The lines and the tax add up to what the card was charged.
func TestBuildInvoiceCarriesTheOrdersTax(t *testing.T) {
	o := taxedOrder(t, "TAXUNIT1", false)
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	taxed := []string{"item:Daily Planner A5 48.00 TAX", "item:Pen Set 12.00 NON", "item:Shipping 8.99 TAX"}
	untaxed := []string{"item:Daily Planner A5 48.00 NON", "item:Pen Set 12.00 NON", "item:Shipping 8.99 NON"}
	tests := []struct {
		name   string
		tax    quickbooks.TaxTreatment
		lines  []string
		detail string // TxnTaxDetail as sent, "" for none
	}{
		{"automated, with a code", quickbooks.TaxTreatment{Kind: quickbooks.TaxAutomated, Code: "7"}, taxed, `{"TotalTax":4.29,"TxnTaxCodeRef":{"value":"7"}}`},
		{"automated, no code", quickbooks.TaxTreatment{Kind: quickbooks.TaxAutomated}, taxed, `{"TotalTax":4.29}`},
		{"manual", quickbooks.TaxTreatment{Kind: quickbooks.TaxManual, Code: "12"}, taxed, `{"TotalTax":4.29,"TxnTaxCodeRef":{"value":"12"}}`},
		{"no sales tax", quickbooks.TaxTreatment{Kind: quickbooks.TaxAsItem, Item: "33"}, append(untaxed, "33 4.29 NON"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := quickbooks.BuildInvoice(context.Background(), o, "c1", namedItems{}, "Shipping", tt.tax, day)
			if err != nil {
				t.Fatal(err)
			}
			got := checkTaxWire(t, body, tt.lines, tt.detail)
			if tt.tax.Kind == quickbooks.TaxAsItem {
				last := got["Line"].([]any)[len(got["Line"].([]any))-1].(map[string]any)
				if last["Description"] != "Sales tax (Austin, TX)" {
					t.Errorf("the tax line: %v", last)
				}
			}
		})
	}
	// A treatment that cannot carry the tax refuses the invoice rather
	// than leave the tax out of it.
	for name, tr := range map[string]quickbooks.TaxTreatment{"unknown": {}, "manual without a code": {Kind: quickbooks.TaxManual}, "item without an id": {Kind: quickbooks.TaxAsItem}} {
		if _, err := quickbooks.BuildInvoice(context.Background(), o, "c1", namedItems{}, "Shipping", tr, day); apperr.CodeOf(err) != apperr.FailedPrecondition {
			t.Errorf("%s: %v, want FAILED_PRECONDITION", name, err)
		}
	}
}

// An order without tax is invoiced as it always was, whatever the kind of
// company: every line NON, no TxnTaxDetail.
func TestBuildInvoiceWithoutTaxIsUnchanged(t *testing.T) {
	o := taxedOrder(t, "TAXUNIT2", true)
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	plain, err := quickbooks.BuildInvoice(context.Background(), o, "c1", namedItems{}, "Shipping", quickbooks.TaxTreatment{}, day)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain["TxnTaxDetail"]; ok || fmt.Sprint(itemLines(wire(t, plain))) != "[item:Daily Planner A5 48.00 NON item:Pen Set 12.00 NON item:Shipping 8.99 NON]" {
		t.Fatalf("an order without tax: %s", jsonOf(plain))
	}
	for _, tr := range []quickbooks.TaxTreatment{{Kind: quickbooks.TaxAutomated, Code: "7"}, {Kind: quickbooks.TaxManual, Code: "12"}, {Kind: quickbooks.TaxAsItem, Item: "33"}} {
		body, err := quickbooks.BuildInvoice(context.Background(), o, "c1", namedItems{}, "Shipping", tr, day)
		if err != nil || jsonOf(body) != jsonOf(plain) {
			t.Errorf("%s company: %s %v, want %s", tr.Kind, jsonOf(body), err, jsonOf(plain))
		}
	}
}

// A refund receipt carries the refund's share of the tax as the invoice
// carried the order's: r.Tax of r.Amount is tax, the rest the refund
// item's line, and the receipt totals r.Amount.
func TestBuildRefundReceiptCarriesItsTax(t *testing.T) {
	o := taxedOrder(t, "TAXUNIT3", false)
	day := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	r := order.Refund{N: 1, Amount: 2000, Tax: 126, ProviderID: "re_1", Reason: "damaged"}
	tests := []struct {
		name   string
		r      order.Refund
		tax    quickbooks.TaxTreatment
		lines  []string
		detail string
	}{
		{"automated", r, quickbooks.TaxTreatment{Kind: quickbooks.TaxAutomated, Code: "7"}, []string{"refunds 18.74 TAX"}, `{"TotalTax":1.26,"TxnTaxCodeRef":{"value":"7"}}`},
		{"manual", r, quickbooks.TaxTreatment{Kind: quickbooks.TaxManual, Code: "12"}, []string{"refunds 18.74 TAX"}, `{"TotalTax":1.26,"TxnTaxCodeRef":{"value":"12"}}`},
		{"no sales tax", r, quickbooks.TaxTreatment{Kind: quickbooks.TaxAsItem, Item: "33"}, []string{"refunds 18.74 NON", "33 1.26 NON"}, ""},
		{"no tax given back", order.Refund{N: 2, Amount: 2000}, quickbooks.TaxTreatment{}, []string{"refunds 20.00 NON"}, ""},
		{"tax alone, automated", order.Refund{N: 3, Amount: 3, Tax: 3}, quickbooks.TaxTreatment{Kind: quickbooks.TaxAutomated}, []string{"refunds 0.00 TAX"}, `{"TotalTax":0.03}`},
		{"tax alone, no sales tax", order.Refund{N: 4, Amount: 3, Tax: 3}, quickbooks.TaxTreatment{Kind: quickbooks.TaxAsItem, Item: "33"}, []string{"33 0.03 NON"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := quickbooks.BuildRefundReceipt(o, tt.r, "c1", "refunds", "35", tt.tax, day)
			if err != nil {
				t.Fatal(err)
			}
			checkTaxWire(t, body, tt.lines, tt.detail)
		})
	}
	for name, tr := range map[string]quickbooks.TaxTreatment{"unknown": {}, "manual without a code": {Kind: quickbooks.TaxManual}} {
		if _, err := quickbooks.BuildRefundReceipt(o, r, "c1", "refunds", "35", tr, day); apperr.CodeOf(err) != apperr.FailedPrecondition {
			t.Errorf("%s: %v, want FAILED_PRECONDITION", name, err)
		}
	}
	// No treatment gives back more tax than the refund.
	if _, err := quickbooks.BuildRefundReceipt(o, order.Refund{N: 5, Amount: 100, Tax: 101}, "c1", "refunds", "35",
		quickbooks.TaxTreatment{Kind: quickbooks.TaxAutomated}, day); err == nil {
		t.Error("a refund of more tax than money was built")
	}
}

// checkTaxWire checks a built body as it goes on the wire: its item lines
// ("item amount code", in order) and its TxnTaxDetail as JSON ("": none).
// It answers the body as decoded.
func checkTaxWire(t *testing.T, body map[string]any, lines []string, detail string) map[string]any {
	t.Helper()
	got := wire(t, body)
	if gotLines := itemLines(got); fmt.Sprint(gotLines) != fmt.Sprint(lines) {
		t.Errorf("lines %v, want %v", gotLines, lines)
	}
	d := ""
	if v, ok := got["TxnTaxDetail"]; ok {
		d = jsonOf(v)
	}
	if d != detail {
		t.Errorf("TxnTaxDetail %s, want %s", d, detail)
	}
	return got
}
