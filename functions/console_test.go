package functions

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/console"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/firebaseauth"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/pricing"
	"github.com/readyplanner/oms/internal/promotion"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/testenv"
)

// consoleAt serves a's console under /owner/ of a test server, as make dev
// and the platform do (the function sees the path under its name).
func consoleAt(t testing.TB, a *app.App, change func(*console.Console)) *httptest.Server {
	t.Helper()
	if a.Console == nil {
		t.Fatal("the App has no console")
	}
	c := *a.Console
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	c.URL, _ = url.Parse(srv.URL + "/owner/")
	if change != nil {
		change(&c)
	}
	mux := http.NewServeMux()
	mux.Handle("/owner/", http.StripPrefix("/owner", c.Handler()))
	srv.Config.Handler = mux
	return srv
}

// ownersOf answers the Owners of a's project (grant and revoke the owner's
// claim, as go run ./cmd/owner does).
func ownersOf(t testing.TB, a *app.App) *firebaseauth.Owners {
	t.Helper()
	ctx := context.Background()
	fb, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: a.Config.ProjectID})
	if err != nil {
		t.Fatal(err)
	}
	owners, err := firebaseauth.NewOwners(ctx, fb, a.Config.AdminClaim)
	if err != nil {
		t.Fatal(err)
	}
	return owners
}

// browser is a client with a cookie jar that does not follow redirects.
func browser(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// got reads an answer: its status and body.
func got(t testing.TB) func(*http.Response, error) (int, string) {
	return func(resp *http.Response, err error) (int, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}

// signedIn signs u in to the console at srv and answers the browser.
func signedIn(t testing.TB, srv *httptest.Server, u emulator.User) *http.Client {
	t.Helper()
	b := browser(t)
	resp, err := b.PostForm(srv.URL+"/owner/session", url.Values{"idToken": {u.IDToken}})
	if code, page := got(t)(resp, err); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", code, page)
	}
	return b
}

// formToken reads the form token of a console page.
func formToken(t testing.TB, page string) string {
	t.Helper()
	i := strings.Index(page, `name="csrf" value="`)
	if i < 0 {
		t.Fatalf("no form token on the page: %.300s", page)
	}
	rest := page[i+len(`name="csrf" value="`):]
	return rest[:strings.Index(rest, `"`)]
}

// The console's sign-in: an owner's fresh ID token makes a session cookie
// (HttpOnly, SameSite=Strict, scoped to the console, not Secure on a
// loopback host); no cookie goes to the sign-in page; a non-owner, a stale
// sign-in and a forged token are refused; a revoked owner is signed out.
func TestConsoleSignIn(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	srv := consoleAt(t, a, nil)
	anon := browser(t)
	resp, err := anon.Get(srv.URL + "/owner/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/owner/signin" {
		t.Errorf("no session: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, page := got(t)(anon.Get(srv.URL + "/owner/signin")); code != 200 || !strings.Contains(page, "signInWithPassword") {
		t.Errorf("the sign-in page: %d", code)
	}

	boss := owner(t)
	b := browser(t)
	resp, err = b.PostForm(srv.URL+"/owner/session", url.Values{"idToken": {boss.IDToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == console.CookieName {
			ck = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/owner/" || ck.Secure {
		t.Fatalf("the session: %d %+v", resp.StatusCode, ck)
	}
	if code, page := got(t)(b.Get(srv.URL + "/owner/")); code != 200 || !strings.Contains(page, "What needs you now") {
		t.Errorf("the start page: %d %.200s", code, page)
	}

	shopper := user(t)
	if code, _ := got(t)(browser(t).PostForm(srv.URL+"/owner/session", url.Values{"idToken": {shopper.IDToken}})); code != http.StatusForbidden {
		t.Errorf("a non-owner: %d", code)
	}
	if code, _ := got(t)(browser(t).PostForm(srv.URL+"/owner/session", url.Values{"idToken": {"not-a-token"}})); code != http.StatusUnauthorized {
		t.Errorf("a forged token: %d", code)
	}
	late := consoleAt(t, a, func(c *console.Console) {
		c.Now = func() time.Time { return time.Now().Add(console.RecentSignIn + time.Minute) }
	})
	if code, _ := got(t)(browser(t).PostForm(late.URL+"/owner/session", url.Values{"idToken": {boss.IDToken}})); code != http.StatusUnauthorized {
		t.Errorf("a stale sign-in: %d", code)
	}
	cross, _ := http.NewRequest("POST", srv.URL+"/owner/session", strings.NewReader(url.Values{"idToken": {boss.IDToken}}.Encode()))
	cross.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cross.Header.Set("Origin", "https://evil.example")
	if code, _ := got(t)(browser(t).Do(cross)); code != http.StatusForbidden {
		t.Errorf("a cross-site sign-in: %d", code)
	}

	// Revoked (cmd/owner revoke): the next page asks to sign in again.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	fb, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: a.Config.ProjectID})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := fb.Auth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.RevokeRefreshTokens(ctx, boss.UID); err != nil {
		t.Fatal(err)
	}
	resp, err = b.Get(srv.URL + "/owner/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/owner/signin" {
		t.Errorf("a revoked owner: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// An order's page shows what the customer typed as text (a name that is
// markup is escaped), and its refund form refunds once when submitted
// twice; a form without the session's token, or from another site, does
// nothing; a refusal is shown on the page in its words.
func TestConsoleOrderPageAndForms(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "A", 1)
	const evil = `<img src=x onerror=alert(1)>`
	if _, _, err := a.Orders.Update(ctx, o.ID, func(cur *order.Order) (bool, error) {
		cur.Customer.Name = evil
		if cur.Invoice == nil {
			cur.Invoice = &order.Invoice{ID: "130", DocNumber: "1001", Total: cur.Total()}
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	srv := consoleAt(t, a, nil)
	b := signedIn(t, srv, owner(t))
	code, page := got(t)(b.Get(srv.URL + "/owner/orders/" + o.ID))
	if code != 200 || strings.Contains(page, evil) || !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Fatalf("the order's page: %d, escaped: %v", code, !strings.Contains(page, evil))
	}
	if inv, _ := a.Orders.Get(ctx, o.ID); !strings.Contains(page, `href="`+quickbooks.InvoicePage(a.Config.QuickBooksBaseURL, inv.Invoice.ID)+`"`) {
		t.Errorf("no link to the invoice in QuickBooks on the order's page")
	}
	if code, page := got(t)(b.Get(srv.URL + "/owner/orders?q=" + url.QueryEscape(o.ID))); code != 200 || !strings.Contains(page, o.ID) || strings.Contains(page, evil) {
		t.Errorf("the search: %d", code)
	}
	token := formToken(t, page)
	refund := url.Values{"csrf": {token}, "requestId": {testenv.ID("console-refund")}, "amount": {"5.00"}, "reason": {"a scuffed cover"}}
	for i := 0; i < 2; i++ {
		resp, err := b.PostForm(srv.URL+"/owner/orders/"+o.ID+"/refund", refund)
		if code, page := got(t)(resp, err); code != http.StatusSeeOther {
			t.Fatalf("refund %d: %d %.300s", i+1, code, page)
		}
	}
	cur, _ := a.Orders.Get(ctx, o.ID)
	if n := len(cur.Payment.Refunds); n != 1 || cur.Payment.Refunds[0].Amount != 500 {
		t.Errorf("refunds asked after a double submit: %+v", cur.Payment.Refunds)
	}
	// No token, and another site's post with the token: nothing happens.
	noToken := url.Values{"requestId": {testenv.ID("r")}, "amount": {"1.00"}, "reason": {"x"}}
	if code, _ := got(t)(b.PostForm(srv.URL+"/owner/orders/"+o.ID+"/refund", noToken)); code != http.StatusForbidden {
		t.Errorf("a form without the token: %d", code)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/owner/orders/"+o.ID+"/refund", strings.NewReader(url.Values{"csrf": {token}, "requestId": {testenv.ID("r")},
		"amount": {"1.00"}, "reason": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if code, _ := got(t)(b.Do(req)); code != http.StatusForbidden {
		t.Errorf("a cross-site post: %d", code)
	}
	cur, _ = a.Orders.Get(ctx, o.ID)
	if n := len(cur.Payment.Refunds); n != 1 {
		t.Errorf("refunds after the refused posts: %d", n)
	}
	// A refusal, shown on the order's page.
	tooMuch := url.Values{"csrf": {token}, "requestId": {testenv.ID("r")}, "amount": {"100000.00"}, "reason": {"everything twice"}}
	if code, page := got(t)(b.PostForm(srv.URL+"/owner/orders/"+o.ID+"/refund", tooMuch)); code != http.StatusBadRequest || !strings.Contains(page, `class="error" role="alert"`) || !strings.Contains(page, "What you can do") {
		t.Errorf("a refund of more than was charged: %d %.300s", code, page)
	}
}

// The alerts page resolves an alert (twice: the same act), and the stock
// page shows a SKU's level and ledger and adjusts it once under a double
// submit; a bad change and a refusal are shown on the page.
func TestConsoleAlertsAndStock(t *testing.T) {
	t.Parallel()
	r := newRig(t) // a project of its own: its alerts are this test's
	a := r.a
	s := newStore(t, a, 10, 10)
	u, id := readyToPay(t, a, s, "", "A", 2)
	if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
		t.Fatal(err)
	}
	approve(t, a, id)
	o := settle(t, a, id)
	srv := consoleAt(t, a, nil)
	b := signedIn(t, srv, owner(t))
	code, page := got(t)(b.Get(srv.URL + "/owner/alerts"))
	key := "parcel-" + o.ID
	if code != 200 || !strings.Contains(page, `value="`+key+`"`) {
		t.Fatalf("the open alerts: %d, the parcel's alert listed: %v", code, strings.Contains(page, key))
	}
	resolve := url.Values{"csrf": {formToken(t, page)}, "requestId": {testenv.ID("resolve")}, "key": {key}}
	for i := 0; i < 2; i++ {
		if code, page := got(t)(b.PostForm(srv.URL+"/owner/alerts/resolve", resolve)); code != http.StatusSeeOther {
			t.Fatalf("resolve %d: %d %.300s", i+1, code, page)
		}
	}
	if code, page := got(t)(b.Get(srv.URL + "/owner/alerts")); code != 200 || strings.Contains(page, `value="`+key+`"`) {
		t.Errorf("the open alerts after resolving: %d", code)
	}
	if code, page := got(t)(b.Get(srv.URL + "/owner/alerts?resolved=1")); code != 200 || !strings.Contains(page, "Order "+o.ID+": a parcel to ship") {
		t.Errorf("the resolved alerts: %d", code)
	}

	sku := s.sku["A"]
	// Every stocked SKU with its level, linked to its ledger; a printed one is not counted.
	code, page = got(t)(b.Get(srv.URL + "/owner/stock"))
	if row := `<a href="/owner/stock?sku=` + sku + `">`; code != 200 || !strings.Contains(page, row) || !strings.Contains(page, `<td data-label="held">2</td>`) ||
		strings.Contains(page, "stock?sku="+s.sku["P"]) {
		t.Errorf("the stock overview: %d %.800s", code, page)
	}
	code, page = got(t)(b.Get(srv.URL + "/owner/stock?sku=" + url.QueryEscape(sku)))
	if code != 200 || !strings.Contains(page, "<b>10</b> on hand") || !strings.Contains(page, "<b>2</b> held") {
		t.Fatalf("the stock page: %d %.600s", code, page)
	}
	adjust := url.Values{"csrf": {formToken(t, page)}, "requestId": {testenv.ID("adjust")}, "sku": {sku}, "delta": {"+5"}, "reason": {"restock"}}
	for i := 0; i < 2; i++ {
		if code, page := got(t)(b.PostForm(srv.URL+"/owner/stock/adjust", adjust)); code != http.StatusSeeOther {
			t.Fatalf("adjust %d: %d %.300s", i+1, code, page)
		}
	}
	if on, _ := s.level("A"); on != 15 {
		t.Errorf("on hand after a double submit of +5: %d, want 15", on)
	}
	bad := url.Values{"csrf": adjust["csrf"], "requestId": {testenv.ID("adjust")}, "sku": {sku}, "delta": {"lots"}, "reason": {"restock"}}
	if code, page := got(t)(b.PostForm(srv.URL+"/owner/stock/adjust", bad)); code != http.StatusBadRequest || !strings.Contains(page, "whole number") {
		t.Errorf("a change that is not a number: %d", code)
	}
	below := url.Values{"csrf": adjust["csrf"], "requestId": {testenv.ID("adjust")}, "sku": {sku}, "delta": {"-14"}, "reason": {"count"}}
	if code, page := got(t)(b.PostForm(srv.URL+"/owner/stock/adjust", below)); code < 400 || !strings.Contains(page, `class="error" role="alert"`) {
		t.Errorf("below what orders hold: %d %.400s", code, page)
	}
	if code, page := got(t)(b.Get(srv.URL + "/owner/stock?sku=NO-SUCH-SKU")); code != 200 || !strings.Contains(page, "No stock is kept") {
		t.Errorf("an unknown SKU: %d %.300s", code, page)
	}
}

// The promotions page creates a promotion checked with the engine's rules
// (a refusal shown next to its field, the form kept as typed), once under
// a double submit, lists it with its usage, and ends it.
func TestConsolePromotions(t *testing.T) {
	t.Parallel()
	r := newRig(t) // a project of its own: its promotions price no other test's orders
	srv := consoleAt(t, r.a, nil)
	b := signedIn(t, srv, owner(t))
	code, page := got(t)(b.Get(srv.URL + "/owner/promotions"))
	if code != 200 || !strings.Contains(page, "No promotions yet.") {
		t.Fatalf("the promotions page: %d %.300s", code, page)
	}
	form := url.Values{"csrf": {formToken(t, page)}, "requestId": {testenv.ID("promo")}, "id": {"winter-10"}, "name": {"Winter <b>10%</b>"},
		"kind": {"percent_off_order"}, "percent": {"150"}, "code": {"WINTER10"}, "firstOrderOnly": {"yes"}, "maxPerEmail": {"1"}}
	code, page = got(t)(b.PostForm(srv.URL+"/owner/promotions/save", form))
	if code != http.StatusBadRequest || !strings.Contains(page, `id="err-percent"`) || !strings.Contains(page, `value="150"`) ||
		!strings.Contains(page, "from 1 to 100") {
		t.Errorf("a percent over 100: %d %.500s", code, page)
	}
	form.Set("percent", "10")
	form.Set("requestId", testenv.ID("promo"))
	for i := 0; i < 2; i++ {
		if code, page := got(t)(b.PostForm(srv.URL+"/owner/promotions/save", form)); code != http.StatusSeeOther {
			t.Fatalf("save %d: %d %.500s", i+1, code, page)
		}
	}
	code, page = got(t)(b.Get(srv.URL + "/owner/promotions"))
	if code != 200 || strings.Count(page, "<small>winter-10</small>") != 1 || !strings.Contains(page, "Winter &lt;b&gt;10%&lt;/b&gt;") ||
		!strings.Contains(page, "code WINTER10") {
		t.Fatalf("the list: %d %.800s", code, page)
	}
	// Change it: the form comes filled with every field (its first-order
	// rule and limit per email too), and the change keeps what was not touched.
	code, page = got(t)(b.Get(srv.URL + "/owner/promotions?edit=winter-10"))
	if code != 200 || !strings.Contains(page, "Change winter-10") || !strings.Contains(page, `name="firstOrderOnly" value="yes" checked`) ||
		!strings.Contains(page, `name="maxPerEmail" value="1"`) || !strings.Contains(page, `name="code" value="WINTER10"`) {
		t.Fatalf("the change form: %d %.1500s", code, page)
	}
	change := url.Values{"csrf": {formToken(t, page)}, "requestId": {testenv.ID("change")}, "editing": {"yes"}, "id": {"winter-10"},
		"name": {"Winter 15"}, "kind": {"percent_off_order"}, "percent": {"15"}, "code": {"WINTER10"}, "firstOrderOnly": {"yes"}, "maxPerEmail": {"1"}}
	if code, page := got(t)(b.PostForm(srv.URL+"/owner/promotions/save", change)); code != http.StatusSeeOther {
		t.Fatalf("the change: %d %.500s", code, page)
	}
	var saved promotion.Promotion
	list, err := r.a.Promos.List(context.Background())
	for _, u := range list {
		if u.Promotion.ID == "winter-10" {
			saved = u.Promotion
		}
	}
	if err != nil || saved.Name != "Winter 15" || saved.Percent != 15 || !saved.FirstOrderOnly || saved.MaxRedemptionsPerEmail != 1 || saved.Code != "WINTER10" {
		t.Errorf("the changed promotion: %+v %v", saved, err)
	}
	if code, _ := got(t)(b.Get(srv.URL + "/owner/promotions?edit=no-such")); code != http.StatusNotFound {
		t.Errorf("changing a promotion that does not exist: %d", code)
	}
	code, page = got(t)(b.Get(srv.URL + "/owner/promotions"))
	if code != 200 || !strings.Contains(page, "Winter 15") {
		t.Errorf("the list after the change: %d", code)
	}
	end := url.Values{"csrf": {formToken(t, page)}, "requestId": {testenv.ID("end")}, "id": {"winter-10"}}
	if code, page := got(t)(b.PostForm(srv.URL+"/owner/promotions/end", end)); code != http.StatusSeeOther {
		t.Fatalf("end: %d %.300s", code, page)
	}
	if _, page := got(t)(b.Get(srv.URL + "/owner/promotions")); !strings.Contains(page, "ended") || strings.Contains(page, "End now") {
		t.Errorf("after the end: %.600s", page)
	}
	// An ended promotion is not changed (nor brought back); a new one does
	// not take a used id.
	if code, _ := got(t)(b.Get(srv.URL + "/owner/promotions?edit=winter-10")); code != http.StatusConflict {
		t.Errorf("changing an ended promotion: %d", code)
	}
	change.Set("requestId", testenv.ID("change"))
	if code, page := got(t)(b.PostForm(srv.URL+"/owner/promotions/save", change)); code < 400 || !strings.Contains(page, "has ended") {
		t.Errorf("a change form posted after the end: %d %.300s", code, page)
	}
	form.Set("requestId", testenv.ID("promo"))
	if code, page := got(t)(b.PostForm(srv.URL+"/owner/promotions/save", form)); code != http.StatusConflict || !strings.Contains(page, `id="err-id"`) {
		t.Errorf("a new promotion under a used id: %d %.300s", code, page)
	}
	list, _ = r.a.Promos.List(context.Background())
	for _, u := range list {
		if u.Promotion.ID == "winter-10" && (u.Promotion.Active || u.Promotion.Name != "Winter 15") {
			t.Errorf("winter-10 after the refused saves: %+v", u.Promotion)
		}
	}
}

// The prices page shows a SKU's pricing, refuses a sale price above the
// list price next to its field (the form kept), and sets a price and a
// sale window once under a double submit.
func TestConsolePrices(t *testing.T) {
	t.Parallel()
	r := newRig(t) // a project of its own: its prices are this test's
	s := newStore(t, r.a, 10, 10)
	sku := s.sku["A"]
	srv := consoleAt(t, r.a, nil)
	b := signedIn(t, srv, owner(t))
	// Every SKU, each linked to its prices.
	code, page := got(t)(b.Get(srv.URL + "/owner/prices"))
	if code != 200 || !strings.Contains(page, `href="/owner/prices?sku=`+sku+`"`) || !strings.Contains(page, `href="/owner/prices?sku=`+s.sku["P"]+`"`) {
		t.Errorf("the prices overview: %d %.800s", code, page)
	}
	code, page = got(t)(b.Get(srv.URL + "/owner/prices?sku=" + url.QueryEscape(sku)))
	if code != 200 || !strings.Contains(page, `name="price" value="9.00"`) || !strings.Contains(page, "Sticker pack") {
		t.Fatalf("the prices page: %d %.600s", code, page)
	}
	form := url.Values{"csrf": {formToken(t, page)}, "requestId": {testenv.ID("price")}, "sku": {sku}, "name": {"Sticker pack"}, "price": {"10.00"},
		"active": {"yes"}, "salePrice": {"12.00"}, "saleStarts": {"2026-12-01T00:00"}, "saleEnds": {"2026-12-31T00:00"}}
	code, page = got(t)(b.PostForm(srv.URL+"/owner/prices/save", form))
	if code != http.StatusBadRequest || !strings.Contains(page, `id="err-sale.price"`) || !strings.Contains(page, `value="12.00"`) {
		t.Errorf("a sale above the list price: %d %.600s", code, page)
	}
	form.Set("salePrice", "8.00")
	form.Set("requestId", testenv.ID("price"))
	for i := 0; i < 2; i++ {
		if code, page := got(t)(b.PostForm(srv.URL+"/owner/prices/save", form)); code != http.StatusSeeOther {
			t.Fatalf("save %d: %d %.600s", i+1, code, page)
		}
	}
	got2, err := r.a.Checkouts.SKUs(context.Background(), []string{sku})
	if err != nil {
		t.Fatal(err)
	}
	if v := got2[sku]; v.Price.Amount != 1000 || v.Sale == nil || v.Sale.Price.Amount != 800 || !v.Active {
		t.Errorf("the SKU after saving: %+v", v)
	}
	if code, page := got(t)(b.Get(srv.URL + "/owner/prices?sku=NO-SUCH-SKU")); code != http.StatusNotFound || !strings.Contains(page, "There is no SKU") {
		t.Errorf("an unknown SKU: %d", code)
	}
}

// The QuickBooks page shows the connection, and its button sends the
// owner to quickbooksConnect with a one-time key that it takes (on to
// Intuit's consent page).
func TestConsoleQuickBooks(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	srv := consoleAt(t, r.a, nil)
	b := signedIn(t, srv, owner(t))
	code, page := got(t)(b.Get(srv.URL + "/owner/quickbooks"))
	if code != 200 || !strings.Contains(page, "Connected to company") {
		t.Fatalf("the QuickBooks page: %d %.500s", code, page)
	}
	resp, err := b.PostForm(srv.URL+"/owner/quickbooks/connect", url.Values{"csrf": {formToken(t, page)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	to, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasSuffix(to.Path, "/quickbooksConnect") || to.Query().Get("key") == "" {
		t.Fatalf("connect: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	connect := httptest.NewServer(quickbooksConnect(r.a))
	defer connect.Close()
	resp, err = browser(t).Get(connect.URL + "?key=" + url.QueryEscape(to.Query().Get("key")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, r.a.Config.QuickBooksAuthorizeURL) {
		t.Errorf("quickbooksConnect with the console's key: %d to %s", resp.StatusCode, loc)
	}
}

// The start page gives the day's figures: the orders placed (first
// authorized) since midnight in the store's time zone, and their total.
func TestConsoleDayFigures(t *testing.T) {
	t.Parallel()
	r := newRig(t) // a project of its own: its day is this test's
	s := newStore(t, r.a, 10, 10)
	var want int64
	for i := 0; i < 2; i++ {
		u, id := readyToPay(t, r.a, s, "", "A", 1)
		if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
			t.Fatal(err)
		}
		o, _ := r.a.Orders.Get(context.Background(), id)
		want += o.Total().Amount
	}
	checkedOut(t, r.a, s, "A", 1) // started, not placed
	srv := consoleAt(t, r.a, nil)
	b := signedIn(t, srv, owner(t))
	code, page := got(t)(b.Get(srv.URL + "/owner/"))
	if wantText := "2 orders placed, " + money.New(want, "USD").Display(); code != 200 || !strings.Contains(page, wantText) {
		t.Errorf("the day's figures: %d, want %q in %.600s", code, wantText, page)
	}
}

// The start page's to-do lists, each order linked: the orders that need
// attention (with why), the invoices waiting for review (with their
// number), and the parcels to ship (waiting or labelled; a printed-only
// order and a shipped parcel are not listed).
func TestConsoleToDo(t *testing.T) {
	t.Parallel()
	r := newRig(t) // a project of its own: its lists are this test's
	ctx := context.Background()
	now := time.Now().UTC()
	put := func(state order.State, change func(*order.Order)) *order.Order {
		t.Helper()
		o, _ := order.New(order.NewID(), "u", "USD", now)
		o.Customer = &order.Customer{Name: "Dee " + string(state), Email: "dee@example.com", MailboxKey: "k"}
		o.Lines = []pricing.Line{{SKU: "A", Name: "Sticker pack", Quantity: 1, UnitPrice: money.New(900, "USD"), Total: money.New(900, "USD"), Fulfillment: catalog.Stock}}
		o.Subtotal = money.New(900, "USD")
		o, _ = order.Restore(*o, state, append(o.History(), order.Change{At: now, From: order.Pending, To: state, Actor: "test", Reason: "set up"}))
		if change != nil {
			change(o)
		}
		if err := r.a.Orders.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	stuck := put(order.NeedsAttention, func(o *order.Order) { o.Attention = "capturePayment: the card was declined" })
	review := put(order.Invoiced, func(o *order.Order) { o.Invoice = &order.Invoice{ID: "77", DocNumber: "INV-77", Total: o.Total()} })
	toShip := put(order.Paid, func(o *order.Order) {
		if _, err := o.Fulfil("test", now); err != nil {
			t.Fatal(err)
		}
	})
	labelled := put(order.Paid, func(o *order.Order) {
		if _, err := o.Fulfil("test", now); err != nil {
			t.Fatal(err)
		}
		if _, err := o.RecordLabel(order.Label{ID: "se-1", Carrier: "USPS", TrackingNumber: "9400100000000000000002", Cost: money.New(595, "USD"), BoughtAt: now}, "owner", "buyLabel", "h", now); err != nil {
			t.Fatal(err)
		}
	})
	printed := put(order.Paid, func(o *order.Order) {
		o.Lines[0].Fulfillment = catalog.PrintOnDemand
		if _, err := o.Fulfil("test", now); err != nil {
			t.Fatal(err)
		}
	})
	shipped := put(order.Paid, func(o *order.Order) {
		if _, err := o.Fulfil("test", now); err != nil {
			t.Fatal(err)
		}
		if _, err := o.ShipPart(order.PartParcel, order.Tracking{Carrier: "USPS", TrackingNumber: "9400100000000000000001"}, "test", now); err != nil {
			t.Fatal(err)
		}
	})
	srv := consoleAt(t, r.a, nil)
	b := signedIn(t, srv, owner(t))
	code, page := got(t)(b.Get(srv.URL + "/owner/"))
	section := func(title string) string {
		i := strings.Index(page, "<h2>"+title+"</h2>")
		if i < 0 {
			t.Fatalf("no %q on the start page", title)
		}
		rest := page[i+len(title)+9:]
		if j := strings.Index(rest, "<h2>"); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	if code != 200 {
		t.Fatalf("the start page: %d", code)
	}
	if s := section("Needs attention"); !strings.Contains(s, stuck.ID) || !strings.Contains(s, "the card was declined") {
		t.Errorf("needs attention: %s", s)
	}
	if s := section("Invoices waiting for your review"); !strings.Contains(s, review.ID) || !strings.Contains(s, "INV-77") {
		t.Errorf("invoices to review: %s", s)
	}
	if s := section("Parcels to ship"); !strings.Contains(s, toShip.ID) || !strings.Contains(s, labelled.ID) || strings.Contains(s, shipped.ID) ||
		strings.Contains(s, printed.ID) || !strings.Contains(s, ">waiting<") || !strings.Contains(s, ">labelled<") {
		t.Errorf("parcels to ship: %s", s)
	}
}
