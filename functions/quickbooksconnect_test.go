package functions

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/bookkeeping"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/testenv"
)

// The tests of this file are not parallel: there is one
// integrations/quickbooks document, which they replace or break (and
// leave connected again).

// serve runs one request through h.
func serve(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// consent opens Intuit's (the local QuickBooks') consent page as the
// owner's browser would and returns the query it redirects back with.
func consent(t *testing.T, authorizeURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(back.String(), testCallbackURL+"?") {
		t.Fatalf("consent page: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.Query()
}

// connectWithKey walks the whole flow with a one-time key and returns the
// callback's answer.
func connectWithKey(t *testing.T, a *app.App) *httptest.ResponseRecorder {
	t.Helper()
	key, _, err := a.QuickBooksTokens.MintConnectKey(context.Background(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w := serve(quickbooksConnect(a), "GET", "/quickbooksConnect?key="+url.QueryEscape(key), nil)
	if w.Code != http.StatusFound {
		t.Fatalf("quickbooksConnect: %d %s", w.Code, w.Body)
	}
	q := consent(t, w.Header().Get("Location"))
	return serve(quickbooksCallback(a), "GET", "/quickbooksCallback?"+q.Encode(), nil)
}

func TestQuickBooksConnectFlow(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()

	key, _, err := a.QuickBooksTokens.MintConnectKey(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	w := serve(quickbooksConnect(a), "GET", "/quickbooksConnect?key="+url.QueryEscape(key), nil)
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || !strings.HasPrefix(loc.String(), qb.AuthorizeURL()+"?") {
		t.Fatalf("quickbooksConnect: %d → %q", w.Code, loc)
	}
	q := loc.Query()
	if q.Get("client_id") != qb.ClientID || q.Get("scope") != quickbooks.Scope || q.Get("response_type") != "code" ||
		q.Get("redirect_uri") != testCallbackURL || !strings.HasPrefix(q.Get("state"), "v1.") {
		t.Errorf("authorization request: %v", q)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Error("the redirect may be cached")
	}
	// The key works once.
	if w := serve(quickbooksConnect(a), "GET", "/quickbooksConnect?key="+url.QueryEscape(key), nil); w.Code != http.StatusForbidden ||
		!strings.Contains(w.Body.String(), "already used") {
		t.Errorf("second use of the key: %d %s", w.Code, w.Body)
	}

	back := consent(t, loc.String())
	if back.Get("realmId") != qbfake.Realm || back.Get("state") != q.Get("state") || back.Get("code") == "" {
		t.Fatalf("consent answer: %v", back)
	}
	w = serve(quickbooksCallback(a), "GET", "/quickbooksCallback?"+back.Encode(), nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "QuickBooks connected") || !strings.Contains(w.Body.String(), qbfake.Realm) ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("callback: %d %s", w.Code, w.Body)
	}
	st, err := a.QuickBooksTokens.Status(ctx)
	if err != nil || !st.Connected || st.RealmID != qbfake.Realm {
		t.Fatalf("status %+v %v", st, err)
	}
	// The stored tokens are the exchanged ones, and they work.
	at, err := a.QuickBooksAccess.AccessToken(ctx)
	if err != nil || !qb.ValidAccess(at) {
		t.Errorf("access token after connecting: %v", err)
	}
	// A reload of the callback (the same state, a used code) changes nothing.
	w = serve(quickbooksCallback(a), "GET", "/quickbooksCallback?"+back.Encode(), nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "already used") {
		t.Errorf("replayed callback: %d %s", w.Code, w.Body)
	}
	if at2, _ := a.QuickBooksAccess.AccessToken(ctx); at2 != at {
		t.Error("the replayed callback changed the tokens")
	}
}

func TestQuickBooksConnectOwnerOnly(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()
	host := testenv.AuthHost(t)
	owner, err := emulator.SignInAs(ctx, host, testenv.ID("owner"), map[string]any{"admin": true})
	if err != nil {
		t.Fatal(err)
	}
	shopper, _ := emulator.SignInAs(ctx, host, testenv.ID("shopper"), nil)
	pretender, _ := emulator.SignInAs(ctx, host, testenv.ID("pretender"), map[string]any{"admin": "true"})
	expired, _, _ := a.QuickBooksTokens.MintConnectKey(ctx, -time.Second)

	h := quickbooksConnect(a)
	for _, c := range []struct {
		name, method, target string
		header               map[string]string
		status               int
		says                 string
	}{
		{"no proof", "GET", "/quickbooksConnect", nil, 401, "only the owner"},
		{"unknown key", "GET", "/quickbooksConnect?key=" + bookkeeping.Nonce(), nil, 403, "unknown, already used or expired"},
		{"expired key", "GET", "/quickbooksConnect?key=" + url.QueryEscape(expired), nil, 403, "unknown, already used or expired"},
		{"a shopper", "GET", "/quickbooksConnect", map[string]string{"Authorization": "Bearer " + shopper.IDToken}, 403, `no &#34;admin&#34; claim`},
		{"a claim that is not true", "POST", "/quickbooksConnect", map[string]string{"Authorization": "Bearer " + pretender.IDToken}, 403, `"admin\" claim`},
		{"a forged token", "GET", "/quickbooksConnect", map[string]string{"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."}, 401, "not valid"},
		{"not a bearer", "GET", "/quickbooksConnect", map[string]string{"Authorization": "Basic b3duZXI6cGFzcw=="}, 401, "Bearer"},
		{"PUT", "PUT", "/quickbooksConnect", nil, 405, "GET"},
	} {
		w := serve(h, c.method, c.target, c.header)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.says) || w.Header().Get("Location") != "" {
			t.Errorf("%s: %d %s (want %d, %q)", c.name, w.Code, w.Body, c.status, c.says)
		}
	}

	// The owner's account: a POST from an admin page answers the URL.
	w := serve(h, "POST", "/quickbooksConnect", map[string]string{"Authorization": "Bearer " + owner.IDToken, "Origin": "http://localhost:3000"})
	var ans struct{ AuthorizeURL, ExpiresAt string }
	if err := json.Unmarshal(w.Body.Bytes(), &ans); w.Code != 200 || err != nil || !strings.HasPrefix(ans.AuthorizeURL, qb.AuthorizeURL()+"?") ||
		w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Fatalf("owner POST: %d %s %v", w.Code, w.Body, w.Header())
	}
	if exp, err := time.Parse(time.RFC3339, ans.ExpiresAt); err != nil || time.Until(exp) > bookkeeping.StateTTL || time.Until(exp) < bookkeeping.StateTTL-time.Minute {
		t.Errorf("expiresAt %q", ans.ExpiresAt)
	}
	// …and a GET from the owner's browser redirects.
	if w := serve(h, "GET", "/quickbooksConnect", map[string]string{"Authorization": "Bearer " + owner.IDToken}); w.Code != http.StatusFound {
		t.Errorf("owner GET: %d", w.Code)
	}
	// JSON errors for the admin page.
	w = serve(h, "POST", "/quickbooksConnect", map[string]string{"Authorization": "Bearer " + shopper.IDToken})
	if w.Code != 403 || !strings.Contains(w.Body.String(), `"status":"PERMISSION_DENIED"`) {
		t.Errorf("shopper POST: %d %s", w.Code, w.Body)
	}
	// CORS preflight from the storefront; none for a foreign origin.
	w = serve(h, "OPTIONS", "/quickbooksConnect", map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"})
	if w.Code != 204 || !strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
	if w := serve(h, "POST", "/quickbooksConnect", map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer " + owner.IDToken}); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("a foreign origin may read the answer")
	}
}

func TestQuickBooksCallbackRefuses(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()
	before, _ := a.QuickBooksAccess.AccessToken(ctx)
	states := bookkeeping.NewStates(qb.ClientSecret)
	state := func(valid time.Duration) string { return states.Sign(bookkeeping.Nonce(), time.Now().Add(valid)) }
	query := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "/quickbooksCallback?" + v.Encode()
	}
	h := quickbooksCallback(a)
	for _, c := range []struct {
		name, target string
		status       int
		says         string
	}{
		{"declined", query("error", "access_denied", "state", state(time.Minute)), 400, "access_denied"},
		{"no state", query("code", qb.Code(), "realmId", qbfake.Realm), 400, "state is missing"},
		{"a state we did not sign", query("code", qb.Code(), "realmId", qbfake.Realm, "state", bookkeeping.NewStates("other").Sign(bookkeeping.Nonce(), time.Now().Add(time.Minute))), 400, "not issued by this service"},
		{"an expired state", query("code", qb.Code(), "realmId", qbfake.Realm, "state", state(-time.Second)), 400, "took longer"},
		{"no realm", query("code", qb.Code(), "state", state(time.Minute)), 400, "realmId"},
		{"a malformed realm", query("code", qb.Code(), "realmId", "../1", "state", state(time.Minute)), 400, "realmId"},
		{"no code", query("realmId", qbfake.Realm, "state", state(time.Minute)), 400, "code is missing"},
		{"a code Intuit never issued", query("code", "AB-never", "realmId", qbfake.Realm, "state", state(time.Minute)), 400, "refused the authorization code"},
	} {
		w := serve(h, "GET", c.target, nil)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.says) {
			t.Errorf("%s: %d %s (want %d, %q)", c.name, w.Code, w.Body, c.status, c.says)
		}
	}
	if w := serve(h, "POST", query("code", "x"), nil); w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
	// The owner clicks Cancel on Intuit's page.
	qb.DeclineConsent(true)
	w := serve(quickbooksConnect(a), "GET", "/quickbooksConnect", map[string]string{"Authorization": "Bearer " + ownerToken(t)})
	back := consent(t, w.Header().Get("Location"))
	qb.DeclineConsent(false)
	if w := serve(h, "GET", "/quickbooksCallback?"+back.Encode(), nil); w.Code != 400 || !strings.Contains(w.Body.String(), "access_denied") {
		t.Errorf("declined consent: %d %s", w.Code, w.Body)
	}
	// Nothing above touched the connection.
	if after, err := a.QuickBooksAccess.AccessToken(ctx); err != nil || after != before {
		t.Errorf("the connection changed: %v", err)
	}
}

func ownerToken(t *testing.T) string {
	t.Helper()
	u, err := emulator.SignInAs(context.Background(), testenv.AuthHost(t), testenv.ID("owner"), map[string]any{"admin": true})
	if err != nil {
		t.Fatal(err)
	}
	return u.IDToken
}

// A dead refresh token: the connection is marked disconnected, the owner
// is alerted once, orders wait in authorized without anyone calling Intuit
// again, and reconnecting invoices them.
func TestQuickBooksDisconnectedOrdersWait(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()
	id, _ := authorized(t, a, newStore(t, a, 10, 10))

	integration := a.Firestore.Collection(firestoredb.IntegrationsCollection).Doc("quickbooks")
	if _, err := integration.Update(ctx, []firestore.Update{{Path: "accessExpiresAt", Value: time.Now().Add(-time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	qb.KillRefreshTokens() // the owner revoked the app, or 100 days passed
	o, _ := a.Orders.Get(ctx, id)
	if err := a.Flow.Redrive(ctx, o); err != nil {
		t.Fatalf("invoice step while disconnected: %v", err)
	}
	if o, _ = a.Orders.Get(ctx, id); o.State() != order.Authorized || o.Invoice != nil {
		t.Fatalf("order while disconnected: %s %q", o.State(), o.Attention)
	}
	st, _ := a.QuickBooksTokens.Status(ctx)
	if st.Connected || !strings.Contains(st.DisconnectedReason, "invalid_grant") || st.RealmID != qbfake.Realm {
		t.Errorf("status %+v", st)
	}
	openAlerts := func() []*firestore.DocumentSnapshot {
		snaps, err := a.Firestore.Collection(firestoredb.AlertsCollection).Where("kind", "==", firestoredb.AlertQuickBooksDisconnected).
			Where("resolvedAt", "==", nil).Documents(ctx).GetAll()
		if err != nil {
			t.Fatal(err)
		}
		return snaps
	}
	alerts := openAlerts()
	if len(alerts) != 1 {
		t.Fatalf("%d open disconnection alerts, want 1", len(alerts))
	}
	mail, err := a.Firestore.Collection(firestoredb.MailCollection).Doc("alert-" + alerts[0].Ref.ID).Get(ctx)
	if err != nil || mail.Data()["to"] != "owner@example.com" || !strings.Contains(mail.Data()["message"].(map[string]any)["subject"].(string), "reconnect") {
		t.Fatalf("alert mail: %v %v", mail.Data(), err)
	}

	// Stop retrying: again and again, nobody calls Intuit and nothing new is raised.
	calls := qb.TokenRequests()
	for range 3 {
		o, _ = a.Orders.Get(ctx, id)
		if err := a.Flow.Redrive(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if got := qb.TokenRequests(); got != calls {
		t.Errorf("%d token requests while disconnected", got-calls)
	}
	if len(openAlerts()) != 1 {
		t.Error("a second alert was raised")
	}
	// The webhook still records the company's events while it waits.
	body := legacyEvent(qbfake.Realm, "Invoice", "1", "Update")
	if status, ans := qbPost(t, body, quickbooks.SignWebhook(body, qb.VerifierToken)); status != 200 || !strings.Contains(ans, `"recorded":1`) {
		t.Errorf("webhook while disconnected: %d %s", status, ans)
	}

	// The owner reconnects: the waiting order is invoiced at once.
	w := connectWithKey(t, a)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "sent on to be invoiced") {
		t.Fatalf("reconnect: %d %s", w.Code, w.Body)
	}
	if o, _ = a.Orders.Get(ctx, id); o.State() != order.Invoiced || o.Invoice == nil {
		t.Errorf("after reconnecting: %s %q", o.State(), o.Attention)
	}
	if n := len(openAlerts()); n != 0 {
		t.Errorf("%d disconnection alerts still open after reconnecting", n)
	}
}
