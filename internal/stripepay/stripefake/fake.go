// Package stripefake is a stateful local Stripe for tests and make dev:
// Checkout Sessions, PaymentIntents with Stripe's status transitions
// (requires_capture → succeeded or canceled), capture, cancel, refunds,
// Idempotency-Key replay, a local checkout page where a tester clicks Pay
// or Decline, and webhooks signed exactly as Stripe signs them
// (Stripe-Signature: t=…,v1=HMAC-SHA256("t.body")) POSTed to the
// configured endpoint. Requests are form-encoded as stripe-go sends them;
// answers and errors have Stripe's JSON shapes (reference/stripe.md).
//
// stripe-mock checks that requests are valid; this fake gives them state.
package stripefake

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/readyplanner/oms/internal/fakefault"
	"github.com/readyplanner/oms/internal/fakehold"
)

// APIVersion is the version stripe-go v76 speaks; events carry it.
const APIVersion = "2023-10-16"

// Request is one API request the fake received.
type Request struct {
	Method, Path   string
	IdempotencyKey string
	Form           url.Values
	At             time.Time
}

// Server is a running fake Stripe.
type Server struct {
	URL           string
	WebhookSecret string // whsec_…: what the endpoint verifies signatures with

	mu          sync.Mutex
	endpoint    string // where webhooks go
	sessions    map[string]map[string]any
	intents     map[string]map[string]any
	charges     map[string]map[string]any
	refunds     []map[string]any
	idempotency map[string]replay
	tax         taxBook // Stripe Tax: rates given by the test, calculations, transactions
	requests    []Request
	events      []map[string]any
	failNext    int // answer the next n API requests 500
	failPosts   int // answer the next n POST requests 500
	latency     time.Duration
	declineNext bool
	disputed    map[string]bool // intents whose refunds are refused: the charge was disputed
	disputes    map[string]map[string]any
	pendingNext bool // the next refund is created pending
	holds       fakehold.Set
	now         func() time.Time
	srv         *http.Server
	client      *http.Client
	deliverMu   sync.Mutex         // one deliverer at a time
	faults      fakefault.Injector // faults.go
}

type replay struct {
	fingerprint string
	status      int
	body        []byte
}

// Start serves a fake on a free loopback port. Webhooks go to endpoint
// (set it later with SetEndpoint if the receiver starts after).
func Start(endpoint string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + l.Addr().String(), WebhookSecret: "whsec_" + randHex(16), endpoint: endpoint,
		sessions: map[string]map[string]any{}, intents: map[string]map[string]any{}, charges: map[string]map[string]any{},
		idempotency: map[string]replay{}, now: time.Now, client: &http.Client{Timeout: 10 * time.Second}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/checkout/sessions", s.api(s.createSession))
	mux.HandleFunc("GET /v1/checkout/sessions/{id}", s.api(s.getSession))
	mux.HandleFunc("POST /v1/checkout/sessions/{id}/expire", s.api(s.expireSession))
	mux.HandleFunc("GET /v1/payment_intents/{id}", s.api(s.getIntent))
	mux.HandleFunc("POST /v1/payment_intents/{id}/capture", s.api(s.capture))
	mux.HandleFunc("POST /v1/payment_intents/{id}/cancel", s.api(s.cancel))
	mux.HandleFunc("POST /v1/refunds", s.api(s.refund))
	mux.HandleFunc("GET /v1/refunds", s.api(s.listRefunds))
	mux.HandleFunc("GET /v1/refunds/{id}", s.api(s.getRefund))
	mux.HandleFunc("GET /v1/disputes/{id}", s.api(s.getDispute))
	mux.HandleFunc("POST /v1/tax/calculations", s.api(s.taxCalculation))
	mux.HandleFunc("POST /v1/tax/transactions/create_from_calculation", s.api(s.taxTransaction))
	mux.HandleFunc("POST /v1/tax/transactions/create_reversal", s.api(s.taxReversal))
	mux.HandleFunc("GET /v1/tax/calculations/{id}/line_items", s.api(s.lineItems))
	mux.HandleFunc("GET /v1/tax/transactions/{id}/line_items", s.api(s.lineItems))
	mux.HandleFunc("GET /checkout/{id}", s.page)
	mux.HandleFunc("POST /checkout/{id}/{action}", s.act)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		stripeError(w, 404, "invalid_request_error", "resource_missing", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+").", "")
	})
	s.srv = &http.Server{Handler: s.withFaults(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Close stops the fake.
func (s *Server) Close() error { return s.srv.Close() }

// SetEndpoint sets where webhooks are POSTed.
func (s *Server) SetEndpoint(u string) { s.mu.Lock(); s.endpoint = u; s.mu.Unlock() }

// FailNext answers the next n API requests 500 (api_error).
func (s *Server) FailNext(n int) { s.mu.Lock(); s.failNext = n; s.mu.Unlock() }

// FailNextPosts answers the next n POST requests 500 (api_error), stored
// for their keys as Stripe does; reads go through.
func (s *Server) FailNextPosts(n int) { s.mu.Lock(); s.failPosts = n; s.mu.Unlock() }

// SetLatency delays every API answer by d.
func (s *Server) SetLatency(d time.Duration) { s.mu.Lock(); s.latency = d; s.mu.Unlock() }

// DeclineNext makes the next Pay a card decline.
func (s *Server) DeclineNext() { s.mu.Lock(); s.declineNext = true; s.mu.Unlock() }

// Dispute opens a dispute on the intent's charge, as a customer's bank
// does (a dispute object, status needs_response, reason fraudulent, and
// the charge.dispute.created event), and makes every later refund of the
// charge fail as Stripe answers for a disputed charge (400
// charge_disputed): a refusal no retry mends. It returns the dispute's id.
func (s *Server) Dispute(intentID string) string {
	s.mu.Lock()
	if s.disputed == nil {
		s.disputed = map[string]bool{}
	}
	s.disputed[intentID] = true
	pi := s.intents[intentID]
	if pi == nil {
		s.mu.Unlock()
		return ""
	}
	ch := s.charges[fmt.Sprint(pi["latest_charge"])]
	dp := map[string]any{"id": newID("dp"), "object": "dispute", "amount": ch["amount_captured"], "currency": pi["currency"], "charge": ch["id"],
		"payment_intent": intentID, "reason": "fraudulent", "status": "needs_response", "is_charge_refundable": false,
		"created": s.now().Unix(), "livemode": false, "metadata": map[string]any{}}
	if s.disputes == nil {
		s.disputes = map[string]map[string]any{}
	}
	s.disputes[dp["id"].(string)] = dp
	ch["disputed"] = true
	s.event("charge.dispute.created", dp)
	s.mu.Unlock()
	go s.deliver(false)
	return dp["id"].(string)
}

// HoldNext holds back the answer of the next API request whose method is
// method, whose path ends with path and whose form-encoded body contains
// contains ("" for any): the request is applied (the capture made, the
// refund created, its events sent), then its answer waits until the
// returned hold is released.
func (s *Server) HoldNext(method, path, contains string) *fakehold.Hold {
	return s.holds.Next(method, path, contains)
}

// PendingNext makes the next refund start pending, as some refunds do;
// SetRefundStatus settles it.
func (s *Server) PendingNext() { s.mu.Lock(); s.pendingNext = true; s.mu.Unlock() }

// RefundOutside refunds amount of the intent's charge as the owner does in
// Stripe's dashboard: no idempotency key and none of this project's
// metadata; charge.refunded and refund.created are sent. It returns the
// refund's id.
func (s *Server) RefundOutside(intentID string, amount int64) (string, error) {
	s.mu.Lock()
	status, out := s.makeRefund(intentID, amount, "requested_by_customer", map[string]any{})
	s.mu.Unlock()
	go s.deliver(false)
	if status != 200 {
		b, _ := json.Marshal(out)
		return "", fmt.Errorf("refund refused: %s", b)
	}
	return out.(map[string]any)["id"].(string), nil
}

// SetRefundStatus moves a refund to status (succeeded, failed or
// canceled), as Stripe does when a pending refund settles or a refund
// fails later: a failed or canceled refund gives its amount back to the
// charge's refundable. refund.updated and charge.refund.updated are sent.
func (s *Server) SetRefundStatus(refundID, status string) error {
	s.mu.Lock()
	var re map[string]any
	for _, r := range s.refunds {
		if r["id"] == refundID {
			re = r
		}
	}
	if re == nil {
		s.mu.Unlock()
		return fmt.Errorf("no refund %s", refundID)
	}
	was := re["status"]
	re["status"] = status
	ch := s.charges[fmt.Sprint(re["charge"])]
	if (status == "failed" || status == "canceled") && was != "failed" && was != "canceled" {
		ch["amount_refunded"] = ch["amount_refunded"].(int64) - re["amount"].(int64)
		ch["refunded"] = false
		if status == "failed" {
			re["failure_reason"] = "expired_or_canceled_card"
		}
	}
	s.event("refund.updated", re)
	s.event("charge.refund.updated", re)
	s.mu.Unlock()
	go s.deliver(false)
	return nil
}

// SetIntentMetadata changes a PaymentIntent's metadata as an edit in
// Stripe's dashboard would.
func (s *Server) SetIntentMetadata(intentID, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pi := s.intents[intentID]; pi != nil {
		md, _ := pi["metadata"].(map[string]any)
		md = clone(md)
		if md == nil {
			md = map[string]any{}
		}
		md[key] = value
		pi["metadata"] = md
	}
}

// Refunds returns every refund made so far, oldest first.
func (s *Server) Refunds() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, len(s.refunds))
	for i, r := range s.refunds {
		out[i] = clone(r)
	}
	return out
}

// SetClock replaces the fake's clock (authorization lapses, expiries).
func (s *Server) SetClock(now func() time.Time) { s.mu.Lock(); s.now = now; s.mu.Unlock() }

// Requests returns the API requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Events returns every event the fake created, oldest first.
func (s *Server) Events() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.events...)
}

// Intent returns a copy of a PaymentIntent's state.
func (s *Server) Intent(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.intents[id])
}

func clone(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newID(prefix string) string { return prefix + "_test_" + randHex(12) }

func stripeError(w http.ResponseWriter, status int, typ, code, msg, param string) {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_"+randHex(7))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiFunc handles one API request (under the lock) and returns the status
// and object to answer.
type apiFunc func(r *http.Request, form url.Values) (int, any)

func fingerprint(r *http.Request, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(r.Method + " " + r.URL.Path + "\n")
	for _, k := range keys {
		b.WriteString(k + "=" + strings.Join(form[k], ",") + "\n")
	}
	return b.String()
}

func (s *Server) api(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "Bearer sk_test_") && !strings.HasPrefix(auth, "Bearer rk_test_") {
			stripeError(w, 401, "invalid_request_error", "", "Invalid API Key provided (this local Stripe takes test-mode keys only).", "")
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			stripeError(w, 400, "invalid_request_error", "parameter_invalid", "The request body is not form-encoded.", "")
			return
		}
		key := r.Header.Get("Idempotency-Key")
		s.mu.Lock()
		if d := s.latency; d > 0 {
			s.mu.Unlock()
			time.Sleep(d)
			s.mu.Lock()
		}
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, IdempotencyKey: key, Form: form, At: s.now()})
		if r.Method == http.MethodPost && key != "" {
			if prev, ok := s.idempotency[key]; ok {
				s.mu.Unlock()
				if prev.fingerprint != fingerprint(r, form) {
					stripeError(w, 400, "idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters they were first used with.", "")
					return
				}
				w.Header().Set("Idempotent-Replayed", "true")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(prev.status)
				_, _ = w.Write(prev.body)
				return
			}
		}
		var status int
		var out any
		if s.failNext > 0 || s.failPosts > 0 && r.Method == http.MethodPost {
			if s.failNext > 0 {
				s.failNext--
			} else {
				s.failPosts--
			}
			status, out = 500, map[string]any{"error": map[string]any{"type": "api_error", "message": "An unknown error occurred."}}
		} else {
			status, out = fn(r, form)
		}
		b, _ := json.Marshal(out)
		if r.Method == http.MethodPost && key != "" {
			s.idempotency[key] = replay{fingerprint: fingerprint(r, form), status: status, body: b}
		}
		s.mu.Unlock()
		var to http.ResponseWriter = w
		hold := s.holds.Take(r.Method, r.URL.Path, body)
		var held *fakehold.Writer
		if hold != nil {
			held = fakehold.NewWriter()
			to = held
			go s.deliver(false) // Stripe's events do not wait for our answer
		}
		to.Header().Set("Content-Type", "application/json")
		to.Header().Set("Request-Id", "req_"+randHex(7))
		to.WriteHeader(status)
		_, _ = to.Write(b)
		if hold != nil {
			hold.Wait(held, w)
		}
		// Deliver after answering, as Stripe does: the receiver may call
		// the API back while handling the event.
		go s.deliver(false)
	}
}

func invalid(msg, param string) (int, any) {
	e := map[string]any{"type": "invalid_request_error", "message": msg}
	if param != "" {
		e["param"] = param
	}
	return 400, map[string]any{"error": e}
}

func unexpected(id, status, action string) (int, any) {
	return 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "payment_intent_unexpected_state",
		"message": fmt.Sprintf("This PaymentIntent could not be %s because it has a status of %s.", action, status), "payment_intent": map[string]any{"id": id, "status": status}}}
}

func metadata(form url.Values, prefix string) map[string]any {
	md := map[string]any{}
	for k, v := range form {
		if strings.HasPrefix(k, prefix+"[") && strings.HasSuffix(k, "]") {
			md[strings.TrimSuffix(strings.TrimPrefix(k, prefix+"["), "]")] = v[0]
		}
	}
	return md
}

func (s *Server) createSession(r *http.Request, f url.Values) (int, any) {
	if f.Get("mode") != "payment" {
		return invalid("Only mode=payment is supported by this local Stripe.", "mode")
	}
	if f.Get("success_url") == "" {
		return invalid("Missing required param: success_url.", "success_url")
	}
	var total int64
	var currency string
	for i := 0; ; i++ {
		p := fmt.Sprintf("line_items[%d]", i)
		if f.Get(p+"[quantity]") == "" && f.Get(p+"[price_data][unit_amount]") == "" {
			if i == 0 {
				return invalid("Missing required param: line_items.", "line_items")
			}
			break
		}
		q, err1 := strconv.ParseInt(f.Get(p+"[quantity]"), 10, 64)
		amt, err2 := strconv.ParseInt(f.Get(p+"[price_data][unit_amount]"), 10, 64)
		cur := f.Get(p + "[price_data][currency]")
		if err1 != nil || err2 != nil || q < 1 || amt < 0 || cur == "" || f.Get(p+"[price_data][product_data][name]") == "" {
			return invalid("Invalid line item "+strconv.Itoa(i)+".", p)
		}
		currency = cur
		total += q * amt
	}
	if v := f.Get("shipping_options[0][shipping_rate_data][fixed_amount][amount]"); v != "" {
		amt, err := strconv.ParseInt(v, 10, 64)
		if err != nil || amt < 0 {
			return invalid("Invalid shipping amount.", "shipping_options")
		}
		total += amt
	}
	now := s.now().Unix()
	expires := now + 24*3600
	if v := f.Get("expires_at"); v != "" {
		e, err := strconv.ParseInt(v, 10, 64)
		if err != nil || e < now+30*60-5 || e > now+24*3600 {
			return invalid("The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.", "expires_at")
		}
		expires = e
	}
	id := newID("cs")
	sess := map[string]any{"id": id, "object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
		"amount_total": total, "amount_subtotal": total, "currency": currency, "customer_email": f.Get("customer_email"),
		"client_reference_id": f.Get("client_reference_id"), "metadata": metadata(f, "metadata"), "expires_at": expires,
		"created": now, "success_url": f.Get("success_url"), "cancel_url": f.Get("cancel_url"), "payment_intent": nil,
		"url": s.URL + "/checkout/" + id, "livemode": false,
		"_capture_method":  f.Get("payment_intent_data[capture_method]"),
		"_receipt_email":   f.Get("payment_intent_data[receipt_email]"),
		"_intent_metadata": metadata(f, "payment_intent_data[metadata]")}
	s.sessions[id] = sess
	return 200, public(sess)
}

// public drops the fake's private fields (those starting with _).
func public(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if !strings.HasPrefix(k, "_") {
			out[k] = v
		}
	}
	return out
}

func noSuchSession(id string) (int, any) {
	return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such checkout.session: '" + id + "'", "param": "session"}}
}

func (s *Server) getSession(r *http.Request, _ url.Values) (int, any) {
	sess, ok := s.sessions[r.PathValue("id")]
	if !ok {
		return noSuchSession(r.PathValue("id"))
	}
	s.lapseSession(sess)
	return 200, public(sess)
}

// expireSession expires an open session; any other is refused with
// Stripe's own words (a 400 invalid_request_error).
func (s *Server) expireSession(r *http.Request, _ url.Values) (int, any) {
	sess, ok := s.sessions[r.PathValue("id")]
	if !ok {
		return noSuchSession(r.PathValue("id"))
	}
	s.lapseSession(sess)
	if sess["status"] != "open" {
		return invalid(fmt.Sprintf("Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of `%s`.", sess["status"]), "")
	}
	sess["status"] = "expired"
	s.event("checkout.session.expired", public(sess))
	return 200, public(sess)
}

// lapseSession expires an open session whose expires_at has passed, as
// Stripe does (under the lock).
func (s *Server) lapseSession(sess map[string]any) {
	if sess["status"] == "open" && s.now().Unix() >= sess["expires_at"].(int64) {
		sess["status"] = "expired"
		s.event("checkout.session.expired", public(sess))
	}
}

func (s *Server) intentView(pi map[string]any, expandCharge bool) map[string]any {
	out := public(pi)
	if expandCharge {
		if ch, ok := s.charges[fmt.Sprint(pi["latest_charge"])]; ok {
			out["latest_charge"] = ch
		}
	}
	return out
}

func (s *Server) getIntent(r *http.Request, f url.Values) (int, any) {
	pi, ok := s.intents[r.PathValue("id")]
	if !ok {
		return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such payment_intent: '" + r.PathValue("id") + "'", "param": "intent"}}
	}
	s.lapse(pi)
	return 200, s.intentView(pi, f.Get("expand[0]") == "latest_charge" || r.URL.Query().Get("expand[0]") == "latest_charge")
}

// lapse cancels an authorization past its capture_before, as Stripe does.
func (s *Server) lapse(pi map[string]any) {
	ch := s.charges[fmt.Sprint(pi["latest_charge"])]
	if pi["status"] != "requires_capture" || ch == nil {
		return
	}
	before := ch["payment_method_details"].(map[string]any)["card"].(map[string]any)["capture_before"].(int64)
	if s.now().Unix() < before {
		return
	}
	pi["status"], pi["amount_capturable"], pi["cancellation_reason"], pi["canceled_at"] = "canceled", int64(0), "automatic", s.now().Unix()
	ch["status"] = "failed"
	s.event("charge.expired", ch)
	s.event("payment_intent.canceled", public(pi))
}

func (s *Server) capture(r *http.Request, f url.Values) (int, any) {
	pi, ok := s.intents[r.PathValue("id")]
	if !ok {
		return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such payment_intent", "param": "intent"}}
	}
	s.lapse(pi)
	if pi["status"] != "requires_capture" {
		return unexpected(pi["id"].(string), pi["status"].(string), "captured")
	}
	amt := pi["amount_capturable"].(int64)
	if v := f.Get("amount_to_capture"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > amt {
			return invalid("The amount to capture must be at most the capturable amount.", "amount_to_capture")
		}
		amt = n
	}
	pi["status"], pi["amount_received"], pi["amount_capturable"] = "succeeded", amt, int64(0)
	ch := s.charges[pi["latest_charge"].(string)]
	ch["captured"], ch["amount_captured"], ch["status"] = true, amt, "succeeded"
	s.event("charge.captured", ch)
	s.event("payment_intent.succeeded", public(pi))
	return 200, public(pi)
}

func (s *Server) cancel(r *http.Request, f url.Values) (int, any) {
	pi, ok := s.intents[r.PathValue("id")]
	if !ok {
		return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such payment_intent", "param": "intent"}}
	}
	s.lapse(pi)
	switch pi["status"] {
	case "canceled", "succeeded":
		return unexpected(pi["id"].(string), pi["status"].(string), "canceled")
	}
	switch reason := f.Get("cancellation_reason"); reason {
	case "", "duplicate", "fraudulent", "requested_by_customer", "abandoned":
		pi["cancellation_reason"] = reason
	default:
		return invalid("Invalid cancellation_reason.", "cancellation_reason")
	}
	pi["status"], pi["amount_capturable"], pi["canceled_at"] = "canceled", int64(0), s.now().Unix()
	s.event("payment_intent.canceled", public(pi))
	return 200, public(pi)
}

func (s *Server) refund(_ *http.Request, f url.Values) (int, any) {
	switch f.Get("reason") {
	case "", "duplicate", "fraudulent", "requested_by_customer":
	default:
		return invalid("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", "reason")
	}
	var amount int64
	if v := f.Get("amount"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return invalid("Invalid positive integer", "amount")
		}
		amount = n
	}
	return s.makeRefund(f.Get("payment_intent"), amount, f.Get("reason"), metadata(f, "metadata"))
}

// makeRefund refunds amount (0: all that is left) of the intent's charge
// (under the lock). A refund counts against the charge while it is
// pending or succeeded, as Stripe's amount_refunded does.
func (s *Server) makeRefund(intentID string, amount int64, reason string, md map[string]any) (int, any) {
	pi, ok := s.intents[intentID]
	if !ok {
		return invalid("No such payment_intent: '"+intentID+"'", "payment_intent")
	}
	ch := s.charges[pi["latest_charge"].(string)]
	if pi["status"] != "succeeded" {
		return invalid("This PaymentIntent does not have a successful charge to refund.", "payment_intent")
	}
	if s.disputed[pi["id"].(string)] {
		return 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "charge_disputed",
			"message": "Charge " + ch["id"].(string) + " has been charged back; cannot issue a refund."}}
	}
	left := ch["amount_captured"].(int64) - ch["amount_refunded"].(int64)
	if left == 0 {
		return 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "charge_already_refunded",
			"message": "Charge " + ch["id"].(string) + " has already been refunded."}}
	}
	amt := left
	if amount > 0 {
		if amount > left {
			return invalid("Refund amount ($"+fmt.Sprintf("%d.%02d", amount/100, amount%100)+") is greater than unrefunded amount on charge ($"+
				fmt.Sprintf("%d.%02d", left/100, left%100)+")", "amount")
		}
		amt = amount
	}
	ch["amount_refunded"] = ch["amount_refunded"].(int64) + amt
	ch["refunded"] = ch["amount_refunded"] == ch["amount_captured"]
	status := "succeeded"
	if s.pendingNext {
		s.pendingNext, status = false, "pending"
	}
	re := map[string]any{"id": newID("re"), "object": "refund", "amount": amt, "currency": pi["currency"], "charge": ch["id"],
		"payment_intent": pi["id"], "status": status, "created": s.now().Unix(), "metadata": md, "reason": nil}
	if reason != "" {
		re["reason"] = reason
	}
	s.refunds = append(s.refunds, re)
	s.event("charge.refunded", ch)
	s.event("refund.created", re)
	return 200, re
}

// listRefunds answers GET /v1/refunds, newest first as Stripe lists,
// filtered by payment_intent or charge, with limit and starting_after.
func (s *Server) listRefunds(r *http.Request, _ url.Values) (int, any) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return invalid("This value must be greater than or equal to 1 and less than or equal to 100.", "limit")
		}
		limit = n
	}
	var all []any
	after := q.Get("starting_after")
	skipping := after != ""
	for i := len(s.refunds) - 1; i >= 0; i-- {
		re := s.refunds[i]
		if pi := q.Get("payment_intent"); pi != "" && re["payment_intent"] != pi {
			continue
		}
		if ch := q.Get("charge"); ch != "" && re["charge"] != ch {
			continue
		}
		if skipping {
			skipping = re["id"] != after
			continue
		}
		all = append(all, clone(re))
	}
	more := len(all) > limit
	if more {
		all = all[:limit]
	}
	if all == nil {
		all = []any{}
	}
	return 200, map[string]any{"object": "list", "url": "/v1/refunds", "has_more": more, "data": all}
}

func (s *Server) getRefund(r *http.Request, _ url.Values) (int, any) {
	for _, re := range s.refunds {
		if re["id"] == r.PathValue("id") {
			return 200, clone(re)
		}
	}
	return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such refund: '" + r.PathValue("id") + "'", "param": "id"}}
}

func (s *Server) getDispute(r *http.Request, _ url.Values) (int, any) {
	if dp, ok := s.disputes[r.PathValue("id")]; ok {
		return 200, clone(dp)
	}
	return 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such dispute: '" + r.PathValue("id") + "'", "param": "dispute"}}
}

// page is the local checkout page: the session's total with Pay and Decline.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, ok := s.sessions[r.PathValue("id")]
	var view map[string]any
	if ok {
		view = clone(sess)
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	id := html.EscapeString(r.PathValue("id"))
	total, _ := view["amount_total"].(float64)
	fmt.Fprintf(w, `<!doctype html><html><head><title>Local Stripe Checkout</title></head><body style="font-family:sans-serif;max-width:30em;margin:3em auto">
<h1>Local Stripe Checkout</h1><p>Session <code>%s</code> — %s</p><p><strong>%.2f %s</strong> (authorized now, captured later)</p>
<form method="post" action="/checkout/%s/pay"><button>Pay</button></form>
<form method="post" action="/checkout/%s/decline"><button>Decline</button></form></body></html>`,
		id, html.EscapeString(fmt.Sprint(view["status"])), total/100, strings.ToUpper(fmt.Sprint(view["currency"])), id, id)
}

// Pay completes a session as a customer paying with a card would: the
// PaymentIntent is created in requires_capture (manual capture) with a
// 7-day authorization, and checkout.session.completed is sent.
func (s *Server) Pay(sessionID string) (intentID string, err error) {
	s.mu.Lock()
	sess, ok := s.sessions[sessionID]
	if ok {
		s.lapseSession(sess)
	}
	switch {
	case !ok:
		s.mu.Unlock()
		return "", fmt.Errorf("no session %s", sessionID)
	case sess["status"] != "open":
		s.mu.Unlock()
		return "", fmt.Errorf("session %s is %s", sessionID, sess["status"])
	case s.declineNext:
		s.declineNext = false
		s.mu.Unlock()
		return "", fmt.Errorf("your card was declined")
	}
	now := s.now()
	total := sess["amount_total"].(int64)
	manual := sess["_capture_method"] == "manual"
	piID, chID := newID("pi"), newID("ch")
	status, capturable, received := "requires_capture", total, int64(0)
	if !manual {
		status, capturable, received = "succeeded", 0, total
	}
	s.charges[chID] = map[string]any{"id": chID, "object": "charge", "amount": total, "amount_captured": received, "amount_refunded": int64(0),
		"captured": !manual, "refunded": false, "currency": sess["currency"], "payment_intent": piID, "status": "succeeded",
		"payment_method_details": map[string]any{"type": "card", "card": map[string]any{"brand": "visa", "last4": "4242",
			"capture_before": now.Add(7 * 24 * time.Hour).Unix()}}}
	s.intents[piID] = map[string]any{"id": piID, "object": "payment_intent", "amount": total, "amount_capturable": capturable,
		"amount_received": received, "capture_method": map[bool]string{true: "manual", false: "automatic"}[manual], "currency": sess["currency"],
		"status": status, "latest_charge": chID, "metadata": sess["_intent_metadata"], "receipt_email": sess["_receipt_email"],
		"created": now.Unix(), "livemode": false}
	sess["status"], sess["payment_intent"] = "complete", piID
	sess["payment_status"] = map[bool]string{true: "unpaid", false: "paid"}[manual]
	s.event("checkout.session.completed", public(sess))
	s.mu.Unlock()
	s.deliver(true)
	return piID, nil
}

func (s *Server) act(w http.ResponseWriter, r *http.Request) {
	switch r.PathValue("action") {
	case "pay":
		if _, err := s.Pay(r.PathValue("id")); err != nil {
			http.Error(w, err.Error(), http.StatusPaymentRequired)
			return
		}
		s.mu.Lock()
		next := fmt.Sprint(s.sessions[r.PathValue("id")]["success_url"])
		s.mu.Unlock()
		http.Redirect(w, r, strings.ReplaceAll(next, "{CHECKOUT_SESSION_ID}", r.PathValue("id")), http.StatusSeeOther)
	case "decline":
		http.Error(w, "Your card was declined. (Local Stripe: nothing was authorized.)", http.StatusPaymentRequired)
	default:
		http.NotFound(w, r)
	}
}

// event records an event to deliver (under the lock).
func (s *Server) event(typ string, object map[string]any) {
	s.events = append(s.events, map[string]any{"id": newID("evt"), "object": "event", "api_version": APIVersion, "created": s.now().Unix(),
		"type": typ, "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": clone(object)},
		"_delivered": false})
}

// deliver POSTs every undelivered event, signed, to the endpoint, oldest
// first, each at most once per call; a failed delivery stays undelivered
// and is tried again later (Redeliver), as Stripe retries. One deliverer
// runs at a time: with wait false, a call that finds one running leaves
// the work to it.
func (s *Server) deliver(wait bool) {
	if wait {
		s.deliverMu.Lock()
	} else if !s.deliverMu.TryLock() {
		return
	}
	defer s.deliverMu.Unlock()
	tried := map[any]bool{}
	for {
		s.mu.Lock()
		endpoint := s.endpoint
		var pending []map[string]any
		for _, e := range s.events {
			if e["_delivered"] == false && !tried[e["id"]] {
				pending = append(pending, e)
			}
		}
		s.mu.Unlock()
		if endpoint == "" || len(pending) == 0 {
			return
		}
		for _, e := range pending {
			tried[e["id"]] = true
			s.mu.Lock()
			ev := public(e)
			s.mu.Unlock()
			if s.Send(endpoint, ev) == nil {
				s.mu.Lock()
				e["_delivered"] = true
				s.mu.Unlock()
			}
		}
	}
}

// Redeliver delivers every undelivered event now, waiting for a delivery
// already running.
func (s *Server) Redeliver() { s.deliver(true) }

// Sign returns the Stripe-Signature header for payload at time t.
func (s *Server) Sign(payload []byte, t time.Time) string {
	mac := hmac.New(sha256.New, []byte(s.WebhookSecret))
	fmt.Fprintf(mac, "%d.", t.Unix())
	mac.Write(payload)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

// Send POSTs one event, signed now, to endpoint; an error or a non-2xx
// answer is an error.
func (s *Server) Send(endpoint string, event map[string]any) error {
	b, _ := json.Marshal(event)
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", s.Sign(b, s.now()))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook endpoint answered %s", resp.Status)
	}
	return nil
}
