package qbfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/readyplanner/oms/internal/money"
)

// The local company's sales tax, as Intuit describes the US model ("Manage
// sales tax for US locales"; the Invoice, RefundReceipt, TaxCode and
// TaxRate references; "Using QuickBooks Online API for automated sales
// tax", 2017, and its 2018 update):
//
//   - A sales form's lines say whether they are taxable with a pseudo tax
//     code, TAX or NON (any other value is refused, 6100); the form's
//     TxnTaxDetail names its tax code (TxnTaxCodeRef, a group of rates) and
//     its tax (TotalTax, with one TaxLine per rate). TotalAmt includes it.
//   - Manual sales tax: the tax code is the one the request names (it must
//     exist, 2500), and QuickBooks computes each rate on the taxable lines;
//     a TotalTax in the request is honoured instead, spread over the rates.
//   - Automated Sales Tax: the engine assigns its own tax code, from the
//     ship address (the company's own address without one), replacing any
//     the request names; it computes the tax on the taxable lines — a line
//     with no TaxCodeRef counts as taxable — unless the request states
//     TotalTax, which it honours and prorates across the rates of the code
//     it assigned.
//   - No sales tax: TxnTaxDetail is ignored and not stored; the answer's
//     TotalTax is 0.
//
// Tax is computed on the lines' amounts, before the form's discount
// (ApplyTaxAfterDiscount false, the default), each rate rounded half up.

// The kinds of company the local QuickBooks models for sales tax
// (SetSalesTax): none tracked; manual sales tax (the owner's own rates and
// agencies, as before November 2017); Automated Sales Tax (Intuit computes
// the tax, PartnerTaxEnabled).
const (
	NoSalesTax        = "none"
	ManualSalesTax    = "manual"
	AutomatedSalesTax = "automated"
)

// CompanyState is the state of the local company's legal address: the
// destination Automated Sales Tax taxes a sale by when it has no ship
// address.
const CompanyState = "CA"

// DefaultAutomatedRate is the rate, in parts per million, that the local
// Automated Sales Tax engine charges until SetAutomatedRate (7.25%).
const DefaultAutomatedRate = 72_500

// Rate is one tax rate of a tax code (AddTaxCode): its name and its rate
// in parts per million.
type Rate struct {
	Name string
	PPM  int64
}

// SetSalesTax makes the company one of the kinds of sales-tax company
// (NoSalesTax by default). An Automated Sales Tax company has the tax code
// the engine set up for the company's own state.
func (s *Server) SetSalesTax(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.co.salesTax = kind
	if kind == AutomatedSalesTax {
		s.automatedCode(CompanyState)
	}
}

// SetAutomatedRate sets the rate (parts per million) the Automated Sales
// Tax engine computes for every destination, the codes it set up already
// included.
func (s *Server) SetAutomatedRate(ppm int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.co.astRate = ppm
	for id := range s.co.astRates {
		s.co.taxRates[id]["RateValue"] = percent(ppm)
	}
}

// OverrideNeedsTaxCode makes the Automated Sales Tax engine honour a
// request's TotalTax only when the request names a tax code too
// (TxnTaxCodeRef, which it then replaces by its own): the stricter reading
// of Intuit's answers, where an override is "TxnTaxDetail.TxnTaxCodeRef and
// TxnTaxDetail.TotalTax". By default TotalTax alone is honoured, as the
// 2017 note says ("whenever an explicit tax amount is sent").
func (s *Server) OverrideNeedsTaxCode(v bool) { s.mu.Lock(); s.co.overrideNeedsCode = v; s.mu.Unlock() }

// AddTaxCode adds a sales tax code, as the owner of a company with manual
// sales tax sets one up: a tax group of rates (each a TaxRate), applied to
// the taxable lines of a form that names it. It returns the code's id.
func (s *Server) AddTaxCode(name string, rates ...Rate) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTaxCode(name, false, rates...)
}

// addTaxCode adds a tax code of rates (s.mu held); automated marks the
// rates the Automated Sales Tax engine set up (SetAutomatedRate changes
// them).
func (s *Server) addTaxCode(name string, automated bool, rates ...Rate) string {
	var details []any
	for i, r := range rates {
		s.co.nextID++
		rid := strconv.Itoa(s.co.nextID)
		rate := map[string]any{"Id": rid, "Name": r.Name, "Description": r.Name, "Active": true, "RateValue": percent(r.PPM),
			"AgencyRef": map[string]any{"value": "1"}, "SpecialTaxType": "NONE", "DisplayType": "ReadOnly", "SyncToken": "0",
			"domain": "QBO", "sparse": false}
		if automated {
			s.co.astRates[rid] = true
		}
		s.co.taxRates[rid] = rate
		details = append(details, map[string]any{"TaxRateRef": map[string]any{"value": rid, "name": r.Name}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": i})
	}
	s.co.nextID++
	id := strconv.Itoa(s.co.nextID)
	s.co.taxCodes[id] = map[string]any{"Id": id, "Name": name, "Description": name, "Active": true, "Taxable": true, "TaxGroup": true,
		"SalesTaxRateList": map[string]any{"TaxRateDetail": details}, "PurchaseTaxRateList": map[string]any{"TaxRateDetail": []any{}},
		"Hidden": false, "SyncToken": "0", "domain": "QBO", "sparse": false, "MetaData": map[string]any{"CreateTime": "now"}}
	return id
}

// automatedCode returns the tax code the Automated Sales Tax engine
// assigns to a sale shipped to state, set up on first use (s.mu held).
func (s *Server) automatedCode(state string) string {
	if id, ok := s.co.astCodes[state]; ok {
		return id
	}
	rate := s.co.astRate
	id := s.addTaxCode(state+" (automated)", true, Rate{Name: state + " sales tax (automated)", PPM: rate})
	s.co.astCodes[state] = id
	return id
}

// initTaxCodes sets up the pseudo tax codes a US company answers beside
// its own (called from initCompany). Whether a TaxCode query lists them is
// not documented; readers must skip them either way (they have no rates).
func (s *Server) initTaxCodes() {
	s.co.taxCodes, s.co.taxRates, s.co.astCodes, s.co.astRates = map[string]map[string]any{}, map[string]map[string]any{}, map[string]string{}, map[string]bool{}
	s.co.astRate = DefaultAutomatedRate
	for _, c := range []string{"TAX", "NON"} {
		s.co.taxCodes[c] = map[string]any{"Id": c, "Name": c, "Description": c, "Active": true, "Taxable": c == "TAX", "TaxGroup": false,
			"SyncToken": "0", "domain": "QBO", "sparse": false}
	}
}

// taxable reports whether line i is taxable, by its pseudo tax code: TAX
// or NON, and with none, taxable only in an Automated Sales Tax company
// (Intuit's 2018 change: the line is then taxed by its item's taxability,
// and every local item is taxable). Any other code is refused (6100) and
// reported false, false (s.mu held).
func (s *Server) taxable(w http.ResponseWriter, i int, d map[string]any) (taxable, ok bool) {
	ref, _ := d["TaxCodeRef"].(map[string]any)
	switch code := fmt.Sprint(ref["value"]); {
	case ref == nil:
		return s.co.salesTax == AutomatedSalesTax, true
	case code == "TAX" || code == "NON":
		return code == "TAX", true
	default:
		s.fault(w, 400, "ValidationFault", "6100", "Invalid line tax code", fmt.Sprintf("Line %d: invalid TaxCodeRef %q; for US, specify TAX or NON", i, code))
		return false, false
	}
}

// salesTax works out the tax of a sales form whose taxable lines amount to
// base, as the company's kind of sales tax does (see above): the
// TxnTaxDetail to answer and the tax it adds to the total. It answers a
// fault and reports false when the request is refused (s.mu held).
func (s *Server) salesTax(w http.ResponseWriter, b map[string]any, base int64) (map[string]any, int64, bool) {
	req, _ := b["TxnTaxDetail"].(map[string]any)
	if s.co.salesTax != ManualSalesTax && s.co.salesTax != AutomatedSalesTax {
		return map[string]any{"TotalTax": dollars(0)}, 0, true // ignored and not stored
	}
	stated, override := int64(0), req != nil && req["TotalTax"] != nil
	if override {
		var ok bool
		if stated, ok = cents(req["TotalTax"]); !ok || stated < 0 {
			s.fault(w, 400, "ValidationFault", "2020", "Invalid amount", "TxnTaxDetail.TotalTax")
			return nil, 0, false
		}
	}
	ref, _ := req["TxnTaxCodeRef"].(map[string]any)
	var code string
	if s.co.salesTax == AutomatedSalesTax {
		// The engine's own code for the destination replaces the request's.
		state := CompanyState
		if a, _ := b["ShipAddr"].(map[string]any); a != nil {
			if st, _ := a["CountrySubDivisionCode"].(string); st != "" {
				state = strings.ToUpper(st)
			}
		}
		code = s.automatedCode(state)
		override = override && (ref != nil || !s.co.overrideNeedsCode)
	} else if ref != nil {
		code = fmt.Sprint(ref["value"])
		if c, ok := s.co.taxCodes[code]; !ok || c["SalesTaxRateList"] == nil {
			s.fault(w, 400, "ValidationFault", "2500", "Invalid Reference Id", "Invalid Reference Id : TaxCode "+code)
			return nil, 0, false
		}
	}
	if code == "" {
		// Manual sales tax with no code: nothing to compute by.
		return map[string]any{"TotalTax": dollars(stated)}, stated, true
	}
	return s.taxDetail(code, base, stated, override)
}

// taxDetail is the TxnTaxDetail of tax code on a taxable base: each rate
// computed (half up), or, when override, stated spread over the rates in
// proportion to what they would compute (s.mu held).
func (s *Server) taxDetail(code string, base, stated int64, override bool) (map[string]any, int64, bool) {
	c := s.co.taxCodes[code]
	list, _ := c["SalesTaxRateList"].(map[string]any)
	details, _ := list["TaxRateDetail"].([]any)
	var rates []map[string]any
	var computed, weights []int64
	for _, d := range details {
		ref, _ := d.(map[string]any)["TaxRateRef"].(map[string]any)
		r := s.co.taxRates[fmt.Sprint(ref["value"])]
		ppm := ppmOf(r["RateValue"])
		rates = append(rates, r)
		computed = append(computed, (base*ppm+500_000)/1_000_000)
		weights = append(weights, ppm)
	}
	amounts, total := computed, int64(0)
	if override {
		if slices.ContainsFunc(computed, func(c int64) bool { return c > 0 }) {
			weights = computed
		}
		amounts = money.Allocate(stated, weights)
		if len(amounts) > 0 && stated > 0 && slices.Max(weights) == 0 {
			amounts[0] = stated // rates of nothing: the stated tax stands on the first
		}
	}
	var lines []any
	for i, r := range rates {
		total += amounts[i]
		lines = append(lines, map[string]any{"Amount": dollars(amounts[i]), "DetailType": "TaxLineDetail",
			"TaxLineDetail": map[string]any{"TaxRateRef": map[string]any{"value": r["Id"], "name": r["Name"]}, "PercentBased": true,
				"TaxPercent": r["RateValue"], "NetAmountTaxable": dollars(base)}})
	}
	if override {
		total = stated
	}
	return map[string]any{"TxnTaxCodeRef": map[string]any{"value": code, "name": c["Name"]}, "TotalTax": dollars(total), "TaxLine": lines}, total, true
}

// percent renders parts per million as QuickBooks' percent (8.25, not
// 0.0825), exactly.
func percent(ppm int64) json.Number {
	whole, frac := ppm/10_000, ppm%10_000
	if frac == 0 {
		return json.Number(strconv.FormatInt(whole, 10))
	}
	return json.Number(strings.TrimRight(fmt.Sprintf("%d.%04d", whole, frac), "0"))
}

// ppmOf reads a percent back as parts per million.
func ppmOf(v any) int64 {
	whole, frac, _ := strings.Cut(fmt.Sprint(v), ".")
	frac = (frac + "0000")[:4]
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*10_000 + f
}

// zeroTax zeroes a voided form's tax: its TxnTaxDetail keeps its lines
// with zero amounts, as its lines do (s.mu held).
func zeroTax(form map[string]any) {
	d, _ := form["TxnTaxDetail"].(map[string]any)
	if d == nil {
		return
	}
	d["TotalTax"] = dollars(0)
	lines, _ := d["TaxLine"].([]any)
	for _, l := range lines {
		if line, ok := l.(map[string]any); ok {
			line["Amount"] = dollars(0)
		}
	}
}

// preferences answers the company's Preferences as QuickBooks does: the
// tax preferences by the kind of company, and the sales forms'. Called
// with s.mu held.
func (s *Server) preferences(w http.ResponseWriter) {
	tax := map[string]any{"UsingSalesTax": s.co.salesTax != NoSalesTax && s.co.salesTax != ""}
	if s.co.salesTax == AutomatedSalesTax {
		tax["PartnerTaxEnabled"] = true
	}
	answer(w, map[string]any{"Preferences": map[string]any{"Id": "1", "SyncToken": "0", "domain": "QBO", "sparse": false,
		"TaxPrefs":        tax,
		"SalesFormsPrefs": map[string]any{"AllowShipping": true, "CustomTxnNumbers": true},
		"CurrencyPrefs":   map[string]any{"MultiCurrencyEnabled": false, "HomeCurrency": map[string]any{"value": "USD"}},
		"MetaData":        map[string]any{"CreateTime": "2017-11-20T09:00:00-08:00", "LastUpdatedTime": "2026-12-01T09:00:00-08:00"}},
		"time": "2026-12-07T09:00:00.000-08:00"})
}
