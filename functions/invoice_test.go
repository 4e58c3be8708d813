package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/quickbooks"
)

func TestInvoiceStep(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	s := newStore(t, a, 10, 10)
	ctx := context.Background()
	id, _ := authorized(t, a, s)
	before := qb.InvoiceCount()
	o, _ := a.Orders.Get(ctx, id)
	if err := a.Flow.Redrive(ctx, o); err != nil {
		t.Fatalf("invoice step: %v", err)
	}
	o, _ = a.Orders.Get(ctx, id)
	if o.State() != order.Invoiced || o.Invoice == nil || o.Invoice.DocNumber != id || o.Invoice.Total != o.Total() {
		t.Fatalf("after the step: %s %+v (%s)", o.State(), o.Invoice, o.Attention)
	}
	inv := qb.Invoice(o.Invoice.ID)
	total, err := quickbooks.Cents(json.Number(fmt.Sprint(inv["TotalAmt"])), "USD")
	if err != nil || total != o.Total() || inv["PrivateNote"] != "Order "+id+"; Stripe PaymentIntent "+o.Payment.IntentID {
		t.Errorf("QuickBooks invoice %v: total %v, want %v", inv, total, o.Total())
	}
	// The step again (a duplicate trigger, or a crash after QuickBooks
	// answered): the requestid returns the same invoice, nothing new.
	again, err := a.Bookkeeping.Books.Invoice(ctx, o)
	if err != nil || again.ID != o.Invoice.ID || qb.InvoiceCount() != before+1 {
		t.Errorf("repeat: %+v %v, %d new invoices", again, err, qb.InvoiceCount()-before)
	}
}
