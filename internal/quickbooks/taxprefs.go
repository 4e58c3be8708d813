package quickbooks

import (
	"context"
	"net/http"
)

// SalesTax is how a QuickBooks Online company handles sales tax
// (Preferences.TaxPrefs): whether it tracks sales tax at all, and whether
// it runs Automated Sales Tax (PartnerTaxEnabled, every US company made
// since November 2017 that turned sales tax on), which computes an
// invoice's tax from its shipping address unless the request states the
// amount (TxnTaxDetail.TotalTax).
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
