package quickbooks

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
)

type fakeTokens struct {
	mu        sync.Mutex
	token     string
	refreshes int
}

func (f *fakeTokens) AccessToken(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.token, nil
}

func (f *fakeTokens) Refresh(_ context.Context, rejected string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	f.token = "fresh"
	return f.token, nil
}

func TestFaultShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		typ    string
		code   string
	}{
		{"validation", 400, `{"Fault":{"Error":[{"Message":"Invalid Reference Id","Detail":"Invalid Reference Id : Item assigned to this transaction has been deleted","code":"2500","element":"Line.SalesItemLineDetail.ItemRef"}],"type":"ValidationFault"},"time":"2026-11-25T10:00:00.000-08:00"}`, "ValidationFault", "2500"},
		{"gateway 401", 401, `{"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"Token expired","code":"3200"}],"type":"AUTHENTICATION"}}`, "AUTHENTICATION", "3200"},
		{"xml throttle", 429, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-11-25T10:00:00.000-08:00"><Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.</Detail></Error></Fault></IntuitResponse>`, "SERVICE", "3001"},
		{"fault in a 200", 200, `{"Fault":{"Error":[{"Message":"Stale Object Error","code":"5010"}],"type":"ValidationFault"}}`, "ValidationFault", "5010"},
	}
	for _, tt := range tests {
		f := parseFault(tt.status, []byte(tt.body))
		if f == nil || f.Type != tt.typ || !f.Has(tt.code) || f.Status != tt.status {
			t.Errorf("%s: %+v", tt.name, f)
		}
	}
	if f := parseFault(200, []byte(`{"Invoice":{"Id":"1"}}`)); f != nil {
		t.Errorf("a plain answer parsed as a fault: %+v", f)
	}
}

func TestDoRefreshesOnceAndClassifies(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	answers := map[string]func(w http.ResponseWriter, r *http.Request){}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		answers[strings.TrimPrefix(r.URL.Path, "/v3/company/r1/")](w, r)
	}))
	defer srv.Close()
	tokens := &fakeTokens{token: "old"}
	c := New(srv.URL, "r1", tokens, nil)
	ctx := context.Background()

	answers["invoice/7"] = func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer fresh" {
			w.WriteHeader(401)
			w.Write([]byte(`{"fault":{"error":[{"message":"AuthenticationFailed","code":"3200"}],"type":"AUTHENTICATION"}}`))
			return
		}
		w.Write([]byte(`{"Invoice":{"Id":"7","TotalAmt":19.99,"Balance":0},"time":"x"}`))
	}
	var out struct {
		Invoice struct{ TotalAmt json.Number }
	}
	if err := c.Do(ctx, "GET", "invoice/7", nil, nil, &out); err != nil {
		t.Fatal(err)
	}
	if tokens.refreshes != 1 || out.Invoice.TotalAmt != "19.99" {
		t.Errorf("refreshes %d, total %s", tokens.refreshes, out.Invoice.TotalAmt)
	}
	if q := seen[0].URL.Query(); q.Get("minorversion") != "75" {
		t.Errorf("minorversion %q", q.Get("minorversion"))
	}

	answers["invoice/8"] = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		w.Write([]byte(`{"fault":{"error":[{"message":"AuthenticationFailed","code":"3200"}],"type":"AUTHENTICATION"}}`))
	}
	before := tokens.refreshes
	if err := c.Do(ctx, "GET", "invoice/8", nil, nil, nil); apperr.CodeOf(err) != apperr.Unauthenticated || tokens.refreshes != before+1 {
		t.Errorf("refused twice: %v after %d refreshes", err, tokens.refreshes-before)
	}

	answers["invoice"] = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("requestid") {
		case "throttled":
			w.WriteHeader(429)
			w.Write([]byte(`<?xml version="1.0"?><IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>ThrottleExceeded</Message></Error></Fault></IntuitResponse>`))
		case "bad":
			w.WriteHeader(400)
			w.Write([]byte(`{"Fault":{"Error":[{"Message":"Invalid Reference Id","Detail":"Item 99 does not exist","code":"2500"}],"type":"ValidationFault"}}`))
		default:
			w.WriteHeader(503)
		}
	}
	for key, want := range map[string]apperr.Code{"throttled": apperr.Unavailable, "bad": apperr.Invalid, "down": apperr.Unavailable} {
		err := c.Do(ctx, "POST", "invoice", url.Values{"requestid": {key}}, map[string]any{"Line": []any{}}, nil)
		if apperr.CodeOf(err) != want || AsFault(err) == nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	if err := c.Do(ctx, "POST", "invoice", url.Values{"requestid": {"bad"}}, map[string]any{}, nil); !strings.Contains(apperr.As(err).Message, "Item 99 does not exist") {
		t.Errorf("message %q", apperr.As(err).Message)
	}
}

func TestQueryAndMoney(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("query") != `select * from Item where Name = 'Planner\'s Pen'` {
			w.WriteHeader(400)
			return
		}
		w.Write([]byte(`{"QueryResponse":{"Item":[{"Id":"5","Name":"Planner's Pen","UnitPrice":18}],"startPosition":1,"maxResults":1},"time":"x"}`))
	}))
	defer srv.Close()
	c := New(srv.URL, "r1", &fakeTokens{token: "t"}, nil)
	var out struct{ Item []struct{ Id, Name string } }
	if err := c.Query(context.Background(), "select * from Item where Name = "+Quote("Planner's Pen"), &out); err != nil || len(out.Item) != 1 || out.Item[0].Id != "5" {
		t.Fatalf("%+v %v", out, err)
	}
	for _, cents := range []int64{0, 1, 5, 1999, 100000, 123456789} {
		m := money.New(cents, "USD")
		back, err := Cents(Dollars(m), "USD")
		if err != nil || back != m {
			t.Errorf("%d → %s → %v %v", cents, Dollars(m), back, err)
		}
	}
	if m, err := Cents("19.9", "USD"); err != nil || m.Amount != 1990 {
		t.Errorf("19.9 → %v %v", m, err)
	}
	if _, err := Cents("0.005", "USD"); err == nil {
		t.Error("a fraction of a cent must not round silently")
	}
}

func TestPacerKeepsWithinLimitsAndBacksOff(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	throttle := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if throttle {
			throttle = false
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(429)
			w.Write([]byte(`<?xml version="1.0"?><IntuitResponse><Fault type="SERVICE"><Error code="3001"><Message>ThrottleExceeded</Message></Error></Fault></IntuitResponse>`))
			return
		}
		w.Write([]byte(`{"QueryResponse":{},"time":"x"}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	count := func() int { mu.Lock(); defer mu.Unlock(); return calls }

	// Rate: a burst of 5, then 600 a minute (10 a second): 15 calls take ≥ 1 s.
	p := NewPacer(600, 5, nil)
	c := New(srv.URL, "r1", &fakeTokens{token: "t"}, nil).Paced(p)
	start := time.Now()
	for range 15 {
		if err := c.Do(ctx, "GET", "query", nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 950*time.Millisecond {
		t.Errorf("15 calls with a burst of 5 at 10/s took %s", took)
	}

	// A 429: nothing is sent during the cool-down; after it, calls resume.
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p = NewPacer(0, 0, clock)
	c = New(srv.URL, "r1", &fakeTokens{token: "t"}, nil).Paced(p)
	mu.Lock()
	throttle = true
	mu.Unlock()
	if err := c.Do(ctx, "GET", "query", nil, nil, nil); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("throttled: %v", err)
	}
	before := count()
	for range 3 {
		if err := c.Do(ctx, "GET", "query", nil, nil, nil); apperr.CodeOf(err) != apperr.Unavailable || !strings.Contains(err.Error(), "no call until") {
			t.Errorf("during the cool-down: %v", err)
		}
	}
	if count() != before {
		t.Errorf("%d calls sent during the cool-down", count()-before)
	}
	mu.Lock()
	now = now.Add(Cooldown)
	mu.Unlock()
	if err := c.Do(ctx, "GET", "query", nil, nil, nil); err != nil || count() != before+1 {
		t.Errorf("after the cool-down: %v", err)
	}
	// Retry-After, when sent, is the cool-down.
	p.Throttled(http.Header{"Retry-After": {"5"}})
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	if err := p.Wait(ctx); err != nil {
		t.Errorf("after Retry-After: %v", err)
	}
}
