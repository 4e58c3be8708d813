package quickbooks

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// Ref is a QuickBooks reference ({"value": id}).
type Ref struct {
	Value string `json:"value"`
}

// EmailAddr is an email field.
type EmailAddr struct {
	Address string `json:"Address"`
}

type customer struct {
	ID               string     `json:"Id"`
	DisplayName      string     `json:"DisplayName"`
	PrimaryEmailAddr *EmailAddr `json:"PrimaryEmailAddr,omitempty"`
}

// DisplayNameFor is the customer's DisplayName: QuickBooks needs it unique
// across customers, vendors and employees, so the email goes in it too.
func DisplayNameFor(name, email string) string {
	dn := name + " (" + email + ")"
	if len(dn) > 100 {
		dn = dn[:100]
	}
	return dn
}

// FindOrCreateCustomer returns the id of the customer with this email:
// found by email where QuickBooks allows that query, else by DisplayName,
// else created. A duplicate-name answer (6240, another instance created it
// meanwhile) is followed by the lookup again.
func (c *Client) FindOrCreateCustomer(ctx context.Context, name, email string) (string, error) {
	var found struct{ Customer []customer }
	err := c.Query(ctx, "select * from Customer where PrimaryEmailAddr = "+Quote(email), &found)
	if f := AsFault(err); f != nil && (f.Has("4000") || f.Has("4001")) {
		err = nil // the email is not queryable here: look up by DisplayName
		found.Customer = nil
	}
	if err != nil {
		return "", err
	}
	dn := DisplayNameFor(name, email)
	for attempt := 0; attempt < 2; attempt++ {
		if len(found.Customer) == 0 {
			if err := c.Query(ctx, "select * from Customer where DisplayName = "+Quote(dn), &found); err != nil {
				return "", err
			}
		}
		if len(found.Customer) > 0 {
			return found.Customer[0].ID, nil
		}
		var created struct{ Customer customer }
		err := c.Do(ctx, http.MethodPost, "customer", nil, customer{DisplayName: dn, PrimaryEmailAddr: &EmailAddr{Address: email}}, &created)
		if f := AsFault(err); f != nil && f.Has("6240") {
			continue
		}
		if err != nil {
			return "", err
		}
		return created.Customer.ID, nil
	}
	return "", apperr.New(apperr.Aborted, "QuickBooks customer %q could not be found or created", dn)
}

// Items finds items by name or SKU, remembering what it found.
type Items struct {
	Client *Client
	// Mapping maps SKUs and item names to item ids the owner configured
	// (OMS_QUICKBOOKS_ITEMS), checked first.
	Mapping map[string]string

	mu    sync.Mutex
	cache map[string]string
}

// ID returns the id of the item named name. NOT_FOUND if QuickBooks has
// none (the owner must create it or map it).
func (it *Items) ID(ctx context.Context, name string) (string, error) {
	return it.ForLine(ctx, "", name)
}

// ForLine returns the item of an order line: the configured mapping of
// its SKU or of name, else the item named name, else the item whose Sku
// field is sku. NOT_FOUND if QuickBooks has none.
func (it *Items) ForLine(ctx context.Context, sku, name string) (string, error) {
	if id, ok := it.Mapping[sku]; ok && sku != "" {
		return id, nil
	}
	if id, ok := it.Mapping[name]; ok {
		return id, nil
	}
	id, err := it.lookup(ctx, "Name", name)
	if apperr.CodeOf(err) == apperr.NotFound && sku != "" {
		id, err = it.lookup(ctx, "Sku", sku)
	}
	if apperr.CodeOf(err) == apperr.NotFound {
		if sku != "" {
			return "", apperr.New(apperr.NotFound, "QuickBooks has no item named %q nor with SKU %q: create it, or map it in OMS_QUICKBOOKS_ITEMS", name, sku)
		}
		return "", apperr.New(apperr.NotFound, "QuickBooks has no item named %q: create it, or map it in OMS_QUICKBOOKS_ITEMS", name)
	}
	return id, err
}

// lookup queries the item whose field equals value, through the cache.
func (it *Items) lookup(ctx context.Context, field, value string) (string, error) {
	key := field + ":" + value
	it.mu.Lock()
	id, ok := it.cache[key]
	it.mu.Unlock()
	if ok {
		return id, nil
	}
	var found struct {
		Item []struct {
			ID string `json:"Id"`
		}
	}
	if err := it.Client.Query(ctx, "select * from Item where "+field+" = "+Quote(value), &found); err != nil {
		return "", err
	}
	if len(found.Item) == 0 {
		return "", apperr.New(apperr.NotFound, "no item")
	}
	it.mu.Lock()
	if it.cache == nil {
		it.cache = map[string]string{}
	}
	it.cache[key] = found.Item[0].ID
	it.mu.Unlock()
	return found.Item[0].ID, nil
}

// Invoice is what this project reads of an invoice.
type Invoice struct {
	ID        string
	SyncToken string
	DocNumber string
	Total     money.Money
	Balance   money.Money
	Voided    bool
	Payments  []string // ids of linked payments
	Customer  string   // CustomerRef.value
	// Tax is the invoice's sales tax (TxnTaxDetail.TotalTax), counted in
	// Total; zero where it has none.
	Tax money.Money
}

// Paid reports whether the invoice was settled: something was due and
// nothing is any more. An invoice of nothing (TotalAmt 0) has a zero
// Balance from the start, which is no one's approval.
func (i Invoice) Paid() bool { return !i.Voided && i.Total.Amount > 0 && i.Balance.IsZero() }

type wireInvoice struct {
	ID          string      `json:"Id"`
	SyncToken   string      `json:"SyncToken"`
	DocNumber   string      `json:"DocNumber"`
	TotalAmt    json.Number `json:"TotalAmt"`
	Balance     json.Number `json:"Balance"`
	PrivateNote string      `json:"PrivateNote"`
	CustomerRef Ref         `json:"CustomerRef"`
	// TxnTaxDetail is the form's sales tax (absent where there is none).
	TxnTaxDetail *wireTax `json:"TxnTaxDetail"`
	LinkedTxn    []struct {
		TxnID   string `json:"TxnId"`
		TxnType string `json:"TxnType"`
	} `json:"LinkedTxn"`
}

func (w wireInvoice) invoice(currency string) (Invoice, error) {
	total, err := Cents(w.TotalAmt, currency)
	if err != nil {
		return Invoice{}, err
	}
	bal, err := Cents(w.Balance, currency)
	if err != nil {
		return Invoice{}, err
	}
	tax, err := w.TxnTaxDetail.total(currency)
	if err != nil {
		return Invoice{}, err
	}
	inv := Invoice{ID: w.ID, SyncToken: w.SyncToken, DocNumber: w.DocNumber, Total: total, Balance: bal, Voided: Voided(w.PrivateNote, total, bal),
		Customer: w.CustomerRef.Value, Tax: tax}
	for _, l := range w.LinkedTxn {
		if l.TxnType == "Payment" {
			inv.Payments = append(inv.Payments, l.TxnID)
		}
	}
	return inv, nil
}

// wireTax is what this project reads of a sales form's TxnTaxDetail.
type wireTax struct {
	TotalTax json.Number `json:"TotalTax"`
}

// total is the form's sales tax: zero when it states none.
func (t *wireTax) total(currency string) (money.Money, error) {
	if t == nil || t.TotalTax == "" {
		return money.New(0, currency), nil
	}
	return Cents(t.TotalTax, currency)
}

// Voided recognises a voided invoice as QuickBooks leaves it: it prepends
// "Voided" to the private note the invoice had (the note equals "Voided"
// only when there was none) and zeroes the total and the balance. Both
// are required, so that a note someone typed starting with "Voided" does
// not cancel an order whose invoice still has something due.
func Voided(note string, total, balance money.Money) bool {
	return strings.HasPrefix(note, "Voided") && total.IsZero() && balance.IsZero()
}

// CreateInvoice creates an invoice (body is QuickBooks' JSON) with a
// requestid: a repeated create with the same requestid answers the first
// invoice and creates nothing.
func (c *Client) CreateInvoice(ctx context.Context, body any, requestID, currency string) (Invoice, error) {
	if len(requestID) > 50 {
		return Invoice{}, apperr.New(apperr.Invalid, "requestid %q is longer than 50 characters", requestID)
	}
	var ans struct{ Invoice wireInvoice }
	if err := c.Do(ctx, http.MethodPost, "invoice", url.Values{"requestid": {requestID}}, body, &ans); err != nil {
		return Invoice{}, err
	}
	return ans.Invoice.invoice(currency)
}

// GetInvoice reads an invoice.
func (c *Client) GetInvoice(ctx context.Context, id, currency string) (Invoice, error) {
	var ans struct{ Invoice wireInvoice }
	if err := c.Do(ctx, http.MethodGet, "invoice/"+url.PathEscape(id), nil, nil, &ans); err != nil {
		return Invoice{}, err
	}
	return ans.Invoice.invoice(currency)
}

// InvoiceByDocNumber finds the invoice whose DocNumber is docNumber
// (QuickBooks answers a query of it); found is false when there is none.
func (c *Client) InvoiceByDocNumber(ctx context.Context, docNumber, currency string) (inv Invoice, found bool, err error) {
	var ans struct {
		QueryResponse struct {
			Invoice []wireInvoice `json:"Invoice"`
		}
	}
	if err := c.Query(ctx, "select * from Invoice where DocNumber = "+Quote(docNumber), &ans); err != nil {
		return Invoice{}, false, err
	}
	if len(ans.QueryResponse.Invoice) == 0 {
		return Invoice{}, false, nil
	}
	inv, err = ans.QueryResponse.Invoice[0].invoice(currency)
	return inv, err == nil, err
}

// PaymentInvoices returns the ids of the invoices a payment applies to.
func (c *Client) PaymentInvoices(ctx context.Context, paymentID string) ([]string, error) {
	var ans struct {
		Payment struct {
			Line []struct {
				LinkedTxn []struct {
					TxnID   string `json:"TxnId"`
					TxnType string `json:"TxnType"`
				} `json:"LinkedTxn"`
			} `json:"Line"`
		}
	}
	if err := c.Do(ctx, http.MethodGet, "payment/"+url.PathEscape(paymentID), nil, nil, &ans); err != nil {
		return nil, err
	}
	var ids []string
	for _, l := range ans.Payment.Line {
		for _, t := range l.LinkedTxn {
			if t.TxnType == "Invoice" {
				ids = append(ids, t.TxnID)
			}
		}
	}
	return ids, nil
}

// VoidInvoice voids an invoice at its SyncToken.
func (c *Client) VoidInvoice(ctx context.Context, id, syncToken string) error {
	return c.Do(ctx, http.MethodPost, "invoice", url.Values{"operation": {"void"}}, map[string]string{"Id": id, "SyncToken": syncToken}, nil)
}
