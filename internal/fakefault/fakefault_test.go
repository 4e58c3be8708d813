package fakefault

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The injector fails about the rate asked, never two API requests in a
// row, only API requests, within each kind's limit; a timeout carries the
// request out and loses its answer.
func TestInjector(t *testing.T) {
	var in Injector
	var served atomic.Int64
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1); _, _ = io.WriteString(w, "ok") })
	shape := func(w http.ResponseWriter, _ *http.Request, k Kind) bool {
		switch k {
		case ServerError:
			w.WriteHeader(500)
		case Throttled:
			w.WriteHeader(429)
		default:
			return false
		}
		return true
	}
	srv := httptest.NewServer(in.Wrap(next, func(r *http.Request) bool { return r.URL.Path != "/page" }, shape))
	defer srv.Close()
	in.Set(0.5, ServerError, Throttled, Timeout)
	in.Limit(Throttled, 3)
	const n = 400
	prevFailed, lost := false, 0
	for range n {
		resp, err := http.Post(srv.URL+"/v1/x", "text/plain", nil)
		failed := err != nil
		if err != nil {
			lost++
		} else {
			resp.Body.Close()
			failed = resp.StatusCode != 200
		}
		if failed && prevFailed {
			t.Fatal("two faults in a row")
		}
		prevFailed = failed
	}
	c := in.Counts()
	if c[Throttled] != 3 || c[ServerError] < 20 || c[Timeout] < 20 || c[Timeout] != lost {
		t.Errorf("counts %v, %d answers lost", c, lost)
	}
	if served.Load() != int64(n-c[ServerError]-c[Throttled]) {
		t.Errorf("%d requests carried out; %d sent, %v failed before (timeouts are carried out)", served.Load(), n, c)
	}
	for range 50 {
		resp, err := http.Get(srv.URL + "/page")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a page that is not the API: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	in.Set(0)
	before := in.Counts()
	for range 50 {
		resp, err := http.Get(srv.URL + "/v1/y")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("after Set(0): %v %v", resp, err)
		}
		resp.Body.Close()
	}
	if got := in.Counts(); got[ServerError] != before[ServerError] || got[Timeout] != before[Timeout] {
		t.Errorf("faults after Set(0): %v, before %v", got, before)
	}
}

// An expired token is the request's own, and never one just issued.
func TestExpireToken(t *testing.T) {
	now := time.Now()
	tokens := map[string]time.Time{"old": now.Add(30 * time.Minute), "fresh": now.Add(time.Hour - 10*time.Second), "other": now.Add(20 * time.Minute)}
	req := func(tok string) *http.Request {
		r := httptest.NewRequest("GET", "/v1/x", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
	if !ExpireToken(tokens, req("old"), now, time.Hour) || !tokens["old"].Before(now) {
		t.Errorf("the request's old token: %v", tokens["old"])
	}
	if ExpireToken(tokens, req("fresh"), now, time.Hour) || ExpireToken(tokens, req("unknown"), now, time.Hour) {
		t.Error("a fresh or unknown token was expired")
	}
	if !tokens["other"].After(now) || !tokens["fresh"].After(now) {
		t.Errorf("another token was expired: %v", tokens)
	}
}
