package stripefake_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/tax"
)

// Stripe Tax through the adapter, on the local Stripe with rates the test
// gives it: each line taxed and rounded on its own, shipping where taxed;
// the sale recorded once (the same key answers the same transaction, a
// second one under the order's reference is refused); refunds reversed in
// parts and then the rest, giving back exactly the tax collected; a
// reversal of more than is left refused; a place without a rate taxed
// nothing.
func TestStripeTaxOnTheLocalStripe(t *testing.T) {
	f, err := stripefake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: 82_500, Shipping: true}})
	api, err := stripepay.New(stripepay.Options{SecretKey: "sk_test_local", APIBase: f.URL, Logger: logging.New(io.Discard, "info"), MaxNetworkRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	st := stripepay.Tax{API: api}
	ctx := context.Background()
	austin := tax.Address{Line1: "500 Congress Ave", City: "Austin", State: "TX", PostalCode: "78701", Country: "US"}
	sale := tax.Sale{Currency: "USD", Shipping: 690, From: austin, To: austin,
		Lines: []tax.SaleLine{{Reference: "PLN-DAY-A5-LINEN", Amount: 3420, Quantity: 1}, {Reference: "PEN-SET-6", Amount: 1620, Quantity: 1}}}
	calc, err := st.Calculate(ctx, sale, "taxcalc-O1-r1")
	if err != nil {
		t.Fatal(err)
	}
	// 8.25% of 34.20 is 2.8215 → 282; of 16.20, 1.3365 → 134; of 6.90, 0.56925 → 57.
	if !calc.Figures.AddsUp() || calc.ID == "" || calc.Figures.Total != 473 || calc.Figures.Lines[0] != 282 || calc.Figures.Lines[1] != 134 || calc.Figures.Shipping != 57 || calc.ExpiresAt.IsZero() {
		t.Fatalf("the calculation: %+v", calc)
	}
	// Twelve lines of $1.06: Stripe taxes each on its own (8.745 → 9 cents,
	// 108 in all, where the sale's whole would be 104.94 → 105), and the
	// expanded list holds ten: the adapter reads the rest.
	var many tax.Sale
	many.Currency, many.From, many.To = "USD", austin, austin
	for i := range 12 {
		many.Lines = append(many.Lines, tax.SaleLine{Reference: fmt.Sprintf("SKU-%02d", i), Amount: 106, Quantity: 1})
	}
	if c, err := st.Calculate(ctx, many, "taxcalc-O3-r1"); err != nil || c.Figures.Total != 108 || c.Figures.Lines[11] != 9 || !c.Figures.AddsUp() {
		t.Errorf("twelve lines: %+v %v", c, err)
	}
	// A US address without a ZIP code Stripe Tax can place is the
	// customer's to check: FAILED_PRECONDITION, tax_address.
	nowhere := sale
	nowhere.To = tax.Address{Line1: "1 Main St", City: "Austin", State: "TX", PostalCode: "787", Country: "US"}
	if _, err := st.Calculate(ctx, nowhere, "taxcalc-O4-r1"); apperr.CodeOf(err) != apperr.FailedPrecondition || apperr.As(err).Reason != tax.ReasonAddress {
		t.Errorf("an address Stripe Tax cannot place: %v", err)
	}
	oregon := sale
	oregon.To = tax.Address{Line1: "1 Main St", City: "Portland", State: "OR", PostalCode: "97204", Country: "US"}
	if c, err := st.Calculate(ctx, oregon, "taxcalc-O2-r1"); err != nil || c.Figures.Total != 0 {
		t.Errorf("a place without a rate: %+v %v", c, err)
	}

	tx, err := st.Record(ctx, calc.ID, "O1", "taxtx-O1")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := st.Record(ctx, calc.ID, "O1", "taxtx-O1"); err != nil || again != tx {
		t.Errorf("the same record again: %q %v, want %q", again, err, tx)
	}
	if _, err := st.Record(ctx, calc.ID, "O1", "taxtx-O1-other"); apperr.CodeOf(err) != apperr.FailedPrecondition || !strings.Contains(err.Error(), "reference") {
		t.Errorf("a second transaction under the order's reference: %v", err)
	}

	paid := int64(3420 + 1620 + 690 + 473)
	var reversedTax, reversed int64
	for i, amount := range []int64{500, 1000, paid - 1500} {
		rev, err := st.Reverse(ctx, tx, "O1-refund-"+string(rune('1'+i)), amount, "taxrev-O1-"+string(rune('1'+i)))
		if err != nil {
			t.Fatalf("reversal %d: %v", i+1, err)
		}
		if rev.Amount != amount || rev.Tax <= 0 {
			t.Errorf("reversal %d of %d: %+v", i+1, amount, rev)
		}
		reversed, reversedTax = reversed+rev.Amount, reversedTax+rev.Tax
	}
	if reversed != paid || reversedTax != 473 {
		t.Errorf("reversed %d with tax %d, want %d with 473", reversed, reversedTax, paid)
	}
	if _, err := st.Reverse(ctx, tx, "O1-refund-4", 1, "taxrev-O1-4"); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Errorf("a reversal of more than is left: %v", err)
	}
	if n := len(f.TaxTransactions()); n != 4 {
		t.Errorf("%d tax transactions, want the sale and 3 reversals", n)
	}
}
