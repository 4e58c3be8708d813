// Package money holds amounts of money as integer minor units (cents) with a
// currency. Decimal strings exist only at the edges (QuickBooks, ShipEngine,
// the printer) and convert exactly, or fail.
package money

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is an amount in minor units of Currency (an ISO 4217 code in upper
// case). The zero value is zero of no currency and adds to any currency.
type Money struct {
	Amount   int64  // minor units: cents for USD
	Currency string // ISO 4217, e.g. "USD"
}

// New returns amount minor units of currency.
func New(amount int64, currency string) Money {
	return Money{Amount: amount, Currency: strings.ToUpper(currency)}
}

// Exponent is the number of minor-unit digits of an ISO 4217 currency. Only
// the zero-decimal currencies Stripe lists differ from 2.
func Exponent(currency string) int {
	switch strings.ToUpper(currency) {
	case "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	}
	return 2
}

// IsZero reports whether the amount is zero.
func (m Money) IsZero() bool { return m.Amount == 0 }

func (m Money) same(o Money) (string, error) {
	switch {
	case m.Currency == o.Currency || o.Currency == "":
		return m.Currency, nil
	case m.Currency == "":
		return o.Currency, nil
	}
	return "", fmt.Errorf("money: currency mismatch %s vs %s", m.Currency, o.Currency)
}

// Add returns m+o. It fails on different currencies or on overflow.
func (m Money) Add(o Money) (Money, error) {
	cur, err := m.same(o)
	if err != nil {
		return Money{}, err
	}
	s := m.Amount + o.Amount
	if (o.Amount > 0 && s < m.Amount) || (o.Amount < 0 && s > m.Amount) {
		return Money{}, fmt.Errorf("money: overflow adding %d and %d", m.Amount, o.Amount)
	}
	return Money{Amount: s, Currency: cur}, nil
}

// Sub returns m-o. It fails on different currencies or on overflow.
func (m Money) Sub(o Money) (Money, error) {
	if o.Amount == math.MinInt64 {
		return Money{}, fmt.Errorf("money: overflow negating %d", o.Amount)
	}
	return m.Add(Money{Amount: -o.Amount, Currency: o.Currency})
}

// Mul returns m times an integer quantity. It fails on overflow.
func (m Money) Mul(q int64) (Money, error) {
	if q != 0 && m.Amount != 0 {
		p := m.Amount * q
		if p/q != m.Amount || (m.Amount == -1 && q == math.MinInt64) || (q == -1 && m.Amount == math.MinInt64) {
			return Money{}, fmt.Errorf("money: overflow multiplying %d by %d", m.Amount, q)
		}
		return Money{Amount: p, Currency: m.Currency}, nil
	}
	return Money{Currency: m.Currency}, nil
}

// Decimal renders the amount as a plain decimal string in major units with
// exactly the currency's number of digits: 1999 USD → "19.99", -5 → "-0.05".
func (m Money) Decimal() string {
	exp := Exponent(m.Currency)
	neg := m.Amount < 0
	// Work in uint64 so that MinInt64 renders correctly.
	u := uint64(m.Amount)
	if neg {
		u = -u
	}
	digits := strconv.FormatUint(u, 10)
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// String renders "19.99 USD": for logs and errors, where the ISO code is
// unambiguous. What people read (emails, the owner's alerts) uses Display.
func (m Money) String() string { return m.Decimal() + " " + m.Currency }

// symbols are the currencies Display shows by symbol.
var symbols = map[string]string{"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}

// Display renders the amount as people read it, the same in the
// customer's emails and the owner's alerts: "$53.90", "-£2.50",
// "$1,234,567.89"; "1,200 JPY" for a currency without a symbol here.
func (m Money) Display() string {
	d := m.Decimal()
	sign := ""
	if strings.HasPrefix(d, "-") {
		sign, d = "-", d[1:]
	}
	whole, frac, _ := strings.Cut(d, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	if sym, ok := symbols[m.Currency]; ok {
		return sign + sym + b.String()
	}
	return sign + b.String() + " " + m.Currency
}

// ParseDecimal converts a decimal string in major units ("19.99", "-0.5",
// "20", "1e2" is refused) to minor units of currency, exactly. More fraction
// digits than the currency has are accepted only if they are zeros, so
// "19.990" parses and "19.995" fails instead of rounding silently.
func ParseDecimal(s, currency string) (Money, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return Money{}, fmt.Errorf("money: %q is not a decimal amount", orig)
	}
	if hasDot && frac == "" {
		return Money{}, fmt.Errorf("money: %q is not a decimal amount", orig)
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return Money{}, fmt.Errorf("money: %q is not a decimal amount", orig)
			}
		}
	}
	exp := Exponent(currency)
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return Money{}, fmt.Errorf("money: %q has more precision than %s allows", orig, strings.ToUpper(currency))
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	if whole == "" {
		whole = "0"
	}
	u, err := strconv.ParseUint(whole+frac, 10, 64)
	if err != nil || u > math.MaxInt64 {
		return Money{}, fmt.Errorf("money: %q is out of range", orig)
	}
	amt := int64(u)
	if neg {
		amt = -amt
	}
	return New(amt, currency), nil
}
