package stripepay

import (
	"context"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/tax"
	"github.com/stripe/stripe-go/v76"
)

// TestContractWithStripeMock sends every kind of request the project makes
// to stripe-mock, which checks it against Stripe's OpenAPI specification:
// an unknown or malformed parameter would answer 400 here.
func TestContractWithStripeMock(t *testing.T) {
	api := stripeMock(t)
	ctx := context.Background()

	sess, err := Payments{API: api}.CreateSession(ctx, payments.SessionRequest{
		OrderID: "K7Q2M9XH4TBA", IdempotencyKey: "session-K7Q2M9XH4TBA-r2-a1", Email: "ann@example.com", Currency: "usd",
		Lines:        []payments.SessionLine{{Name: "Planner", UnitAmount: 1665, Quantity: 1}, {Name: "Planner", UnitAmount: 1666, Quantity: 2}},
		ShippingName: "USPS Ground Advantage", ShippingAmount: 795, Tax: 478, ExpiresAt: time.Now().Add(time.Hour),
		SuccessURL: "https://shop.example.com/checkout/success?session_id={CHECKOUT_SESSION_ID}", CancelURL: "https://shop.example.com/checkout",
	})
	if err != nil || sess.ID == "" {
		t.Errorf("create Checkout Session: %+v %v", sess, err)
	}
	p := Payments{API: api}
	if _, err := p.Session(ctx, "cs_test_123"); err != nil {
		t.Errorf("retrieve Checkout Session: %v", err)
	}
	if _, err := p.ExpireSession(ctx, "cs_test_123"); err != nil {
		t.Errorf("expire Checkout Session: %v", err)
	}
	if _, err := p.Intent(ctx, "pi_123"); err != nil {
		t.Errorf("retrieve PaymentIntent (expand latest_charge): %v", err)
	}
	if _, err := p.Capture(ctx, "pi_123", 4997, "capture-K7Q2M9XH4TBA"); err != nil {
		t.Errorf("capture: %v", err)
	}
	if _, err := p.Cancel(ctx, "pi_123", "cancel-K7Q2M9XH4TBA"); err != nil {
		t.Errorf("cancel: %v", err)
	}
	if _, err := p.Cancel(ctx, "pi_123", "cancel-pi_123"); err != nil {
		t.Errorf("cancel a stray authorization: %v", err)
	}
	if _, err := p.Refund(ctx, payments.RefundRequest{IntentID: "pi_123", Amount: 1500, OrderID: "K7Q2M9XH4TBA", N: 1,
		Reason: "the planner arrived damaged", IdempotencyKey: "refund-K7Q2M9XH4TBA-1-2"}); err != nil {
		t.Errorf("refund: %v", err)
	}
	if _, err := p.Refunds(ctx, "pi_123"); err != nil {
		t.Errorf("list the intent's refunds: %v", err)
	}
	if _, err := p.Dispute(ctx, "dp_123"); err != nil {
		t.Errorf("retrieve a dispute: %v", err)
	}
	// Stripe Tax (issue 24): a calculation from the ship-from address to
	// the customer's, its transaction, and a refund's reversal.
	tx := Tax{API: api}
	austin := tax.Address{Line1: "500 Congress Ave", City: "Austin", State: "TX", PostalCode: "78701", Country: "US"}
	if _, err := tx.Calculate(ctx, tax.Sale{Currency: "USD", Shipping: 690, From: austin, To: austin,
		Lines: []tax.SaleLine{{Reference: "PLN-DAY-A5-LINEN", Amount: 3420, Quantity: 1, TaxCode: "txcd_99999999"}, {Reference: "PEN-SET-6", Amount: 1620, Quantity: 1}}},
		"taxcalc-K7Q2M9XH4TBA-r3"); err != nil {
		t.Errorf("tax calculation: %v", err)
	}
	// The pages of line items the adapter reads when an expanded list has more.
	clp := &stripe.TaxCalculationListLineItemsParams{Calculation: stripe.String("taxcalc_123")}
	clp.Limit = stripe.Int64(100)
	cit := api.TaxCalculations.ListLineItems(clp)
	for cit.Next() {
	}
	if err := cit.Err(); err != nil {
		t.Errorf("list a calculation's line items: %v", err)
	}
	tlp := &stripe.TaxTransactionListLineItemsParams{Transaction: stripe.String("tax_123")}
	tlp.Limit = stripe.Int64(100)
	tit := api.TaxTransactions.ListLineItems(tlp)
	for tit.Next() {
	}
	if err := tit.Err(); err != nil {
		t.Errorf("list a transaction's line items: %v", err)
	}
	if _, err := tx.Record(ctx, "taxcalc_123", "K7Q2M9XH4TBA", "taxtx-K7Q2M9XH4TBA"); err != nil {
		t.Errorf("tax transaction from the calculation: %v", err)
	}
	if _, err := tx.Reverse(ctx, "tax_123", "K7Q2M9XH4TBA-refund-1", 538, "taxrev-K7Q2M9XH4TBA-1"); err != nil {
		t.Errorf("tax reversal: %v", err)
	}
}
