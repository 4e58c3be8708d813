package quickbooks_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/tax"
)

// realmTokens is memTokens connected to the local company.
type realmTokens struct{ *memTokens }

func (realmTokens) Realm(context.Context) (string, error) { return qbfake.Realm, nil }
func (realmTokens) Connected(context.Context) (string, bool, error) {
	return qbfake.Realm, true, nil
}

// books is the Books adapter on a local QuickBooks of the given kind, and
// a client of the same company.
func books(t *testing.T, kind string) (*qbfake.Server, *quickbooks.Books, *quickbooks.Client) {
	t.Helper()
	f, c, tok := connect(t)
	f.SetSalesTax(kind)
	return f, &quickbooks.Books{BaseURL: f.URL, Tokens: realmTokens{tok}, ShippingItem: "Shipping"}, c
}

// cents reads an amount of the local QuickBooks' answers.
func cents(t *testing.T, v any) int64 {
	t.Helper()
	m, err := money.ParseDecimal(fmt.Sprint(v), "USD")
	if err != nil {
		t.Fatalf("amount %v: %v", v, err)
	}
	return m.Amount
}

// taxIn is the tax a sales form of the local QuickBooks carries: its
// TxnTaxDetail.TotalTax and its lines of the sales tax item taxItem.
func taxIn(t *testing.T, form map[string]any, taxItem string) int64 {
	t.Helper()
	d, _ := form["TxnTaxDetail"].(map[string]any)
	sum := cents(t, d["TotalTax"])
	lines, _ := form["Line"].([]any)
	for _, l := range lines {
		line := l.(map[string]any)
		if det, ok := line["SalesItemLineDetail"].(map[string]any); ok && fmt.Sprint(det["ItemRef"].(map[string]any)["value"]) == taxItem {
			sum += cents(t, line["Amount"])
		}
	}
	return sum
}

// An order with tax, invoiced and then refunded in two parts through the
// Books adapter, in each kind of company: the invoice totals the order,
// tax included — what Stripe charged — even where Automated Sales Tax or
// the company's own rates would have computed other figures; the refund
// receipts total the refunds, and their tax adds up to the order's.
func TestBooksInvoiceAndRefundsWithTax(t *testing.T) {
	for _, kind := range []string{qbfake.AutomatedSalesTax, qbfake.ManualSalesTax, qbfake.NoSalesTax} {
		t.Run(kind, func(t *testing.T) {
			f, b, c := books(t, kind)
			taxItem, err := (&quickbooks.Items{Client: c}).ID(context.Background(), quickbooks.DefaultTaxItem)
			if err != nil {
				t.Fatal(err)
			}
			switch kind {
			case qbfake.AutomatedSalesTax:
				f.SetAutomatedRate(95_000) // the engine's own 9.5% would make $5.41 on the TAX lines
			case qbfake.ManualSalesTax:
				f.AddTaxCode("Austin, TX", qbfake.Rate{Name: "Texas", PPM: 62_500}, qbfake.Rate{Name: "Austin", PPM: 20_000}) // $4.70
			}
			ctx := context.Background()
			o := taxedOrder(t, "TAXE2E"+kind[:3], false)
			charged := o.Total() // what the checkout authorizes and captures
			if charged.Amount != orderTotal {
				t.Fatalf("the order charges %v", charged)
			}
			inv, err := b.Invoice(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if inv.Total != charged {
				t.Fatalf("invoice total %v, charged %v", inv.Total, charged)
			}
			stored := f.Invoice(inv.ID)
			if cents(t, stored["TotalAmt"]) != orderTotal || taxIn(t, stored, taxItem) != orderTax {
				t.Errorf("QuickBooks' invoice: total %v, tax %d", stored["TotalAmt"], taxIn(t, stored, taxItem))
			}
			again, err := b.Invoice(ctx, o)
			if err != nil || again.ID != inv.ID {
				t.Errorf("the invoice again: %+v %v", again, err)
			}

			// Paid, then refunded: $20.00, then the rest.
			if err := f.MarkPaid(inv.ID); err != nil {
				t.Fatal(err)
			}
			o.Invoice = &order.Invoice{ID: inv.ID, DocNumber: inv.DocNumber, Total: inv.Total}
			r1 := order.Refund{N: 1, Amount: 2000, ProviderID: "re_1", Reason: "a planner was damaged"}
			r1.Tax = tax.RefundShare(r1.Amount, 0, orderTotal, orderTax, 0)
			r2 := order.Refund{N: 2, Amount: orderTotal - r1.Amount, ProviderID: "re_2", Reason: "returned"}
			r2.Tax = tax.RefundShare(r2.Amount, r1.Amount, orderTotal, orderTax, r1.Tax)
			if r1.Tax == 0 || r1.Tax+r2.Tax != orderTax {
				t.Fatalf("the refunds' tax: %d + %d", r1.Tax, r2.Tax)
			}
			for _, r := range []order.Refund{r1, r2} {
				if _, err := b.RecordRefund(ctx, o, r); err != nil {
					t.Fatalf("refund %d: %v", r.N, err)
				}
			}
			var total, taxBack int64
			receipts := f.RefundReceipts()
			for _, rr := range receipts {
				total += cents(t, rr["TotalAmt"])
				taxBack += taxIn(t, rr, taxItem)
			}
			if len(receipts) != 2 || total != orderTotal || taxBack != orderTax {
				t.Errorf("%d receipts total %d with %d of tax, want 2, %d and %d", len(receipts), total, taxBack, orderTotal, orderTax)
			}
			// The company's setup was read once for the invoice and both
			// refunds.
			if n := count(f.Calls(), "GET /v3/company/"+qbfake.Realm+"/preferences"); n != 1 {
				t.Errorf("%d reads of the preferences, want 1", n)
			}
		})
	}
}

// An order without tax needs nothing of the company's tax setup: the same
// invoice as ever, even under Automated Sales Tax, which taxes none of its
// NON lines.
func TestBooksInvoiceWithoutTax(t *testing.T) {
	f, b, _ := books(t, qbfake.AutomatedSalesTax)
	o := taxedOrder(t, "TAXNONE1", true)
	inv, err := b.Invoice(context.Background(), o)
	if err != nil || inv.Total != o.Total() || inv.Total.Amount != orderTotal-orderTax {
		t.Fatalf("%+v %v, want %v", inv, err, o.Total())
	}
	for _, l := range f.Invoice(inv.ID)["Line"].([]any) {
		if d, ok := l.(map[string]any)["SalesItemLineDetail"].(map[string]any); ok && d["TaxCodeRef"].(map[string]any)["value"] != "NON" {
			t.Errorf("a taxable line: %v", l)
		}
	}
	if n := count(f.Calls(), "GET /v3/company/"+qbfake.Realm+"/preferences") + count(f.Calls(), "GET /v3/company/"+qbfake.Realm+"/query?minorversion=75&query=select+%2A+from+TaxCode"); n != 0 {
		t.Errorf("%d reads of the tax setup for an order without tax", n)
	}
}

// What the owner must set up is said plainly, and what the owner fixes is
// read when the step is tried again (a refusal forgets the setup read).
func TestBooksTaxSetupRefusals(t *testing.T) {
	ctx := context.Background()
	refused := func(t *testing.T, err error, code apperr.Code, says ...string) {
		t.Helper()
		e := apperr.As(err)
		if e == nil || e.Code != code {
			t.Fatalf("%v, want %s", err, code)
		}
		for _, s := range says {
			if !strings.Contains(e.Message, s) {
				t.Errorf("%q does not say %q", e.Message, s)
			}
		}
	}
	t.Run("manual, no tax code", func(t *testing.T) {
		f, b, _ := books(t, qbfake.ManualSalesTax)
		_, err := b.Invoice(ctx, taxedOrder(t, "TAXREF1", false))
		refused(t, err, apperr.FailedPrecondition, "no sales tax rate", "OMS_QUICKBOOKS_TAX_CODE")
		f.AddTaxCode("Texas", qbfake.Rate{Name: "Texas", PPM: 62_500})
		if _, err := b.Invoice(ctx, taxedOrder(t, "TAXREF1", false)); err != nil {
			t.Errorf("once the owner added a rate: %v", err)
		}
	})
	t.Run("manual, several tax codes", func(t *testing.T) {
		f, b, _ := books(t, qbfake.ManualSalesTax)
		f.AddTaxCode("Texas", qbfake.Rate{Name: "Texas", PPM: 62_500})
		austin := f.AddTaxCode("Austin, TX", qbfake.Rate{Name: "Texas", PPM: 62_500}, qbfake.Rate{Name: "Austin", PPM: 20_000})
		_, err := b.Invoice(ctx, taxedOrder(t, "TAXREF2", false))
		refused(t, err, apperr.FailedPrecondition, `"Austin, TX" (id `+austin+`)`, `"Texas"`, "OMS_QUICKBOOKS_TAX_CODE")
		b.TaxCode = "Austin, TX"
		inv, err := b.Invoice(ctx, taxedOrder(t, "TAXREF2", false))
		if err != nil || inv.Total.Amount != orderTotal {
			t.Fatalf("with the code named: %+v %v", inv, err)
		}
		if d := f.Invoice(inv.ID)["TxnTaxDetail"].(map[string]any); d["TxnTaxCodeRef"].(map[string]any)["value"] != austin {
			t.Errorf("the invoice's tax code: %v, want %s", d, austin)
		}
		b2 := &quickbooks.Books{BaseURL: b.BaseURL, Tokens: b.Tokens, ShippingItem: "Shipping", TaxCode: "Dallas, TX"}
		_, err = b2.Invoice(ctx, taxedOrder(t, "TAXREF3", false))
		refused(t, err, apperr.FailedPrecondition, `"Dallas, TX"`, "OMS_QUICKBOOKS_TAX_CODE")
	})
	t.Run("no sales tax, no tax item", func(t *testing.T) {
		_, b, _ := books(t, qbfake.NoSalesTax)
		b.TaxItem = "Sales Tax Collected"
		_, err := b.Invoice(ctx, taxedOrder(t, "TAXREF4", false))
		refused(t, err, apperr.NotFound, "tracks no sales tax", `"Sales Tax Collected"`, "turn sales tax on")
	})
	t.Run("the company changed", func(t *testing.T) {
		// A company that stops tracking sales tax while its setup is
		// kept ignores the tax stated: the invoice totals less than the
		// charge, a refusal that forgets the setup, so the next is right.
		f, b, _ := books(t, qbfake.ManualSalesTax)
		f.AddTaxCode("Texas", qbfake.Rate{Name: "Texas", PPM: 62_500})
		if _, err := b.Invoice(ctx, taxedOrder(t, "TAXCHG1", false)); err != nil {
			t.Fatal(err)
		}
		f.SetSalesTax(qbfake.NoSalesTax)
		_, err := b.Invoice(ctx, taxedOrder(t, "TAXCHG2", false))
		refused(t, err, apperr.FailedPrecondition, fmt.Sprintf("at %s (its tax $0.00), the order at %s (its tax $4.29)", usd(orderTotal-orderTax).Display(), usd(orderTotal).Display()))
		inv, err := b.Invoice(ctx, taxedOrder(t, "TAXCHG3", false))
		if err != nil || inv.Total.Amount != orderTotal {
			t.Errorf("after the refusal: %+v %v", inv, err)
		}
	})
}

// Under the stricter reading of Intuit's answers, where Automated Sales
// Tax honours TotalTax only beside a tax code, the adapter still states
// the tax: it names one of the company's codes (the engine replaces it).
func TestBooksAutomatedTaxUnderTheStricterReading(t *testing.T) {
	f, b, _ := books(t, qbfake.AutomatedSalesTax)
	f.SetAutomatedRate(95_000)
	f.OverrideNeedsTaxCode(true)
	inv, err := b.Invoice(context.Background(), taxedOrder(t, "TAXSTRICT", false))
	if err != nil || inv.Total.Amount != orderTotal {
		t.Fatalf("%+v %v, want %d", inv, err, orderTotal)
	}
}
