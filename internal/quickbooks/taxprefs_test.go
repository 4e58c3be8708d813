package quickbooks_test

import (
	"context"
	"testing"

	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
)

// The company's sales-tax kind is read from its preferences: none, manual
// sales tax, or Automated Sales Tax (PartnerTaxEnabled).
func TestSalesTaxPreferences(t *testing.T) {
	f, c, _ := connect(t)
	for _, k := range []struct {
		kind string
		want quickbooks.SalesTax
	}{
		{qbfake.NoSalesTax, quickbooks.SalesTax{}},
		{qbfake.ManualSalesTax, quickbooks.SalesTax{Tracked: true}},
		{qbfake.AutomatedSalesTax, quickbooks.SalesTax{Tracked: true, Automated: true}},
	} {
		f.SetSalesTax(k.kind)
		got, err := c.SalesTax(context.Background())
		if err != nil || got != k.want {
			t.Errorf("%s: %+v %v, want %+v", k.kind, got, err, k.want)
		}
	}
	if n := count(f.Calls(), "GET /v3/company/"+qbfake.Realm+"/preferences"); n != 3 {
		t.Errorf("%d preference reads, want 3", n)
	}
}
