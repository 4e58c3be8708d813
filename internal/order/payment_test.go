package order

import (
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/shipping"
)

// payable returns a pending order whose current session cs_1 was made for
// its committed pricing: total 2000 + 500 shipping.
func payable(t *testing.T) *Order {
	t.Helper()
	o := at(t, Pending)
	o.Lines = []pricing.Line{{SKU: "A", Quantity: 2, Total: money.New(2000, "USD")}}
	o.Subtotal = money.New(2000, "USD")
	o.Customer = &Customer{Name: "Ann", Email: "ann@example.com"}
	o.Shipping = &ShippingChoice{Rate: shipping.Rate{RateID: "se-1", Amount: money.New(500, "USD")}}
	o.Pricing = Pricing{Revision: 3, CommittedRevision: 3}
	o.Payment = &Payment{Revision: 3, Attempt: 2, SessionID: "cs_1"}
	return o
}

func TestAuthorizationRefusal(t *testing.T) {
	tests := []struct {
		name    string
		change  func(o *Order)
		session string
		amount  int64
		want    string
	}{
		{"the current session, the committed total", func(*Order) {}, "cs_1", 2500, ""},
		{"another session", func(*Order) {}, "cs_0", 2500, RefusedNotCurrent},
		{"no session yet", func(o *Order) { o.Payment.SessionID = "" }, "", 2500, RefusedNotCurrent},
		{"no payment at all", func(o *Order) { o.Payment = nil }, "cs_1", 2500, RefusedNotCurrent},
		{"closed by a change", func(o *Order) { o.Payment.SessionClosed = true }, "cs_1", 2500, RefusedSessionClosed},
		{"expired order", func(o *Order) { o.state = Expired }, "cs_1", 2500, RefusedNotPending},
		{"no customer", func(o *Order) { o.Customer = nil }, "cs_1", 2500, RefusedNoCustomer},
		{"no shipping", func(o *Order) { o.Shipping = nil }, "cs_1", 2000, RefusedNoShipping},
		{"re-priced since the commit", func(o *Order) { o.Pricing.Revision = 4 }, "cs_1", 2500, RefusedUncommitted},
		{"session for an older revision", func(o *Order) { o.Payment.Revision = 2 }, "cs_1", 2500, RefusedUncommitted},
		{"never committed", func(o *Order) { o.Pricing = Pricing{}; o.Payment.Revision = 0 }, "cs_1", 2500, RefusedUncommitted},
		{"less than the total", func(*Order) {}, "cs_1", 2499, RefusedAmount},
		{"more than the total", func(*Order) {}, "cs_1", 4195, RefusedAmount},
	}
	for _, tt := range tests {
		o := payable(t)
		tt.change(o)
		if got := o.AuthorizationRefusal(tt.session, tt.amount); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSessionOpen(t *testing.T) {
	o := payable(t)
	if !o.SessionOpen() {
		t.Error("a made, unclosed session is open")
	}
	o.Payment.SessionClosed = true
	if o.SessionOpen() {
		t.Error("a closed session is not open")
	}
	o.Payment = &Payment{Attempt: 3} // planned, not made yet
	if o.SessionOpen() {
		t.Error("a planned session is not open")
	}
}

func TestStraysAreRecordedOnceAndWakeTheWork(t *testing.T) {
	o := payable(t)
	wake := o.Work.Wake
	s := StrayPayment{IntentID: "pi_1", SessionID: "cs_0", Amount: 2395, Reason: RefusedNotCurrent, At: t0}
	if !o.AddStray(s) || o.AddStray(s) || len(o.Payment.Strays) != 1 || o.Work.Wake != wake+1 {
		t.Fatalf("strays %+v wake %d", o.Payment.Strays, o.Work.Wake)
	}
	o.Work.Complete = true
	if !o.WorkDue() || len(o.OpenStrays()) != 1 {
		t.Error("an open stray makes work due")
	}
	if !o.SettleStray("pi_1", "canceled", t0.Add(time.Minute)) || o.SettleStray("pi_1", "canceled", t0) || o.WorkDue() {
		t.Errorf("settled: %+v due %v", o.Payment.Strays, o.WorkDue())
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{NewID(), NewID(), "K7Q2M9XH4TBA"} {
		if err := ValidID(id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, id := range []string{"", "orders/x", "..", ".", "__x__", "K7Q2M9XH4TB", "K7Q2M9XH4TBAA", "K7Q2M9XH4TB0", "k7q2m9xh4tba", strings.Repeat("A", 1500)} {
		if err := ValidID(id); err == nil {
			t.Errorf("%q accepted", id)
		}
	}
}
