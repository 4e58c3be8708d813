package quickbooks

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/bookkeeping"
	"github.com/readyplanner/oms/internal/order"
)

// RealmTokens is a token store that also knows the connected company.
// While the connection is dead it answers bookkeeping.ErrNotConnected.
type RealmTokens interface {
	Tokens
	Realm(ctx context.Context) (string, error)
	Connected(ctx context.Context) (realm string, connected bool, err error)
}

// Books is bookkeeping's Books: orders invoiced in the connected
// QuickBooks company.
type Books struct {
	BaseURL      string
	Tokens       RealmTokens
	ShippingItem string            // the item shipping is invoiced as
	ItemMapping  map[string]string // item name → id, checked before looking up
	// RefundItem is the item refunds are recorded as (DefaultRefundItem
	// when empty); RefundAccount the account they are paid from ("" for
	// the account each invoice's payment was deposited to).
	RefundItem    string
	RefundAccount string
	// TaxCode names the store's sales tax code (OMS_QUICKBOOKS_TAX_CODE: a
	// TaxCode's id or name), which a company with manual sales tax records
	// a sale's tax under: when empty, the company's only one (see
	// taxCode). TaxItem is the item a company that tracks no sales tax
	// records it as (OMS_QUICKBOOKS_TAX_ITEM, DefaultTaxItem when empty).
	TaxCode string
	TaxItem string
	HTTP    *http.Client

	mu     sync.Mutex
	items  map[string]*Items  // by realm: the item cache survives between orders
	pacers map[string]*Pacer  // by realm: this instance's share of the limits
	taxes  map[string]keptTax // by realm: its sales-tax setup (TaxSetupLifetime)
}

// client returns a client for the connected company, paced within its
// request limits.
func (b *Books) client(ctx context.Context) (*Client, string, error) {
	realm, err := b.Tokens.Realm(ctx)
	if err != nil {
		return nil, "", err
	}
	b.mu.Lock()
	if b.pacers == nil {
		b.pacers = map[string]*Pacer{}
	}
	p := b.pacers[realm]
	if p == nil {
		p = NewPacer(0, 0, nil)
		b.pacers[realm] = p
	}
	b.mu.Unlock()
	return New(b.BaseURL, realm, b.Tokens, b.HTTP).Paced(p), realm, nil
}

var _ bookkeeping.Books = (*Books)(nil)

// Realm implements bookkeeping.Books.
func (b *Books) Realm(ctx context.Context) (string, error) { return b.Tokens.Realm(ctx) }

// Connected implements bookkeeping.Books.
func (b *Books) Connected(ctx context.Context) (bool, error) {
	_, ok, err := b.Tokens.Connected(ctx)
	return ok, err
}

// InvoiceStatus implements bookkeeping.Books: the invoice re-read.
func (b *Books) InvoiceStatus(ctx context.Context, id, currency string) (bookkeeping.InvoiceStatus, error) {
	c, _, err := b.client(ctx)
	if err != nil {
		return bookkeeping.InvoiceStatus{}, err
	}
	inv, err := c.GetInvoice(ctx, id, currency)
	if err != nil {
		return bookkeeping.InvoiceStatus{}, gone(err, id)
	}
	return bookkeeping.InvoiceStatus{ID: inv.ID, DocNumber: inv.DocNumber, Total: inv.Total, Voided: inv.Voided, Paid: inv.Paid()}, nil
}

// gone turns QuickBooks' 610 (an object deleted, or never there) into
// NOT_FOUND.
func gone(err error, id string) error {
	if f := AsFault(err); f != nil && f.Has("610") {
		return apperr.Wrap(err, apperr.NotFound, "QuickBooks has no invoice %s (deleted?)", id)
	}
	return err
}

// FindInvoice implements bookkeeping.Books: the order's invoice found by
// its DocNumber (the order id), for an invoice whose answer never reached
// the order.
func (b *Books) FindInvoice(ctx context.Context, o *order.Order) (order.Invoice, bool, error) {
	c, _, err := b.client(ctx)
	if err != nil {
		return order.Invoice{}, false, err
	}
	inv, found, err := c.InvoiceByDocNumber(ctx, o.ID, o.Currency)
	if err != nil || !found {
		return order.Invoice{}, false, err
	}
	return order.Invoice{ID: inv.ID, DocNumber: inv.DocNumber, Total: inv.Total}, true, nil
}

// InvoicesOfPayment implements bookkeeping.Books: the invoices a payment
// applies to.
func (b *Books) InvoicesOfPayment(ctx context.Context, paymentID string) ([]string, error) {
	c, _, err := b.client(ctx)
	if err != nil {
		return nil, err
	}
	return c.PaymentInvoices(ctx, paymentID)
}

// Void implements bookkeeping.Books: it voids the order's invoice unless it
// is voided already or was paid (a paid invoice is the owner's to
// handle), and says which.
func (b *Books) Void(ctx context.Context, o *order.Order) (string, error) {
	if o.Invoice == nil {
		return bookkeeping.VoidNoInvoice, nil
	}
	c, _, err := b.client(ctx)
	if err != nil {
		return "", err
	}
	inv, err := c.GetInvoice(ctx, o.Invoice.ID, o.Currency)
	if f := AsFault(err); f != nil && f.Has("610") {
		return bookkeeping.VoidGone, nil
	}
	if err != nil {
		return "", err
	}
	switch {
	case inv.Voided:
		return bookkeeping.VoidAlready, nil
	case inv.Balance.IsZero() && len(inv.Payments) > 0:
		return bookkeeping.VoidPaid, nil
	}
	if err := c.VoidInvoice(ctx, inv.ID, inv.SyncToken); err != nil {
		if f := AsFault(err); f != nil && f.Has("5010") {
			return "", apperr.Wrap(err, apperr.Aborted, "the invoice changed meanwhile; will try again")
		}
		return "", err
	}
	return bookkeeping.VoidDone, nil
}

// itemsFor returns the item cache of c's company (it survives between
// orders).
func (b *Books) itemsFor(_ context.Context, c *Client) *Items {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.items == nil {
		b.items = map[string]*Items{}
	}
	items := b.items[c.realm]
	if items == nil {
		items = &Items{Client: c, Mapping: b.ItemMapping}
		b.items[c.realm] = items
	}
	return items
}

// Invoice implements bookkeeping.Books: it creates the order's invoice (or
// finds the one an earlier attempt created: the requestid is derived from
// the order) and returns it. An order with tax carries it as the company
// writes sales tax (taxTreatment; an order without tax needs no reading of
// it). Its total must be the order's to the cent, tax included: what the
// card was charged.
func (b *Books) Invoice(ctx context.Context, o *order.Order) (_ order.Invoice, err error) {
	if o.Customer == nil {
		return order.Invoice{}, apperr.New(apperr.FailedPrecondition, "order %s has no customer to invoice", o.ID)
	}
	c, realm, err := b.client(ctx)
	if err != nil {
		return order.Invoice{}, err
	}
	defer func() { b.forgetTaxUnlessTransient(realm, err) }()
	items := b.itemsFor(ctx, c)
	customer, err := c.FindOrCreateCustomer(ctx, o.Customer.Name, o.Customer.Email)
	if err != nil {
		return order.Invoice{}, err
	}
	var tax TaxTreatment
	if o.TaxAmount().Amount > 0 {
		if tax, err = b.taxTreatment(ctx, c); err != nil {
			return order.Invoice{}, err
		}
	}
	body, err := BuildInvoice(ctx, o, customer, items, b.ShippingItem, tax, time.Now())
	if err != nil {
		return order.Invoice{}, err
	}
	inv, err := c.CreateInvoice(ctx, body, RequestID(o.ID), o.Currency)
	if err != nil {
		return order.Invoice{}, err
	}
	if inv.Total != o.Total() {
		return order.Invoice{}, apperr.New(apperr.FailedPrecondition, "QuickBooks totals invoice %s at %s (its tax %s), the order at %s (its tax %s)",
			inv.ID, inv.Total.Display(), inv.Tax.Display(), o.Total().Display(), o.TaxAmount().Display())
	}
	return order.Invoice{ID: inv.ID, DocNumber: inv.DocNumber, Total: inv.Total}, nil
}
