package lulu_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/fakefault"
	"github.com/readyplanner/oms/internal/fulfilment"
	"github.com/readyplanner/oms/internal/lulu"
	"github.com/readyplanner/oms/internal/lulu/lulufake"
)

func request(external string) fulfilment.PrintJobRequest {
	return fulfilment.PrintJobRequest{ExternalID: external, ContactEmail: "owner@example.com", ShippingLevel: "GROUND_HD",
		Address: fulfilment.PrintAddress{Name: "Ann Lee", Street1: "500 Congress Ave", City: "Austin", StateCode: "TX", PostCode: "78701",
			CountryCode: "US", Phone: "+1 512 555 0100", Email: "ann@example.com"},
		Lines: []fulfilment.PrintLine{{ExternalID: "PLN-DAY-A5-LINEN", Title: "Daily Planner", Quantity: 1, PodPackageID: "0583X0827FCSTDCW080CW444MXX",
			InteriorURL: "https://files.example.com/interior.pdf", CoverURL: "https://files.example.com/cover.pdf"}}}
}

func start(t *testing.T) (*lulufake.Server, *lulu.Client) {
	t.Helper()
	f, err := lulufake.Start("key-1", "secret-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, lulu.New(lulu.Options{BaseURL: f.URL, Key: "key-1", Secret: "secret-1", Backoff: time.Millisecond})
}

func TestJobsTokensAndRetries(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	job, err := c.CreateJob(ctx, request("K7Q2M9XH4TBA"))
	if err != nil || job.ID == "" || job.Status != fulfilment.JobCreated || job.ExternalID != "K7Q2M9XH4TBA" {
		t.Fatalf("create: %+v %v", job, err)
	}
	// The dotted package id form is accepted too.
	r := request("K7Q2M9XH4TBB")
	r.Lines[0].PodPackageID = "0583X0827.FC.STD.CW.080CW444.MXX"
	if _, err := c.CreateJob(ctx, r); err != nil {
		t.Errorf("dotted package id: %v", err)
	}
	// Found again by its external id, exactly: "K7Q2M9XH4TB" matches both in
	// Lulu's search, and neither exactly.
	if got, err := c.FindJob(ctx, "K7Q2M9XH4TBA"); err != nil || got == nil || got.ID != job.ID {
		t.Errorf("find: %+v %v", got, err)
	}
	if got, err := c.FindJob(ctx, "K7Q2M9XH4TB"); err != nil || got != nil {
		t.Errorf("a prefix found %+v %v", got, err)
	}
	// A revoked token: a new one, once, and the call goes through.
	f.ExpireTokens()
	if _, err := c.Job(ctx, job.ID); err != nil {
		t.Errorf("after the token expired: %v", err)
	}
	// 5xx and 429 are retried.
	f.FailNext(1)
	f.Fail429(1)
	if _, err := c.Job(ctx, job.ID); err != nil {
		t.Errorf("after a 500 and a 429: %v", err)
	}
	f.FailNext(10)
	if _, err := c.Job(ctx, job.ID); apperr.CodeOf(err) != apperr.Unavailable || apperr.As(err).ReasonOf() != lulu.ReasonUnavailable {
		t.Errorf("the printer down: %v", err)
	}
	f.FailNext(0)
	// Shipped: the tracking of the line item.
	if err := f.AdvanceTo(job.ID, fulfilment.JobShipped); err != nil {
		t.Fatal(err)
	}
	shipped, err := c.Job(ctx, job.ID)
	if err != nil || shipped.Status != fulfilment.JobShipped || shipped.TrackingNumber == "" || shipped.Carrier != "USPS" || !strings.HasPrefix(shipped.TrackingURL, "https://") {
		t.Errorf("shipped: %+v %v", shipped, err)
	}
	if _, err := c.CancelJob(ctx, job.ID); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Errorf("canceling a shipped job: %v", err)
	}
	other, _ := c.CreateJob(ctx, request("K7Q2M9XH4TBC"))
	if canceled, err := c.CancelJob(ctx, other.ID); err != nil || canceled.Status != fulfilment.JobCanceled {
		t.Errorf("cancel: %+v %v", canceled, err)
	}
}

// Creating is never sent twice: Lulu takes no idempotency key, so after a
// lost answer (the job made) or a 5xx the client answers UNAVAILABLE for
// the caller to find the job by its external id; a 429, refused before
// acting, is sent again.
func TestCreateIsNotSentTwice(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	f.Faults().Set(1, fakefault.Timeout) // carried out, the answer lost
	_, err := c.CreateJob(ctx, request("K7Q2M9XH4TBD"))
	f.Faults().Set(0)
	if apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("a lost answer: %v", err)
	}
	if n := len(f.Jobs()); n != 1 {
		t.Fatalf("%d jobs after one lost answer, want 1", n)
	}
	if got, err := c.FindJob(ctx, "K7Q2M9XH4TBD"); err != nil || got == nil {
		t.Errorf("the job made is found: %+v %v", got, err)
	}
	f.FailNext(1)
	if _, err := c.CreateJob(ctx, request("K7Q2M9XH4TBE")); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("a 500: %v", err)
	}
	f.Fail429(1)
	if _, err := c.CreateJob(ctx, request("K7Q2M9XH4TBE")); err != nil {
		t.Errorf("after a 429: %v", err)
	}
	if n := len(f.Jobs()); n != 2 {
		t.Errorf("%d jobs, want 2", n)
	}
}

// A job the printer refuses: FAILED_PRECONDITION with its own words, field
// by field.
func TestRefusedJob(t *testing.T) {
	_, c := start(t)
	r := request("K7Q2M9XH4TBD")
	r.Address.Phone = "call me"
	r.Address.StateCode = ""
	_, err := c.CreateJob(context.Background(), r)
	e := apperr.As(err)
	if e == nil || e.Code != apperr.FailedPrecondition || e.Reason != lulu.ReasonRefused ||
		!strings.Contains(e.Message, "shipping_address.phone_number: Enter a valid phone number.") || !strings.Contains(e.Message, "shipping_address.state_code") {
		t.Errorf("refused: %v", err)
	}
}

// Every signature case: hex (either case), base64 (either alphabet, padded
// or not); a wrong one, a missing one, a body changed after signing, no
// secret.
func TestWebhookSignatures(t *testing.T) {
	body := []byte(`{"topic":"PRINT_JOB_STATUS_CHANGED","data":{"id":100001,"external_id":"K7Q2M9XH4TBA","status":{"name":"SHIPPED"}}}`)
	sig := lulu.Sign(body, "secret-1")
	raw, _ := hex.DecodeString(sig)
	for name, s := range map[string]string{"hex": sig, "HEX": strings.ToUpper(sig), "base64": base64.StdEncoding.EncodeToString(raw),
		"base64 raw url": base64.RawURLEncoding.EncodeToString(raw)} {
		if err := lulu.VerifyWebhook(body, s, "secret-1"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	tampered := []byte(strings.Replace(string(body), "SHIPPED", "CANCELED", 1))
	for name, c := range map[string]struct {
		body        []byte
		sig, secret string
	}{"wrong key": {body, lulu.Sign(body, "other"), "secret-1"}, "missing": {body, "", "secret-1"}, "tampered": {tampered, sig, "secret-1"},
		"no secret": {body, sig, ""}, "garbage": {body, "zz", "secret-1"}} {
		if err := lulu.VerifyWebhook(c.body, c.sig, c.secret); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	d, err := lulu.ParseWebhook(body)
	if err != nil || d.JobID != "100001" || d.ExternalID != "K7Q2M9XH4TBA" || d.Status != "SHIPPED" {
		t.Errorf("parse: %+v %v", d, err)
	}
	if _, err := lulu.ParseWebhook([]byte(`{"topic":""}`)); err == nil {
		t.Error("an empty delivery parsed")
	}
}

// Subscribing (what cmd/printer-webhook does) makes the printer deliver
// every status change, signed, to the URL.
func TestSubscribe(t *testing.T) {
	f, c := start(t)
	got := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if lulu.VerifyWebhook(body, r.Header.Get(lulu.SignatureHeader), "secret-1") == nil {
			d, _ := lulu.ParseWebhook(body)
			got <- d.Status
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if id, err := c.Subscribe(ctx, srv.URL); err != nil || id == "" {
		t.Fatalf("subscribe: %q %v", id, err)
	}
	job, err := c.CreateJob(ctx, request("K7Q2M9XH4TBE"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Advance(job.ID); err != nil {
		t.Fatal(err)
	}
	// Deliveries are concurrent, as Lulu's may arrive out of order (the
	// receiver re-reads the job, so order does not matter): both arrive.
	var statuses []string
	for range 2 {
		select {
		case s := <-got:
			statuses = append(statuses, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("deliveries so far: %v", statuses)
		}
	}
	slices.Sort(statuses)
	if !slices.Equal(statuses, []string{"CREATED", "UNPAID"}) {
		t.Errorf("delivered %v", statuses)
	}
}

// Lulu answers a subscription with a UUID string id and refuses a second
// subscription of the same URL (400): subscribing again, as a second run of
// cmd/printer-webhook does, reuses the subscription; one Lulu deactivated
// after five failed deliveries in a row is activated again.
func TestSubscribeTwice(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	var failing atomic.Bool
	got := make(chan string, 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		d, _ := lulu.ParseWebhook(body)
		got <- d.Status
	}))
	defer srv.Close()
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	id, err := c.Subscribe(ctx, srv.URL)
	if err != nil || !uuid.MatchString(id) {
		t.Fatalf("subscribe: %q %v", id, err)
	}
	// The printer itself refuses the same URL twice, as Lulu does.
	token := func() string {
		req, _ := http.NewRequest("POST", f.URL+lulu.TokenPath, strings.NewReader("grant_type=client_credentials"))
		req.SetBasicAuth("key-1", "secret-1")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return v.AccessToken
	}()
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, f.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, ans := call("POST", "/webhooks/", `{"topics":["PRINT_JOB_STATUS_CHANGED"],"url":"`+srv.URL+`"}`); code != 400 {
		t.Errorf("the same URL subscribed twice at the printer: %d %s", code, ans)
	}
	subscriptions := func() []map[string]any {
		t.Helper()
		code, ans := call("GET", "/webhooks/", "")
		var page struct{ Results []map[string]any }
		if err := json.Unmarshal([]byte(ans), &page); code != 200 || err != nil {
			t.Fatalf("GET /webhooks/: %d %s", code, ans)
		}
		return page.Results
	}
	// A second run reuses it.
	if again, err := c.Subscribe(ctx, srv.URL); err != nil || again != id {
		t.Errorf("subscribing again: %q %v, want %q", again, err, id)
	}
	if subs := subscriptions(); len(subs) != 1 || subs[0]["id"] != id || subs[0]["is_active"] != true {
		t.Errorf("subscriptions %v", subs)
	}
	// Five failed deliveries in a row deactivate it; subscribing again
	// activates it, and deliveries arrive again.
	failing.Store(true)
	job, err := c.CreateJob(ctx, request("K7Q2M9XH4TBF"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for subs := subscriptions(); len(subs) != 1 || subs[0]["is_active"] != false; subs = subscriptions() {
		if time.Now().After(deadline) {
			t.Fatalf("not deactivated after failed deliveries: %v", subs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	failing.Store(false)
	if again, err := c.Subscribe(ctx, srv.URL); err != nil || again != id {
		t.Errorf("subscribing a deactivated URL again: %q %v, want %q", again, err, id)
	}
	if subs := subscriptions(); len(subs) != 1 || subs[0]["is_active"] != true {
		t.Errorf("after subscribing again: %v", subs)
	}
	if _, err := f.Advance(job.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Error("no delivery after the subscription was activated again")
	}
}

// The statuses a job passes through on its way to production, as Lulu's
// table of transitions has them: UNPAID and PRODUCTION_DELAYED can be
// canceled, PAYMENT_IN_PROGRESS cannot; an account without a payment
// method leaves its jobs UNPAID.
func TestPaymentStatuses(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	var path []string
	job, _ := c.CreateJob(ctx, request("K7Q2M9XH4TBG"))
	for {
		st, err := f.Advance(job.ID)
		if err != nil {
			t.Fatal(err)
		}
		path = append(path, st)
		if st == fulfilment.JobProductionReady {
			break
		}
	}
	if want := []string{"UNPAID", "PAYMENT_IN_PROGRESS", "PRODUCTION_DELAYED", "PRODUCTION_READY"}; !slices.Equal(path, want) {
		t.Errorf("the way to production: %v, want %v", path, want)
	}
	for _, c2 := range []struct {
		status string
		cancel bool
	}{{"UNPAID", true}, {"PAYMENT_IN_PROGRESS", false}, {"PRODUCTION_DELAYED", true}, {"PRODUCTION_READY", false}} {
		j, _ := c.CreateJob(ctx, request("K7Q2M9XH4TBH"))
		if err := f.AdvanceTo(j.ID, c2.status); err != nil {
			t.Fatal(err)
		}
		_, err := c.CancelJob(ctx, j.ID)
		if got := err == nil; got != c2.cancel {
			t.Errorf("canceling a job %s: %v", c2.status, err)
		}
	}
	f.NoPaymentMethod(true)
	unpaid, _ := c.CreateJob(ctx, request("K7Q2M9XH4TBJ"))
	if err := f.AdvanceTo(unpaid.ID, fulfilment.JobProductionReady); err == nil || f.Jobs()[unpaid.ID] != fulfilment.JobUnpaid {
		t.Errorf("without a payment method: %v, %s", err, f.Jobs()[unpaid.ID])
	}
}
