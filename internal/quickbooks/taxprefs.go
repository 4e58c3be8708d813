package quickbooks

import (
	"context"
	"net/http"
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
