package webhook

import "testing"

func TestEventSourceAndValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		e     Event
		src   Source
		valid bool
	}{
		{"stripe", Event{ID: "evt_1", Stripe: &StripeEvent{Type: "charge.refunded"}}, Stripe, true},
		{"quickbooks", Event{ID: "k", QuickBooks: &QuickBooksEvent{Entity: "Invoice"}}, QuickBooks, true},
		{"printer", Event{ID: "1:SHIPPED:t", Printer: &PrinterEvent{JobID: "1"}}, Printer, true},
		{"no part", Event{ID: "x"}, "", false},
		{"two parts", Event{ID: "x", Stripe: &StripeEvent{}, Printer: &PrinterEvent{}}, Stripe, false},
		{"no id", Event{Printer: &PrinterEvent{}}, Printer, false},
	} {
		if got := tc.e.Source(); got != tc.src {
			t.Errorf("%s: source %q, want %q", tc.name, got, tc.src)
		}
		if err := tc.e.Validate(); (err == nil) != tc.valid {
			t.Errorf("%s: Validate = %v, want valid %v", tc.name, err, tc.valid)
		}
	}
}
