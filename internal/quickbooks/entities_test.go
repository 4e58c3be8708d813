package quickbooks_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
)

// memTokens keeps tokens in memory (the Firestore store is tested in
// firestoredb).
type memTokens struct {
	mu        sync.Mutex
	oauth     quickbooks.OAuth
	ts        quickbooks.TokenSet
	refreshes int
}

func (m *memTokens) AccessToken(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ts.AccessToken, nil
}

func (m *memTokens) Refresh(ctx context.Context, _ string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ts, err := m.oauth.Refresh(ctx, m.ts.RefreshToken, time.Now())
	if err != nil {
		return "", err
	}
	m.ts, m.refreshes = ts, m.refreshes+1
	return ts.AccessToken, nil
}

func connect(t *testing.T) (*qbfake.Server, *quickbooks.Client, *memTokens) {
	t.Helper()
	f, err := qbfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	oauth := quickbooks.OAuth{Endpoint: f.TokenURL(), ClientID: f.ClientID, ClientSecret: f.ClientSecret}
	ts, err := oauth.Exchange(context.Background(), f.Code(), "http://localhost/cb", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tok := &memTokens{oauth: oauth, ts: ts}
	return f, quickbooks.New(f.URL, qbfake.Realm, tok, nil), tok
}

func count(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestCustomersAndItems(t *testing.T) {
	f, c, _ := connect(t)
	ctx := context.Background()
	id1, err := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com")
	if err != nil || id2 != id1 {
		t.Fatalf("second lookup %q %v, want %q", id2, err, id1)
	}
	if n := count(f.Calls(), "POST /v3/company/"+qbfake.Realm+"/customer"); n != 1 {
		t.Errorf("%d customer creates, want 1", n)
	}
	items := &quickbooks.Items{Client: c, Mapping: map[string]string{"Mapped": "999"}}
	for i := 0; i < 3; i++ {
		if id, err := items.ID(ctx, "Pen Set"); err != nil || id == "" {
			t.Fatalf("item: %q %v", id, err)
		}
	}
	if n := count(f.Calls(), "GET /v3/company/"+qbfake.Realm+"/query?minorversion=75&query=select+%2A+from+Item"); n != 1 {
		t.Errorf("%d item queries for 3 lookups, want 1", n)
	}
	if id, _ := items.ID(ctx, "Mapped"); id != "999" {
		t.Error("the configured mapping comes first")
	}
	if _, err := items.ID(ctx, "No Such Item"); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("missing item: %v", err)
	}
	// By SKU: a line whose name QuickBooks does not know finds the item by its Sku field…
	red := f.AddItemWithSKU("Pens (red, 3)", "PEN-RED-3")
	if id, err := items.ForLine(ctx, "PEN-RED-3", "Red pens"); err != nil || id != red {
		t.Errorf("by SKU: %q %v, want %q", id, err, red)
	}
	// …a mapped SKU needs no query, and a name wins over a SKU.
	items.Mapping["BAND-SAGE"] = "777"
	before := len(f.Calls())
	if id, _ := items.ForLine(ctx, "BAND-SAGE", "Bookmark Band"); id != "777" || len(f.Calls()) != before {
		t.Errorf("mapped SKU: %q after %d calls", id, len(f.Calls())-before)
	}
	if id, _ := items.ForLine(ctx, "PEN-RED-3", "Pen Set"); id == red {
		t.Error("the SKU was preferred over the item's name")
	}
	if _, err := items.ForLine(ctx, "NOPE-1", "Nothing"); apperr.CodeOf(err) != apperr.NotFound || !strings.Contains(err.Error(), `SKU "NOPE-1"`) {
		t.Errorf("missing by name and SKU: %v", err)
	}
}

func TestInvoiceLifecycle(t *testing.T) {
	f, c, tok := connect(t)
	ctx := context.Background()
	cust, _ := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com")
	items := &quickbooks.Items{Client: c}
	planner, _ := items.ID(ctx, "Daily Planner A5")
	ship, _ := items.ID(ctx, "Shipping")
	usd := func(c int64) money.Money { return money.New(c, "USD") }
	line := func(item string, qty int64, unit int64) map[string]any {
		return map[string]any{"Amount": quickbooks.Dollars(usd(unit * qty)), "DetailType": "SalesItemLineDetail",
			"SalesItemLineDetail": map[string]any{"ItemRef": quickbooks.Ref{Value: item}, "Qty": qty, "UnitPrice": quickbooks.Dollars(usd(unit)), "TaxCodeRef": quickbooks.Ref{Value: "NON"}}}
	}
	body := map[string]any{"CustomerRef": quickbooks.Ref{Value: cust}, "DocNumber": "K7Q2M9XH4TBA",
		"PrivateNote": "Order K7Q2M9XH4TBA; Stripe PaymentIntent pi_1", "Line": []any{
			line(planner, 3, 1999), line(ship, 1, 1750),
			map[string]any{"Amount": quickbooks.Dollars(usd(1000)), "DetailType": "DiscountLineDetail", "DiscountLineDetail": map[string]any{"PercentBased": false}},
		}}
	inv, err := c.CreateInvoice(ctx, body, "invoice-K7Q2M9XH4TBA", "USD")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Total != usd(5997+1750-1000) || inv.Balance != inv.Total || inv.DocNumber != "K7Q2M9XH4TBA" {
		t.Fatalf("invoice %+v", inv)
	}
	again, err := c.CreateInvoice(ctx, body, "invoice-K7Q2M9XH4TBA", "USD")
	if err != nil || again.ID != inv.ID || f.InvoiceCount() != 1 {
		t.Errorf("requestid replay: %+v %v, %d invoices", again, err, f.InvoiceCount())
	}

	if err := f.MarkPaid(inv.ID); err != nil {
		t.Fatal(err)
	}
	paid, err := c.GetInvoice(ctx, inv.ID, "USD")
	if err != nil || !paid.Balance.IsZero() || len(paid.Payments) != 1 {
		t.Errorf("after the payment: %+v %v", paid, err)
	}
	if err := c.VoidInvoice(ctx, inv.ID, "0"); apperr.CodeOf(err) == "" || !quickbooks.AsFault(err).Has("5010") {
		t.Errorf("void at a stale SyncToken: %v", err)
	}
	if err := c.VoidInvoice(ctx, inv.ID, paid.SyncToken); err != nil {
		t.Fatal(err)
	}
	// QuickBooks prepends "Voided" to the note the invoice had.
	if v, _ := c.GetInvoice(ctx, inv.ID, "USD"); !v.Voided || !strings.HasPrefix(f.Invoice(inv.ID)["PrivateNote"].(string), "Voided Order K7Q2M9XH4TBA") {
		t.Errorf("not voided: %+v, note %q", v, f.Invoice(inv.ID)["PrivateNote"])
	}

	// Throttled (XML 429): transient. An expired access token: refreshed once.
	f.Fail429(1)
	if _, err := c.GetInvoice(ctx, inv.ID, "USD"); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("429: %v", err)
	}
	at, _ := tok.AccessToken(ctx)
	f.ExpireAccess(at)
	if _, err := c.GetInvoice(ctx, inv.ID, "USD"); err != nil || tok.refreshes != 1 {
		t.Errorf("expired token: %v after %d refreshes", err, tok.refreshes)
	}
	if _, err := c.GetInvoice(ctx, "404404", "USD"); apperr.CodeOf(err) == "" || !quickbooks.AsFault(err).Has("610") {
		t.Errorf("missing invoice: %v", err)
	}
}

func TestInvoicePaid(t *testing.T) {
	usd := func(c int64) money.Money { return money.New(c, "USD") }
	for name, c := range map[string]struct {
		inv  quickbooks.Invoice
		paid bool
	}{
		"open":            {quickbooks.Invoice{Total: usd(1999), Balance: usd(1999)}, false},
		"partly paid":     {quickbooks.Invoice{Total: usd(1999), Balance: usd(999)}, false},
		"paid":            {quickbooks.Invoice{Total: usd(1999), Balance: usd(0), Payments: []string{"9"}}, true},
		"voided":          {quickbooks.Invoice{Total: usd(0), Balance: usd(0), Voided: true}, false},
		"an invoice of 0": {quickbooks.Invoice{Total: usd(0), Balance: usd(0)}, false},
	} {
		if got := c.inv.Paid(); got != c.paid {
			t.Errorf("%s: Paid() = %v", name, got)
		}
	}
}

// A voided invoice is recognised by QuickBooks' prefix on its note and its
// zeroed amounts; a note that only starts with "Voided" is not a void.
func TestVoidedNeedsPrefixAndZeroes(t *testing.T) {
	usd := func(c int64) money.Money { return money.New(c, "USD") }
	for _, tt := range []struct {
		note       string
		total, bal int64
		want       bool
	}{
		{"Voided", 0, 0, true},
		{"Voided Order K7Q2M9XH4TBA; Stripe PaymentIntent pi_1", 0, 0, true},
		{"Voided - Order K7Q2M9XH4TBA", 0, 0, true},
		{"Order K7Q2M9XH4TBA; Stripe PaymentIntent pi_1", 0, 0, false},
		{"Voided by mistake? Check", 1000, 1000, false},
	} {
		if got := quickbooks.Voided(tt.note, usd(tt.total), usd(tt.bal)); got != tt.want {
			t.Errorf("%q %d/%d: voided %v", tt.note, tt.total, tt.bal, got)
		}
	}
}

// The customer lookup's paths, each on the local QuickBooks: by email
// (QuickBooks is reported to accept the filter; the local one does by
// default), by DisplayName when the email is not queryable (4001), and a
// duplicate name (6240) recognised in every shape a fault can come in.
func TestCustomerLookupPaths(t *testing.T) {
	ctx := context.Background()
	t.Run("by email", func(t *testing.T) {
		f, c, _ := connect(t)
		var created struct{ Customer struct{ Id string } }
		if err := c.Do(ctx, "POST", "customer", nil, map[string]any{"DisplayName": "Ann L. (old name)", "PrimaryEmailAddr": map[string]any{"Address": "ann@example.com"}}, &created); err != nil {
			t.Fatal(err)
		}
		id, err := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com")
		if err != nil || id != created.Customer.Id || count(f.Calls(), "POST /v3/company/"+qbfake.Realm+"/customer") != 1 {
			t.Errorf("found %q %v, want %q without creating another", id, err, created.Customer.Id)
		}
	})
	t.Run("email not queryable", func(t *testing.T) {
		f, c, _ := connect(t)
		f.EmailNotQueryable(true)
		id1, err := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if id2, err := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com"); err != nil || id2 != id1 {
			t.Errorf("by DisplayName: %q %v, want %q", id2, err, id1)
		}
	})
	for _, shape := range []string{qbfake.FaultJSON, qbfake.FaultIn200, qbfake.FaultXML} {
		t.Run("duplicate name as "+shape, func(t *testing.T) {
			f, c, _ := connect(t)
			f.SetFaultShape(shape)
			body := map[string]any{"DisplayName": "Ann Lee (ann@example.com)"}
			if err := c.Do(ctx, "POST", "customer", nil, body, nil); err != nil {
				t.Fatal(err)
			}
			err := c.Do(ctx, "POST", "customer", nil, body, nil)
			if fl := quickbooks.AsFault(err); fl == nil || !fl.Has("6240") || apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("duplicate: %v (fault %+v)", err, fl)
			}
			f.EmailNotQueryable(true)
			if _, err := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com"); err != nil {
				t.Errorf("lookup after a 6240: %v", err)
			}
		})
	}
}

// Quote escapes both ' and \ so that no value can end a literal early; the
// local QuickBooks reads the literal back exactly.
func TestQuoteRoundTrip(t *testing.T) {
	f, c, _ := connect(t)
	for _, name := range []string{`Tom's Planner`, `Back\slash`, `Ends with \`, `\' both`} {
		id := f.AddItem(name)
		var out struct{ Item []struct{ Id string } }
		if err := c.Query(context.Background(), "select * from Item where Name = "+quickbooks.Quote(name), &out); err != nil || len(out.Item) != 1 || out.Item[0].Id != id {
			t.Errorf("%q: %+v %v", name, out, err)
		}
	}
	if got := quickbooks.Quote(`a'b\`); got != `'a\'b\\'` {
		t.Errorf("Quote = %s", got)
	}
}
