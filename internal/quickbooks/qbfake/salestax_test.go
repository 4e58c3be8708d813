package qbfake_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
)

// taxCompany starts a local QuickBooks of the given kind and returns it, a
// client of it, a customer and the ids of items by name.
func taxCompany(t *testing.T, kind string) (*qbfake.Server, *quickbooks.Client, string, map[string]string) {
	t.Helper()
	qb, err := qbfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qb.Close() })
	qb.SetSalesTax(kind)
	ctx := context.Background()
	c, cust := connected(t, qb)
	items := map[string]string{}
	for _, name := range []string{"Pen Set", "Sticker Pack", "Bookmark Band", "Refunds"} {
		if items[name], err = (&quickbooks.Items{Client: c}).ID(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	return qb, c, cust, items
}

// line is an item line of amount cents; code "" sends no TaxCodeRef.
func line(item string, cents int64, code string) map[string]any {
	amt := quickbooks.Dollars(money.New(cents, "USD"))
	d := map[string]any{"ItemRef": map[string]any{"value": item}, "Qty": 1, "UnitPrice": amt}
	if code != "" {
		d["TaxCodeRef"] = map[string]any{"value": code}
	}
	return map[string]any{"Amount": amt, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": d}
}

// sale is an invoice body: a $36.00 TAX line, a $5.00 NON line and a
// $10.00 line with no tax code, shipped to state ("" for no ShipAddr), with
// TxnTaxDetail detail (nil for none).
func sale(cust string, items map[string]string, state string, detail map[string]any) map[string]any {
	b := map[string]any{"CustomerRef": map[string]any{"value": cust}, "Line": []any{
		line(items["Pen Set"], 3600, "TAX"), line(items["Sticker Pack"], 500, "NON"), line(items["Bookmark Band"], 1000, "")}}
	if state != "" {
		b["ShipAddr"] = map[string]any{"City": "Austin", "CountrySubDivisionCode": state, "PostalCode": "78701", "Country": "US"}
	}
	if detail != nil {
		b["TxnTaxDetail"] = detail
	}
	return b
}

var reqN int

func create(t *testing.T, c *quickbooks.Client, body map[string]any) (quickbooks.Invoice, error) {
	t.Helper()
	reqN++
	return c.CreateInvoice(context.Background(), body, fmt.Sprintf("tax-%d-%d", time.Now().UnixNano(), reqN), "USD")
}

// taxOf reads an invoice's TxnTaxDetail as the local QuickBooks answers
// it (numbers as JSON reads them: 46, not 46.00): its code's name, its
// TotalTax, and its tax lines as "rate amount on taxable".
func taxOf(inv map[string]any) (code string, total string, lines []string) {
	d, _ := inv["TxnTaxDetail"].(map[string]any)
	if ref, ok := d["TxnTaxCodeRef"].(map[string]any); ok {
		code = fmt.Sprint(ref["name"])
	}
	tl, _ := d["TaxLine"].([]any)
	for _, l := range tl {
		m := l.(map[string]any)
		det := m["TaxLineDetail"].(map[string]any)
		lines = append(lines, fmt.Sprintf("%v%% %v on %v", det["TaxPercent"], m["Amount"], det["NetAmountTaxable"]))
	}
	return code, fmt.Sprint(d["TotalTax"]), lines
}

// Automated Sales Tax computes its own tax, from the ship address, on the
// taxable lines (TAX, and lines with no code) when the request states
// none — which is why the adapter always states it — and honours a
// TotalTax it is given, replacing the request's tax code by its own.
func TestAutomatedSalesTaxComputesItsOwnUnlessTold(t *testing.T) {
	qb, c, cust, items := taxCompany(t, qbfake.AutomatedSalesTax)
	qb.SetAutomatedRate(95_000) // 9.5%

	own, err := create(t, c, sale(cust, items, "TX", nil))
	if err != nil {
		t.Fatal(err)
	}
	// 9.5% of $46.00 (the TAX line and the line with no code) = $4.37.
	if own.Tax.Amount != 437 || own.Total.Amount != 5100+437 {
		t.Errorf("computed: tax %v total %v, want 4.37 and 55.37", own.Tax, own.Total)
	}
	if code, total, lines := taxOf(qb.Invoice(own.ID)); code != "TX (automated)" || total != "4.37" || fmt.Sprint(lines) != "[9.5% 4.37 on 46]" {
		t.Errorf("computed TxnTaxDetail: %s %s %v", code, total, lines)
	}

	told, err := create(t, c, sale(cust, items, "TX", map[string]any{"TotalTax": 3.79, "TxnTaxCodeRef": map[string]any{"value": "999"}}))
	if err != nil {
		t.Fatal(err)
	}
	if told.Tax.Amount != 379 || told.Total.Amount != 5100+379 {
		t.Errorf("told: tax %v total %v, want 3.79 and 54.79", told.Tax, told.Total)
	}
	if code, total, lines := taxOf(qb.Invoice(told.ID)); code != "TX (automated)" || total != "3.79" || fmt.Sprint(lines) != "[9.5% 3.79 on 46]" {
		t.Errorf("told TxnTaxDetail: %s %s %v (the engine's code replaces the request's)", code, total, lines)
	}

	// No ship address: the company's own state.
	home, err := create(t, c, sale(cust, items, "", nil))
	if code, _, _ := taxOf(qb.Invoice(home.ID)); err != nil || code != qbfake.CompanyState+" (automated)" {
		t.Errorf("no ship address: %s %v", code, err)
	}

	// The stricter reading: TotalTax counts only beside a tax code.
	qb.OverrideNeedsTaxCode(true)
	alone, err := create(t, c, sale(cust, items, "TX", map[string]any{"TotalTax": 3.79}))
	if err != nil || alone.Tax.Amount != 437 {
		t.Errorf("TotalTax alone, under the stricter reading: %v %v, want the engine's 4.37", alone.Tax, err)
	}
	withCode, err := create(t, c, sale(cust, items, "TX", map[string]any{"TotalTax": 3.79, "TxnTaxCodeRef": map[string]any{"value": "999"}}))
	if err != nil || withCode.Tax.Amount != 379 {
		t.Errorf("TotalTax with a code, under the stricter reading: %v %v, want 3.79", withCode.Tax, err)
	}

	// A refund receipt is taxed the same way.
	checking, _ := c.AccountID(context.Background(), "Checking")
	rr, err := c.CreateRefundReceipt(context.Background(), map[string]any{"CustomerRef": map[string]any{"value": cust},
		"DepositToAccountRef": map[string]any{"value": checking}, "Line": []any{line(items["Refunds"], 1874, "TAX")},
		"TxnTaxDetail": map[string]any{"TotalTax": 1.26, "TxnTaxCodeRef": map[string]any{"value": "1"}}}, "tax-refund-1", "USD")
	if err != nil || rr.Total.Amount != 2000 || rr.Tax.Amount != 126 {
		t.Errorf("refund receipt: %+v %v, want 20.00 with 1.26 of tax", rr, err)
	}

	// A voided invoice keeps no tax.
	if err := qb.VoidInvoice(told.ID); err != nil {
		t.Fatal(err)
	}
	if _, total, lines := taxOf(qb.Invoice(told.ID)); total != "0" || fmt.Sprint(lines) != "[9.5% 0 on 46]" {
		t.Errorf("voided: %s %v", total, lines)
	}
}

// Manual sales tax: the request names one of the company's tax codes,
// whose rates QuickBooks computes on the TAX lines (a line with no code is
// not taxed), unless the request states TotalTax, which is honoured and
// spread over the rates. An unknown code, or a line code other than TAX
// or NON, is refused.
func TestManualSalesTax(t *testing.T) {
	qb, c, cust, items := taxCompany(t, qbfake.ManualSalesTax)
	code := qb.AddTaxCode("Austin, TX", qbfake.Rate{Name: "Texas", PPM: 62_500}, qbfake.Rate{Name: "Austin", PPM: 20_000})
	ref := map[string]any{"value": code}

	own, err := create(t, c, sale(cust, items, "TX", map[string]any{"TxnTaxCodeRef": ref}))
	if err != nil {
		t.Fatal(err)
	}
	// On the $36.00 TAX line: 6.25% = $2.25, 2% = $0.72.
	if code, total, lines := taxOf(qb.Invoice(own.ID)); own.Tax.Amount != 297 || own.Total.Amount != 5100+297 || code != "Austin, TX" || total != "2.97" ||
		fmt.Sprint(lines) != "[6.25% 2.25 on 36 2% 0.72 on 36]" {
		t.Errorf("computed: %v %v; %s %s %v", own.Tax, own.Total, code, total, lines)
	}

	told, err := create(t, c, sale(cust, items, "TX", map[string]any{"TxnTaxCodeRef": ref, "TotalTax": 3.01}))
	if err != nil {
		t.Fatal(err)
	}
	if _, total, lines := taxOf(qb.Invoice(told.ID)); told.Tax.Amount != 301 || told.Total.Amount != 5100+301 || total != "3.01" ||
		fmt.Sprint(lines) != "[6.25% 2.28 on 36 2% 0.73 on 36]" {
		t.Errorf("told: %v %v; %s %v", told.Tax, told.Total, total, lines)
	}

	if _, err := create(t, c, sale(cust, items, "TX", map[string]any{"TxnTaxCodeRef": map[string]any{"value": "424242"}})); !quickbooks.AsFault(err).Has("2500") {
		t.Errorf("an unknown tax code: %v, want 2500", err)
	}
	bad := sale(cust, items, "TX", nil)
	bad["Line"] = []any{line(items["Pen Set"], 3600, code)}
	if _, err := create(t, c, bad); !quickbooks.AsFault(err).Has("6100") {
		t.Errorf("a tax group as a line's code: %v, want 6100", err)
	}

	// The company's tax codes: its own, beside the pseudo codes.
	codes, err := c.TaxCodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var forSales []string
	for _, tc := range codes {
		if tc.ForSales() {
			forSales = append(forSales, tc.ID+" "+tc.Name)
		}
	}
	if fmt.Sprint(forSales) != "["+code+" Austin, TX]" {
		t.Errorf("tax codes for sales: %v", forSales)
	}
	for _, ref := range []string{code, "Austin, TX"} {
		if tc, found, err := c.TaxCodeByRef(context.Background(), ref); err != nil || !found || tc.ID != code {
			t.Errorf("tax code %q: %+v %v %v", ref, tc, found, err)
		}
	}
}

// A company that tracks no sales tax ignores TxnTaxDetail: the tax stated
// is not in the total (so the adapter writes it as an item line there).
func TestNoSalesTaxIgnoresTaxDetail(t *testing.T) {
	qb, c, cust, items := taxCompany(t, qbfake.NoSalesTax)
	inv, err := create(t, c, sale(cust, items, "TX", map[string]any{"TotalTax": 4.29}))
	if err != nil {
		t.Fatal(err)
	}
	if _, total, lines := taxOf(qb.Invoice(inv.ID)); inv.Total.Amount != 5100 || inv.Tax.Amount != 0 || total != "0" || lines != nil {
		t.Errorf("no sales tax: total %v tax %v; %s %v", inv.Total, inv.Tax, total, lines)
	}
}
