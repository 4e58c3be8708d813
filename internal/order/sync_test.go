package order

import (
	"testing"

	"github.com/readyplanner/oms/internal/money"
)

// Stripe's refunds of the charge, re-read: the order's own (by id, by the
// number in their metadata, or — made before refunds carried it — by the
// order and amount) take Stripe's status; one the order does not know was
// made outside and is recorded, counted, and lowers what is still to make;
// only succeeded counts; failed stops counting; the order is refunded when
// they reach the charge.
func TestSyncRefunds(t *testing.T) {
	o := charged(t, Fulfilling)
	if _, err := o.AddRefund(300, "scuffed", "owner:x", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := o.AddRefund(500, "late", "owner:x", t0); err != nil {
		t.Fatal(err)
	}
	res, err := o.SyncRefunds([]ProviderRefund{
		{ID: "re_own", Amount: 300, Status: "succeeded", OrderID: o.ID, N: 1},
		{ID: "re_dash", Amount: 400, Status: "succeeded"},
	}, "stripe", t0)
	if err != nil || !res.Changed || len(res.Outside) != 1 {
		t.Fatalf("sync: %+v %v", res, err)
	}
	r1, _ := o.RefundOf(1)
	r2, _ := o.RefundOf(2)
	r3, _ := o.RefundOf(3)
	switch {
	case !r1.Made() || r1.ProviderID != "re_own":
		t.Errorf("refund 1, its answer lost: %+v", r1)
	case !r3.Outside || !r3.Made() || r3.Amount != 400:
		t.Errorf("the dashboard's refund: %+v", r3)
	case r2.Amount != 300 || !r2.PaymentDue():
		t.Errorf("refund 2 must be lowered to the 300 left: %+v", r2)
	case o.RefundedTotal() != 700 || o.Refundable() != 0 || o.Payment.AmountRefunded != 700:
		t.Errorf("refunded %d, refundable %d", o.RefundedTotal(), o.Refundable())
	}

	// Refund 2 made pending, then succeeded: refunded in full.
	if !o.RefundPending(2, "re_2") || o.RefundedTotal() != 700 {
		t.Fatalf("pending counts nothing: %d", o.RefundedTotal())
	}
	if _, err := o.SyncRefunds([]ProviderRefund{{ID: "re_2", Amount: 300, Status: "succeeded", OrderID: o.ID, N: 2}}, "stripe", t0); err != nil || o.State() != Refunded {
		t.Fatalf("after refund 2 succeeded: %s %v", o.State(), err)
	}
	// A re-read overtaken by the call's answer changes nothing back.
	if o.RefundPending(2, "re_2") {
		t.Error("a succeeded refund went back to pending")
	}
	// The dashboard's refund fails later: it stops counting, once.
	res, _ = o.SyncRefunds([]ProviderRefund{{ID: "re_dash", Amount: 400, Status: "failed"}}, "stripe", t0)
	if len(res.Failed) != 1 || o.RefundedTotal() != 600 || o.Refundable() != 400 {
		t.Errorf("a failed refund: %+v, refunded %d, refundable %d", res, o.RefundedTotal(), o.Refundable())
	}
	if res, _ = o.SyncRefunds([]ProviderRefund{{ID: "re_dash", Amount: 400, Status: "failed"}}, "stripe", t0); res.Changed {
		t.Error("the same failure again changed the order")
	}

	// A refund made before refunds carried their number (orderId only)
	// is the order's own, not one made outside.
	old := charged(t, Paid)
	if _, err := old.AddRefund(250, "r", "owner:x", t0); err != nil {
		t.Fatal(err)
	}
	if res, _ := old.SyncRefunds([]ProviderRefund{{ID: "re_old", Amount: 250, Status: "succeeded", OrderID: old.ID}}, "stripe", t0); len(res.Outside) != 0 || old.RefundedTotal() != 250 {
		t.Errorf("an older refund of the store's: %+v, refunded %d", res, old.RefundedTotal())
	}
}

// An invoice recorded by a QuickBooks event while the order waited (a
// retried order back in authorized) still moves it on when the invoice
// step answers with it.
func TestInvoiceMadeAgain(t *testing.T) {
	o := at(t, Authorized)
	inv := Invoice{ID: "101", DocNumber: o.ID, Total: money.New(1000, "USD")}
	o.Invoice = &inv
	if changed, err := o.InvoiceMade(inv, "trigger", t0); err != nil || !changed || o.State() != Invoiced {
		t.Errorf("the invoice step's answer: %v %v, %s", changed, err, o.State())
	}
	if changed, _ := o.InvoiceMade(Invoice{ID: "102"}, "trigger", t0); changed || o.Invoice.ID != "101" {
		t.Errorf("another invoice replaced the order's: %+v", o.Invoice)
	}
}
