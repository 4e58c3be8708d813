package devhost

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The relay answers every delivery at once and delivers it to the host
// when it is up: what arrives while no host listens, or while the host
// answers 5xx or 429, is delivered later; a 4xx is final; duplicates are
// two deliveries.
func TestRelayDeliversWhatArrivesWhileTheHostIsDown(t *testing.T) {
	hostL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostAddr := hostL.Addr().String()
	hostL.Close() // the host is down
	relayL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := StartRelay(relayL, "http://"+hostAddr)
	defer r.Close()

	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(r.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("the relay answered %s", resp.Status)
		}
	}
	post("/functions/projects/p/triggers/onOrderWritten", "event-1")
	post("/stripeWebhook", "hook-1")
	time.Sleep(300 * time.Millisecond)
	if r.Pending() != 2 || r.Stats().ConnectionsRefused == 0 {
		t.Fatalf("with the host down: %d pending, %+v", r.Pending(), r.Stats())
	}

	// The host comes up: the first event is answered 503 once, the
	// webhook 429 once, a third delivery 400.
	var mu sync.Mutex
	got := map[string]int{}
	answered := map[string]bool{}
	l, err := listenAgain(context.Background(), hostAddr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		mu.Lock()
		defer mu.Unlock()
		key := req.URL.Path + " " + string(b)
		got[key]++
		switch {
		case string(b) == "bad":
			w.WriteHeader(400)
		case !answered[key] && string(b) == "event-1":
			answered[key] = true
			w.WriteHeader(503)
		case !answered[key] && string(b) == "hook-1":
			answered[key] = true
			w.WriteHeader(429)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	post("/printerWebhook", "bad")
	r.SetFaults(RelayFaults{DuplicateEvents: true})
	post("/functions/projects/p/triggers/onOrderWritten", "event-2")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.WaitIdle(ctx); err != nil {
		t.Fatalf("still pending: %v", r.InFlight())
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{
		"/functions/projects/p/triggers/onOrderWritten event-1": 2, // 503, then 200
		"/stripeWebhook hook-1":                                 2, // 429, then 200
		"/printerWebhook bad":                                   1, // 400: final
		"/functions/projects/p/triggers/onOrderWritten event-2": 2, // delivered twice
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d attempts, want %d (all: %v)", k, got[k], n, got)
		}
	}
	st := r.Stats()
	if st.Events != 2 || st.Webhooks != 2 || st.DuplicateEvents != 1 || st.Delivered != 4 || st.Refused != 1 || st.Abandoned != 0 {
		t.Errorf("stats %+v", st)
	}
}
