package money

import (
	"math"
	"testing"
)

func TestDecimalRoundTrip(t *testing.T) {
	tests := []struct {
		amount   int64
		currency string
		want     string
	}{
		{0, "USD", "0.00"},
		{5, "USD", "0.05"},
		{-5, "USD", "-0.05"},
		{1999, "usd", "19.99"},
		{100000, "USD", "1000.00"},
		{1999, "JPY", "1999"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64, "USD", "-92233720368547758.08"},
	}
	for _, tt := range tests {
		m := New(tt.amount, tt.currency)
		if got := m.Decimal(); got != tt.want {
			t.Errorf("New(%d,%s).Decimal() = %q, want %q", tt.amount, tt.currency, got, tt.want)
		}
		if tt.amount == math.MinInt64 {
			continue // its magnitude does not fit int64
		}
		back, err := ParseDecimal(tt.want, tt.currency)
		if err != nil || back != m {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %v", tt.want, back, err, m)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"19.99", 1999, false},
		{"19.9", 1990, false},
		{"19", 1900, false},
		{".5", 50, false},
		{"+1.00", 100, false},
		{" 2.50 ", 250, false},
		{"19.990", 1999, false},
		{"19.995", 0, true},
		{"1e2", 0, true},
		{"", 0, true},
		{".", 0, true},
		{"1.", 0, true},
		{"-", 0, true},
		{"1,000.00", 0, true},
		{"0.1.2", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDecimal(tt.in, "USD")
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseDecimal(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && got.Amount != tt.want {
			t.Errorf("ParseDecimal(%q) = %d, want %d", tt.in, got.Amount, tt.want)
		}
	}
}

func TestArithmetic(t *testing.T) {
	a, b := New(1999, "USD"), New(1, "USD")
	if s, err := a.Add(b); err != nil || s.Amount != 2000 {
		t.Errorf("Add = %v, %v", s, err)
	}
	if s, err := a.Sub(b); err != nil || s.Amount != 1998 {
		t.Errorf("Sub = %v, %v", s, err)
	}
	if _, err := a.Add(New(1, "EUR")); err == nil {
		t.Error("adding different currencies must fail")
	}
	if s, err := (Money{}).Add(a); err != nil || s != a {
		t.Errorf("zero value must add to any currency: %v, %v", s, err)
	}
	if _, err := New(math.MaxInt64, "USD").Add(b); err == nil {
		t.Error("overflow must fail")
	}
	if p, err := a.Mul(3); err != nil || p.Amount != 5997 {
		t.Errorf("Mul = %v, %v", p, err)
	}
	if _, err := New(math.MaxInt64/2+1, "USD").Mul(2); err == nil {
		t.Error("Mul overflow must fail")
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"19.99", "-0.05", "1", ".5", "1e3", "١٢"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseDecimal(s, "USD")
		if err != nil {
			return
		}
		back, err := ParseDecimal(m.Decimal(), "USD")
		if err != nil || back != m {
			t.Fatalf("%q → %v → %q → %v, %v", s, m, m.Decimal(), back, err)
		}
	})
}

// Display shows an amount as people read it, in emails and alerts alike:
// the currency's symbol where it has one here, thousands separated, the
// currency's digits.
func TestDisplay(t *testing.T) {
	for m, want := range map[Money]string{
		New(3890, "USD"): "$38.90", New(123456789, "USD"): "$1,234,567.89", New(5, "EUR"): "€0.05", New(0, "USD"): "$0.00",
		New(1200, "JPY"): "1,200 JPY", New(-250, "GBP"): "-£2.50", New(100000, "CAD"): "CA$1,000.00", New(99, "CHF"): "0.99 CHF",
	} {
		if got := m.Display(); got != want {
			t.Errorf("%v.Display() = %q, want %q", m, got, want)
		}
	}
}
