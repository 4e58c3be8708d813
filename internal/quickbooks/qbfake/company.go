package qbfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/readyplanner/oms/internal/fakehold"
)

// Realm is the local company's realm id.
const Realm = "9130350000000001"

// UndepositedFunds is the id of the Undeposited Funds account, where a
// payment that names no account goes.
const UndepositedFunds = "4"

// company is the local company's data (under Server.mu).
type company struct {
	customers map[string]map[string]any
	items     map[string]map[string]any
	invoices  map[string]map[string]any
	requests  map[string][]byte // requestid → first answer
	salesTax  string            // NoSalesTax, ManualSalesTax, AutomatedSalesTax ("" is none)
	payments  map[string]map[string]any
	accounts  map[string]map[string]any
	refunds   map[string]map[string]any // refund receipts
	nextID    int
	fail429   int
	fail500   int
	calls     []string // "METHOD path?query"
	// paymentOnly: payments notify no Invoice Update (NotifyPaymentOnly).
	paymentOnly bool
	// emailNotQueryable: a customer query on PrimaryEmailAddr is refused
	// (4001), the other reading of an UNVERIFIED fact.
	emailNotQueryable bool
	// Sales tax (salestax.go): the tax codes and rates, those Automated
	// Sales Tax set up (by state) and its rate in parts per million, and
	// whether it honours TotalTax only beside a TxnTaxCodeRef
	// (OverrideNeedsTaxCode).
	taxCodes          map[string]map[string]any
	taxRates          map[string]map[string]any
	astCodes          map[string]string
	astRates          map[string]bool
	astRate           int64
	overrideNeedsCode bool
}

// Shapes a validation fault can come in (SetFaultShape): QuickBooks
// answers the API's JSON on a 400, and may carry a Fault in a 200 or
// answer XML when JSON was asked.
const (
	FaultJSON  = "json"   // HTTP 400 {"Fault":{"Error":[…],"type":"ValidationFault"}}
	FaultIn200 = "in-200" // HTTP 200 carrying the same Fault
	FaultXML   = "xml"    // HTTP 400 <IntuitResponse><Fault type="ValidationFault"><Error code="…">…
)

// SetFaultShape makes the local QuickBooks answer its validation faults
// (6240 duplicate name, 4001 invalid query, …) in shape: FaultJSON,
// FaultIn200 or FaultXML.
func (s *Server) SetFaultShape(shape string) { s.faultShape.Store(shape) }

// EmailNotQueryable makes a customer query on PrimaryEmailAddr fail with
// 4001, as QuickBooks may answer (whether it can be filtered is
// UNVERIFIED; by default the local QuickBooks answers it, as QuickBooks is
// reported to).
func (s *Server) EmailNotQueryable(v bool) { s.mu.Lock(); s.co.emailNotQueryable = v; s.mu.Unlock() }

func (s *Server) initCompany(mux *http.ServeMux) {
	s.co = &company{customers: map[string]map[string]any{}, items: map[string]map[string]any{}, invoices: map[string]map[string]any{},
		requests: map[string][]byte{}, payments: map[string]map[string]any{}, nextID: 100,
		accounts: map[string]map[string]any{}, refunds: map[string]map[string]any{}}
	s.initTaxCodes()
	for _, name := range []string{"Daily Planner A5", "Weekly Planner A5", "Weekly Planner Letter", "Pen Set", "Sticker Pack", "Bookmark Band", "Shipping", "Refunds", "Sales Tax"} {
		s.AddItem(name)
	}
	// The accounts of a new company that money is paid in to and out of
	// (ids as in Intuit's sandbox company), and an income account a refund
	// may not come from.
	for _, a := range []struct{ id, name, typ string }{{UndepositedFunds, "Undeposited Funds", "Other Current Asset"},
		{"35", "Checking", "Bank"}, {"79", "Sales of Product Income", "Income"}} {
		s.co.accounts[a.id] = map[string]any{"Id": a.id, "Name": a.name, "AccountType": a.typ, "Active": true, "SyncToken": "0"}
	}
	mux.HandleFunc("/v3/company/{realm}/{entity}", s.entity)
	mux.HandleFunc("/v3/company/{realm}/{entity}/{id}", s.entity)
}

// AddItem adds a service item and returns its id.
func (s *Server) AddItem(name string) string { return s.AddItemWithSKU(name, "") }

// AddItemWithSKU adds a service item with a Sku and returns its id.
func (s *Server) AddItemWithSKU(name, sku string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.co.nextID++
	id := strconv.Itoa(s.co.nextID)
	s.co.items[id] = map[string]any{"Id": id, "Name": name, "Type": "Service", "Active": true, "SyncToken": "0"}
	if sku != "" {
		s.co.items[id]["Sku"] = sku
	}
	return id
}

// Fail429 answers the next n API requests 429 with the XML throttling fault.
func (s *Server) Fail429(n int) { s.mu.Lock(); s.co.fail429 = n; s.mu.Unlock() }

// Fail500 answers the next n API requests 500 (SystemFault).
func (s *Server) Fail500(n int) { s.mu.Lock(); s.co.fail500 = n; s.mu.Unlock() }

// Calls returns the API calls received, as "METHOD path?query".
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.co.calls...)
}

// Invoice returns a copy of an invoice.
func (s *Server) Invoice(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(s.co.invoices[id])
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// Invoices returns copies of every invoice, by no particular order.
func (s *Server) Invoices() []map[string]any {
	s.mu.Lock()
	ids := make([]string, 0, len(s.co.invoices))
	for id := range s.co.invoices {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, s.Invoice(id))
	}
	return out
}

// InvoiceCount is how many invoices exist.
func (s *Server) InvoiceCount() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.co.invoices) }

// fault answers a fault in the shape set with SetFaultShape (validation
// faults only: the others keep QuickBooks' JSON).
func (s *Server) fault(w http.ResponseWriter, status int, typ, code, msg, detail string) {
	shape, _ := s.faultShape.Load().(string)
	if typ != "ValidationFault" {
		shape = FaultJSON
	}
	switch shape {
	case FaultXML:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-11-25T10:00:00.000-08:00"><Fault type="%s"><Error code="%s"><Message>%s</Message><Detail>%s</Detail></Error></Fault></IntuitResponse>`,
			html.EscapeString(typ), html.EscapeString(code), html.EscapeString(msg), html.EscapeString(detail))
		return
	case FaultIn200:
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"Fault": map[string]any{"Error": []any{map[string]any{"Message": msg, "Detail": detail, "code": code}}, "type": typ},
		"time": "2026-11-25T10:00:00.000-08:00"})
}

func answer(w http.ResponseWriter, v any) []byte {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return b
}

var queryRE = regexp.MustCompile(`(?i)^select \* from (\w+)(?: where (\w+(?:\.\w+)?) = '((?:[^'\\]|\\.)*)')?\s*$`)

// cents reads a JSON number as cents exactly (no floats).
func cents(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	whole, frac, _ := strings.Cut(n.String(), ".")
	if len(frac) > 2 {
		return 0, false
	}
	frac += strings.Repeat("0", 2-len(frac))
	neg := strings.HasPrefix(whole, "-")
	w, err1 := strconv.ParseInt(strings.TrimPrefix(whole, "-"), 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	c := w*100 + f
	if neg {
		c = -c
	}
	return c, true
}

func dollars(c int64) json.Number { return json.Number(fmt.Sprintf("%d.%02d", c/100, c%100)) }

func (s *Server) entity(w http.ResponseWriter, r *http.Request) {
	auth, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	s.co.calls = append(s.co.calls, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	throttled, failing := s.co.fail429 > 0, s.co.fail500 > 0 && s.co.fail429 == 0
	if throttled {
		s.co.fail429--
	} else if failing {
		s.co.fail500--
	}
	s.mu.Unlock()
	switch {
	case !s.ValidAccess(auth):
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		_, _ = io.WriteString(w, `{"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"Token expired: `+auth+`","code":"3200"}],"type":"AUTHENTICATION"},"requestId":"local"}`)
		return
	case throttled:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(429)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-11-25T10:00:00.000-08:00"><Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.</Detail></Error></Fault></IntuitResponse>`)
		return
	case failing:
		s.fault(w, 500, "SystemFault", "10000", "An application error has occurred while processing your request", "System Failure Error")
		return
	case r.PathValue("realm") != Realm:
		s.fault(w, 403, "AuthorizationFault", "003100", "ApplicationAuthorizationFailed", "the token is not for this company")
		return
	}
	if mv, _ := strconv.Atoi(r.URL.Query().Get("minorversion")); mv < 75 {
		s.fault(w, 400, "ValidationFault", "2010", "Request has invalid or unsupported property", "minorversion must be 75 or higher")
		return
	}
	var body map[string]any
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.Method == http.MethodPost {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			s.fault(w, 400, "ValidationFault", "2020", "Request has invalid or unsupported property", "the body is not JSON")
			return
		}
	}
	if h := s.holds.Take(r.Method, r.URL.Path, raw); h != nil {
		held := fakehold.NewWriter()
		s.apply(held, r, body)
		h.Wait(held, w)
		return
	}
	s.apply(w, r, body)
}

// HoldNext holds back the answer of the next request whose method is
// method, whose path ends with path (e.g. "POST", "/invoice") and whose
// body contains contains ("" for any; the local QuickBooks is shared by
// tests running in parallel, so name the order): the request is applied
// (the invoice created, its webhook sent), then its answer waits until the
// returned hold is released.
func (s *Server) HoldNext(method, path, contains string) *fakehold.Hold {
	return s.holds.Next(method, path, contains)
}

// apply applies one entity request and writes its answer.
func (s *Server) apply(w http.ResponseWriter, r *http.Request, body map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ent := strings.ToLower(r.PathValue("entity")); {
	case ent == "query" && r.Method == http.MethodGet:
		s.query(w, r.URL.Query().Get("query"))
	case ent == "customer" && r.Method == http.MethodPost:
		s.createCustomer(w, body)
	case ent == "invoice" && r.Method == http.MethodGet && r.PathValue("id") != "":
		s.byID(w, "Invoice", s.co.invoices, r.PathValue("id"))
	case ent == "invoice" && r.Method == http.MethodPost && r.URL.Query().Get("operation") == "void":
		s.void(w, body)
	case ent == "invoice" && r.Method == http.MethodPost:
		s.create(w, ent, r.URL.Query().Get("requestid"), func() []byte { return s.createInvoice(w, body) })
	case ent == "refundreceipt" && r.Method == http.MethodPost:
		s.create(w, ent, r.URL.Query().Get("requestid"), func() []byte { return s.createRefundReceipt(w, body) })
	case ent == "refundreceipt" && r.Method == http.MethodGet && r.PathValue("id") != "":
		s.byID(w, "RefundReceipt", s.co.refunds, r.PathValue("id"))
	case ent == "payment" && r.Method == http.MethodPost:
		s.payment(w, body)
	case ent == "payment" && r.Method == http.MethodGet && r.PathValue("id") != "":
		s.byID(w, "Payment", s.co.payments, r.PathValue("id"))
	case ent == "taxcode" && r.Method == http.MethodGet && r.PathValue("id") != "":
		s.byID(w, "TaxCode", s.co.taxCodes, r.PathValue("id"))
	case ent == "taxrate" && r.Method == http.MethodGet && r.PathValue("id") != "":
		s.byID(w, "TaxRate", s.co.taxRates, r.PathValue("id"))
	case ent == "preferences" && r.Method == http.MethodGet && r.PathValue("id") == "":
		s.preferences(w)
	default:
		s.fault(w, 400, "ValidationFault", "2020", "Unsupported operation", r.Method+" "+ent)
	}
}

// create answers a create with QuickBooks' requestid replay: the first
// answer to a requestid (per entity) is answered again and nothing new is
// made. Called with s.mu held.
func (s *Server) create(w http.ResponseWriter, entity, requestID string, createFn func() []byte) {
	key := entity + ":" + requestID
	if prev, ok := s.co.requests[key]; ok && requestID != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(prev)
		return
	}
	if b := createFn(); b != nil && requestID != "" {
		s.co.requests[key] = b
	}
}

// byID answers the entity of table with id, or QuickBooks' 610. Called
// with s.mu held.
func (s *Server) byID(w http.ResponseWriter, entity string, table map[string]map[string]any, id string) {
	row, ok := table[id]
	if !ok {
		s.fault(w, 400, "ValidationFault", "610", "Object Not Found", "Something you're trying to use has been made inactive or deleted: "+entity+" "+id)
		return
	}
	answer(w, map[string]any{entity: row, "time": "now"})
}

func (s *Server) query(w http.ResponseWriter, q string) {
	m := queryRE.FindStringSubmatch(strings.TrimSpace(q))
	if m == nil {
		s.fault(w, 400, "ValidationFault", "4000", "Error parsing query", "QueryParserError: "+q)
		return
	}
	var table map[string]map[string]any
	switch m[1] {
	case "Customer":
		table = s.co.customers
	case "Item":
		table = s.co.items
	case "Invoice":
		table = s.co.invoices
	case "Account":
		table = s.co.accounts
	case "RefundReceipt":
		table = s.co.refunds
	case "TaxCode":
		table = s.co.taxCodes
	case "TaxRate":
		table = s.co.taxRates
	default:
		s.fault(w, 400, "ValidationFault", "4001", "Invalid query", "unsupported entity "+m[1])
		return
	}
	field, want := m[2], unquote(m[3])
	if field == "PrimaryEmailAddr" && s.co.emailNotQueryable {
		s.fault(w, 400, "ValidationFault", "4001", "Invalid query", "property PrimaryEmailAddr is not queryable")
		return
	}
	var found []any
	for _, row := range table {
		got := fmt.Sprint(row[field])
		if field == "PrimaryEmailAddr" {
			e, _ := row[field].(map[string]any)
			got = fmt.Sprint(e["Address"])
		}
		if field == "" || got == want {
			found = append(found, row)
		}
	}
	res := map[string]any{"startPosition": 1, "maxResults": len(found)}
	if len(found) > 0 {
		res[m[1]] = found
	}
	answer(w, map[string]any{"QueryResponse": res, "time": "now"})
}

// unquote reads a query string literal's body: a backslash escapes the
// character after it (\' and \\).
func unquote(lit string) string {
	var b strings.Builder
	for i := 0; i < len(lit); i++ {
		if lit[i] == '\\' && i+1 < len(lit) {
			i++
		}
		b.WriteByte(lit[i])
	}
	return b.String()
}

func (s *Server) createCustomer(w http.ResponseWriter, b map[string]any) {
	name, _ := b["DisplayName"].(string)
	if strings.TrimSpace(name) == "" {
		s.fault(w, 400, "ValidationFault", "2020", "Required param missing, need to supply the required value for the API", "Required parameter DisplayName is missing")
		return
	}
	for _, c := range s.co.customers {
		if c["DisplayName"] == name {
			s.fault(w, 400, "ValidationFault", "6240", "Duplicate Name Exists Error", "The name supplied already exists. : Another customer, vendor or employee is already using this name.")
			return
		}
	}
	s.co.nextID++
	id := strconv.Itoa(s.co.nextID)
	c := map[string]any{"Id": id, "DisplayName": name, "SyncToken": "0", "Active": true}
	if e, ok := b["PrimaryEmailAddr"]; ok {
		c["PrimaryEmailAddr"] = e
	}
	s.co.customers[id] = c
	answer(w, map[string]any{"Customer": c, "time": "now"})
}

func (s *Server) createInvoice(w http.ResponseWriter, b map[string]any) []byte {
	ref, _ := b["CustomerRef"].(map[string]any)
	if !s.customerAndNumber(w, b, true) {
		return nil
	}
	lines, _ := b["Line"].([]any)
	var total, subtotal, taxable int64
	var out []any
	for i, l := range lines {
		line, _ := l.(map[string]any)
		amt, ok := cents(line["Amount"])
		if !ok || amt < 0 {
			s.fault(w, 400, "ValidationFault", "2020", "Invalid amount", fmt.Sprintf("Line %d Amount", i))
			return nil
		}
		switch line["DetailType"] {
		case "SalesItemLineDetail":
			taxed, ok := s.itemLine(w, i, line, amt)
			if !ok {
				return nil
			}
			total += amt
			subtotal += amt
			if taxed {
				taxable += amt
			}
		case "DiscountLineDetail":
			total -= amt
		default:
			s.fault(w, 400, "ValidationFault", "2020", "Unsupported line", fmt.Sprint(line["DetailType"]))
			return nil
		}
		line["Id"], line["LineNum"] = strconv.Itoa(i+1), i+1
		line["Amount"] = dollars(amt)
		out = append(out, line)
	}
	out = append(out, map[string]any{"Amount": dollars(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": map[string]any{}})
	taxDetail, tax, ok := s.salesTax(w, b, taxable)
	if !ok {
		return nil
	}
	total += tax
	s.co.nextID++
	id := strconv.Itoa(s.co.nextID)
	inv := map[string]any{"Id": id, "SyncToken": "0", "DocNumber": b["DocNumber"], "CustomerRef": ref, "Line": out, "TotalAmt": dollars(total),
		"Balance": dollars(total), "LinkedTxn": []any{}, "PrivateNote": b["PrivateNote"], "BillEmail": b["BillEmail"], "ShipAddr": b["ShipAddr"],
		"TxnDate": b["TxnDate"], "TxnTaxDetail": taxDetail, "MetaData": map[string]any{"CreateTime": "now"}}
	s.co.invoices[id] = inv
	s.emit(change{"Invoice", id, "Create", s.now()})
	return answer(w, map[string]any{"Invoice": inv, "time": "now"})
}

func (s *Server) void(w http.ResponseWriter, b map[string]any) {
	inv, ok := s.co.invoices[fmt.Sprint(b["Id"])]
	if !ok {
		s.fault(w, 400, "ValidationFault", "610", "Object Not Found", "Invoice "+fmt.Sprint(b["Id"]))
		return
	}
	if fmt.Sprint(b["SyncToken"]) != inv["SyncToken"] {
		s.fault(w, 400, "ValidationFault", "5010", "Stale Object Error", "You and another user were working on the same thing.")
		return
	}
	s.voidLocked(fmt.Sprint(b["Id"]), inv)
	answer(w, map[string]any{"Invoice": inv, "time": "now"})
}

// payment records a payment against invoices (the owner's "mark paid").
func (s *Server) payment(w http.ResponseWriter, b map[string]any) {
	lines, _ := b["Line"].([]any)
	s.co.nextID++
	pid := strconv.Itoa(s.co.nextID)
	for _, l := range lines {
		line, _ := l.(map[string]any)
		amt, ok := cents(line["Amount"])
		links, _ := line["LinkedTxn"].([]any)
		for _, lt := range links {
			link, _ := lt.(map[string]any)
			inv, found := s.co.invoices[fmt.Sprint(link["TxnId"])]
			if !ok || !found || link["TxnType"] != "Invoice" {
				s.fault(w, 400, "ValidationFault", "2500", "Invalid Reference Id", "payment line")
				return
			}
			bal, _ := cents(inv["Balance"])
			inv["Balance"] = dollars(max(0, bal-amt))
			st, _ := strconv.Atoi(inv["SyncToken"].(string))
			inv["SyncToken"] = strconv.Itoa(st + 1)
			inv["LinkedTxn"] = append(inv["LinkedTxn"].([]any), map[string]any{"TxnId": pid, "TxnType": "Payment"})
		}
	}
	p := map[string]any{"Id": pid, "TotalAmt": b["TotalAmt"], "Line": lines, "DepositToAccountRef": map[string]any{"value": UndepositedFunds}}
	if ref, ok := b["DepositToAccountRef"].(map[string]any); ok {
		p["DepositToAccountRef"] = ref
	}
	s.co.payments[pid] = p
	s.paid(pid, paidInvoices(lines))
	answer(w, map[string]any{"Payment": p, "time": "now"})
}

// MarkPaid records a payment of the invoice's balance, as the owner does
// in QuickBooks.
func (s *Server) MarkPaid(invoiceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.co.invoices[invoiceID]
	if !ok {
		return fmt.Errorf("no invoice %s", invoiceID)
	}
	s.co.nextID++
	pid := strconv.Itoa(s.co.nextID)
	inv["Balance"] = dollars(0)
	st, _ := strconv.Atoi(inv["SyncToken"].(string))
	inv["SyncToken"] = strconv.Itoa(st + 1)
	inv["LinkedTxn"] = append(inv["LinkedTxn"].([]any), map[string]any{"TxnId": pid, "TxnType": "Payment"})
	s.co.payments[pid] = map[string]any{"Id": pid, "TotalAmt": inv["TotalAmt"], "Line": []any{map[string]any{"Amount": inv["TotalAmt"],
		"LinkedTxn": []any{map[string]any{"TxnId": invoiceID, "TxnType": "Invoice"}}}}, "DepositToAccountRef": map[string]any{"value": UndepositedFunds}}
	s.paid(pid, []string{invoiceID})
	return nil
}

// paid notifies a payment: Payment Create and, unless switched off (the
// UNVERIFIED reading where QuickBooks sends no Invoice event for it),
// Invoice Update for each invoice it paid. Called with s.mu held.
func (s *Server) paid(paymentID string, invoiceIDs []string) {
	cs := []change{{"Payment", paymentID, "Create", s.now()}}
	if !s.co.paymentOnly {
		for _, id := range invoiceIDs {
			cs = append(cs, change{"Invoice", id, "Update", s.now()})
		}
	}
	s.emit(cs...)
}

func paidInvoices(lines []any) []string {
	var ids []string
	for _, l := range lines {
		line, _ := l.(map[string]any)
		links, _ := line["LinkedTxn"].([]any)
		for _, lt := range links {
			if link, _ := lt.(map[string]any); link["TxnType"] == "Invoice" {
				ids = append(ids, fmt.Sprint(link["TxnId"]))
			}
		}
	}
	return ids
}

// NotifyPaymentOnly makes a payment notify only Payment Create (no Invoice
// Update): the other reading of an UNVERIFIED fact.
func (s *Server) NotifyPaymentOnly(v bool) { s.mu.Lock(); s.co.paymentOnly = v; s.mu.Unlock() }

// PaymentFor returns the id of the last payment MarkPaid recorded on the
// invoice ("" if none).
func (s *Server) PaymentFor(invoiceID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	links, _ := s.co.invoices[invoiceID]["LinkedTxn"].([]any)
	for i := len(links) - 1; i >= 0; i-- {
		if l, _ := links[i].(map[string]any); l["TxnType"] == "Payment" {
			return fmt.Sprint(l["TxnId"])
		}
	}
	return ""
}

// createRefundReceipt records money given back to a customer, checked as
// QuickBooks checks it: DepositToAccountRef is required and must be a
// Bank or Other Current Asset account, the lines' items must exist and
// their amounts be UnitPrice × Qty, the customer (optional) must exist.
// Its sales tax is worked out as an invoice's (salesTax), and its total,
// tax included, must be more than zero.
func (s *Server) createRefundReceipt(w http.ResponseWriter, b map[string]any) []byte {
	acc, _ := b["DepositToAccountRef"].(map[string]any)
	if acc == nil {
		s.fault(w, 400, "ValidationFault", "2020", "Required param missing, need to supply the required value for the API", "Required parameter DepositToAccountRef is missing in the request")
		return nil
	}
	a, ok := s.co.accounts[fmt.Sprint(acc["value"])]
	if !ok || (a["AccountType"] != "Bank" && a["AccountType"] != "Other Current Asset") {
		s.fault(w, 400, "ValidationFault", "2500", "Invalid Reference Id", "Invalid Reference Id : Account "+fmt.Sprint(acc["value"])+" must be a Bank or Other Current Asset account")
		return nil
	}
	ref, _ := b["CustomerRef"].(map[string]any)
	if !s.customerAndNumber(w, b, false) {
		return nil
	}
	lines, _ := b["Line"].([]any)
	if len(lines) == 0 {
		s.fault(w, 400, "ValidationFault", "2020", "Required param missing, need to supply the required value for the API", "Required parameter Line is missing in the request")
		return nil
	}
	var total, taxable int64
	var out []any
	for i, l := range lines {
		line, _ := l.(map[string]any)
		amt, ok := cents(line["Amount"])
		if !ok || amt < 0 || line["DetailType"] != "SalesItemLineDetail" {
			s.fault(w, 400, "ValidationFault", "2020", "Invalid line", fmt.Sprintf("Line %d", i))
			return nil
		}
		taxed, ok := s.itemLine(w, i, line, amt)
		if !ok {
			return nil
		}
		total += amt
		if taxed {
			taxable += amt
		}
		line["Id"], line["LineNum"], line["Amount"] = strconv.Itoa(i+1), i+1, dollars(amt)
		out = append(out, line)
	}
	out = append(out, map[string]any{"Amount": dollars(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": map[string]any{}})
	taxDetail, tax, ok := s.salesTax(w, b, taxable)
	if !ok {
		return nil
	}
	if total += tax; total <= 0 {
		s.fault(w, 400, "ValidationFault", "6000", "A business validation error has occurred while processing your request", "Business Validation Error: the transaction total must be more than zero")
		return nil
	}
	// A receipt paid from a Bank account is a check to QuickBooks: without
	// a reference number it is listed "To Print" (PrintStatus NeedToPrint).
	refNum, _ := b["PaymentRefNum"].(string)
	if len(refNum) > 21 {
		s.fault(w, 400, "ValidationFault", "2050", "String length is either shorter or longer than supported by specification", "PaymentRefNum: Min:0 Max:21")
		return nil
	}
	print := "NotSet"
	if a["AccountType"] == "Bank" && refNum == "" {
		print = "NeedToPrint"
	}
	s.co.nextID++
	id := strconv.Itoa(s.co.nextID)
	rr := map[string]any{"Id": id, "SyncToken": "0", "DocNumber": b["DocNumber"], "CustomerRef": ref, "DepositToAccountRef": acc, "Line": out,
		"PaymentRefNum": refNum, "PrintStatus": print, "TxnTaxDetail": taxDetail,
		"TotalAmt": dollars(total), "Balance": dollars(0), "PrivateNote": b["PrivateNote"], "BillEmail": b["BillEmail"], "TxnDate": b["TxnDate"],
		"MetaData": map[string]any{"CreateTime": "now"}}
	s.co.refunds[id] = rr
	s.emit(change{"RefundReceipt", id, "Create", s.now()})
	return answer(w, map[string]any{"RefundReceipt": rr, "time": "now"})
}

// RefundReceipts returns copies of the refund receipts recorded so far.
func (s *Server) RefundReceipts() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, rr := range s.co.refunds {
		c := map[string]any{}
		for k, v := range rr {
			c[k] = v
		}
		out = append(out, c)
	}
	return out
}

// AddAccount adds an account and returns its id.
func (s *Server) AddAccount(name, accountType string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.co.nextID++
	id := strconv.Itoa(s.co.nextID)
	s.co.accounts[id] = map[string]any{"Id": id, "Name": name, "AccountType": accountType, "Active": true, "SyncToken": "0"}
	return id
}

// itemLine checks line i, a SalesItemLineDetail line of amt cents, as
// QuickBooks does: its item exists, its amount is UnitPrice × Qty, and its
// tax code is one a US company knows; it reports whether the line is
// taxable. It answers the fault and reports ok false when not.
func (s *Server) itemLine(w http.ResponseWriter, i int, line map[string]any, amt int64) (taxable, ok bool) {
	d, _ := line["SalesItemLineDetail"].(map[string]any)
	ir, _ := d["ItemRef"].(map[string]any)
	if _, ok := s.co.items[fmt.Sprint(ir["value"])]; !ok {
		s.fault(w, 400, "ValidationFault", "2500", "Invalid Reference Id", "Invalid Reference Id : Item "+fmt.Sprint(ir["value"]))
		return false, false
	}
	unit, ok := cents(d["UnitPrice"])
	qty, err := strconv.ParseInt(fmt.Sprint(d["Qty"]), 10, 64)
	if !ok || err != nil || unit*qty != amt {
		s.fault(w, 400, "ValidationFault", "6070", "Amount is not equal to UnitPrice * Qty", fmt.Sprintf("Line %d", i))
		return false, false
	}
	return s.taxable(w, i, d)
}

// customerAndNumber checks a transaction's CustomerRef (which must name a
// customer when given, and be given when required) and its DocNumber (at
// most 21 characters). It answers the fault and reports false when not.
func (s *Server) customerAndNumber(w http.ResponseWriter, b map[string]any, customerRequired bool) bool {
	ref, _ := b["CustomerRef"].(map[string]any)
	if ref != nil || customerRequired {
		if _, ok := s.co.customers[fmt.Sprint(ref["value"])]; !ok {
			s.fault(w, 400, "ValidationFault", "2500", "Invalid Reference Id", "Invalid Reference Id : Customer "+fmt.Sprint(ref["value"]))
			return false
		}
	}
	if dn, _ := b["DocNumber"].(string); len(dn) > 21 {
		s.fault(w, 400, "ValidationFault", "2050", "String length is either shorter or longer than supported by specification", "DocNumber max 21")
		return false
	}
	return true
}
