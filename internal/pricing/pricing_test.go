package pricing

import (
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/money"
)

var (
	saleStart = time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC) // midnight in New York
	saleEnd   = time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	usd       = func(c int64) money.Money { return money.New(c, "USD") }
	skus      = map[string]catalog.SKU{
		"PLN": {ID: "PLN", ProductID: "planner", Name: "Planner", Active: true, Price: usd(3800), Fulfillment: catalog.PrintOnDemand, WeightGrams: 600},
		"STK": {ID: "STK", ProductID: "stickers", Name: "Stickers", Active: true, Price: usd(900), Fulfillment: catalog.Stock,
			Sale: &catalog.Sale{Price: usd(650), StartsAt: saleStart, EndsAt: saleEnd}},
		"PEN": {ID: "PEN", Name: "Pens", Active: true, Price: usd(1800), Fulfillment: catalog.Stock, MaxPerOrder: 3},
		"OLD": {ID: "OLD", Name: "Retired", Active: false, Price: usd(100), Fulfillment: catalog.Stock},
		"EUR": {ID: "EUR", Name: "Euro thing", Active: true, Price: money.New(100, "EUR"), Fulfillment: catalog.Stock},
	}
)

func TestPrice(t *testing.T) {
	before := saleStart.Add(-time.Second)
	tests := []struct {
		name     string
		cart     []CartLine
		at       time.Time
		subtotal int64
		units    map[string]int64 // sku → unit price
		qty      map[string]int64
	}{
		{"list prices", []CartLine{{"PLN", 1}, {"STK", 2}}, before, 3800 + 1800, map[string]int64{"PLN": 3800, "STK": 900}, nil},
		{"sale starts to the second", []CartLine{{"STK", 2}}, saleStart, 1300, map[string]int64{"STK": 650}, nil},
		{"sale one second before its end", []CartLine{{"STK", 1}}, saleEnd.Add(-time.Second), 650, map[string]int64{"STK": 650}, nil},
		{"sale over at its end", []CartLine{{"STK", 1}}, saleEnd, 900, map[string]int64{"STK": 900}, nil},
		{"same SKU summed", []CartLine{{"STK", 1}, {"PLN", 1}, {"STK", 2}}, before, 2700 + 3800, nil, map[string]int64{"STK": 3, "PLN": 1}},
		{"cap of the SKU reached exactly", []CartLine{{"PEN", 2}, {"PEN", 1}}, before, 5400, nil, map[string]int64{"PEN": 3}},
	}
	for _, tt := range tests {
		p, err := Price(skus, tt.cart, "USD", tt.at, 10)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if p.Subtotal != usd(tt.subtotal) {
			t.Errorf("%s: subtotal %v, want %d", tt.name, p.Subtotal, tt.subtotal)
		}
		var sum int64
		for _, l := range p.Lines {
			if want, ok := tt.units[l.SKU]; ok && l.UnitPrice.Amount != want {
				t.Errorf("%s: %s unit %d, want %d", tt.name, l.SKU, l.UnitPrice.Amount, want)
			}
			if want, ok := tt.qty[l.SKU]; ok && l.Quantity != want {
				t.Errorf("%s: %s quantity %d, want %d", tt.name, l.SKU, l.Quantity, want)
			}
			if l.Total.Amount != l.UnitPrice.Amount*l.Quantity || l.ListPrice != skus[l.SKU].Price {
				t.Errorf("%s: line %+v", tt.name, l)
			}
			sum += l.Total.Amount
		}
		if sum != p.Subtotal.Amount {
			t.Errorf("%s: lines sum to %d, subtotal %d", tt.name, sum, p.Subtotal.Amount)
		}
	}
}

func TestPriceOrderOfLines(t *testing.T) {
	p, err := Price(skus, []CartLine{{"STK", 1}, {"PLN", 1}, {"STK", 1}}, "USD", saleStart, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Lines) != 2 || p.Lines[0].SKU != "STK" || p.Lines[1].SKU != "PLN" || !p.Lines[0].OnSale {
		t.Errorf("lines %+v", p.Lines)
	}
}

func TestPriceRefusesBadLines(t *testing.T) {
	tests := []struct {
		name    string
		cart    []CartLine
		line    int
		reason  string
		max     int64
		message string
	}{
		{"empty", nil, 0, "", 0, ""},
		{"unknown", []CartLine{{"PLN", 1}, {"NOPE", 1}}, 2, LineUnknownSKU, 0, "unknown sku"},
		{"inactive", []CartLine{{"OLD", 1}}, 1, LineInactive, 0, "no longer sold"},
		{"zero", []CartLine{{"PLN", 0}}, 1, LineBadQuantity, 10000, "quantity must be a whole number from 1 to 10000"},
		{"negative", []CartLine{{"PLN", -2}}, 1, LineBadQuantity, 10000, "quantity must be a whole number from 1 to 10000"},
		{"over the SKU's cap when summed", []CartLine{{"PEN", 2}, {"PEN", 2}}, 1, LineOverMax, 3, "at most 3 per order"},
		{"over the store's cap", []CartLine{{"PLN", 11}}, 1, LineOverMax, 10, "at most 10 per order"},
		{"no sku", []CartLine{{"", 1}}, 1, LineNoSKU, 0, "no sku"},
		{"other currency", []CartLine{{"EUR", 1}}, 1, LineWrongCurrency, 0, "priced in EUR, the store sells in USD"},
		{"malformed sku", []CartLine{{"..", 1}}, 1, LineMalformedSKU, 0, "malformed sku"},
	}
	for _, tt := range tests {
		_, err := Price(skus, tt.cart, "USD", saleStart, 10)
		e := apperr.As(err)
		if e == nil || e.Code != apperr.Invalid {
			t.Errorf("%s: err %v, want INVALID_ARGUMENT", tt.name, err)
			continue
		}
		if tt.line == 0 {
			continue
		}
		lines := e.Details.(map[string]any)["lines"].([]LineProblem)
		if lines[0].Line != tt.line || lines[0].Reason != tt.reason || lines[0].Max != tt.max || lines[0].Message != tt.message || e.Reason != ReasonBadLines {
			t.Errorf("%s: problems %+v", tt.name, lines)
		}
	}
	// Every problem is reported at once.
	_, err := Price(skus, []CartLine{{"NOPE", 1}, {"OLD", 1}, {"PLN", 0}}, "USD", saleStart, 10)
	if got := len(apperr.As(err).Details.(map[string]any)["lines"].([]LineProblem)); got != 3 {
		t.Errorf("%d problems reported, want 3", got)
	}
}
