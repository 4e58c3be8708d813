package firestoredb

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/fuzzcheck"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/pricing"
)

// firestoreData is a JSON document as the Firestore client gives it to
// the store: whole numbers int64, other numbers float64; false when doc is
// not a JSON object.
func firestoreData(doc []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	var conv func(any) any
	conv = func(v any) any {
		switch t := v.(type) {
		case json.Number:
			if n, err := strconv.ParseInt(string(t), 10, 64); err == nil {
				return n
			}
			f, _ := strconv.ParseFloat(string(t), 64) // ±Inf past the range, as Firestore can hold
			return f
		case []any:
			for i := range t {
				t[i] = conv(t[i])
			}
		case map[string]any:
			for k := range t {
				t[k] = conv(t[k])
			}
		}
		return v
	}
	m, ok := conv(v).(map[string]any)
	return m, ok
}

// fuzzCatalog is a small store: stock and print SKUs, one on sale, one no
// longer sold, one capped per order, one priced in another currency.
func fuzzCatalog() map[string]catalog.SKU {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	return map[string]catalog.SKU{
		"PL-A5":      {ID: "PL-A5", ProductID: "planner", Name: "Planner A5", Active: true, Price: money.New(3800, "USD"), Fulfillment: catalog.Stock, WeightGrams: 450},
		"PL-A5-DOT":  {ID: "PL-A5-DOT", ProductID: "planner", Name: "Planner A5 dotted", Active: true, Price: money.New(3800, "USD"), Fulfillment: catalog.Stock, MaxPerOrder: 3, Sale: &catalog.Sale{Price: money.New(2900, "USD"), StartsAt: at.Add(-time.Hour), EndsAt: at.Add(time.Hour)}},
		"BK-PRINT-1": {ID: "BK-PRINT-1", ProductID: "book", Name: "Workbook", Active: true, Price: money.New(catalog.MaxAmount, "USD"), Fulfillment: catalog.PrintOnDemand},
		"OLD-1":      {ID: "OLD-1", Name: "Old planner", Active: false, Price: money.New(100, "USD"), Fulfillment: catalog.Stock},
		"EU-1":       {ID: "EU-1", Name: "Euro planner", Active: true, Price: money.New(100, "EUR"), Fulfillment: catalog.Stock},
	}
}

// FuzzCart reads any cart document as startCheckout does — the store's
// reader (cartLines) and then the pricing every cart goes through — at a
// moment a sale runs. A refusal is INVALID_ARGUMENT with a stable reason
// and, for bad lines, each one named by its number (1 to the cart's
// length) with a known reason; an accepted cart has lines within bounds
// whose totals are unit price × quantity and add up to the subtotal, and
// the same document always hashes the same.
func FuzzCart(f *testing.F) {
	f.Add([]byte(`{"items":[{"sku":"PL-A5","quantity":2},{"sku":"BK-PRINT-1","quantity":1}],"updatedAt":"2026-12-07T12:00:00Z"}`))
	skus := fuzzCatalog()
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	const maxPerLine = 20
	reasons := map[string]bool{pricing.LineNoSKU: true, pricing.LineMalformedSKU: true, pricing.LineBadQuantity: true, pricing.LineUnknownSKU: true,
		pricing.LineInactive: true, pricing.LineWrongCurrency: true, pricing.LineOverMax: true, pricing.LineMalformedEntry: true}
	f.Fuzz(func(t *testing.T, doc []byte) {
		data, ok := firestoreData(doc)
		if !ok {
			return // a document is always a map
		}
		lines, hash, err := cartLines(data)
		var priced pricing.Priced
		if err == nil {
			if _, hash2, _ := cartLines(data); hash2 != hash {
				t.Fatalf("the same cart hashes %s and %s", hash, hash2)
			}
			priced, err = pricing.Price(skus, lines, "USD", at, maxPerLine)
		}
		if err != nil {
			e := fuzzcheck.Refusal(t, err, apperr.Invalid)
			switch e.Reason {
			case "malformed_cart", pricing.ReasonEmptyCart, pricing.ReasonTooManyLines:
			case pricing.ReasonBadLines:
				b, _ := json.Marshal(e.Details)
				var d struct{ Lines []pricing.LineProblem }
				if json.Unmarshal(b, &d) != nil || len(d.Lines) == 0 {
					t.Fatalf("bad lines without the lines: %s", b)
				}
				n := len(lines)
				if n == 0 {
					n = len(data["items"].([]any))
				}
				for _, p := range d.Lines {
					if p.Line < 1 || p.Line > n || !reasons[p.Reason] || p.Message == "" {
						t.Fatalf("line problem %+v (cart of %d lines)", p, n)
					}
				}
			default:
				t.Fatalf("refused with reason %q: %v", e.Reason, err)
			}
			return
		}
		sum := money.New(0, "USD")
		for _, l := range priced.Lines {
			limit := skus[l.SKU].MaxPerOrder
			if limit == 0 {
				limit = maxPerLine
			}
			want, merr := l.UnitPrice.Mul(l.Quantity)
			if l.Quantity < 1 || l.Quantity > limit || merr != nil || !reflect.DeepEqual(want, l.Total) || l.Total.Currency != "USD" {
				t.Fatalf("priced line %+v", l)
			}
			if sum, err = sum.Add(l.Total); err != nil {
				t.Fatalf("subtotal: %v", err)
			}
		}
		if !reflect.DeepEqual(sum, priced.Subtotal) || len(priced.Lines) == 0 {
			t.Fatalf("subtotal %+v, lines add up to %+v", priced.Subtotal, sum)
		}
	})
}
