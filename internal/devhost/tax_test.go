package devhost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/testenv"
)

// The rates of the sales-tax story: the local Stripe Tax charges Texas
// 8.25%, shipping included; each local QuickBooks company would charge
// 7.25% on its own, so that an invoice or a receipt whose tax QuickBooks
// worked out itself shows.
const (
	stripeTexasPPM = 82_500
	booksOwnPPM    = 72_500
)

// taxFigures are one company's figures of the story, for the closing note.
type taxFigures struct {
	company                                        string
	subtotal, discount, shipping, tax, total       int64
	lineTax                                        []int64
	shippingTax                                    int64
	captured, invoiceTotal, invoiceTax, stripeTax  int64
	booksOwn                                       int64 // what the company would have worked out itself
	refunds                                        []taxRefundFigures
	atCapture                                      bool // the sale's tax transaction was recorded once captured (else only by a later wake)
	toInvoiced, toPaid, run                        time.Duration
	refundedSum, refundTaxSum, reversalSum, rrSum  int64
	stripeRefundedSum, receiptSum, sessionTotalAmt int64
}

type taxRefundFigures struct {
	amount, tax                         int64 // the order's record of the refund
	stripeAmount, receiptAmount         int64
	reversalTax, receiptTax, reversalIn int64 // reversalIn: what the reversal reversed, tax included
}

// TestSalesTaxThroughTheLocalSystem is issue 24's "Done when", through the
// local system (the Firestore emulator delivering every write to the
// functions host's triggers, signed Stripe and QuickBooks webhooks, the
// local Stripe, Stripe Tax, QuickBooks, ShipEngine and printer), once for
// each kind of QuickBooks company a US store may have: Automated Sales Tax
// (its engine would charge 7.25% of its own) and manual sales tax (the
// owner's tax code of 6.25% + 1%). In each, with OMS_TAX=stripe and the
// local Stripe Tax charging Texas 8.25% with shipping, a customer (an
// anonymous user of the Auth emulator) fills a cart (carts/{uid}, under the
// rules) with a stock pen set and a printed planner, checks out with a
// code, ships to Austin, pays on the local Stripe; the triggers invoice the
// order in QuickBooks; the owner records the payment there, and the
// triggers approve, capture and fulfil it; then the owner refunds $10.00
// and then the rest through refundOrder. It proves, to the cent, that the
// session, the order, the capture and the invoice have one total; that the
// invoice, the order and Stripe Tax's transaction — recorded once the
// sale is captured — have one tax, the figure Stripe Tax worked out, not
// the company's own; that each refund is
// one amount at Stripe and in its refund receipt and one tax in the order,
// Stripe Tax's reversal and the receipt; and that the refunds give back
// the whole total and the whole tax. It logs the figures and the triggers'
// times for the closing note.
//
// Each kind of company has a host of its own: a store is connected to one
// company, whose sales-tax setup the QuickBooks adapter reads once and
// keeps (quickbooks.TaxSetupLifetime). Turning one running company from
// one kind into the other would test that cache, not the kind; a fresh
// host reads the company as a fresh deployment does.
func TestSalesTaxThroughTheLocalSystem(t *testing.T) {
	t.Setenv("OMS_TAX", "stripe")
	t.Setenv("OMS_TAX_CODE", "txcd_99999999")
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		t.Fatal(err)
	}
	var all []taxFigures
	for _, company := range []struct {
		name string
		// setUp makes the local company this kind, and answers the tax
		// code its forms should name ("" : the engine's own, by name).
		setUp    func(q *qbfake.Server) (codeID string)
		codeName string
	}{
		{name: "automated", codeName: "TX (automated)", setUp: func(q *qbfake.Server) string {
			q.SetSalesTax(qbfake.AutomatedSalesTax)
			q.SetAutomatedRate(booksOwnPPM)
			return ""
		}},
		{name: "manual", codeName: "Austin, TX", setUp: func(q *qbfake.Server) string {
			q.SetSalesTax(qbfake.ManualSalesTax)
			return q.AddTaxCode("Austin, TX", qbfake.Rate{Name: "Texas state", PPM: 62_500}, qbfake.Rate{Name: "Austin city", PPM: 10_000})
		}},
	} {
		t.Run(company.name, func(t *testing.T) {
			f := taxStory(t, rules, company.name, company.codeName, company.setUp)
			all = append(all, f)
		})
	}
	if len(all) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\n| QuickBooks company | subtotal | discount | shipping | tax (lines + shipping) | total | captured | invoice total / tax | Stripe Tax transaction | company's own figure | refund 1 amount / tax | refund 2 amount / tax | refunded / tax given back |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range all {
		var lt []string
		for _, x := range f.lineTax {
			lt = append(lt, dollars(x))
		}
		fmt.Fprintf(&b, "| %s | %s | −%s | %s | %s (%s + %s) | %s | %s | %s / %s | %s | %s | ", f.company, dollars(f.subtotal), dollars(f.discount),
			dollars(f.shipping), dollars(f.tax), strings.Join(lt, " + "), dollars(f.shippingTax), dollars(f.total), dollars(f.captured),
			dollars(f.invoiceTotal), dollars(f.invoiceTax), dollars(f.stripeTax), dollars(f.booksOwn))
		for _, r := range f.refunds {
			fmt.Fprintf(&b, "%s / %s (reversal %s, receipt %s / %s) | ", dollars(r.amount), dollars(r.tax), dollars(r.reversalTax), dollars(r.receiptAmount), dollars(r.receiptTax))
		}
		fmt.Fprintf(&b, "%s / %s |\n", dollars(f.refundedSum), dollars(f.refundTaxSum))
	}
	b.WriteString("\n| QuickBooks company | pay → invoiced | mark paid → paid | sale's Stripe Tax transaction | whole story |\n|---|---|---|---|---|\n")
	for _, f := range all {
		when := "recorded once captured"
		if !f.atCapture {
			when = "NOT recorded once captured"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", f.company, f.toInvoiced.Round(time.Millisecond), f.toPaid.Round(time.Millisecond), when, f.run.Round(time.Millisecond))
	}
	t.Logf("sales tax through the local system (Stripe Tax: Texas 8.25%%, shipping taxed; each company's own rate 7.25%%):%s", b.String())
}

// taxStory runs the story in a host of its own whose local QuickBooks
// company setUp makes one kind, and answers its figures. codeName is the
// name of the tax code the company's forms should end up under.
func taxStory(t *testing.T, rules, company, codeName string, setUp func(*qbfake.Server) string) taxFigures {
	began := time.Now()
	ctx := context.Background()
	h := startLogged(t, rules)
	if h.Stripe == nil || h.QuickBooks == nil {
		t.Fatal("the local Stripe and QuickBooks did not start (are STRIPE_SECRET_KEY or QUICKBOOKS_CLIENT_ID set?)")
	}
	h.Stripe.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: stripeTexasPPM, Shipping: true}})
	codeID := setUp(h.QuickBooks) // before any order: nothing has read the company's setup yet
	f := taxFigures{company: company}

	// The customer: an anonymous user fills the cart under the rules.
	u, err := emulator.SignInAnonymously(ctx, h.AuthHost)
	if err != nil {
		t.Fatal(err)
	}
	taxWriteCart(t, h, u, map[string]int64{"PEN-SET-6": 1, "PLN-DAY-A5-LINEN": 1})
	started := taxCall[storefront.StartCheckoutAnswer](t, h, u.IDToken, "startCheckout", map[string]any{})
	id := started.OrderID
	if started.State != order.Pending || len(started.Lines) != 2 || started.Tax != 0 {
		t.Fatalf("startCheckout: %+v", started)
	}
	email := strings.ToLower(testenv.ID("tax")) + "@example.com"
	applied := taxCall[storefront.Order](t, h, u.IDToken, "applyCustomer", map[string]any{"orderId": id, "name": "Ann Lee", "email": email, "code": "WELCOME10"})
	if applied.Discount == 0 || applied.Tax != 0 {
		t.Errorf("applyCustomer (no shipping chosen, so no tax yet): %+v", applied)
	}
	quote := taxCall[storefront.QuoteShippingAnswer](t, h, u.IDToken, "quoteShipping", map[string]any{"orderId": id,
		"address": map[string]any{"name": "Ann Lee", "addressLine1": "500 congress avenue", "cityLocality": "Austin", "stateProvince": "TX",
			"postalCode": "78701", "countryCode": "US", "phone": "512 555 0100"}})
	if len(quote.Rates) == 0 {
		t.Fatalf("quoteShipping: %+v", quote)
	}
	chosen := taxCall[storefront.Order](t, h, u.IDToken, "selectShipping", map[string]any{"orderId": id, "rateId": quote.Rates[0].RateID,
		"useVerifiedAddress": quote.Differs})
	// Stripe Tax taxes each line after its discount, and the shipping,
	// each rounded half up.
	want := taxHalfUp(chosen.Shipping-chosen.ShippingDiscount, stripeTexasPPM)
	sum := chosen.ShippingTax
	for _, l := range chosen.Lines {
		want += taxHalfUp(l.Total-l.Discount, stripeTexasPPM)
		sum += l.Tax
		f.lineTax = append(f.lineTax, l.Tax)
	}
	if chosen.Tax == 0 || chosen.Tax != want || sum != chosen.Tax ||
		chosen.Subtotal-chosen.Discount+chosen.Shipping-chosen.ShippingDiscount+chosen.Tax != chosen.Total {
		t.Fatalf("selectShipping's tax %d (lines and shipping %d), want %d: %+v", chosen.Tax, sum, want, chosen)
	}
	f.subtotal, f.discount, f.shipping, f.tax, f.shippingTax, f.total = chosen.Subtotal, chosen.Discount, chosen.Shipping-chosen.ShippingDiscount, chosen.Tax, chosen.ShippingTax, chosen.Total
	doc, err := h.App.Firestore.Collection("orders").Doc(id).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := doc.Data(); d["tax"] != chosen.Tax || d["shippingTax"] != chosen.ShippingTax || d["total"] != chosen.Total {
		t.Errorf("the order document: tax %v shippingTax %v total %v; selectShipping answered %d %d %d", d["tax"], d["shippingTax"], d["total"], chosen.Tax, chosen.ShippingTax, chosen.Total)
	}

	// The payment session: for the total, its tax a line of its own.
	sess := taxCall[storefront.CreatePaymentSessionAnswer](t, h, u.IDToken, "createPaymentSession", map[string]any{"orderId": id})
	f.sessionTotalAmt = taxSessionTotal(t, h, sess.SessionID)
	if sess.Total != chosen.Total || f.sessionTotalAmt != chosen.Total {
		t.Errorf("the session: answered %d, the local Stripe's amount_total %d; the order's total %d", sess.Total, f.sessionTotalAmt, chosen.Total)
	}
	if got := taxSessionLine(h, id); got != chosen.Tax {
		t.Errorf("the session's %q line is %d, want the order's tax %d", stripepay.TaxLineName, got, chosen.Tax)
	}

	// The customer pays on the local Stripe's page; its signed webhook and
	// the triggers take the order to invoiced.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	paidAt := time.Now()
	if resp, body := read(t)(noRedirect.Post(sess.URL+"/pay", "application/x-www-form-urlencoded", nil)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %d %s", resp.StatusCode, body)
	}
	o := waitState(t, h, id, order.Invoiced)
	f.toInvoiced = taxEntered(o, order.Invoiced).Sub(paidAt)
	if o.Invoice == nil || o.Invoice.Total.Amount != chosen.Total || o.Payment.AmountCapturable != chosen.Total {
		t.Fatalf("the invoiced order: invoice %+v, capturable %d; total %d", o.Invoice, o.Payment.AmountCapturable, chosen.Total)
	}
	inv := h.QuickBooks.Invoice(o.Invoice.ID)
	detail, _ := inv["TxnTaxDetail"].(map[string]any)
	f.invoiceTotal, f.invoiceTax = taxCents(t, inv["TotalAmt"]), taxCents(t, detail["TotalTax"])
	if f.invoiceTotal != chosen.Total || f.invoiceTax != chosen.Tax {
		t.Errorf("the QuickBooks invoice totals %d with %d of tax; the order %d with %d", f.invoiceTotal, f.invoiceTax, chosen.Total, chosen.Tax)
	}
	// The company filed it under its code, and would have charged its own
	// rate on the taxable lines had the invoice not stated the tax.
	ref, _ := detail["TxnTaxCodeRef"].(map[string]any)
	if ref["name"] != codeName || codeID != "" && ref["value"] != codeID {
		t.Errorf("the invoice's tax code %v, want %q (%s)", ref, codeName, codeID)
	}
	lines, _ := detail["TaxLine"].([]any)
	if len(lines) == 0 {
		t.Fatalf("the invoice has no tax lines: %v", detail)
	}
	var taxable, spread int64
	for _, l := range lines {
		d := l.(map[string]any)["TaxLineDetail"].(map[string]any)
		pct, _ := strconv.ParseFloat(fmt.Sprint(d["TaxPercent"]), 64)
		taxable = taxCents(t, d["NetAmountTaxable"])
		f.booksOwn += taxHalfUp(taxable, int64(math.Round(pct*10_000))) // each rate rounded, as QuickBooks does
		spread += taxCents(t, l.(map[string]any)["Amount"])
	}
	if f.booksOwn == chosen.Tax || spread != chosen.Tax {
		t.Errorf("the company's own figure %d on %d taxable; its tax lines %d; the order's tax %d", f.booksOwn, taxable, spread, chosen.Tax)
	}

	// The owner records the payment in QuickBooks: its signed webhook and
	// the triggers approve, capture, record the tax and fulfil.
	clicked := time.Now()
	if resp, page := read(t)(http.Post(h.QuickBooks.URL+"/app/invoices/"+o.Invoice.ID+"/payment", "application/x-www-form-urlencoded", nil)); resp.StatusCode != 200 ||
		!strings.Contains(string(page), o.Invoice.DocNumber) {
		t.Fatalf("mark paid: %d %s", resp.StatusCode, page)
	}
	o = waitState(t, h, id, order.Fulfilling)
	f.toPaid = taxEntered(o, order.Paid).Sub(clicked)
	// Once captured, the sale is recorded at Stripe Tax (the recordTax
	// step): its transaction is what Stripe Tax files.
	f.atCapture = taxWithin(10*time.Second, func() bool {
		o, _ = h.App.Orders.Get(ctx, id)
		return o.Tax != nil && o.Tax.TransactionID != "" && !o.WorkDue()
	})
	if !f.atCapture {
		t.Errorf("the order was captured (%d), but within 10 s no Stripe Tax transaction was recorded for the sale (work due %v, "+
			"order.Tax.TransactionID %q, %d tax transactions at the local Stripe): the capture must wake recordTax",
			o.Payment.AmountCaptured, o.WorkDue(), o.Tax.TransactionID, len(h.Stripe.TaxTransactions()))
	}
	f.captured = taxInt(h.Stripe.Intent(o.Payment.IntentID)["amount_received"])
	if f.captured != chosen.Total || o.Payment.AmountCaptured != chosen.Total || o.TaxAmount().Amount != chosen.Tax {
		t.Errorf("captured %d at Stripe, %d on the order (tax %d); the total %d", f.captured, o.Payment.AmountCaptured, o.TaxAmount().Amount, chosen.Total)
	}

	// The owner refunds $10.00, and once it is recorded, the rest.
	boss, err := emulator.SignInAs(ctx, h.AuthHost, testenv.ID("owner"), map[string]any{"admin": true})
	if err != nil {
		t.Fatal(err)
	}
	const part = 1000
	first := taxCall[storefront.RefundOrderAnswer](t, h, boss.IDToken, "refundOrder", map[string]any{"orderId": id, "requestId": testenv.ID("refund-part"),
		"amount": part, "reason": "a scuffed cover"})
	if first.Refund.N != 1 || first.Refund.Amount != part || first.Refund.Refundable != chosen.Total-part {
		t.Fatalf("the partial refund: %+v", first.Refund)
	}
	testenv.Poll(t, 20*time.Second, "the partial refund made, its tax reversed and its receipt recorded", func() bool {
		o, _ = h.App.Orders.Get(ctx, id)
		return len(o.Payment.Refunds) == 1 && o.Payment.Refunds[0].ReceiptID != "" && !o.RefundsDue()
	})
	rest := taxCall[storefront.RefundOrderAnswer](t, h, boss.IDToken, "refundOrder", map[string]any{"orderId": id, "requestId": testenv.ID("refund-rest"),
		"full": true, "reason": "returned: the customer ordered the wrong year"})
	if rest.Refund.N != 2 || rest.Refund.Amount != chosen.Total-part || rest.Refund.Refundable != 0 {
		t.Fatalf("the full refund: %+v", rest.Refund)
	}
	o = waitState(t, h, id, order.Refunded)
	testenv.Poll(t, 20*time.Second, "both refunds recorded and the refunded order's work done", func() bool {
		o, _ = h.App.Orders.Get(ctx, id)
		return len(o.Payment.Refunds) == 2 && o.Payment.Refunds[1].ReceiptID != "" && !o.RefundsDue() && !o.WorkDue()
	})

	// The sale at Stripe Tax: the order's tax, line by line.
	txs := h.Stripe.TaxTransactions()
	sale := txs[o.Tax.TransactionID]
	if sale == nil || sale["type"] != "transaction" || sale["reference"] != id {
		t.Fatalf("the sale's tax transaction %q: %v", o.Tax.TransactionID, sale)
	}
	saleAmount, saleTax, saleLines := taxTransactionSums(sale)
	f.stripeTax = saleTax
	if saleTax != chosen.Tax || saleAmount != chosen.Total-chosen.Tax || len(saleLines) != len(chosen.Lines) {
		t.Errorf("Stripe Tax's transaction: %d of tax on %d (lines %v); the order's tax %d on %d", saleTax, saleAmount, saleLines, chosen.Tax, chosen.Total-chosen.Tax)
	}
	for i, l := range chosen.Lines {
		if i < len(saleLines) && saleLines[i] != l.Tax {
			t.Errorf("line %s: %d of tax at Stripe Tax, %d on the order", l.SKU, saleLines[i], l.Tax)
		}
	}

	// Each refund: one amount at Stripe and in its receipt; one tax in
	// the order, Stripe Tax's reversal and the receipt.
	stripeRefunds := map[string]map[string]any{}
	for _, r := range h.Stripe.Refunds() {
		if r["payment_intent"] == o.Payment.IntentID {
			stripeRefunds[fmt.Sprint(r["id"])] = r
		}
	}
	receipts := map[string]map[string]any{}
	for _, rr := range h.QuickBooks.RefundReceipts() {
		receipts[fmt.Sprint(rr["Id"])] = rr
	}
	reversals := 0
	for _, x := range txs {
		if x["type"] == "reversal" && strings.HasPrefix(fmt.Sprint(x["reference"]), "refund-"+id+"-") {
			reversals++
		}
	}
	if len(stripeRefunds) != 2 || reversals != 2 {
		t.Errorf("%d refunds at Stripe and %d tax reversals for the order, want 2 of each", len(stripeRefunds), reversals)
	}
	for _, r := range o.Payment.Refunds {
		rf := taxRefundFigures{amount: r.Amount, tax: r.Tax}
		sr := stripeRefunds[r.ProviderID]
		rev := txs[r.TaxReversalID]
		rr := receipts[r.ReceiptID]
		if sr == nil || rev == nil || rr == nil {
			t.Fatalf("refund %d: Stripe's refund %s %v, the reversal %s %v, the receipt %s %v", r.N, r.ProviderID, sr, r.TaxReversalID, rev, r.ReceiptID, rr)
		}
		rf.stripeAmount = taxInt(sr["amount"])
		revAmount, revTax, _ := taxTransactionSums(rev)
		rf.reversalTax, rf.reversalIn = -revTax, -(revAmount + revTax)
		orig, _ := rev["reversal"].(map[string]any)
		rrDetail, _ := rr["TxnTaxDetail"].(map[string]any)
		rf.receiptAmount, rf.receiptTax = taxCents(t, rr["TotalAmt"]), taxCents(t, rrDetail["TotalTax"])
		if r.TaxDue || rev["type"] != "reversal" || rev["reference"] != r.Key(id) || orig["original_transaction"] != o.Tax.TransactionID ||
			rr["DocNumber"] != fmt.Sprintf("%s-R%d", id, r.N) {
			t.Errorf("refund %d's records: tax due %v, reversal %v, receipt %v", r.N, r.TaxDue, rev, rr["DocNumber"])
		}
		if rf.stripeAmount != r.Amount || rf.receiptAmount != r.Amount || rf.reversalIn != r.Amount {
			t.Errorf("refund %d of %d: %d at Stripe, %d reversed at Stripe Tax, receipt of %d", r.N, r.Amount, rf.stripeAmount, rf.reversalIn, rf.receiptAmount)
		}
		if r.Tax <= 0 || rf.reversalTax != r.Tax || rf.receiptTax != r.Tax {
			t.Errorf("refund %d's tax: %d on the order, %d reversed at Stripe Tax, %d on the receipt", r.N, r.Tax, rf.reversalTax, rf.receiptTax)
		}
		f.refunds = append(f.refunds, rf)
		f.refundedSum += r.Amount
		f.refundTaxSum += r.Tax
		f.reversalSum += rf.reversalTax
		f.rrSum += rf.receiptTax
		f.stripeRefundedSum += rf.stripeAmount
		f.receiptSum += rf.receiptAmount
	}
	// Together: the whole total and the whole tax, everywhere.
	if f.refundedSum != chosen.Total || f.stripeRefundedSum != chosen.Total || f.receiptSum != chosen.Total ||
		o.RefundedTotal() != chosen.Total || o.PaymentStatus() != order.PaymentRefunded {
		t.Errorf("refunded %d on the order (%d, %s), %d at Stripe, %d in receipts; the total %d", f.refundedSum, o.RefundedTotal(), o.PaymentStatus(),
			f.stripeRefundedSum, f.receiptSum, chosen.Total)
	}
	if f.refundTaxSum != chosen.Tax || o.TaxRefunded() != chosen.Tax || f.reversalSum != chosen.Tax || f.rrSum != chosen.Tax {
		t.Errorf("tax given back: %d by the refunds (%d), %d by the reversals, %d by the receipts; the order's tax %d", f.refundTaxSum, o.TaxRefunded(),
			f.reversalSum, f.rrSum, chosen.Tax)
	}
	if o.State() != order.Refunded {
		t.Errorf("the order ends %s", o.State())
	}
	f.run = time.Since(began)

	t.Logf("%s company: subtotal %s, discount −%s, shipping %s, tax %s (lines %v, shipping %s), total %s", company, dollars(f.subtotal), dollars(f.discount),
		dollars(f.shipping), dollars(f.tax), f.lineTax, dollars(f.shippingTax), dollars(f.total))
	t.Logf("%s company: session %s, captured %s, invoice %s with tax %s (the company's own figure would be %s on %s taxable), Stripe Tax transaction tax %s",
		company, dollars(f.sessionTotalAmt), dollars(f.captured), dollars(f.invoiceTotal), dollars(f.invoiceTax), dollars(f.booksOwn), dollars(taxable), dollars(f.stripeTax))
	for i, r := range f.refunds {
		t.Logf("%s company: refund %d: %s at Stripe, %s reversed at Stripe Tax, receipt %s; tax %s on the order, %s in the reversal, %s on the receipt",
			company, i+1, dollars(r.stripeAmount), dollars(r.reversalIn), dollars(r.receiptAmount), dollars(r.tax), dollars(r.reversalTax), dollars(r.receiptTax))
	}
	t.Logf("%s company: from paying to invoiced (signed Stripe webhook, record, triggers, the invoice): %s; from recording the payment in QuickBooks to paid (signed webhook, record, triggers, capture): %s",
		company, f.toInvoiced.Round(time.Millisecond), f.toPaid.Round(time.Millisecond))
	return f
}

// taxCall calls a callable over HTTP as the storefront's SDK does, with an
// Auth emulator token, and answers its result (failing on an error).
func taxCall[T any](t *testing.T, h *Host, token, name string, data any) T {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": data})
	req, _ := http.NewRequest("POST", h.URL+"/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, b := read(t)(http.DefaultClient.Do(req))
	var out struct {
		Result T               `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 || out.Error != nil {
		t.Fatalf("%s: %d %s", name, resp.StatusCode, b)
	}
	return out.Result
}

// taxWriteCart writes the customer's cart through the Firestore emulator's
// REST API with the customer's token, so that the security rules apply as
// they do to the storefront (updatedAt set by the server).
func taxWriteCart(t *testing.T, h *Host, u emulator.User, items map[string]int64) {
	t.Helper()
	var values []any
	for sku, n := range items {
		values = append(values, map[string]any{"mapValue": map[string]any{"fields": map[string]any{
			"sku": map[string]any{"stringValue": sku}, "quantity": map[string]any{"integerValue": strconv.FormatInt(n, 10)}}}})
	}
	root := "projects/" + h.Project + "/databases/(default)/documents"
	body, _ := json.Marshal(map[string]any{"writes": []any{map[string]any{
		"update":           map[string]any{"name": root + "/carts/" + u.UID, "fields": map[string]any{"items": map[string]any{"arrayValue": map[string]any{"values": values}}}},
		"updateTransforms": []any{map[string]any{"fieldPath": "updatedAt", "setToServerValue": "REQUEST_TIME"}},
	}}})
	req, _ := http.NewRequest("POST", "http://"+h.Firestore.Host+"/v1/"+root+":commit", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.IDToken)
	if resp, b := read(t)(http.DefaultClient.Do(req)); resp.StatusCode != 200 {
		t.Fatalf("the cart: %d %s", resp.StatusCode, b)
	}
}

// taxSessionTotal reads a Checkout Session's amount_total from the local
// Stripe's API.
func taxSessionTotal(t *testing.T, h *Host, id string) int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", h.Stripe.URL+"/v1/checkout/sessions/"+id, nil)
	req.Header.Set("Authorization", "Bearer sk_test_tax_story")
	resp, b := read(t)(http.DefaultClient.Do(req))
	var s struct {
		AmountTotal int64 `json:"amount_total"`
	}
	if err := json.Unmarshal(b, &s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the session %s: %d %s", id, resp.StatusCode, b)
	}
	return s.AmountTotal
}

// taxSessionLine is the amount of the sales tax line of the order's last
// Checkout Session request (-1 when it has none).
func taxSessionLine(h *Host, orderID string) int64 {
	line := int64(-1)
	for _, r := range h.Stripe.Requests() {
		if r.Method != "POST" || r.Path != "/v1/checkout/sessions" || r.Form.Get("client_reference_id") != orderID {
			continue
		}
		line = -1
		for i := 0; ; i++ {
			p := fmt.Sprintf("line_items[%d]", i)
			if r.Form.Get(p+"[quantity]") == "" {
				break
			}
			if r.Form.Get(p+"[price_data][product_data][name]") == stripepay.TaxLineName {
				n, _ := strconv.ParseInt(r.Form.Get(p+"[price_data][unit_amount]"), 10, 64)
				q, _ := strconv.ParseInt(r.Form.Get(p+"[quantity]"), 10, 64)
				line = n * q
			}
		}
	}
	return line
}

// taxTransactionSums adds up a local Stripe Tax transaction or reversal:
// its amounts without tax, its tax, and each line's tax.
func taxTransactionSums(tx map[string]any) (amount, tax int64, lines []int64) {
	items, _ := tx["line_items"].(map[string]any)
	data, _ := items["data"].([]any)
	for _, d := range data {
		li := d.(map[string]any)
		amount += taxInt(li["amount"])
		tax += taxInt(li["amount_tax"])
		lines = append(lines, taxInt(li["amount_tax"]))
	}
	if sc, ok := tx["shipping_cost"].(map[string]any); ok {
		amount += taxInt(sc["amount"])
		tax += taxInt(sc["amount_tax"])
	}
	return amount, tax, lines
}

// taxInt reads an integer of the local Stripe's objects (int64 as kept,
// float64 once copied through JSON).
func taxInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return math.MinInt64
}

// taxCents reads a QuickBooks amount (dollars, as a JSON number) as cents.
func taxCents(t *testing.T, v any) int64 {
	t.Helper()
	x, err := strconv.ParseFloat(fmt.Sprint(v), 64)
	if err != nil {
		t.Fatalf("a QuickBooks amount %v (%T): %v", v, v, err)
	}
	return int64(math.Round(x * 100))
}

// taxHalfUp is amount×ppm/1,000,000 rounded half up.
func taxHalfUp(amount, ppm int64) int64 { return (amount*ppm*2 + 1_000_000) / 2_000_000 }

// taxWithin reports whether cond holds within d (checked every 50 ms).
func taxWithin(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// taxEntered is when the order first entered state.
func taxEntered(o *order.Order, state order.State) time.Time {
	for _, c := range o.History() {
		if c.To == state && c.From != state {
			return c.At
		}
	}
	return time.Time{}
}

// taxLogs keeps the functions' logs of a host, shown if the test fails.
type taxLogs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *taxLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *taxLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
