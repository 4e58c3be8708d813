package quickbooks

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// SalesTax is how a QuickBooks Online company handles sales tax
// (Preferences.TaxPrefs, as Intuit's "Manage sales tax for US locales"
// describes it; PartnerTaxEnabled needs minor version 3 or later, and every
// request carries MinorVersion): whether it tracks sales tax at all, and
// whether it runs Automated Sales Tax — US companies made after November
// 10, 2017 whose sales tax is set up (PartnerTaxEnabled true) — whose
// engine computes an invoice's tax from the company's address and the
// invoice's shipping address. Legacy companies with sales tax have
// UsingSalesTax and no PartnerTaxEnabled.
type SalesTax struct {
	Tracked   bool // TaxPrefs.UsingSalesTax
	Automated bool // TaxPrefs.PartnerTaxEnabled
}

// SalesTax reads the company's sales-tax preferences (GET preferences).
func (c *Client) SalesTax(ctx context.Context) (SalesTax, error) {
	var ans struct {
		Preferences struct {
			TaxPrefs struct {
				UsingSalesTax     bool
				PartnerTaxEnabled bool
			}
		}
	}
	if err := c.Do(ctx, http.MethodGet, "preferences", nil, nil, &ans); err != nil {
		return SalesTax{}, err
	}
	p := ans.Preferences.TaxPrefs
	return SalesTax{Tracked: p.UsingSalesTax || p.PartnerTaxEnabled, Automated: p.PartnerTaxEnabled}, nil
}

// TaxCode is a sales tax code of the company (a TaxCode: a group of
// rates a sales form names in TxnTaxDetail.TxnTaxCodeRef).
type TaxCode struct {
	ID     string
	Name   string
	Active bool
	// Rates counts its sales rates: the pseudo codes TAX and NON, which
	// mark lines taxable or not, have none.
	Rates int
}

// ForSales reports whether a sales form can name the code: an active tax
// group with rates (not a pseudo code).
func (t TaxCode) ForSales() bool { return t.Active && t.Rates > 0 && t.ID != "TAX" && t.ID != "NON" }

type wireTaxCode struct {
	ID               string `json:"Id"`
	Name             string `json:"Name"`
	Active           *bool  `json:"Active"`
	SalesTaxRateList *struct {
		TaxRateDetail []json.RawMessage `json:"TaxRateDetail"`
	} `json:"SalesTaxRateList"`
}

func (w wireTaxCode) code() TaxCode {
	c := TaxCode{ID: w.ID, Name: w.Name, Active: w.Active == nil || *w.Active}
	if w.SalesTaxRateList != nil {
		c.Rates = len(w.SalesTaxRateList.TaxRateDetail)
	}
	return c
}

// TaxCodes returns the company's tax codes (the first page of the query:
// a company has far fewer than a page holds).
func (c *Client) TaxCodes(ctx context.Context) ([]TaxCode, error) {
	return c.taxCodes(ctx, "select * from TaxCode")
}

// TaxCodeByRef returns the tax code whose id (a number), or else whose
// name, is ref; found is false when there is neither.
func (c *Client) TaxCodeByRef(ctx context.Context, ref string) (code TaxCode, found bool, err error) {
	fields := []string{"Name"}
	if strings.Trim(ref, "0123456789") == "" {
		fields = []string{"Id", "Name"}
	}
	for _, field := range fields {
		codes, err := c.taxCodes(ctx, "select * from TaxCode where "+field+" = "+Quote(ref))
		if err != nil {
			return TaxCode{}, false, err
		}
		if len(codes) > 0 {
			return codes[0], true, nil
		}
	}
	return TaxCode{}, false, nil
}

func (c *Client) taxCodes(ctx context.Context, query string) ([]TaxCode, error) {
	var found struct {
		TaxCode []wireTaxCode `json:"TaxCode"`
	}
	if err := c.Query(ctx, query, &found); err != nil {
		return nil, err
	}
	out := make([]TaxCode, 0, len(found.TaxCode))
	for _, w := range found.TaxCode {
		out = append(out, w.code())
	}
	return out, nil
}
