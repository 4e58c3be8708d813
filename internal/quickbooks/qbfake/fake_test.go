package qbfake_test

import (
	"context"
	"github.com/readyplanner/oms/internal/testenv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
)

// receiver is a webhook endpoint that verifies and parses what arrives,
// refusing the first failFirst deliveries with 500.
type receiver struct {
	mu        sync.Mutex
	verifier  string
	failFirst int
	events    []quickbooks.EntityEvent
	refused   int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := quickbooks.VerifyWebhook(body, r.Header.Get("intuit-signature"), rc.verifier); err != nil {
		w.WriteHeader(401)
		return
	}
	if rc.failFirst > 0 {
		rc.failFirst--
		rc.refused++
		w.WriteHeader(500)
		return
	}
	evs, err := quickbooks.ParseWebhook(body)
	if err != nil {
		w.WriteHeader(400)
		return
	}
	rc.events = append(rc.events, evs...)
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, e := range rc.events {
		out = append(out, e.Realm+" "+e.Entity+" "+e.Operation)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Poll(t, 10*time.Second, what, cond)
}

// connected is a client of the local company, connected through its
// OAuth endpoint, and its customer Ann Lee.
func connected(t *testing.T, qb *qbfake.Server) (*quickbooks.Client, string) {
	t.Helper()
	ctx := context.Background()
	oauth := quickbooks.OAuth{Endpoint: qb.TokenURL(), ClientID: qb.ClientID, ClientSecret: qb.ClientSecret}
	ts, err := oauth.Exchange(ctx, qb.Code(), "http://localhost/cb", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := quickbooks.New(qb.URL, qbfake.Realm, staticTokens(ts.AccessToken), nil)
	cust, err := c.FindOrCreateCustomer(ctx, "Ann Lee", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return c, cust
}

// invoice creates a customer and a one-line invoice through the API.
func invoice(t *testing.T, qb *qbfake.Server) string {
	t.Helper()
	ctx := context.Background()
	c, cust := connected(t, qb)
	item, err := (&quickbooks.Items{Client: c}).ID(ctx, "Pen Set")
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"CustomerRef": map[string]any{"value": cust}, "DocNumber": "T-1", "Line": []any{map[string]any{"Amount": 36.00,
		"DetailType": "SalesItemLineDetail", "SalesItemLineDetail": map[string]any{"ItemRef": map[string]any{"value": item}, "Qty": 2, "UnitPrice": 18.00}}}}
	inv, err := c.CreateInvoice(ctx, body, "req-"+quickbooks.Quote(time.Now().Format("150405.000000000")), "USD")
	if err != nil {
		t.Fatal(err)
	}
	return inv.ID
}

type staticTokens string

func (s staticTokens) AccessToken(context.Context) (string, error)     { return string(s), nil }
func (s staticTokens) Refresh(context.Context, string) (string, error) { return string(s), nil }

func TestWebhooksInBothFormats(t *testing.T) {
	for _, format := range []string{qbfake.Legacy, qbfake.CloudEvents} {
		t.Run(format, func(t *testing.T) {
			qb, err := qbfake.Start()
			if err != nil {
				t.Fatal(err)
			}
			defer qb.Close()
			rc := &receiver{verifier: qb.VerifierToken, failFirst: 2}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			qb.SetRetryDelays(5 * time.Millisecond)
			qb.SetWebhook(srv.URL, format)

			id := invoice(t, qb)
			// The owner records the payment on the tester's page.
			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := noFollow.Post(qb.URL+"/app/invoices/"+id+"/payment", "application/x-www-form-urlencoded", nil)
			if err != nil || resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("mark paid: %v %v", resp.StatusCode, err)
			}
			resp.Body.Close()
			if inv := qb.Invoice(id); inv["Balance"] != 0.0 {
				t.Errorf("balance after payment: %v", inv["Balance"])
			}
			waitFor(t, "three events", func() bool { return len(rc.got()) == 3 })

			// The first delivery was refused twice and retried; the later
			// one waited behind it: the order is kept.
			op := map[string][3]string{qbfake.Legacy: {"Create", "Create", "Update"}, qbfake.CloudEvents: {"Created", "Created", "Updated"}}[format]
			want := []string{qbfake.Realm + " Invoice " + op[0], qbfake.Realm + " Payment " + op[1], qbfake.Realm + " Invoice " + op[2]}
			if got := rc.got(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("events %v, want %v", got, want)
			}
			ds := qb.Deliveries()
			if len(ds) != 4 || ds[0].Status != 500 || ds[1].Status != 500 || ds[2].Status != 200 || ds[3].Status != 200 || qb.Pending() != 0 {
				t.Errorf("deliveries: %+v pending %d", ds, qb.Pending())
			}
		})
	}
}

func TestPaymentOnlyAndVoidNotify(t *testing.T) {
	qb, err := qbfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer qb.Close()
	rc := &receiver{verifier: qb.VerifierToken}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	qb.SetWebhook(srv.URL, qbfake.Legacy)
	qb.NotifyPaymentOnly(true)
	paid, voided := invoice(t, qb), invoice(t, qb)
	if err := qb.MarkPaid(paid); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", qb.URL+"/app/invoices/"+voided+"/void", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("void: %v %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, "four events", func() bool { return len(rc.got()) == 4 })
	want := "Invoice Create,Invoice Create,Payment Create,Invoice Void"
	var got []string
	for _, e := range rc.got() {
		got = append(got, strings.TrimPrefix(e, qbfake.Realm+" "))
	}
	if strings.Join(got, ",") != want {
		t.Errorf("events %v, want %s", got, want)
	}
	if inv := qb.Invoice(voided); inv["TotalAmt"] != 0.0 || inv["Balance"] != 0.0 {
		t.Errorf("voided invoice: %v", inv)
	}
	// The page lists both.
	resp, err = http.Get(qb.URL + "/app/invoices")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Ann Lee") || strings.Count(string(page), "<tr><td>") != 2 || strings.Contains(string(page), "Record payment") {
		t.Errorf("invoices page:\n%s", page)
	}
	if resp, _ := http.Post(qb.URL+"/app/invoices/99999/payment", "", nil); resp.StatusCode != 404 {
		t.Errorf("paying an unknown invoice: %d", resp.StatusCode)
	}
}

func TestConsentPage(t *testing.T) {
	qb, err := qbfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer qb.Close()
	qb.AllowRedirect("http://localhost:5001/quickbooksCallback")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	open := func(q url.Values) (int, url.Values) {
		resp, err := noFollow.Get(qb.AuthorizeURL() + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil {
			return resp.StatusCode, nil
		}
		return resp.StatusCode, loc.Query()
	}
	good := func() url.Values {
		return url.Values{"client_id": {qb.ClientID}, "response_type": {"code"}, "scope": {quickbooks.Scope},
			"redirect_uri": {"http://localhost:5001/quickbooksCallback"}, "state": {"s1"}}
	}
	status, back := open(good())
	if status != 302 || back.Get("state") != "s1" || back.Get("realmId") != qbfake.Realm || back.Get("code") == "" {
		t.Fatalf("consent: %d %v", status, back)
	}
	// The code is good once, at the token endpoint.
	oauth := quickbooks.OAuth{Endpoint: qb.TokenURL(), ClientID: qb.ClientID, ClientSecret: qb.ClientSecret}
	if _, err := oauth.Exchange(context.Background(), back.Get("code"), "http://localhost:5001/quickbooksCallback", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := oauth.Exchange(context.Background(), back.Get("code"), "http://localhost:5001/quickbooksCallback", time.Now()); err == nil {
		t.Error("a code worked twice")
	}
	for name, edit := range map[string]func(url.Values){
		"another client":      func(q url.Values) { q.Set("client_id", "x") },
		"token flow":          func(q url.Values) { q.Set("response_type", "token") },
		"no accounting scope": func(q url.Values) { q.Set("scope", "openid") },
		"unregistered uri":    func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"no state":            func(q url.Values) { q.Del("state") },
	} {
		q := good()
		edit(q)
		if status, _ := open(q); status != 400 {
			t.Errorf("%s: %d", name, status)
		}
	}
	qb.DeclineConsent(true)
	if status, back := open(good()); status != 302 || back.Get("error") != "access_denied" || back.Get("code") != "" {
		t.Errorf("declined: %d %v", status, back)
	}
}

// Refund receipts are checked as QuickBooks checks them (an account to pay
// from, of a kind that holds money; item lines whose amounts add up), a
// repeated requestid answers the first receipt, and a payment keeps the
// account it was deposited to (Undeposited Funds when it names none).
func TestRefundReceipts(t *testing.T) {
	qb, err := qbfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer qb.Close()
	ctx := context.Background()
	invID := invoice(t, qb)
	oauth := quickbooks.OAuth{Endpoint: qb.TokenURL(), ClientID: qb.ClientID, ClientSecret: qb.ClientSecret}
	ts, err := oauth.Exchange(ctx, qb.Code(), "http://localhost/cb", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := quickbooks.New(qb.URL, qbfake.Realm, staticTokens(ts.AccessToken), nil)
	if err := qb.MarkPaid(invID); err != nil {
		t.Fatal(err)
	}
	inv, err := c.GetInvoice(ctx, invID, "USD")
	if err != nil || len(inv.Payments) != 1 || inv.Customer == "" {
		t.Fatalf("invoice %+v %v", inv, err)
	}
	if acc, err := c.PaymentAccount(ctx, inv.Payments[0]); err != nil || acc != qbfake.UndepositedFunds {
		t.Errorf("the payment's account: %q %v", acc, err)
	}
	checking, err := c.AccountID(ctx, "Checking")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AccountID(ctx, "Petty Cash"); err == nil {
		t.Error("an account that does not exist was found")
	}
	item, _ := (&quickbooks.Items{Client: c}).ID(ctx, "Refunds")
	receipt := func(account string, cents int64) map[string]any {
		amount := quickbooks.Dollars(money.New(cents, "USD"))
		return map[string]any{"CustomerRef": map[string]any{"value": inv.Customer}, "DepositToAccountRef": map[string]any{"value": account}, "DocNumber": "T-1-R1",
			"Line": []any{map[string]any{"Amount": amount, "DetailType": "SalesItemLineDetail",
				"SalesItemLineDetail": map[string]any{"ItemRef": map[string]any{"value": item}, "Qty": 1, "UnitPrice": amount}}}}
	}
	for name, c2 := range map[string]struct {
		body map[string]any
		code string
	}{
		"no account":        {func() map[string]any { b := receipt(checking, 500); delete(b, "DepositToAccountRef"); return b }(), "2020"},
		"an income account": {receipt("79", 500), "2500"},
		"no lines":          {func() map[string]any { b := receipt(checking, 500); b["Line"] = []any{}; return b }(), "2020"},
	} {
		_, err := c.CreateRefundReceipt(ctx, c2.body, "bad-"+name, "USD")
		if f := quickbooks.AsFault(err); f == nil || !f.Has(c2.code) {
			t.Errorf("%s: %v, want fault %s", name, err, c2.code)
		}
	}
	r1, err := c.CreateRefundReceipt(ctx, receipt(checking, 500), "refund-T-1-1", "USD")
	if err != nil || r1.Total.Amount != 500 || r1.DocNumber != "T-1-R1" {
		t.Fatalf("receipt %+v %v", r1, err)
	}
	again, err := c.CreateRefundReceipt(ctx, receipt(checking, 500), "refund-T-1-1", "USD")
	if err != nil || again.ID != r1.ID || len(qb.RefundReceipts()) != 1 {
		t.Errorf("the same requestid: %+v %v, %d receipts", again, err, len(qb.RefundReceipts()))
	}
	resp, err := http.Get(qb.URL + "/app/invoices")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "<td>T-1-R1</td><td>Ann Lee (ann@example.com)</td><td>5.00</td><td>Checking</td>") {
		t.Errorf("the owner's page does not list the refund receipt:\n%s", page)
	}
}
