package qbfake

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The tester's pages, standing in for the owner working in QuickBooks:
//
//	GET  /app/invoices                 every invoice, with buttons
//	POST /app/invoices/{id}/payment    record a payment of the balance ("mark paid")
//	POST /app/invoices/{id}/void       void the invoice
//
// Both POSTs change the company exactly as the API would, so the webhooks
// follow; they answer 303 back to the list (or, with Accept:
// application/json, the invoice as JSON).
func (s *Server) initPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /app/invoices", s.invoicesPage)
	mux.HandleFunc("POST /app/invoices/{id}/payment", func(w http.ResponseWriter, r *http.Request) {
		s.pageAction(w, r, s.MarkPaid)
	})
	mux.HandleFunc("POST /app/invoices/{id}/void", func(w http.ResponseWriter, r *http.Request) {
		s.pageAction(w, r, s.VoidInvoice)
	})
}

var invoicesHTML = template.Must(template.New("invoices").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local QuickBooks: invoices</title>
<style>body{font:15px/1.4 system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}form{display:inline}</style>
</head><body><h1>Local QuickBooks — company {{.Realm}}</h1>
<p>Record a payment to approve an order (the owner's "mark paid"); void to cancel it. Webhooks go to {{if .Endpoint}}<code>{{.Endpoint}}</code> ({{.Format}}){{else}}nowhere (none configured){{end}}.</p>
<table><tr><th>Id</th><th>No.</th><th>Customer</th><th>Total</th><th>Balance</th><th>Note</th><th></th></tr>
{{range .Invoices}}<tr><td>{{.ID}}</td><td>{{.DocNumber}}</td><td>{{.Customer}}</td><td>{{.Total}}</td><td>{{.Balance}}</td><td>{{.Note}}</td>
<td>{{if .Open}}<form method="post" action="/app/invoices/{{.ID}}/payment"><button>Record payment</button></form>
<form method="post" action="/app/invoices/{{.ID}}/void"><button>Void</button></form>{{end}}</td></tr>
{{else}}<tr><td colspan="7">No invoices yet: an authorized order makes one.</td></tr>{{end}}
</table>
<h2>Refund receipts</h2>
<table><tr><th>Id</th><th>No.</th><th>Customer</th><th>Total</th><th>Paid from</th><th>Note</th></tr>
{{range .Refunds}}<tr><td>{{.ID}}</td><td>{{.DocNumber}}</td><td>{{.Customer}}</td><td>{{.Total}}</td><td>{{.Account}}</td><td>{{.Note}}</td></tr>
{{else}}<tr><td colspan="6">No refunds yet: the owner's refundOrder makes one.</td></tr>{{end}}
</table></body></html>
`))

type refundRow struct{ ID, DocNumber, Customer, Total, Account, Note string }

type invoiceRow struct {
	ID, DocNumber, Customer, Total, Balance, Note string
	Open                                          bool
}

func (s *Server) invoicesPage(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	var rows []invoiceRow
	for id, inv := range s.co.invoices {
		ref, _ := inv["CustomerRef"].(map[string]any)
		cust := fmt.Sprint(s.co.customers[fmt.Sprint(ref["value"])]["DisplayName"])
		bal, _ := cents(inv["Balance"])
		note, _ := inv["PrivateNote"].(string)
		rows = append(rows, invoiceRow{ID: id, DocNumber: fmt.Sprint(inv["DocNumber"]), Customer: cust, Total: fmt.Sprint(inv["TotalAmt"]),
			Balance: fmt.Sprint(inv["Balance"]), Note: note, Open: bal > 0})
	}
	var refunds []refundRow
	for id, rr := range s.co.refunds {
		ref, _ := rr["CustomerRef"].(map[string]any)
		acc, _ := rr["DepositToAccountRef"].(map[string]any)
		note, _ := rr["PrivateNote"].(string)
		refunds = append(refunds, refundRow{ID: id, DocNumber: fmt.Sprint(rr["DocNumber"]), Customer: fmt.Sprint(s.co.customers[fmt.Sprint(ref["value"])]["DisplayName"]),
			Total: fmt.Sprint(rr["TotalAmt"]), Account: fmt.Sprint(s.co.accounts[fmt.Sprint(acc["value"])]["Name"]), Note: note})
	}
	s.mu.Unlock()
	newest := func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return y - x
	}
	slices.SortFunc(rows, func(a, b invoiceRow) int { return newest(a.ID, b.ID) })
	slices.SortFunc(refunds, func(a, b refundRow) int { return newest(a.ID, b.ID) })
	s.notify.mu.Lock()
	endpoint, format := s.notify.endpoint, s.notify.format
	s.notify.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = invoicesHTML.Execute(w, map[string]any{"Realm": Realm, "Invoices": rows, "Refunds": refunds, "Endpoint": endpoint, "Format": format})
}

func (s *Server) pageAction(w http.ResponseWriter, r *http.Request, act func(string) error) {
	id := r.PathValue("id")
	if err := act(id); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if r.Header.Get("Accept") == "application/json" {
		answer(w, map[string]any{"Invoice": s.Invoice(id), "time": time.Now().Format(time.RFC3339)})
		return
	}
	http.Redirect(w, r, "/app/invoices", http.StatusSeeOther)
}

// VoidInvoice voids an invoice as the owner does in QuickBooks: Balance
// and TotalAmt become 0 and a Void event is notified.
func (s *Server) VoidInvoice(invoiceID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.co.invoices[invoiceID]
	if !ok {
		return fmt.Errorf("no invoice %s", invoiceID)
	}
	s.voidLocked(invoiceID, inv)
	return nil
}

// voidLocked voids inv (s.mu held): a voided invoice keeps its lines but
// its TotalAmt, Balance and tax are 0, and "Voided" is prepended to its private
// note, as QuickBooks does (the note is "Voided" only when there was none;
// the separator QuickBooks puts before the old note is not documented, so
// readers must match the prefix, never the whole note).
func (s *Server) voidLocked(id string, inv map[string]any) {
	st, _ := strconv.Atoi(inv["SyncToken"].(string))
	note := "Voided"
	if old, _ := inv["PrivateNote"].(string); old != "" {
		note += " " + old
	}
	inv["SyncToken"], inv["Balance"], inv["TotalAmt"], inv["PrivateNote"] = strconv.Itoa(st+1), dollars(0), dollars(0), note
	zeroTax(inv)
	s.emit(change{"Invoice", id, "Void", s.now()})
}
