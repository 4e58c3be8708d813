package stripefake

import (
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/money"
)

// TaxRate is a rate the local Stripe Tax applies (SetTaxRates): parts per
// million of the amount, and whether shipping is taxed there.
type TaxRate struct {
	PPM      int64
	Shipping bool
}

// taxBook is the local Stripe Tax: the rates a test gives it, and the
// calculations and transactions it made.
type taxBook struct {
	rates        map[string]TaxRate // "US-TX" (a state) or "CA" (a country)
	calculations map[string]map[string]any
	transactions map[string]map[string]any
	references   map[string]string         // reference → transaction id (unique across transactions and reversals)
	reversed     map[string][]reversedPart // original transaction → what each of its parts (lines, then shipping) had reversed
}

// reversedPart is what reversals took of one part of a transaction so
// far: in all (tax included), and of its tax.
type reversedPart struct {
	total, tax int64
}

// SetTaxRates gives the local Stripe Tax its rates, by "COUNTRY-STATE" or
// "COUNTRY" (a state's rate wins). A place without one is taxed nothing,
// as Stripe answers where the account has no registration.
func (s *Server) SetTaxRates(rates map[string]TaxRate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tax.rates = rates
}

// TaxTransactions answers the tax transactions and reversals made, oldest
// first is not kept: by id.
func (s *Server) TaxTransactions() map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	for k, v := range s.tax.transactions {
		out[k] = v
	}
	return out
}

func (b *taxBook) init() {
	if b.calculations == nil {
		b.calculations, b.transactions, b.references, b.reversed = map[string]map[string]any{}, map[string]map[string]any{}, map[string]string{}, map[string][]reversedPart{}
	}
}

// perMillionHalfUp is amount×ppm/10⁶, rounded half up: Stripe taxes each
// line on its own and rounds each line's tax.
func perMillionHalfUp(amount, ppm int64) int64 { return halfUp(amount, ppm, 1_000_000) }

func expanded(f url.Values, field string) bool {
	for k, v := range f {
		if strings.HasPrefix(k, "expand[") && len(v) > 0 && v[0] == field {
			return true
		}
	}
	return false
}

// formInt reads an integer parameter; "" when absent.
func formInt(f url.Values, key string) (int64, bool, error) {
	v := f.Get(key)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, true, err
}

// usZIP is a US postal code Stripe Tax can place: five digits, and an
// optional ZIP+4.
var usZIP = regexp.MustCompile(`^[0-9]{5}(-[0-9]{4})?$`)

// taxCalculation is POST /v1/tax/calculations (tax-exclusive amounts).
func (s *Server) taxCalculation(_ *http.Request, f url.Values) (int, any) {
	s.tax.init()
	currency := strings.ToLower(f.Get("currency"))
	if currency == "" {
		return invalid("Missing required param: currency.", "currency")
	}
	country := strings.ToUpper(f.Get("customer_details[address][country]"))
	if country == "" {
		return invalid("Missing required param: customer_details[address][country].", "customer_details[address][country]")
	}
	// Stripe Tax needs a 5-digit ZIP code to place a US customer (its
	// "Collect customer addresses" guide); it refuses the calculation
	// otherwise with customer_tax_location_invalid.
	if zip := f.Get("customer_details[address][postal_code]"); country == "US" && !usZIP.MatchString(zip) {
		return 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "customer_tax_location_invalid",
			"param": "customer_details[address]", "message": "We could not determine the customer's tax location based on the provided customer address."}}
	}
	state := strings.ToUpper(f.Get("customer_details[address][state]"))
	rate, ok := s.tax.rates[country+"-"+state]
	if !ok {
		rate = s.tax.rates[country]
	}
	var lines []any
	refs := map[string]bool{}
	var total, taxTotal int64
	for i := 0; ; i++ {
		at := "line_items[" + strconv.Itoa(i) + "]"
		amount, present, err := formInt(f, at+"[amount]")
		if !present && f.Get(at+"[reference]") == "" {
			break
		}
		if err != nil || amount < 0 {
			return invalid("Invalid integer: "+f.Get(at+"[amount]"), at+"[amount]")
		}
		ref := f.Get(at + "[reference]")
		if ref != "" && refs[ref] {
			return invalid("The line item reference '"+ref+"' is used more than once.", at+"[reference]")
		}
		refs[ref] = true
		if b := f.Get(at + "[tax_behavior]"); b != "" && b != "exclusive" && b != "inclusive" {
			return invalid("Invalid tax_behavior: must be one of exclusive or inclusive", at+"[tax_behavior]")
		}
		qty, _, _ := formInt(f, at+"[quantity]")
		tx := perMillionHalfUp(amount, rate.PPM)
		total, taxTotal = total+amount, taxTotal+tx
		code := f.Get(at + "[tax_code]")
		if code == "" {
			code = "txcd_99999999"
		}
		lines = append(lines, map[string]any{"id": newID("tax_li"), "object": "tax.calculation_line_item", "amount": amount, "amount_tax": tx,
			"livemode": false, "product": nil, "quantity": max(qty, 1), "reference": ref, "tax_behavior": "exclusive", "tax_code": code})
	}
	if len(lines) == 0 {
		return invalid("Missing required param: line_items.", "line_items")
	}
	shipping, _, err := formInt(f, "shipping_cost[amount]")
	if err != nil || shipping < 0 {
		return invalid("Invalid integer: "+f.Get("shipping_cost[amount]"), "shipping_cost[amount]")
	}
	var shippingTax int64
	if rate.Shipping {
		shippingTax = perMillionHalfUp(shipping, rate.PPM)
	}
	id := newID("taxcalc")
	calc := map[string]any{"id": id, "object": "tax.calculation", "amount_total": total + shipping + taxTotal + shippingTax, "currency": currency,
		"customer": nil, "customer_details": map[string]any{"address": map[string]any{"country": country, "state": state,
			"postal_code": f.Get("customer_details[address][postal_code]"), "line1": f.Get("customer_details[address][line1]"), "city": f.Get("customer_details[address][city]")},
			"address_source": f.Get("customer_details[address_source]"), "tax_ids": []any{}, "taxability_override": "none"},
		"expires_at": s.now().Add(90 * 24 * time.Hour).Unix(), "livemode": false,
		"shipping_cost":        map[string]any{"amount": shipping, "amount_tax": shippingTax, "tax_behavior": "exclusive", "tax_code": "txcd_92010001"},
		"tax_amount_exclusive": taxTotal + shippingTax, "tax_amount_inclusive": 0, "tax_breakdown": []any{}, "tax_date": s.now().Unix(),
		"line_items": map[string]any{"object": "list", "data": lines, "has_more": false, "url": "/v1/tax/calculations/" + id + "/line_items"}}
	s.tax.calculations[id] = calc
	return 200, view(calc, expanded(f, "line_items"))
}

// view is an object as answered: its line items only when expanded, and
// then their first page (10, as Stripe's expanded lists; has_more says
// whether there are more, read with GET …/line_items).
func view(obj map[string]any, withLines bool) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		out[k] = v
	}
	if !withLines {
		out["line_items"] = nil
		return out
	}
	list := obj["line_items"].(map[string]any)
	out["line_items"] = page(list, 10, "")
	return out
}

// page is one page of a list of objects with ids: at most limit, after
// the object startingAfter ("" from the start).
func page(list map[string]any, limit int, startingAfter string) map[string]any {
	data := list["data"].([]any)
	from := 0
	if startingAfter != "" {
		for i, d := range data {
			if d.(map[string]any)["id"] == startingAfter {
				from = i + 1
			}
		}
	}
	to := min(from+limit, len(data))
	return map[string]any{"object": "list", "data": append([]any{}, data[from:to]...), "has_more": to < len(data), "url": list["url"]}
}

// lineItems is GET /v1/tax/calculations/{id}/line_items and
// /v1/tax/transactions/{id}/line_items (limit 1–100, starting_after).
func (s *Server) lineItems(r *http.Request, _ url.Values) (int, any) {
	s.tax.init()
	objects, kind := s.tax.calculations, "tax calculation"
	if strings.HasPrefix(r.URL.Path, "/v1/tax/transactions/") {
		objects, kind = s.tax.transactions, "tax transaction"
	}
	obj, ok := objects[r.PathValue("id")]
	if !ok {
		return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such " + kind + ": '" + r.PathValue("id") + "'"}}
	}
	limit := 10
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return invalid("This value must be greater than or equal to 1 and less than or equal to 100.", "limit")
		}
		limit = n
	}
	return 200, page(obj["line_items"].(map[string]any), limit, r.URL.Query().Get("starting_after"))
}

func (s *Server) takeReference(f url.Values) (string, int, any) {
	ref := f.Get("reference")
	if ref == "" {
		st, body := invalid("Missing required param: reference.", "reference")
		return "", st, body
	}
	if _, used := s.tax.references[ref]; used {
		st, body := invalid("A transaction with reference '"+ref+"' already exists: references must be unique across transactions and reversals.", "reference")
		return "", st, body
	}
	return ref, 0, nil
}

// taxTransaction is POST /v1/tax/transactions/create_from_calculation.
func (s *Server) taxTransaction(_ *http.Request, f url.Values) (int, any) {
	s.tax.init()
	calc, ok := s.tax.calculations[f.Get("calculation")]
	if !ok {
		return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing",
			"message": "No such tax calculation: '" + f.Get("calculation") + "'", "param": "calculation"}}
	}
	if s.now().Unix() > calc["expires_at"].(int64) {
		return invalid("The tax calculation has expired and can no longer be used to create a transaction.", "calculation")
	}
	ref, st, body := s.takeReference(f)
	if ref == "" {
		return st, body
	}
	id := newID("tax")
	var lines []any
	for _, l := range calc["line_items"].(map[string]any)["data"].([]any) {
		li := map[string]any{}
		for k, v := range l.(map[string]any) {
			li[k] = v
		}
		li["id"], li["object"], li["type"], li["reversal"] = newID("tax_li"), "tax.transaction_line_item", "transaction", nil
		lines = append(lines, li)
	}
	tx := map[string]any{"id": id, "object": "tax.transaction", "type": "transaction", "reference": ref, "currency": calc["currency"],
		"created": s.now().Unix(), "customer": nil, "customer_details": calc["customer_details"], "livemode": false, "metadata": metadata(f, "metadata"),
		"reversal": nil, "shipping_cost": calc["shipping_cost"], "tax_date": calc["tax_date"],
		"line_items": map[string]any{"object": "list", "data": lines, "has_more": false, "url": "/v1/tax/transactions/" + id + "/line_items"}}
	s.tax.transactions[id], s.tax.references[ref] = tx, id
	return 200, view(tx, expanded(f, "line_items"))
}

// taxReversal is POST /v1/tax/transactions/create_reversal: mode full, or
// partial with flat_amount (negative, tax included) spread over the
// transaction's lines and shipping in proportion to what is left of each;
// each part's tax cumulative, in proportion to its own.
func (s *Server) taxReversal(_ *http.Request, f url.Values) (int, any) {
	s.tax.init()
	orig, ok := s.tax.transactions[f.Get("original_transaction")]
	if !ok || orig["type"] != "transaction" {
		return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing",
			"message": "No such tax transaction: '" + f.Get("original_transaction") + "'", "param": "original_transaction"}}
	}
	mode := f.Get("mode")
	if mode != "full" && mode != "partial" {
		return invalid("Invalid mode: must be one of full or partial", "mode")
	}
	type part struct{ amount, tax int64 }
	var parts []part
	for _, l := range orig["line_items"].(map[string]any)["data"].([]any) {
		li := l.(map[string]any)
		parts = append(parts, part{li["amount"].(int64), li["amount_tax"].(int64)})
	}
	sc := orig["shipping_cost"].(map[string]any)
	parts = append(parts, part{sc["amount"].(int64), sc["amount_tax"].(int64)})
	done := s.tax.reversed[orig["id"].(string)]
	if done == nil {
		done = make([]reversedPart, len(parts))
	}
	var left int64
	weights := make([]int64, len(parts))
	for i, p := range parts {
		weights[i] = p.amount + p.tax - done[i].total
		left += weights[i]
	}
	want := left
	if mode == "partial" {
		flat, present, err := formInt(f, "flat_amount")
		if !present || err != nil || flat >= 0 {
			return invalid("flat_amount must be a negative integer with mode partial (line items are not modelled by the local Stripe).", "flat_amount")
		}
		want = -flat
	}
	if want > left {
		return invalid("The reversal amount exceeds what remains of the original transaction.", "flat_amount")
	}
	ref, st, body := s.takeReference(f)
	if ref == "" {
		return st, body
	}
	// Spread want over what is left of each part (largest remainder); each
	// part's tax is cumulative: the tax of all it had reversed, rounded
	// half up, less what earlier reversals took, so that reversing all of
	// it reverses exactly its tax.
	share := money.Allocate(want, weights)
	next := make([]reversedPart, len(parts))
	out := make([]part, len(parts))
	for i, p := range parts {
		next[i].total = done[i].total + share[i]
		next[i].tax = p.tax
		if paid := p.amount + p.tax; next[i].total < paid && paid > 0 {
			next[i].tax = halfUp(next[i].total, p.tax, paid)
		}
		tx := next[i].tax - done[i].tax
		out[i] = part{share[i] - tx, tx}
	}
	id := newID("tax")
	var lines []any
	for _, p := range out[:len(out)-1] {
		lines = append(lines, map[string]any{"id": newID("tax_li"), "object": "tax.transaction_line_item", "type": "reversal",
			"amount": -p.amount, "amount_tax": -p.tax, "livemode": false, "quantity": 1, "tax_behavior": "exclusive"})
	}
	sp := out[len(out)-1]
	rev := map[string]any{"id": id, "object": "tax.transaction", "type": "reversal", "reference": ref, "currency": orig["currency"],
		"created": s.now().Unix(), "customer": nil, "customer_details": orig["customer_details"], "livemode": false, "metadata": metadata(f, "metadata"),
		"reversal": map[string]any{"original_transaction": orig["id"]}, "tax_date": s.now().Unix(),
		"shipping_cost": map[string]any{"amount": -sp.amount, "amount_tax": -sp.tax, "tax_behavior": "exclusive", "tax_code": "txcd_92010001"},
		"line_items":    map[string]any{"object": "list", "data": lines, "has_more": false, "url": "/v1/tax/transactions/" + id + "/line_items"}}
	s.tax.transactions[id], s.tax.references[ref] = rev, id
	s.tax.reversed[orig["id"].(string)] = next
	return 200, view(rev, expanded(f, "line_items"))
}

// halfUp is a×b/c rounded half up, in big integers (a, b ≥ 0, c > 0).
func halfUp(a, b, c int64) int64 {
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	n.Mul(n, big.NewInt(2)).Add(n, big.NewInt(c))
	return n.Quo(n, new(big.Int).Mul(big.NewInt(c), big.NewInt(2))).Int64()
}
