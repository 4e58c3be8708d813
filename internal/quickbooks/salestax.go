package quickbooks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

// The ways a sale's tax is written in a company's books (TaxTreatment.Kind),
// one per kind of US company (Intuit, "Manage sales tax for US locales"):
// whichever it is, the form's total is what the customer was charged.
const (
	// TaxAutomated is a company with Automated Sales Tax (PartnerTaxEnabled),
	// whose engine computes a form's tax from the ship address unless the
	// form states it: the lines that carry tax are marked TAX and
	// TxnTaxDetail.TotalTax states the tax, which the engine honours
	// ("whenever an explicit tax amount is sent in the transaction request
	// the AST engine honors the amount and prorates it across tax rates in
	// the AST-assigned tax code"), with a TxnTaxCodeRef when the company has
	// one (the engine replaces it by its own; Intuit's answers also describe
	// the override as the code and the amount together).
	TaxAutomated = "automated"
	// TaxManual is a company with manual sales tax (UsingSalesTax): TAX
	// lines, and TxnTaxDetail naming the store's tax code and stating the
	// tax instead of the code's rates computing it.
	TaxManual = "manual"
	// TaxAsItem is a company that tracks no sales tax, which ignores
	// TxnTaxDetail ("ignored and not stored"): the tax is a line of the
	// sales tax item, whose account the owner chooses (the sales tax the
	// store owes), so that the form still totals the charge.
	TaxAsItem = "item"
)

// DefaultTaxItem is the item a sale's tax is recorded as in a company that
// tracks no sales tax, when OMS_QUICKBOOKS_TAX_ITEM names no other.
const DefaultTaxItem = "Sales Tax"

// TaxSetupLifetime is how long a Books instance believes what it read of a
// company's sales-tax setup (its preferences, its tax code, its sales tax
// item). A setup changes a few times in a company's life, while every
// taxed invoice and refund needs it: read each time, it would add one to
// three requests to each. A form QuickBooks refuses, or totals otherwise
// than the sale, forgets it at once, so the owner's fix is read when the
// step is retried; the lifetime bounds how long a change that refused
// nothing goes unseen.
const TaxSetupLifetime = 15 * time.Minute

// TaxTreatment says how a sale's tax is written in the company's books.
// The zero value writes none: a sale with tax needs one of the kinds.
type TaxTreatment struct {
	Kind string // TaxAutomated, TaxManual or TaxAsItem
	// Code is the TxnTaxCodeRef: the store's tax code (required for
	// TaxManual; for TaxAutomated, sent when the company has one).
	Code string
	// Item is the sales tax item's id (TaxAsItem).
	Item string
}

// lineCode is the TaxCodeRef of a line that carries lineTax of the sale's
// tax: TAX where the tax is written as sales tax and the line has some,
// NON otherwise (a company's engine then taxes nothing on its own).
func (t TaxTreatment) lineCode(lineTax int64) Ref {
	if lineTax > 0 && (t.Kind == TaxAutomated || t.Kind == TaxManual) {
		return Ref{Value: "TAX"}
	}
	return Ref{Value: "NON"}
}

// carry adds tax (more than zero) to a sales form's body: as its
// TxnTaxDetail (the code, and TotalTax stating the amount), or as a line
// of the sales tax item described as desc. It refuses a treatment that
// cannot carry it.
func (t TaxTreatment) carry(body map[string]any, tax money.Money, desc string) error {
	switch {
	case t.Kind == TaxAutomated || t.Kind == TaxManual && t.Code != "":
		d := map[string]any{"TotalTax": Dollars(tax)}
		if t.Code != "" {
			d["TxnTaxCodeRef"] = Ref{Value: t.Code}
		}
		body["TxnTaxDetail"] = d
	case t.Kind == TaxAsItem && t.Item != "":
		lines, _ := body["Line"].([]any)
		body["Line"] = append(lines, salesLine(t.Item, 1, tax, tax, t.lineCode(0), desc))
	default:
		return apperr.New(apperr.FailedPrecondition, "the QuickBooks company's sales tax setup is not known: %s cannot be recorded", tax.Display())
	}
	return nil
}

// taxTreatment returns how the company of c writes a sale's tax, read from
// its preferences and kept for TaxSetupLifetime: with Automated Sales Tax,
// the store's tax code if there is one; with manual sales tax, the store's
// tax code (required); with none, the sales tax item (required).
func (b *Books) taxTreatment(ctx context.Context, c *Client) (TaxTreatment, error) {
	b.mu.Lock()
	kept, ok := b.taxes[c.realm]
	b.mu.Unlock()
	if ok && time.Since(kept.at) < TaxSetupLifetime {
		return kept.t, nil
	}
	st, err := c.SalesTax(ctx)
	if err != nil {
		return TaxTreatment{}, err
	}
	var t TaxTreatment
	switch {
	case st.Automated:
		t.Kind = TaxAutomated
		t.Code, err = b.taxCode(ctx, c, false)
	case st.Tracked:
		t.Kind = TaxManual
		t.Code, err = b.taxCode(ctx, c, true)
	default:
		t.Kind = TaxAsItem
		t.Item, err = b.taxItem(ctx, c)
	}
	if err != nil {
		return TaxTreatment{}, err
	}
	b.mu.Lock()
	if b.taxes == nil {
		b.taxes = map[string]keptTax{}
	}
	b.taxes[c.realm] = keptTax{t: t, at: time.Now()}
	b.mu.Unlock()
	return t, nil
}

// keptTax is a company's tax treatment as read at a time.
type keptTax struct {
	t  TaxTreatment
	at time.Time
}

// forgetTaxUnlessTransient forgets what was read of the company's
// sales-tax setup when err refuses a form (not when QuickBooks is merely
// busy): the owner's fix is then read when the step is retried.
func (b *Books) forgetTaxUnlessTransient(realm string, err error) {
	if err == nil || apperr.Transient(err) {
		return
	}
	b.mu.Lock()
	delete(b.taxes, realm)
	b.mu.Unlock()
}

// taxCode returns the id of the store's tax code: the one TaxCode names
// (by id or name), else the company's only tax code for sales. With
// Automated Sales Tax any code will do (the engine replaces it by its
// own), and none is no refusal; with manual sales tax, no code or several
// to choose from is one, naming what the owner can set.
func (b *Books) taxCode(ctx context.Context, c *Client, required bool) (string, error) {
	if b.TaxCode != "" {
		code, found, err := c.TaxCodeByRef(ctx, b.TaxCode)
		if err != nil {
			return "", err
		}
		if !found || !code.ForSales() {
			return "", apperr.New(apperr.FailedPrecondition, "QuickBooks has no active sales tax code %q (OMS_QUICKBOOKS_TAX_CODE): name the id or the name of the tax rate the store's sales are taxed at", b.TaxCode)
		}
		return code.ID, nil
	}
	codes, err := c.TaxCodes(ctx)
	if err != nil {
		return "", err
	}
	codes = slices.DeleteFunc(codes, func(t TaxCode) bool { return !t.ForSales() })
	slices.SortFunc(codes, func(x, y TaxCode) int { return strings.Compare(x.Name, y.Name) })
	switch {
	case len(codes) == 1 || len(codes) > 1 && !required:
		return codes[0].ID, nil
	case !required:
		return "", nil
	case len(codes) == 0:
		return "", apperr.New(apperr.FailedPrecondition, "QuickBooks tracks sales tax but has no sales tax rate to record the order's tax at: add the store's rate in QuickBooks (Taxes), or name its tax code in OMS_QUICKBOOKS_TAX_CODE")
	}
	names := make([]string, len(codes))
	for i, t := range codes {
		names[i] = fmt.Sprintf("%q (id %s)", t.Name, t.ID)
	}
	return "", apperr.New(apperr.FailedPrecondition, "QuickBooks has %d sales tax rates (%s): name the one the store's sales are taxed at in OMS_QUICKBOOKS_TAX_CODE", len(codes), strings.Join(names, ", "))
}

// taxItem returns the id of the sales tax item (TaxItem, else
// DefaultTaxItem) of a company that tracks no sales tax.
func (b *Books) taxItem(ctx context.Context, c *Client) (string, error) {
	name := b.TaxItem
	if name == "" {
		name = DefaultTaxItem
	}
	id, err := b.itemsFor(ctx, c).ID(ctx, name)
	if apperr.CodeOf(err) == apperr.NotFound {
		return "", apperr.Wrap(err, apperr.NotFound, "QuickBooks tracks no sales tax, and has no item %q to record the order's tax as: turn sales tax on in QuickBooks (Taxes), or create a service item %q whose account is the sales tax the store owes (or name another in OMS_QUICKBOOKS_TAX_ITEM)", name, name)
	}
	return id, err
}
