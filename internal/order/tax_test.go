package order

import (
	"errors"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/shipping"
	"github.com/readyplanner/oms/internal/tax"
)

// taxable is a pending order of two lines (2000 and 1000 cents, the
// first 200 off) shipping 500 to Austin.
func taxable(t *testing.T) *Order {
	t.Helper()
	o := at(t, Pending)
	o.Lines = []pricing.Line{{SKU: "A", Quantity: 2, Total: money.New(2000, "USD"), TaxCode: "txcd_1"}, {SKU: "B", Quantity: 1, Total: money.New(1000, "USD")}}
	o.Subtotal = money.New(3000, "USD")
	o.Pricing = Pricing{Revision: 1, LineDiscounts: []money.Money{money.New(200, "USD"), money.New(0, "USD")}}
	o.Shipping = &ShippingChoice{Rate: shipping.Rate{RateID: "r1", Amount: money.New(500, "USD")},
		Address: shipping.Address{AddressLine1: "1 Main St", CityLocality: "Austin", StateProvince: "TX", PostalCode: "78701", CountryCode: "US"}}
	return o
}

// The tax is of what would be paid — each line after its discount, the
// shipping after its discount, to the chosen address — and counts in the
// total only while it was made for that: any change of it makes the
// figures stale (the total without them) until they are made again; once
// the order went to payment, the figures it was paid with count.
func TestTaxFollowsWhatIsPaid(t *testing.T) {
	o := taxable(t)
	s, ok := o.TaxSale()
	if !ok || len(s.Lines) != 2 || s.Lines[0].Amount != 1800 || s.Lines[0].TaxCode != "txcd_1" || s.Lines[1].Amount != 1000 || s.Shipping != 500 ||
		s.To.State != "TX" || s.To.PostalCode != "78701" {
		t.Fatalf("the sale: %+v", s)
	}
	if o.TaxCurrent() || o.TaxAmount().Amount != 0 || o.Total().Amount != 3300 {
		t.Errorf("before any tax: current %v, tax %d, total %d", o.TaxCurrent(), o.TaxAmount().Amount, o.Total().Amount)
	}
	basis := o.TaxBasis()
	f := tax.Figures{Lines: []int64{149, 83}, Shipping: 41, Total: 273}
	if changed, err := o.SetTax(TaxByTable, basis, "", f, t0); err != nil || !changed || !o.TaxCurrent() || o.Total().Amount != 3573 {
		t.Fatalf("set: %v %v, total %d", changed, err, o.Total().Amount)
	}
	if changed, err := o.SetTax(TaxByTable, basis, "", f, t0); err != nil || changed {
		t.Errorf("the same figures again: %v %v", changed, err)
	}
	// Figures that do not add up, or not one per line, are refused.
	for _, bad := range []tax.Figures{{Lines: []int64{149, 83}, Shipping: 41, Total: 274}, {Lines: []int64{232}, Shipping: 41, Total: 273}, {Lines: []int64{-1, 233}, Shipping: 41, Total: 273}} {
		if _, err := o.SetTax(TaxByTable, basis, "", bad, t0); err == nil {
			t.Errorf("figures %+v were taken", bad)
		}
	}
	// Each change of what is taxed makes the figures stale.
	for name, change := range map[string]func(*Order){
		"another address":  func(o *Order) { o.Shipping.Address.PostalCode = "73301" },
		"another rate":     func(o *Order) { o.Shipping.Rate.Amount = money.New(700, "USD") },
		"another discount": func(o *Order) { o.Pricing.LineDiscounts[1] = money.New(100, "USD") },
		"shipping free":    func(o *Order) { o.Pricing.ShippingDiscount = money.New(500, "USD") },
		"no shipping":      func(o *Order) { o.Shipping = nil },
	} {
		c := taxable(t)
		if _, err := c.SetTax(TaxByTable, c.TaxBasis(), "", f, t0); err != nil {
			t.Fatal(err)
		}
		change(c)
		if c.TaxCurrent() || c.TaxAmount().Amount != 0 {
			t.Errorf("%s: the tax still counts", name)
		}
		if changed, err := c.SetTax(TaxByTable, basis, "", f, t0); changed || err != nil {
			t.Errorf("%s: figures for the old basis were taken: %v %v", name, changed, err)
		}
	}
	// An open session: the figures cannot change under it.
	p := taxable(t)
	p.Payment = &Payment{SessionID: "cs_1", Revision: 1}
	if _, err := p.SetTax(TaxByStripe, p.TaxBasis(), "taxcalc_1", f, t0); !errors.Is(err, ErrSessionOpen) {
		t.Errorf("with a session open: %v", err)
	}
	// Once authorized, the figures it was paid with count.
	if _, err := o.Transition(Move{To: Authorized, Actor: "stripe"}, t0); err != nil {
		t.Fatal(err)
	}
	o.Shipping.Rate.Amount = money.New(600, "USD") // (nothing changes a paid order's shipping; the tax would not follow)
	if o.TaxAmount().Amount != 273 {
		t.Errorf("an authorized order's tax: %d", o.TaxAmount().Amount)
	}
	if _, err := o.SetTax(TaxByTable, o.TaxBasis(), "", f, t0); err == nil {
		t.Error("the tax of an authorized order was changed")
	}
}

// Refunds give back tax in proportion, cumulatively: each refund's share
// is settled (the books wait for it) once it is made; the shares of
// refunds of the whole charge make the whole tax; an order charged no tax
// owes none back and its refunds go to the books at once.
func TestRefundsGiveBackTheirTax(t *testing.T) {
	o := taxable(t)
	f := tax.Figures{Lines: []int64{149, 83}, Shipping: 41, Total: 273}
	if _, err := o.SetTax(TaxByStripe, o.TaxBasis(), "taxcalc_1", f, t0); err != nil {
		t.Fatal(err)
	}
	o.state = Fulfilling
	o.Payment = &Payment{IntentID: "pi_1", AmountCaptured: 3573}
	if !o.TaxToRecord() || !o.TaxRecorded("tax_1") || o.TaxRecorded("tax_1") || o.TaxToRecord() {
		t.Fatal("the sale's transaction is recorded once")
	}
	var shares []int64
	for _, amount := range []int64{1000, 1, 1500, 0} {
		r, err := o.AddRefund(amount, "r", "owner:x", t0)
		if err != nil || !r.TaxDue {
			t.Fatalf("refund %d: %+v %v", amount, r, err)
		}
		if _, err := o.RefundMade(r.N, "re_x", "trigger", t0); err != nil {
			t.Fatal(err)
		}
		made, _ := o.RefundOf(r.N)
		if made.BooksDue() || !o.RefundsDue() || len(o.RefundsTaxDue()) != 1 {
			t.Errorf("refund %d made: books due before its tax", r.N)
		}
		share := o.RefundTaxShare(r.N)
		if !o.RefundTaxSettled(r.N, share, "taxrev_x", "") || o.RefundTaxSettled(r.N, share, "taxrev_x", "") {
			t.Errorf("refund %d's tax settled once", r.N)
		}
		if made, _ = o.RefundOf(r.N); !made.BooksDue() || made.Tax != share {
			t.Errorf("refund %d settled: %+v", r.N, made)
		}
		shares = append(shares, share)
	}
	// 1000 of 3573 carries 76.41 (76); 1001 in all carries 76.48 (76: the
	// second refund, of one cent, none); 2501 carries 191.09 (191: 115);
	// the rest, all that is left: 82.
	if want := []int64{76, 0, 115, 82}; len(shares) != 4 || shares[0] != want[0] || shares[1] != want[1] || shares[2] != want[2] || shares[3] != want[3] {
		t.Errorf("shares %v, want %v", shares, want)
	}
	if o.TaxRefunded() != 273 || o.State() != Refunded {
		t.Errorf("refunded in full: tax back %d, state %s", o.TaxRefunded(), o.State())
	}

	// No tax on the order: nothing to settle.
	u := charged(t, Fulfilling)
	r, _ := u.AddRefund(300, "r", "owner:x", t0)
	if _, err := u.RefundMade(r.N, "re_1", "trigger", t0); err != nil {
		t.Fatal(err)
	}
	if made, _ := u.RefundOf(r.N); r.TaxDue || !made.BooksDue() || len(u.RefundsTaxDue()) != 0 {
		t.Errorf("an untaxed order's refund: %+v", made)
	}
}

// A capture of an order taxed by a provider's calculation wakes the
// work that records the sale's tax there, and the order's work stays due
// until it is recorded (the sweeper re-drives it if the trigger is lost).
func TestCaptureWakesTheTaxRecord(t *testing.T) {
	o := taxable(t)
	if _, err := o.SetTax(TaxByStripe, o.TaxBasis(), "taxcalc_1", tax.Figures{Lines: []int64{149, 83}, Shipping: 41, Total: 273}, t0); err != nil {
		t.Fatal(err)
	}
	o.state, o.Work = Approved, Work{State: Approved, Entry: 1, Complete: true}
	o.Payment = &Payment{IntentID: "pi_1", AmountCapturable: 3573}
	if changed, err := o.Captured(3573, "trigger", t0); err != nil || !changed || o.State() != Paid || o.Work.Wake != 1 || !o.TaxToRecord() {
		t.Fatalf("captured: %v %v %s wake %d", changed, err, o.State(), o.Work.Wake)
	}
	o.Work.Complete = true
	if !o.WorkDue() {
		t.Error("the sale's tax to record is not due work")
	}
	o.TaxRecorded("tax_1")
	if o.WorkDue() {
		t.Error("work due after the tax was recorded")
	}
}

// A sale a provider taxed nothing is still on its record there: each
// refund of it is taken off that record (its share settled, of 0) before
// the books; a rate-table order taxed nothing owes nothing.
func TestRefundsOfASaleTaxedNothing(t *testing.T) {
	for provider, calc := range map[string]string{TaxByStripe: "taxcalc_1", TaxByTable: ""} {
		o := taxable(t)
		if _, err := o.SetTax(provider, o.TaxBasis(), calc, tax.Figures{Lines: []int64{0, 0}}, t0); err != nil {
			t.Fatal(err)
		}
		o.state = Fulfilling
		o.Payment = &Payment{IntentID: "pi_1", AmountCaptured: 3300}
		r, err := o.AddRefund(1000, "r", "owner:x", t0)
		if err != nil || r.TaxDue != (calc != "") || o.RefundTaxShare(r.N) != 0 {
			t.Errorf("%s: %+v %v", provider, r, err)
		}
	}
}

// Figures made for what the order is no longer paid for are dropped as it
// leaves pending: the authorized total never grows by a stale tax (the
// store stopped collecting tax while a change's figures were missing).
func TestStaleTaxIsDroppedAtAuthorization(t *testing.T) {
	o := taxable(t)
	if _, err := o.SetTax(TaxByStripe, o.TaxBasis(), "taxcalc_1", tax.Figures{Lines: []int64{149, 83}, Shipping: 41, Total: 273}, t0); err != nil {
		t.Fatal(err)
	}
	o.Shipping.Address.PostalCode = "73301" // another address; its tax never worked out
	o.Customer = &Customer{Name: "Ann", Email: "ann@example.com"}
	o.Payment = &Payment{Revision: 1, SessionID: "cs_1", ExpiresAt: t0.Add(time.Hour)}
	o.Pricing.CommittedRevision = 1
	if applied, err := o.Authorize(Authorization{SessionID: "cs_1", IntentID: "pi_1", Amount: 3300}, "stripe", t0); err != nil || !applied {
		t.Fatalf("authorize: %v %v", applied, err)
	}
	if o.Tax != nil || o.Total().Amount != 3300 || o.TaxToRecord() {
		t.Errorf("after authorization: tax %+v, total %d", o.Tax, o.Total().Amount)
	}
}

// A provider's refusal for good to record the sale stops asking: the
// work is no longer due, and refunds settle the order's proportion.
func TestTaxRecordRefused(t *testing.T) {
	o := taxable(t)
	if _, err := o.SetTax(TaxByStripe, o.TaxBasis(), "taxcalc_1", tax.Figures{Lines: []int64{149, 83}, Shipping: 41, Total: 273}, t0); err != nil {
		t.Fatal(err)
	}
	o.state, o.Work = Fulfilling, Work{State: Fulfilling, Entry: 1, Complete: true}
	o.Payment = &Payment{IntentID: "pi_1", AmountCaptured: 3573}
	if !o.WorkDue() || !o.TaxRecordRefused("the calculation expired") || o.TaxRecordRefused("again") || o.TaxToRecord() {
		t.Fatal("refused once")
	}
	o.Work.Complete = true
	if o.WorkDue() {
		t.Error("work due after a refusal for good")
	}
}
