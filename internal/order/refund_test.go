package order

import (
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
)

// charged is an order in s charged 1000 cents.
func charged(t *testing.T, s State) *Order {
	t.Helper()
	o := at(t, s)
	o.Payment = &Payment{IntentID: "pi_1", AmountCaptured: 1000}
	return o
}

func reasonOf(err error) string {
	if e := apperr.As(err); e != nil {
		return e.Reason
	}
	return ""
}

// Refunds: only of what was charged and is left; each numbered, noted in
// the history, and waking the order's work; the order is refunded when
// the refunds made reach the charge, and a refused one gives its amount
// back to refund.
func TestRefunds(t *testing.T) {
	if _, err := at(t, Authorized).AddRefund(0, "r", "owner:x", t0); reasonOf(err) != ReasonNotCaptured {
		t.Errorf("an uncharged order: %v", err)
	}
	o := charged(t, Fulfilling)
	if _, err := o.AddRefund(-1, "r", "owner:x", t0); reasonOf(err) != ReasonAmountInvalid {
		t.Errorf("a negative amount: %v", err)
	}
	if _, err := o.AddRefund(1001, "r", "owner:x", t0); reasonOf(err) != ReasonAmountTooLarge {
		t.Errorf("more than the charge: %v", err)
	}
	r1, err := o.AddRefund(300, "scuffed", "owner:x", t0)
	if err != nil || r1.N != 1 || r1.Amount != 300 || !r1.PaymentDue() || r1.Key("o1") != "refund-o1-1" || o.Work.Wake != 1 || !o.WorkDue() {
		t.Fatalf("refund 1: %+v %v, wake %d", r1, err, o.Work.Wake)
	}
	h := o.History()
	if last := h[len(h)-1]; last.From != Fulfilling || last.To != Fulfilling || last.Actor != "owner:x" || !strings.Contains(last.Reason, "scuffed") {
		t.Errorf("the note: %+v", last)
	}
	if c, ok := o.LastTransition(); !ok || c.To != Pending || c.From != "" { // at() restores with only the creation
		t.Errorf("last transition %+v", c)
	}
	r2, _ := o.AddRefund(0, "the rest", "owner:x", t0) // everything left
	if r2.N != 2 || r2.Amount != 700 || o.Refundable() != 0 {
		t.Fatalf("refund 2: %+v, refundable %d", r2, o.Refundable())
	}
	if _, err := o.AddRefund(0, "more", "owner:x", t0); reasonOf(err) != ReasonFullyRefunded {
		t.Errorf("nothing left: %v", err)
	}
	// Stripe refuses refund 2: its amount is refundable again.
	if !o.RefundFailed(2, true, "charge disputed") || o.RefundFailed(2, true, "charge disputed") || o.Refundable() != 700 {
		t.Errorf("refused: refundable %d", o.Refundable())
	}
	at1 := t0.Add(time.Minute)
	if changed, err := o.RefundMade(1, "re_1", "trigger", at1); !changed || err != nil || o.State() != Fulfilling ||
		o.RefundedTotal() != 300 || o.PaymentStatus() != PaymentPartiallyRefunded || !o.Payment.Refunds[0].BooksDue() {
		t.Errorf("refund 1 made: %v %v %s %d %s", changed, err, o.State(), o.RefundedTotal(), o.PaymentStatus())
	}
	if changed, _ := o.RefundMade(1, "re_1", "trigger", at1); changed {
		t.Error("refund 1 made twice")
	}
	r3, _ := o.AddRefund(0, "the rest again", "owner:x", t0)
	if _, err := o.RefundMade(r3.N, "re_3", "trigger", at1); err != nil || o.State() != Refunded || o.PaymentStatus() != PaymentRefunded || o.RefundedTotal() != 1000 {
		t.Errorf("refund 3 made: %v %s %s %d", err, o.State(), o.PaymentStatus(), o.RefundedTotal())
	}
	if !o.RefundRecorded(1, "rr1", at1) || o.RefundRecorded(1, "rr1", at1) || o.Payment.Refunds[0].BooksDue() {
		t.Errorf("recorded: %+v", o.Payment.Refunds[0])
	}
	for _, r := range o.Payment.Refunds {
		_ = o.RefundRecorded(r.N, "x", at1)
	}
	if o.WorkDue() != !o.Work.Complete {
		t.Error("refunds still due after all were made or refused and recorded")
	}

	// A canceled order refunded in full stays canceled.
	c := charged(t, Canceled)
	r, _ := c.AddRefund(0, "canceled", "owner:x", t0)
	if _, err := c.RefundMade(r.N, "re_c", "trigger", at1); err != nil || c.State() != Canceled || c.PaymentStatus() != PaymentRefunded {
		t.Errorf("a canceled order: %v %s %s", err, c.State(), c.PaymentStatus())
	}
	m := charged(t, Paid)
	for i := 0; i < MaxRefunds; i++ {
		if _, err := m.AddRefund(1, "cent", "owner:x", t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.AddRefund(1, "cent", "owner:x", t0); reasonOf(err) != ReasonTooManyRefunds {
		t.Errorf("refund %d: %v", MaxRefunds+1, err)
	}
}
