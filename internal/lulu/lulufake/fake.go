// Package lulufake is a local Lulu Print API for tests and make dev: the
// token endpoint, print jobs with Lulu's statuses and transitions, search
// by external id, signed webhooks, failures on demand, and a tester's page
// (/app/print-jobs: advance, ship, reject). Its answers follow
// reference/lulu.md.
package lulufake

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/fakefault"
	"github.com/readyplanner/oms/internal/lulu"
	"github.com/readyplanner/oms/internal/shipping"
)

// StateCodeCountries need a state_code in the shipping address (a subset
// of the 36 Lulu's /shipping-options/ lists; the client validates against
// the full configured list).
var StateCodeCountries = []string{"AU", "BR", "CA", "CN", "ES", "IN", "IT", "JP", "MX", "US"}

var (
	legacyPackage = regexp.MustCompile(`^\d{4}X\d{4}[A-Z0-9]{18}$`)
	dottedPackage = regexp.MustCompile(`^\d{4}X\d{4}(\.[A-Z0-9]+){3,}$`)
)

// Request is one request the fake received.
type Request struct {
	Method, Path, Query string
	Body                []byte
}

// Delivery is one webhook delivery attempt.
type Delivery struct {
	JobID, Status string
	HTTPStatus    int // 0: not answered
}

type job struct {
	ID         int64          `json:"id"`
	OrderID    int64          `json:"order_id"`
	ExternalID string         `json:"external_id"`
	Created    string         `json:"date_created"`
	Modified   string         `json:"date_modified"`
	Status     status         `json:"status"`
	Email      string         `json:"contact_email"`
	Level      string         `json:"shipping_level"`
	Address    map[string]any `json:"shipping_address"`
	Lines      []*lineItem    `json:"line_items"`
	Costs      map[string]any `json:"costs"`
	Estimated  map[string]any `json:"estimated_shipping_dates"`
}

// subscription is a webhook subscription (POST /webhooks/), as Lulu
// answers it.
type subscription struct {
	ID     string   `json:"id"` // a UUID string
	URL    string   `json:"url"`
	Topics []string `json:"topics"`
	Active bool     `json:"is_active"`
	failed int      // failed delivery attempts in a row
}

// deactivateAfter is how many failed delivery attempts in a row
// deactivate a subscription, as Lulu does.
const deactivateAfter = 5

type status struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Changed string `json:"changed"`
}

type lineItem struct {
	ID           int64          `json:"id"`
	ExternalID   string         `json:"external_id"`
	Title        string         `json:"title"`
	Quantity     int64          `json:"quantity"`
	Status       map[string]any `json:"status"`
	TrackingID   *string        `json:"tracking_id"`
	TrackingURLs []string       `json:"tracking_urls"`
	CarrierName  *string        `json:"carrier_name"`
	Printable    map[string]any `json:"printable_normalization"`
}

// Server is a running local printer.
type Server struct {
	URL, Key, Secret string

	mu         sync.Mutex
	srv        *http.Server
	tokens     map[string]time.Time
	jobs       map[int64]*job
	next       int64
	failNext   int
	fail429    int
	unpaid     bool
	webhook    string
	subs       []*subscription
	requests   []Request
	deliveries []Delivery
	clock      func() time.Time
	stop       chan struct{}
	faults     fakefault.Injector // faults.go
}

// Start starts a local printer on a free port of 127.0.0.1 with the given
// client key and secret.
func Start(key, secret string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), Key: key, Secret: secret, tokens: map[string]time.Time{}, jobs: map[int64]*job{},
		next: 100001, clock: time.Now, stop: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+lulu.TokenPath, s.token)
	mux.HandleFunc("/print-jobs/", s.api)
	mux.HandleFunc("POST /webhooks/", s.subscribe)
	mux.HandleFunc("GET /webhooks/", s.subscriptions)
	mux.HandleFunc("GET /webhooks/{id}/", s.subscriptionByID)
	mux.HandleFunc("PATCH /webhooks/{id}/", s.updateSubscription)
	mux.HandleFunc("GET /app/print-jobs", s.page)
	mux.HandleFunc("POST /app/print-jobs/{id}/{action}", s.pageAction)
	s.srv = &http.Server{Handler: s.withFaults(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops it.
func (s *Server) Close() error {
	close(s.stop)
	return s.srv.Close()
}

// SetWebhook makes every status change POST a signed delivery to url
// ("" stops them), besides the subscriptions made through the API (a
// tester's shortcut: it is never deactivated).
func (s *Server) SetWebhook(url string) { s.mu.Lock(); s.webhook = url; s.mu.Unlock() }

// FailNext answers the next n API calls 500.
func (s *Server) FailNext(n int) { s.mu.Lock(); s.failNext = n; s.mu.Unlock() }

// Fail429 answers the next n API calls 429.
func (s *Server) Fail429(n int) { s.mu.Lock(); s.fail429 = n; s.mu.Unlock() }

// NoPaymentMethod makes jobs stop in UNPAID (the account has no payment
// method), as Lulu does: Advance leaves them there.
func (s *Server) NoPaymentMethod(on bool) { s.mu.Lock(); s.unpaid = on; s.mu.Unlock() }

// ExpireTokens makes every token it gave out invalid (the next call is 401).
func (s *Server) ExpireTokens() { s.mu.Lock(); s.tokens = map[string]time.Time{}; s.mu.Unlock() }

// Requests is everything the API received.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Deliveries is every webhook delivery attempt.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// Jobs returns the jobs' ids and statuses.
func (s *Server) Jobs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for id, j := range s.jobs {
		out[strconv.FormatInt(id, 10)] = j.Status.Name
	}
	return out
}

func (s *Server) now() string { return s.clock().UTC().Format("2006-01-02T15:04:05.000000") }

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	key, secret, ok := r.BasicAuth()
	if !ok || key != s.Key || secret != s.Secret {
		writeJSON(w, 401, map[string]any{"error": "unauthorized_client", "error_description": "Invalid client credentials"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, 400, map[string]any{"error": "unsupported_grant_type"})
		return
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	t := base64.RawURLEncoding.EncodeToString(b)
	s.mu.Lock()
	s.tokens[t] = s.clock().Add(time.Hour)
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": t, "expires_in": 3600, "refresh_expires_in": 0, "token_type": "bearer", "not-before-policy": 0, "scope": "profile email"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body.Bytes()})
	exp, ok := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	switch {
	case !ok || s.clock().After(exp):
		s.mu.Unlock()
		writeJSON(w, 401, map[string]any{"detail": "Authentication credentials were not provided."})
		return
	case s.failNext > 0:
		s.failNext--
		s.mu.Unlock()
		writeJSON(w, 500, map[string]any{"detail": "Internal server error"})
		return
	case s.fail429 > 0:
		s.fail429--
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		writeJSON(w, 429, map[string]any{"detail": "Request was throttled."})
		return
	}
	defer s.mu.Unlock()
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/print-jobs/"), "/")
	parts := strings.Split(rest, "/")
	switch {
	case rest == "" && r.Method == "POST":
		s.create(w, body.Bytes())
	case rest == "" && r.Method == "GET":
		s.list(w, r.URL.Query().Get("search"))
	case len(parts) == 1 && r.Method == "GET":
		if j := s.find(parts[0]); j != nil {
			writeJSON(w, 200, j)
		} else {
			writeJSON(w, 404, map[string]any{"detail": "Not found."})
		}
	case len(parts) == 2 && parts[1] == "status" && r.Method == "PUT":
		j := s.find(parts[0])
		if j == nil {
			writeJSON(w, 404, map[string]any{"detail": "Not found."})
			return
		}
		var st struct{ Name string }
		_ = json.Unmarshal(body.Bytes(), &st)
		if st.Name != "CANCELED" {
			writeJSON(w, 400, map[string]any{"name": []string{"Only CANCELED can be set."}})
			return
		}
		if !slices.Contains(transitions[j.Status.Name], "CANCELED") {
			writeJSON(w, 400, map[string]any{"status": []string{fmt.Sprintf("A print job in status %s cannot be canceled.", j.Status.Name)}})
			return
		}
		s.set(j, "CANCELED", "Canceled by the API user.")
		writeJSON(w, 200, map[string]any{"name": "CANCELED", "message": j.Status.Message, "changed": j.Status.Changed})
	default:
		writeJSON(w, 404, map[string]any{"detail": "Not found."})
	}
}

func (s *Server) find(id string) *job {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	return s.jobs[n]
}

func (s *Server) list(w http.ResponseWriter, search string) {
	var out []*job
	for _, j := range s.jobs {
		if search == "" || strings.Contains(strings.ToLower(j.ExternalID), strings.ToLower(search)) ||
			strconv.FormatInt(j.OrderID, 10) == search {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID > out[b].ID })
	writeJSON(w, 200, map[string]any{"count": len(out), "next": nil, "previous": nil, "results": out})
}

// create validates a job as Lulu does and answers 201 with it (CREATED).
func (s *Server) create(w http.ResponseWriter, body []byte) {
	var in map[string]any
	if json.Unmarshal(body, &in) != nil {
		writeJSON(w, 400, map[string]any{"detail": "JSON parse error"})
		return
	}
	errs := map[string]any{}
	for _, f := range []string{"line_items", "shipping_address", "contact_email", "shipping_level"} {
		if in[f] == nil || in[f] == "" {
			errs[f] = []string{"This field is required."}
		}
	}
	if lvl, _ := in["shipping_level"].(string); lvl != "" && !slices.Contains(shipping.PrinterLevels, lvl) {
		errs["shipping_level"] = []string{fmt.Sprintf("\"%s\" is not a valid choice.", lvl)}
	}
	addr, _ := in["shipping_address"].(map[string]any)
	if addr != nil {
		ae := map[string]any{}
		for _, f := range []string{"name", "street1", "city", "country_code", "postcode", "phone_number"} {
			if v, _ := addr[f].(string); strings.TrimSpace(v) == "" {
				ae[f] = []string{"This field is required."}
			}
		}
		if p, _ := addr["phone_number"].(string); p != "" && !shipping.PrinterPhone.MatchString(p) {
			ae["phone_number"] = []string{"Enter a valid phone number."}
		}
		cc, _ := addr["country_code"].(string)
		if sc, _ := addr["state_code"].(string); slices.Contains(StateCodeCountries, cc) && sc == "" {
			ae["state_code"] = []string{"This field is required for " + cc + "."}
		}
		if tid, _ := addr["recipient_tax_id"].(string); slices.Contains(shipping.PrinterTaxIDCountries, cc) && tid == "" {
			ae["recipient_tax_id"] = []string{"This field is required for " + cc + "."}
		}
		if len(ae) > 0 {
			errs["shipping_address"] = ae
		}
	}
	items, _ := in["line_items"].([]any)
	var lines []*lineItem
	for i, it := range items {
		m, _ := it.(map[string]any)
		pn, _ := m["printable_normalization"].(map[string]any)
		pkg, _ := m["pod_package_id"].(string)
		if p, ok := pn["pod_package_id"].(string); ok {
			pkg = p
		}
		le := map[string]any{}
		if !legacyPackage.MatchString(pkg) && !dottedPackage.MatchString(pkg) {
			le["pod_package_id"] = []string{fmt.Sprintf("Invalid pod_package_id %q.", pkg)}
		}
		for _, part := range []string{"cover", "interior"} {
			src, _ := pn[part].(map[string]any)
			if u, _ := src["source_url"].(string); !strings.HasPrefix(u, "http") {
				le[part] = []string{"A source_url is required."}
			}
		}
		q, _ := m["quantity"].(float64)
		if q < 1 {
			le["quantity"] = []string{"Ensure this value is greater than or equal to 1."}
		}
		if len(le) > 0 {
			errs["line_items"] = map[string]any{strconv.Itoa(i): le}
			continue
		}
		title, _ := m["title"].(string)
		ext, _ := m["external_id"].(string)
		lines = append(lines, &lineItem{ID: s.next*10 + int64(i), ExternalID: ext, Title: title, Quantity: int64(q),
			Status: map[string]any{"name": "CREATED", "messages": map[string]any{}}, TrackingURLs: []string{}, Printable: pn})
	}
	if len(errs) > 0 {
		writeJSON(w, 400, errs)
		return
	}
	ext, _ := in["external_id"].(string)
	email, _ := in["contact_email"].(string)
	lvl, _ := in["shipping_level"].(string)
	j := &job{ID: s.next, OrderID: s.next + 500000, ExternalID: ext, Created: s.now(), Modified: s.now(),
		Status: status{Name: "CREATED", Message: "Print job created.", Changed: s.now()}, Email: email, Level: lvl, Address: addr, Lines: lines,
		Costs:     map[string]any{"total_cost_excl_tax": "12.50", "total_cost_incl_tax": "13.38", "total_tax": "0.88", "currency": "USD"},
		Estimated: map[string]any{"dispatch_min": "2026-12-08", "dispatch_max": "2026-12-10", "arrival_min": "2026-12-12", "arrival_max": "2026-12-16"}}
	s.next++
	s.jobs[j.ID] = j
	writeJSON(w, 201, j)
	s.notify(j)
}

// transitions are Lulu's documented status transitions (and DELIVERED
// after SHIPPED).
var transitions = map[string][]string{
	"CREATED":             {"UNPAID", "REJECTED", "CANCELED", "PRODUCTION_READY"},
	"UNPAID":              {"PAYMENT_IN_PROGRESS", "CANCELED", "PRODUCTION_DELAYED"},
	"PAYMENT_IN_PROGRESS": {"UNPAID", "PRODUCTION_DELAYED"},
	"PRODUCTION_DELAYED":  {"PRODUCTION_READY", "CANCELED"},
	"PRODUCTION_READY":    {"IN_PRODUCTION", "PRODUCTION_DELAYED"},
	"IN_PRODUCTION":       {"SHIPPED", "ERROR"},
	"SHIPPED":             {"DELIVERED"},
}

// set changes a job's status (the caller holds mu) and sends its webhook.
func (s *Server) set(j *job, name, message string) {
	j.Status = status{Name: name, Message: message, Changed: s.now()}
	j.Modified = j.Status.Changed
	for _, l := range j.Lines {
		l.Status["name"] = name
	}
	s.notify(j)
}

// happyPath is the way a job goes at Lulu when nothing goes wrong: it is
// validated (CREATED), waits to be paid (UNPAID), is paid
// (PAYMENT_IN_PROGRESS, which cannot be canceled), waits out its
// production delay (PRODUCTION_DELAYED, which can), and is made, shipped
// and delivered.
var happyPath = map[string]string{"CREATED": "UNPAID", "UNPAID": "PAYMENT_IN_PROGRESS", "PAYMENT_IN_PROGRESS": "PRODUCTION_DELAYED",
	"PRODUCTION_DELAYED": "PRODUCTION_READY", "PRODUCTION_READY": "IN_PRODUCTION", "IN_PRODUCTION": "SHIPPED", "SHIPPED": "DELIVERED"}

// Advance moves a job one step along Lulu's happy path (CREATED → UNPAID
// → PAYMENT_IN_PROGRESS → PRODUCTION_DELAYED → PRODUCTION_READY →
// IN_PRODUCTION → SHIPPED with tracking → DELIVERED). A job of an account
// without a payment method stays UNPAID (an error says so). It reports the
// new status.
func (s *Server) Advance(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.find(id)
	if j == nil {
		return "", fmt.Errorf("no print job %s", id)
	}
	next := happyPath[j.Status.Name]
	switch {
	case next == "":
		return j.Status.Name, fmt.Errorf("print job %s is %s: nothing follows", id, j.Status.Name)
	case j.Status.Name == "UNPAID" && s.unpaid:
		return j.Status.Name, fmt.Errorf("print job %s is UNPAID: the account has no payment method", id)
	}
	switch next {
	case "SHIPPED":
		s.ship(j, "USPS", "9261290100130435082"+strconv.FormatInt(j.ID%1000, 10), "")
		return next, nil
	}
	s.set(j, next, "")
	return next, nil
}

func (s *Server) ship(j *job, carrier, tracking, url string) {
	if url == "" {
		url = "https://tools.usps.com/go/TrackConfirmAction?tLabels=" + tracking
	}
	for _, l := range j.Lines {
		c, t := carrier, tracking
		l.CarrierName, l.TrackingID, l.TrackingURLs = &c, &t, []string{url}
	}
	s.set(j, "SHIPPED", "Shipped.")
}

// AdvanceTo advances a job along the happy path until it is in status
// (SHIPPED, say); an error when the path does not lead there.
func (s *Server) AdvanceTo(id, status string) error {
	for range len(happyPath) + 1 {
		s.mu.Lock()
		j := s.find(id)
		cur := ""
		if j != nil {
			cur = j.Status.Name
		}
		s.mu.Unlock()
		if cur == status {
			return nil
		}
		if _, err := s.Advance(id); err != nil {
			return fmt.Errorf("advancing to %s: %w", status, err)
		}
	}
	return fmt.Errorf("print job %s does not reach %s", id, status)
}

// Ship ships a job in production (or any job not yet final, as a tester
// may) with the tracking given.
func (s *Server) Ship(id, carrier, tracking, url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.find(id)
	if j == nil {
		return fmt.Errorf("no print job %s", id)
	}
	if slices.Contains([]string{"SHIPPED", "DELIVERED", "REJECTED", "CANCELED", "ERROR"}, j.Status.Name) {
		return fmt.Errorf("print job %s is %s", id, j.Status.Name)
	}
	s.ship(j, carrier, tracking, url)
	return nil
}

// Reject rejects a job (its files could not be printed), with the
// printer's words.
func (s *Server) Reject(id, message string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.find(id)
	if j == nil {
		return fmt.Errorf("no print job %s", id)
	}
	s.set(j, "REJECTED", message)
	return nil
}

// SetStatus sets any status name (one Lulu may add later, say).
func (s *Server) SetStatus(id, name, message string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.find(id)
	if j == nil {
		return fmt.Errorf("no print job %s", id)
	}
	s.set(j, name, message)
	return nil
}

// AutoAdvance advances every open job one step every interval (make dev:
// a demo order reaches shipped untouched), until Close.
func (s *Server) AutoAdvance(every time.Duration) {
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				for id, st := range s.Jobs() {
					if st != "DELIVERED" && st != "REJECTED" && st != "CANCELED" && st != "ERROR" {
						_, _ = s.Advance(id)
					}
				}
			}
		}
	}()
}

// notify sends the job's delivery (the caller holds mu), retried up to 5
// times as Lulu does.
func (s *Server) notify(j *job) {
	body, _ := json.Marshal(map[string]any{"topic": "PRINT_JOB_STATUS_CHANGED", "data": j})
	if s.webhook != "" {
		s.deliver(s.webhook, nil, j, body)
	}
	for _, sub := range s.subs {
		if sub.Active && slices.Contains(sub.Topics, "PRINT_JOB_STATUS_CHANGED") && sub.URL != s.webhook {
			s.deliver(sub.URL, sub, j, body)
		}
	}
}

// deliver POSTs one delivery to url in the background, retried; a
// subscription's attempts count towards its deactivation (the caller
// holds mu).
func (s *Server) deliver(url string, sub *subscription, j *job, body []byte) {
	sig := lulu.Sign(body, s.Secret)
	id, st := strconv.FormatInt(j.ID, 10), j.Status.Name
	go func() {
		for attempt := 0; attempt < 5; attempt++ {
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(lulu.SignatureHeader, sig)
			resp, err := http.DefaultClient.Do(req)
			code := 0
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			ok := code >= 200 && code < 300
			s.mu.Lock()
			s.deliveries = append(s.deliveries, Delivery{JobID: id, Status: st, HTTPStatus: code})
			stop := ok
			if sub != nil {
				if ok {
					sub.failed = 0
				} else if sub.failed++; sub.failed >= deactivateAfter {
					sub.Active, stop = false, true
				}
			}
			s.mu.Unlock()
			if stop {
				return
			}
			time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
		}
	}()
}

// authorized checks the bearer token of a webhooks call (recording the
// request) and answers 401 when it is not one the printer gave out.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body.Bytes()})
	exp, ok := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	ok = ok && !s.clock().After(exp)
	s.mu.Unlock()
	if !ok {
		writeJSON(w, 401, map[string]any{"detail": "Authentication credentials were not provided."})
	}
	return body.Bytes(), ok
}

// subscribe registers a webhook subscription (POST /webhooks/): its URL
// receives every status change from then on. A URL is subscribed once, as
// at Lulu: a second subscription of it is a 400.
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	body, ok := s.authorized(w, r)
	if !ok {
		return
	}
	var in struct {
		Topics []string `json:"topics"`
		URL    string   `json:"url"`
	}
	if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(in.URL, "http") || !slices.Contains(in.Topics, "PRINT_JOB_STATUS_CHANGED") {
		writeJSON(w, 400, map[string]any{"url": []string{"Enter a valid URL."}, "topics": []string{"Choose PRINT_JOB_STATUS_CHANGED."}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if sub.URL == in.URL {
			writeJSON(w, 400, map[string]any{"url": []string{"webhook with this url already exists."}})
			return
		}
	}
	sub := &subscription{ID: newUUID(), URL: in.URL, Topics: in.Topics, Active: true}
	s.subs = append(s.subs, sub)
	writeJSON(w, 201, sub)
}

// subscriptions lists the subscriptions (GET /webhooks/), in one page.
func (s *Server) subscriptions(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorized(w, r); !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"count": len(s.subs), "next": nil, "previous": nil, "results": s.subs})
}

func (s *Server) subscriptionByID(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorized(w, r); !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if sub.ID == r.PathValue("id") {
			writeJSON(w, 200, sub)
			return
		}
	}
	writeJSON(w, 404, map[string]any{"detail": "Not found."})
}

// updateSubscription changes a subscription's url, topics or is_active
// (PATCH /webhooks/{id}/); activating it starts its failure count again.
func (s *Server) updateSubscription(w http.ResponseWriter, r *http.Request) {
	body, ok := s.authorized(w, r)
	if !ok {
		return
	}
	var in struct {
		Topics []string `json:"topics"`
		URL    *string  `json:"url"`
		Active *bool    `json:"is_active"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeJSON(w, 400, map[string]any{"detail": "JSON parse error"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		if sub.ID != r.PathValue("id") {
			continue
		}
		if in.URL != nil {
			if !strings.HasPrefix(*in.URL, "http") {
				writeJSON(w, 400, map[string]any{"url": []string{"Enter a valid URL."}})
				return
			}
			sub.URL = *in.URL
		}
		if in.Topics != nil {
			for _, tp := range in.Topics {
				if tp != "PRINT_JOB_STATUS_CHANGED" {
					writeJSON(w, 400, map[string]any{"topics": []string{fmt.Sprintf("\"%s\" is not a valid choice.", tp)}})
					return
				}
			}
			sub.Topics = in.Topics
		}
		if in.Active != nil {
			sub.Active = *in.Active
			if sub.Active {
				sub.failed = 0
			}
		}
		writeJSON(w, 200, sub)
		return
	}
	writeJSON(w, 404, map[string]any{"detail": "Not found."})
}

// newUUID returns a random (version 4) UUID, the form of Lulu's webhook ids.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
