package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/tax"
	"github.com/readyplanner/oms/internal/testenv"
)

// texasTable is a rate table that taxes Texas at 8.25%, shipping
// included, and Austin's ZIP codes at 8.25% too (the state's rule, and
// a city's rule that wins there).
const texasTable = `{"sourcing":"destination","rules":[
 {"country":"US","state":"TX","rate":"6.25","shipping":true,"name":"Texas"},
 {"country":"US","state":"TX","postalPrefixes":["787"],"rate":"8.25","shipping":true,"name":"Austin, Texas"}]}`

// halfUp is a×ppm/1,000,000 rounded half up.
func halfUp(a, ppm int64) int64 { return (a*ppm*2 + 1_000_000) / 2_000_000 }

// addsUp checks an order view: its lines' and shipping's tax make its
// tax, and its amounts make its total.
func addsUp(t *testing.T, what string, v storefront.Order) {
	t.Helper()
	sum := v.ShippingTax
	for _, l := range v.Lines {
		sum += l.Tax
	}
	if sum != v.Tax || v.Subtotal-v.Discount+v.Shipping-v.ShippingDiscount+v.Tax != v.Total {
		t.Errorf("%s does not add up: %+v", what, v)
	}
}

// With the rate table, choosing shipping works the tax out on the server
// (the lines after their discount and the shipping, at the destination's
// most specific rule) and every answer and the document show it; the
// payment session asks for exactly that total, its tax a line of its own;
// choosing another rate or address works it out again and closes the open
// session; a destination without a rule is taxed nothing.
func TestRateTableTaxesTheCheckout(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_TAX": "table", "OMS_TAX_TABLE": texasTable})
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "A", 2, "P", 1)
	if ans := apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": testenv.ID("tax") + "@example.com"}); ans.status != 200 {
		t.Fatalf("apply: %+v", ans.Error)
	}
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": address("3 Tax St")})
	if q.status != 200 || len(q.Result.Rates) < 2 {
		t.Fatalf("quote: %+v", q)
	}
	if o, _ := a.Orders.Get(ctx, id); o.TaxAmount().Amount != 0 || o.Total().Amount != o.Subtotal.Amount-o.LinesDiscount().Amount {
		t.Errorf("tax before shipping is chosen: %+v", o.Tax)
	}
	sel := rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID})
	v := sel.Result
	want := halfUp(v.Subtotal-v.Discount+v.Shipping-v.ShippingDiscount, 82_500) // Austin, 78701
	if sel.status != 200 || v.Tax != want || v.Tax == 0 {
		t.Fatalf("selectShipping: %d %+v; tax %d, want %d", sel.status, sel.Error, v.Tax, want)
	}
	addsUp(t, "selectShipping's answer", v)
	o, _ := a.Orders.Get(ctx, id)
	if o.Tax == nil || o.Tax.Provider != order.TaxByTable || o.Tax.Figures.Jurisdiction != "Austin, Texas" || o.Total().Amount != v.Total {
		t.Errorf("the order's tax: %+v total %d", o.Tax, o.Total().Amount)
	}
	doc, err := a.Firestore.Collection("orders").Doc(id).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := doc.Data(); d["tax"] != v.Tax || d["total"] != v.Total || d["shippingTax"] != v.ShippingTax {
		t.Errorf("the document: tax %v shippingTax %v total %v; the answer %+v", d["tax"], d["shippingTax"], d["total"], v)
	}

	// The session is for the total, tax included, as a line of its own.
	sess := r.mustSession(t, u.IDToken, id)
	reqs := sessionRequests(r.st, id)
	if len(reqs) != 1 || sessionTotal(t, reqs[0]) != v.Total || !strings.Contains(reqs[0].Form.Encode(), url.QueryEscape(stripepay.TaxLineName)) {
		t.Fatalf("the session asked for %d, want %d: %v", sessionTotal(t, reqs[0]), v.Total, reqs[0].Form)
	}

	// Another rate: the tax is worked out again and the open session closed.
	sel2 := rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[1].RateID})
	v2 := sel2.Result
	if sel2.status != 200 || v2.Shipping == v.Shipping || v2.Tax != halfUp(v2.Subtotal-v2.Discount+v2.Shipping-v2.ShippingDiscount, 82_500) {
		t.Fatalf("another rate: %d %+v %+v", sel2.status, sel2.Error, v2)
	}
	addsUp(t, "the second choice", v2)
	if st := r.sessionStatus(t, sess); st != "expired" {
		t.Errorf("the session made for the first choice is %s", st)
	}
	// Paying now is for the new total.
	r.mustSession(t, u.IDToken, id)
	if reqs := sessionRequests(r.st, id); len(reqs) != 2 || sessionTotal(t, reqs[1]) != v2.Total {
		t.Errorf("the second session: %d requests", len(reqs))
	}

	// Elsewhere in Texas the state's rate; outside Texas no rule, no tax.
	for _, c := range []struct {
		state, zip string
		ppm        int64
	}{{"TX", "75201", 62_500}, {"OR", "97201", 0}} {
		addr := address("9 " + testenv.ID("t") + " St")
		addr["stateProvince"], addr["postalCode"], addr["cityLocality"] = c.state, c.zip, "Somewhere"
		q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": addr})
		if q.status != 200 || len(q.Result.Rates) == 0 {
			t.Fatalf("quote %s: %+v", c.state, q)
		}
		sel := rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID})
		v := sel.Result
		if sel.status != 200 || v.Tax != halfUp(v.Subtotal-v.Discount+v.Shipping-v.ShippingDiscount, c.ppm) {
			t.Errorf("%s %s: %d %+v tax %d", c.state, c.zip, sel.status, sel.Error, v.Tax)
		}
		addsUp(t, "shipping to "+c.state, v)
	}
}

// failingTax is a tax provider that is down.
type failingTax struct{}

func (failingTax) Calculate(context.Context, tax.Sale, string) (tax.Calculation, error) {
	return tax.Calculation{}, apperr.New(apperr.Unavailable, "Stripe is unavailable")
}

// wrongTax is a tax provider whose figures do not add up.
type wrongTax struct{}

func (wrongTax) Calculate(_ context.Context, s tax.Sale, _ string) (tax.Calculation, error) {
	return tax.Calculation{ID: "taxcalc_wrong", Figures: tax.Figures{Lines: make([]int64, len(s.Lines)), Total: 99}}, nil
}

// With a tax provider configured, nothing is paid without a tax figure:
// the provider down (or answering figures that do not add up) answers
// selectShipping and createPaymentSession UNAVAILABLE, reason
// tax_unavailable, with no session made; once it answers again, calling
// again works the tax out and the session is for the total with it.
func TestNoPaymentWithoutATaxFigure(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_TAX": "stripe"})
	r.st.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: 82_500, Shipping: true}})
	a := r.a
	taxes := a.Customers.Taxes
	if taxes != a.Payments.Taxes || !taxes.Collects() {
		t.Fatal("the checkout and the payments do not share the tax worker")
	}
	real := taxes.Calculator
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "B", 1)
	if ans := apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": testenv.ID("down") + "@example.com"}); ans.status != 200 {
		t.Fatalf("apply: %+v", ans.Error)
	}
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": address("3 Down St")})
	for _, bad := range []struct {
		name string
		calc interface {
			Calculate(context.Context, tax.Sale, string) (tax.Calculation, error)
		}
	}{{"down", failingTax{}}, {"figures that do not add up", wrongTax{}}} {
		taxes.Calculator = bad.calc
		sel := rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID})
		if sel.status != 503 || sel.Error.Status != "UNAVAILABLE" || !strings.Contains(string(sel.Error.Details), `"reason":"tax_unavailable"`) {
			t.Errorf("selectShipping, the provider %s: %d %+v", bad.name, sel.status, sel.Error)
		}
		ses := r.session(t, u.IDToken, id)
		if ses.status != 503 || !strings.Contains(string(ses.Error.Details), `"reason":"tax_unavailable"`) {
			t.Errorf("createPaymentSession, the provider %s: %d %+v", bad.name, ses.status, ses.Error)
		}
	}
	if reqs := sessionRequests(r.st, id); len(reqs) != 0 {
		t.Fatalf("%d sessions made without a tax figure", len(reqs))
	}
	taxes.Calculator = real
	ses := r.session(t, u.IDToken, id)
	o, _ := a.Orders.Get(context.Background(), id)
	if ses.status != 200 || o.Tax == nil || o.Tax.CalculationID == "" || o.TaxAmount().Amount != halfUp(1800+o.ShippingAmount().Amount, 82_500) ||
		ses.Result.Total != o.Total().Amount {
		t.Fatalf("after the provider came back: %d %+v, tax %+v", ses.status, ses.Error, o.Tax)
	}
	if reqs := sessionRequests(r.st, id); len(reqs) != 1 || sessionTotal(t, reqs[0]) != o.Total().Amount {
		t.Errorf("the session: %d requests", len(reqs))
	}
	// The calculation was asked for with a key derived from the order and
	// what is taxed: the calls for this sale carried one key.
	keys := map[string]bool{}
	for _, req := range r.st.Requests() {
		if req.Path == "/v1/tax/calculations" && strings.HasPrefix(req.IdempotencyKey, "tax-"+id+"-") {
			keys[req.IdempotencyKey] = true
		}
	}
	if len(keys) != 1 {
		t.Errorf("the calculations' keys: %v", keys)
	}
}

// taxRecords are the local Stripe's tax transactions and reversals whose
// reference starts with ref.
func taxRecords(st *stripefake.Server, ref string) []map[string]any {
	var out []map[string]any
	for _, tx := range st.TaxTransactions() {
		if r, _ := tx["reference"].(string); strings.HasPrefix(r, ref) {
			out = append(out, tx)
		}
	}
	return out
}

// With Stripe Tax, a charged order's calculation becomes its tax
// transaction (reference: the order), once under duplicate steps; each
// refund reverses its share (reference: the refund), the partial one in
// proportion and the last one the rest, so that Stripe's refunds, the tax
// given back and the order agree to the cent; each refund is recorded in
// the books after its tax, for its amount.
func TestStripeTaxIsRecordedAndGivenBack(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_TAX": "stripe", "OMS_TAX_CODE": "txcd_99999999"})
	r.st.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: 82_500, Shipping: true}})
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	o, pi := r.charged(t, s, "A", 2, "P", 1)
	taxAmount, total := o.TaxAmount().Amount, o.Total().Amount
	// Stripe taxes each line and the shipping on its own, rounded half up.
	want := []int64{}
	for i, l := range o.Lines {
		want = append(want, halfUp(l.Total.Amount-o.Pricing.LineDiscounts[i].Amount, 82_500))
	}
	if o.Tax == nil || !strings.HasPrefix(o.Tax.CalculationID, "taxcalc_") || fmt.Sprint(o.Tax.Figures.Lines) != fmt.Sprint(want) ||
		o.Tax.Figures.Shipping != halfUp(o.ShippingAmount().Amount, 82_500) || !o.Tax.Figures.AddsUp() {
		t.Fatalf("the charged order's tax: %+v (total %d), lines want %v", o.Tax, total, want)
	}
	if in := r.st.Intent(pi); num(in["amount_received"]) != total {
		t.Fatalf("Stripe captured %v, the order's total is %d", in["amount_received"], total)
	}
	// The default tax code went with every line.
	for _, req := range r.st.Requests() {
		if req.Path == "/v1/tax/calculations" && strings.HasPrefix(req.IdempotencyKey, "tax-"+o.ID) && req.Form.Get("line_items[0][tax_code]") != "txcd_99999999" {
			t.Errorf("a calculation without the default tax code: %v", req.Form)
		}
	}
	recordTax := a.Payments.Steps()[orderflow.StepRecordTax]
	for i := 0; i < 2; i++ { // a duplicate delivery on the same copy
		if err := recordTax(ctx, orderflow.Transition{Order: o}); err != nil {
			t.Fatal(err)
		}
	}
	o = settle(t, a, o.ID)
	txs := taxRecords(r.st, o.ID)
	if len(txs) != 1 || txs[0]["id"] != o.Tax.TransactionID || txs[0]["type"] != "transaction" {
		t.Fatalf("the tax transactions of %s: %v (order's %q)", o.ID, txs, o.Tax.TransactionID)
	}

	boss := owner(t)
	refund := func(data map[string]any) {
		t.Helper()
		data["orderId"], data["reason"] = o.ID, "tax test"
		if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, data); ans.status != 200 {
			t.Fatalf("refund %v: %+v", data, ans.Error)
		}
		made, _ := a.Orders.Get(ctx, o.ID)
		if err := a.Flow.Redrive(ctx, made); err != nil { // refund made, its tax reversed, then recorded
			t.Fatal(err)
		}
		for _, st := range []orderflow.StepFunc{recordTax, a.Bookkeeping.Steps()[orderflow.StepRecordRefund]} {
			if err := st(ctx, orderflow.Transition{Order: made}); err != nil { // duplicates on a stale copy
				t.Fatal(err)
			}
		}
		// Each write wakes the trigger again: run it until nothing is due.
		for i := 0; i < 6; i++ {
			if o = settle(t, a, o.ID); !o.WorkDue() {
				break
			}
		}
	}
	refund(map[string]any{"amount": 1000})
	r1 := o.Payment.Refunds[0]
	if r1.TaxDue || r1.Tax != tax.RefundShare(1000, 0, total, taxAmount, 0) || r1.Tax == 0 || r1.TaxReversalID == "" || r1.ReceiptID == "" {
		t.Errorf("refund 1: %+v (tax %d of %d); work %+v, receipts %v", r1, taxAmount, total, o.Work, receiptsOf(t, o.ID))
	}
	refund(map[string]any{"full": true})
	if o.State() != order.Refunded {
		t.Fatalf("after the full refund: %s", o.State())
	}
	var refunded, taxBack int64
	for _, rf := range o.Payment.Refunds {
		refunded += rf.Amount
		taxBack += rf.Tax
		if rf.TaxDue || rf.ReceiptID == "" {
			t.Errorf("refund %d: %+v", rf.N, rf)
		}
	}
	var stripeRefunded int64
	for _, re := range refundsAt(r.st, pi) {
		stripeRefunded += num(re["amount"])
	}
	// The reversals at Stripe: one per refund, whose tax makes the tax.
	var reversedTax, reversals int64
	for _, tx := range taxRecords(r.st, "refund-"+o.ID+"-") {
		reversals++
		b, _ := json.Marshal(tx)
		var rev struct {
			LineItems struct {
				Data []struct {
					AmountTax int64 `json:"amount_tax"`
				} `json:"data"`
			} `json:"line_items"`
			ShippingCost *struct {
				AmountTax int64 `json:"amount_tax"`
			} `json:"shipping_cost"`
		}
		_ = json.Unmarshal(b, &rev)
		for _, li := range rev.LineItems.Data {
			reversedTax -= li.AmountTax
		}
		if rev.ShippingCost != nil {
			reversedTax -= rev.ShippingCost.AmountTax
		}
	}
	rcpts := receiptsOf(t, o.ID)
	if refunded != total || stripeRefunded != total || taxBack != taxAmount || o.TaxRefunded() != taxAmount || reversals != 2 || len(rcpts) != 2 {
		t.Errorf("refunded %d at Stripe %d of %d; tax back %d (reversals %d) of %d; %d receipts", refunded, stripeRefunded, total, taxBack, reversals, taxAmount, len(rcpts))
	}
	// Each receipt in the books is for its refund's amount, tax included.
	for _, rf := range o.Payment.Refunds {
		rc := rcpts[fmt.Sprintf("%s-R%d", o.ID, rf.N)]
		if got, _ := strconv.ParseFloat(fmt.Sprint(rc["TotalAmt"]), 64); int64(math.Round(got*100)) != rf.Amount {
			t.Errorf("refund %d of %d: the receipt totals %v", rf.N, rf.Amount, rc["TotalAmt"])
		}
	}
	if reversedTax != taxAmount {
		t.Errorf("Stripe's reversals gave back %d of tax, the order's tax is %d", reversedTax, taxAmount)
	}
}

// Stripe stores a 5xx for the call's key and replays it for a day: a
// calculation answered so holds the sale up for seconds (its key changes
// with a ten-second window: a calculation makes nothing at Stripe), and
// the sale's transaction and a refund's reversal answered so are made by
// the next call under a new key (recorded on the order), each once.
func TestStripeTaxAfterStoredFailures(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_TAX": "stripe"})
	r.st.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: 82_500, Shipping: true}})
	a, ctx := r.a, context.Background()
	s := newStore(t, a, 10, 10)
	u, id := checkedOut(t, a, s, "B", 1)
	if ans := apply(t, applyCustomer(a), u.IDToken, map[string]any{"orderId": id, "name": "Ann Lee", "email": testenv.ID("stored") + "@example.com"}); ans.status != 200 {
		t.Fatalf("apply: %+v", ans.Error)
	}
	q := rpc[storefront.QuoteShippingAnswer](t, quoteShipping(a), u.IDToken, map[string]any{"orderId": id, "address": address("3 Stored St")})
	r.st.FailNextPosts(1)
	sel := func() rpcAnswer[storefront.Order] {
		return rpc[storefront.Order](t, selectShipping(a), u.IDToken, map[string]any{"orderId": id, "rateId": q.Result.Rates[0].RateID})
	}
	if ans := sel(); ans.status != 503 || !strings.Contains(string(ans.Error.Details), "tax_unavailable") {
		t.Fatalf("a stored 5xx: %d %+v", ans.status, ans.Error)
	}
	if ans := sel(); ans.status != 503 {
		t.Errorf("within the same ten seconds the stored 5xx is replayed: %d", ans.status)
	}
	r.clk.Advance(10 * time.Second)
	if ans := sel(); ans.status != 200 || ans.Result.Tax == 0 {
		t.Fatalf("ten seconds on: %d %+v", ans.status, ans.Error)
	}

	// The sale's transaction and a refund's reversal, each after a stored 5xx.
	oid, _ := r.approvedInBooks(t, s, "B", 1)
	o, _ := a.Orders.Get(ctx, oid)
	if err := a.Payments.Steps()[orderflow.StepCapturePayment](ctx, orderflow.Transition{Order: o, To: order.Approved}); err != nil {
		t.Fatal(err)
	}
	o, _ = a.Orders.Get(ctx, oid)
	if o.State() != order.Paid || !o.TaxToRecord() || !o.WorkDue() {
		t.Fatalf("captured: %s, tax %+v", o.State(), o.Tax)
	}
	recordTax := a.Payments.Steps()[orderflow.StepRecordTax]
	r.st.FailNextPosts(1)
	if err := recordTax(ctx, orderflow.Transition{Order: o}); err == nil {
		t.Fatal("a stored 5xx was not an error")
	}
	o, _ = a.Orders.Get(ctx, o.ID)
	if o.Tax.RecordAttempt != 1 || o.RecordKey() != "taxtx-"+o.ID+"-1" || o.Tax.TransactionID != "" {
		t.Fatalf("after a stored 5xx: %+v", o.Tax)
	}
	if err := recordTax(ctx, orderflow.Transition{Order: o}); err != nil {
		t.Fatal(err)
	}
	o = settle(t, a, o.ID)
	boss := owner(t)
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID, "amount": 700, "reason": "stored"}); ans.status != 200 {
		t.Fatalf("refund: %+v", ans.Error)
	}
	made, _ := a.Orders.Get(ctx, o.ID)
	if err := a.Payments.Steps()[orderflow.StepRefundPayment](ctx, orderflow.Transition{Order: made}); err != nil {
		t.Fatal(err)
	}
	made, _ = a.Orders.Get(ctx, o.ID)
	r.st.FailNextPosts(1)
	if err := recordTax(ctx, orderflow.Transition{Order: made}); err == nil {
		t.Fatal("a stored 5xx on the reversal was not an error")
	}
	made, _ = a.Orders.Get(ctx, o.ID)
	if rf := made.Payment.Refunds[0]; !rf.TaxDue || rf.TaxAttempt != 1 || rf.TaxKey(o.ID) != "taxrev-refund-"+o.ID+"-1-1" {
		t.Fatalf("after a stored 5xx on the reversal: %+v", rf)
	}
	for i := 0; i < 6; i++ {
		if o = settle(t, a, o.ID); !o.WorkDue() {
			break
		}
	}
	rf := o.Payment.Refunds[0]
	if rf.TaxDue || rf.TaxReversalID == "" || rf.Tax != tax.RefundShare(700, 0, o.Payment.AmountCaptured, o.TaxAmount().Amount, 0) || rf.ReceiptID == "" {
		t.Errorf("the refund after the retry: %+v", rf)
	}
	if txs := taxRecords(r.st, o.ID); len(txs) != 1 {
		t.Errorf("%d transactions for the sale", len(txs))
	}
	if revs := taxRecords(r.st, "refund-"+o.ID+"-"); len(revs) != 1 {
		t.Errorf("%d reversals for the refund", len(revs))
	}
}

// refusingTax is a Stripe Tax that refuses for good to record sales and
// reverse refunds (a calculation expired, a reference already used).
type refusingTax struct{ payments.TaxRecorder }

func (refusingTax) Record(context.Context, string, string, string) (string, error) {
	return "", apperr.New(apperr.FailedPrecondition, "Stripe refused to record the tax: the calculation has expired")
}

func (refusingTax) Reverse(context.Context, string, string, int64, string) (tax.Reversal, error) {
	return tax.Reversal{}, apperr.New(apperr.FailedPrecondition, "Stripe refused to reverse the tax")
}

// Stripe Tax refusing for good to record the sale, or to reverse a
// refund, is told to the owner once and waits for nothing: the work is no
// longer due, the refunds give back the order's proportion and are
// booked, and the customer's refund email goes.
func TestStripeTaxRefusingForGood(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, map[string]string{"OMS_TAX": "stripe"})
	r.st.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: 82_500, Shipping: true}})
	a := r.a
	real := a.Payments.TaxRecords
	a.Payments.TaxRecords = refusingTax{}
	s := newStore(t, a, 10, 10)
	o, _ := r.charged(t, s, "B", 1)
	for i := 0; i < 3; i++ {
		if o = settle(t, a, o.ID); !o.WorkDue() {
			break
		}
	}
	if o.Tax.RecordFailure == "" || o.Tax.TransactionID != "" || o.WorkDue() || len(r.alertsOf(t, o.ID, alert.TaxNotRecorded)) != 1 {
		t.Fatalf("a sale Stripe Tax refused: %+v, work due %v, alerts %v", o.Tax, o.WorkDue(), r.alertsOf(t, o.ID, ""))
	}
	boss := owner(t)
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID, "amount": 500, "reason": "refused"}); ans.status != 200 {
		t.Fatalf("refund: %+v", ans.Error)
	}
	for i := 0; i < 6; i++ {
		if o = settle(t, a, o.ID); !o.WorkDue() {
			break
		}
	}
	rf := o.Payment.Refunds[0]
	if rf.TaxDue || rf.Tax != tax.RefundShare(500, 0, o.Payment.AmountCaptured, o.TaxAmount().Amount, 0) || rf.ReceiptID == "" || o.WorkDue() {
		t.Errorf("a refund of a sale never recorded: %+v, work due %v", rf, o.WorkDue())
	}

	// Recorded, then the reversal refused for good.
	a.Payments.TaxRecords = real
	o2, _ := r.charged(t, s, "B", 1)
	for i := 0; i < 3; i++ {
		if o2 = settle(t, a, o2.ID); !o2.WorkDue() {
			break
		}
	}
	if o2.Tax.TransactionID == "" {
		t.Fatalf("the second sale was not recorded: %+v", o2.Tax)
	}
	a.Payments.TaxRecords = refusingTax{}
	if ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, map[string]any{"orderId": o2.ID, "amount": 500, "reason": "refused"}); ans.status != 200 {
		t.Fatalf("refund: %+v", ans.Error)
	}
	for i := 0; i < 6; i++ {
		if o2 = settle(t, a, o2.ID); !o2.WorkDue() {
			break
		}
	}
	rf = o2.Payment.Refunds[0]
	if rf.TaxDue || rf.TaxFailure == "" || rf.TaxReversalID != "" || rf.ReceiptID == "" || o2.WorkDue() ||
		len(r.alertsOf(t, o2.ID, alert.TaxNotRecorded)) != 1 || r.mailText(t, o2.ID, messages.PurposeRefunded+"-1") == "" {
		t.Errorf("a reversal refused: %+v, work due %v, alerts %v", rf, o2.WorkDue(), r.alertsOf(t, o2.ID, ""))
	}
}
