package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/devhost"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/fakefault"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
	"google.golang.org/api/iterator"
)

// hostEnv, set to a services file, makes this test binary the functions
// host attached to those services (the process the suite kills).
const hostEnv = "OMS_RELIABILITY_HOST"

// OMS_RELIABILITY_ORDERS and OMS_RELIABILITY_KILLS size the run (make
// soak: 100 orders, 10 kills).
const (
	defaultOrders = 12
	defaultKills  = 2
)

func TestMain(m *testing.M) {
	if file := os.Getenv(hostEnv); file != "" {
		os.Exit(runHost(file))
	}
	os.Exit(testenv.Run(m))
}

// runHost is the functions host's process: attached to the services in
// file until SIGTERM (or SIGKILL, which is the point).
func runHost(file string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := devhost.ReadServices(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h, err := devhost.Attach(ctx, s, devhost.AttachOptions{Logs: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "attach:", err)
		return 1
	}
	<-ctx.Done()
	_ = h.Stop()
	return 0
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}

// The suite's catalog: the seeded store's planner (print on demand) and
// stock lines; the sticker pack is scarce (3 units), so that checkouts
// race for it and some are refused.
const (
	printSKU  = "PLN-DAY-A5-LINEN"
	parcelSKU = "BND-BLACK"
	scarceSKU = "STK-PACK-120"
)

// plan is one order's story.
type plan struct {
	n      int
	path   string // print, parcel, mixed
	refund string // none, partial, full
	scarce bool   // also asks for a scarce unit
}

func (p plan) want() order.State {
	if p.refund == "full" {
		return order.Refunded
	}
	return order.Shipped
}

// result is what happened to one order.
type result struct {
	plan
	id, email     string
	total         int64
	refunded      int64
	refunds       int
	refusedScarce bool // the scarce unit was sold out: bought without it
	gotScarce     bool
	err           error
}

type suite struct {
	t      *testing.T
	h      *devhost.Host
	host   *hostProc
	owner  string // the owner's ID token
	client *http.Client
	sweeps atomic.Int64 // the scheduler's sweeps while the orders ran
}

func TestReliability(t *testing.T) {
	orders, kills := envInt(t, "OMS_RELIABILITY_ORDERS", defaultOrders), envInt(t, "OMS_RELIABILITY_KILLS", defaultKills)
	if orders == 0 {
		t.Skip("OMS_RELIABILITY_ORDERS=0")
	}
	ctx := context.Background()
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		t.Fatal(err)
	}
	// OMS_RELIABILITY_LOGS keeps the services' and the host's logs there.
	dir := os.Getenv("OMS_RELIABILITY_LOGS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logs, err := os.Create(dir + "/services.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	// The sweeper re-drives an order whose step a kill cut short (a claim
	// its runner died holding) once it has waited a minute, the least
	// OMS_REDRIVE_AFTER allows; the suite stands in for Cloud Scheduler and
	// sweeps every 20 s while the orders run.
	t.Setenv("OMS_REDRIVE_AFTER", "1m")
	h, err := devhost.Start(ctx, devhost.Options{AuthHost: testenv.AuthHost(t), Rules: rules, Detached: true, Logs: logs})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	if h.Stripe == nil || h.QuickBooks == nil || h.Printer == nil || h.ShipEngine == nil || h.Mailpit == nil {
		t.Fatal("every local fake must run (unset STRIPE_SECRET_KEY, QUICKBOOKS_CLIENT_ID, LULU_CLIENT_KEY, SHIPENGINE_API_KEY, SMTP_URL)")
	}
	file := dir + "/services.json"
	if err := h.WriteServices(file); err != nil {
		t.Fatal(err)
	}
	host := &hostProc{t: t, file: file, url: h.URL, logPath: dir + "/host.log"}
	if err := host.start(); err != nil {
		t.Fatal(err)
	}
	defer host.stop()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(host.logPath)
			t.Logf("the functions host's log (last 8 kB):\n%s", tail(b, 8<<10))
		}
	})
	boss, err := emulator.SignInAs(ctx, h.AuthHost, testenv.ID("owner"), map[string]any{"admin": true})
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{t: t, h: h, host: host, owner: boss.IDToken, client: &http.Client{Timeout: 60 * time.Second}}

	// Enough of the parcel's SKU for every order (the owner's adjustment,
	// in the ledger like any change); the scarce one stays scarce.
	if err := s.call(ctx, s.owner, "adjustStock", map[string]any{"requestId": testenv.ID("stock"), "sku": parcelSKU, "delta": orders, "reason": "restock"}, nil); err != nil {
		t.Fatalf("adjustStock: %v", err)
	}

	// The faults: every fake fails some API calls, every event and webhook
	// arrives twice, webhooks out of order.
	const rate = 0.12
	h.Stripe.Faults().Set(rate, fakefault.ServerError, fakefault.Throttled, fakefault.Timeout)
	h.QuickBooks.Faults().Set(rate, fakefault.ServerError, fakefault.Throttled, fakefault.Timeout, fakefault.ExpiredToken)
	// QuickBooks' 429 stops every call to the company for a minute (its
	// throttle is per company): a few in a long run, none in a short one.
	h.QuickBooks.Faults().Limit(fakefault.Throttled, orders/40)
	h.Printer.Faults().Set(rate, fakefault.ServerError, fakefault.Throttled, fakefault.Timeout, fakefault.ExpiredToken)
	h.ShipEngine.Faults().Set(rate, fakefault.ServerError, fakefault.Throttled, fakefault.Timeout)
	h.Relay.SetFaults(devhost.RelayFaults{DuplicateEvents: true, DuplicateWebhooks: true, Reorder: 500 * time.Millisecond})

	began := time.Now()
	plans := make([]plan, orders)
	paths, refunds := []string{"print", "parcel", "mixed"}, []string{"none", "partial", "full"}
	for i := range plans {
		plans[i] = plan{n: i, path: paths[i%3], refund: refunds[(i/3)%3], scarce: i%4 == 1}
	}
	results := make([]*result, orders)
	var wg sync.WaitGroup
	work := make(chan int)
	workers := min(orders, 6)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = s.run(ctx, plans[i])
			}
		}()
	}
	// The killer: SIGKILL at random moments while the orders run.
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for k := 0; k < kills; k++ {
			time.Sleep(time.Duration(2000+rand.N(4000)) * time.Millisecond)
			if err := host.killAndRestart(); err != nil {
				t.Errorf("restart after kill %d: %v", k+1, err)
				return
			}
		}
	}()
	scheduler := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-scheduler:
				return
			case <-t.C:
				_ = s.sweep(ctx) // while the host is down, the next one
				s.sweeps.Add(1)
			}
		}
	}()
	for i := range plans {
		work <- i
	}
	close(work)
	wg.Wait()
	<-killed
	close(scheduler)
	drove := time.Since(began)
	t.Logf("%d orders driven in %s; the relay has %d deliveries in flight", orders, drove.Round(time.Millisecond), h.Relay.Pending())

	// Then the faults stop, what is in flight lands, and the sweeper runs.
	h.Stripe.Faults().Set(0)
	h.QuickBooks.Faults().Set(0)
	h.Printer.Faults().Set(0)
	h.ShipEngine.Faults().Set(0)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := h.Relay.WaitIdle(wctx); err != nil {
		t.Errorf("the relay still has %d deliveries after 3 minutes:\n%s", h.Relay.Pending(), strings.Join(h.Relay.InFlight(), "\n"))
	}
	if err := s.sweep(ctx); err != nil {
		t.Errorf("sweep: %v", err)
	}
	_ = h.Relay.WaitIdle(wctx)
	s.settle(ctx, results)

	r := &Report{}
	e := s.check(ctx, results, r)
	s.table(r, results, e, drove)
	var out bytes.Buffer
	r.Print(&out)
	fmt.Print("\n" + out.String())
	if len(r.Discrepancies) > 0 {
		t.Errorf("%d discrepancies (the table above lists them)", len(r.Discrepancies))
	}
}

// run drives one order through its story, as the customer, the owner and
// the outside world do.
func (s *suite) run(ctx context.Context, p plan) *result {
	r := &result{plan: p, email: strings.ToLower(testenv.ID(fmt.Sprintf("buyer%d", p.n))) + "@example.com"}
	r.err = s.story(ctx, r)
	return r
}

func (s *suite) story(ctx context.Context, r *result) error {
	u, err := emulator.SignInAnonymously(ctx, s.h.AuthHost)
	if err != nil {
		return err
	}
	items := map[string]int64{}
	if r.path != "parcel" {
		items[printSKU] = 1
	}
	if r.path != "print" {
		items[parcelSKU] = 1
		if r.scarce {
			items[scarceSKU] = 1
		}
	}
	if err := s.writeCart(ctx, u, items); err != nil {
		return err
	}
	var started storefront.StartCheckoutAnswer
	err = s.call(ctx, u.IDToken, "startCheckout", map[string]any{}, &started)
	var ce *callError
	if errors.As(err, &ce) && ce.Reason == "out_of_stock" && items[scarceSKU] > 0 {
		r.refusedScarce = true // sold out: the customer takes it out of the cart and checks out again
		delete(items, scarceSKU)
		if err := s.writeCart(ctx, u, items); err != nil {
			return err
		}
		err = s.call(ctx, u.IDToken, "startCheckout", map[string]any{}, &started)
	}
	if err != nil {
		return fmt.Errorf("startCheckout: %w", err)
	}
	r.id, r.gotScarce = started.OrderID, items[scarceSKU] > 0
	if err := s.call(ctx, u.IDToken, "applyCustomer", map[string]any{"orderId": r.id, "name": "Ann Lee", "email": r.email}, nil); err != nil {
		return fmt.Errorf("applyCustomer: %w", err)
	}
	var quote storefront.QuoteShippingAnswer
	if err := s.call(ctx, u.IDToken, "quoteShipping", map[string]any{"orderId": r.id, "address": map[string]any{"name": "Ann Lee",
		"addressLine1": "500 congress avenue", "cityLocality": "Austin", "stateProvince": "TX", "postalCode": "78701", "countryCode": "US",
		"phone": "512 555 0100"}}, &quote); err != nil {
		return fmt.Errorf("quoteShipping: %w", err)
	}
	if len(quote.Rates) == 0 {
		return fmt.Errorf("quoteShipping: no rates: %+v", quote)
	}
	if err := s.call(ctx, u.IDToken, "selectShipping", map[string]any{"orderId": r.id, "rateId": quote.Rates[0].RateID, "useVerifiedAddress": quote.Differs}, nil); err != nil {
		return fmt.Errorf("selectShipping: %w", err)
	}
	var sess storefront.CreatePaymentSessionAnswer
	if err := s.call(ctx, u.IDToken, "createPaymentSession", map[string]any{"orderId": r.id}, &sess); err != nil {
		return fmt.Errorf("createPaymentSession: %w", err)
	}
	r.total = sess.Total
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Post(sess.URL+"/pay", "application/x-www-form-urlencoded", nil)
	if err != nil {
		return fmt.Errorf("pay: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("pay: %s", resp.Status)
	}

	// The owner records the invoice's payment in QuickBooks.
	o, err := s.waitFor(ctx, r.id, "the invoice", func(o *order.Order) bool { return o.Invoice != nil && o.Invoice.ID != "" })
	if err != nil {
		return err
	}
	if err := s.h.QuickBooks.MarkPaid(o.Invoice.ID); err != nil {
		return fmt.Errorf("mark paid: %w", err)
	}
	if _, err := s.waitFor(ctx, r.id, "fulfilling", func(o *order.Order) bool { return atLeast(o.State(), order.Fulfilling) }); err != nil {
		return err
	}
	// The printer ships the print part; the owner buys the parcel's label
	// and the carrier's first scan ships it.
	if r.path != "parcel" {
		o, err := s.waitFor(ctx, r.id, "the print job", func(o *order.Order) bool { p := o.Part(order.PartPrint); return p != nil && p.JobID != "" })
		if err != nil {
			return err
		}
		if err := s.h.Printer.Ship(o.Part(order.PartPrint).JobID, "USPS", "9400"+strconv.Itoa(100000+r.n), "https://tools.usps.com/"); err != nil {
			return fmt.Errorf("printer ships: %w", err)
		}
	}
	if r.path != "print" {
		var bought storefront.LabelAnswer
		if err := s.call(ctx, s.owner, "buyLabel", map[string]any{"requestId": "label-" + r.id, "orderId": r.id}, &bought); err != nil {
			return fmt.Errorf("buyLabel: %w", err)
		}
		if bought.Label == nil {
			return fmt.Errorf("buyLabel: no label: %+v", bought)
		}
		if err := s.h.ShipEngine.Track(bought.Label.LabelID, "accepted"); err != nil {
			return fmt.Errorf("the carrier's scan: %w", err)
		}
	}
	if _, err := s.waitFor(ctx, r.id, "shipped", func(o *order.Order) bool { return o.State() == order.Shipped }); err != nil {
		return err
	}
	switch r.refund {
	case "partial":
		r.refunded, r.refunds = r.total/4, 1
		if err := s.call(ctx, s.owner, "refundOrder", map[string]any{"requestId": "refund-" + r.id, "orderId": r.id, "amount": r.refunded, "reason": "a scuffed cover"}, nil); err != nil {
			return fmt.Errorf("refundOrder: %w", err)
		}
	case "full":
		r.refunded, r.refunds = r.total, 1
		if err := s.call(ctx, s.owner, "refundOrder", map[string]any{"requestId": "refund-" + r.id, "orderId": r.id, "full": true, "reason": "never arrived"}, nil); err != nil {
			return fmt.Errorf("refundOrder: %w", err)
		}
	}
	return nil
}

func atLeast(s, than order.State) bool {
	rank := map[order.State]int{order.Pending: 0, order.Authorized: 1, order.Invoiced: 2, order.Approved: 3, order.Paid: 4,
		order.Fulfilling: 5, order.Shipped: 6, order.Refunded: 7}
	a, ok := rank[s]
	return ok && a >= rank[than]
}

// waitFor polls the order until cond holds (up to 5 minutes: kills, the
// relay's retries and QuickBooks' throttled minutes in between).
func (s *suite) waitFor(ctx context.Context, id, what string, cond func(*order.Order) bool) (*order.Order, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		o, err := s.h.App.Orders.Get(ctx, id)
		if err == nil && cond(o) {
			return o, nil
		}
		if time.Now().After(deadline) {
			st := "?"
			if o != nil {
				st = string(o.State())
			}
			return o, fmt.Errorf("order %s: %s not reached within 5 minutes (state %s, err %v)", id, what, st, err)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// settle waits until every order has done all its work (or 2 minutes).
func (s *suite) settle(ctx context.Context, results []*result) {
	deadline := time.Now().Add(2 * time.Minute)
	for _, r := range results {
		if r.id == "" {
			continue
		}
		for time.Now().Before(deadline) {
			o, err := s.h.App.Orders.Get(ctx, r.id)
			if err == nil && o.State() == r.want() && !o.WorkDue() && (r.refunded == 0 || o.Payment.AmountRefunded == r.refunded) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The last emails: the outbox drained. (An attempt a kill cut short
	// stays PROCESSING until its lease, 10 minutes, runs out; the sweeper
	// then ends it "delivery unknown": check counts those apart.)
	deadline = time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		n, err := s.h.App.Firestore.Collection(firestoredb.MailCollection).Where("delivery.state", "in", []string{"PENDING", "RETRY"}).Documents(ctx).GetAll()
		if err == nil && len(n) == 0 {
			return
		}
		time.Sleep(5 * time.Second)
		_ = s.sweep(ctx)
	}
}

func (s *suite) sweep(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, "POST", s.h.URL+"/sweep", nil)
		resp, err := s.client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, b)
		}
		if attempt == 5 {
			return err
		}
		time.Sleep(time.Second)
	}
}

// callError is a callable's refusal.
type callError struct {
	Status, Reason, Message string
}

func (e *callError) Error() string { return e.Status + " " + e.Reason + ": " + e.Message }

// call calls a callable as the storefront or the console does, and again
// (the same request) while the host is down or answers that it could not
// finish: a killed host, a fake that failed.
func (s *suite) call(ctx context.Context, token, name string, data, out any) error {
	body, _ := json.Marshal(map[string]any{"data": data})
	began := time.Now()
	for attempt := 0; ; attempt++ {
		err := s.callOnce(ctx, token, name, body, out)
		var ce *callError
		if err == nil || errors.As(err, &ce) && !retryable(ce.Status) {
			return err
		}
		if time.Since(began) > 2*time.Minute {
			return fmt.Errorf("%s: still failing after 2 minutes: %w", name, err)
		}
		time.Sleep(time.Duration(200+rand.N(300*min(attempt+1, 6))) * time.Millisecond)
	}
}

func retryable(status string) bool {
	switch status {
	case "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED", "RESOURCE_EXHAUSTED", "HTTP":
		return true
	}
	return false
}

func (s *suite) callOnce(ctx context.Context, token, name string, body []byte, out any) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", s.h.URL+"/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var answer struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Status  string         `json:"status"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &answer); err != nil {
		return &callError{Status: "HTTP", Message: fmt.Sprintf("%s: %s", resp.Status, tail(b, 300))}
	}
	if answer.Error != nil {
		reason, _ := answer.Error.Details["reason"].(string)
		return &callError{Status: answer.Error.Status, Reason: reason, Message: answer.Error.Message}
	}
	if out != nil {
		return json.Unmarshal(answer.Result, out)
	}
	return nil
}

// writeCart writes the customer's cart through the Firestore emulator's
// REST API with the customer's token, under the security rules.
func (s *suite) writeCart(ctx context.Context, u emulator.User, items map[string]int64) error {
	var values []any
	for sku, n := range items {
		values = append(values, map[string]any{"mapValue": map[string]any{"fields": map[string]any{
			"sku": map[string]any{"stringValue": sku}, "quantity": map[string]any{"integerValue": strconv.FormatInt(n, 10)}}}})
	}
	root := "projects/" + s.h.Project + "/databases/(default)/documents"
	body, _ := json.Marshal(map[string]any{"writes": []any{map[string]any{
		"update":           map[string]any{"name": root + "/carts/" + u.UID, "fields": map[string]any{"items": map[string]any{"arrayValue": map[string]any{"values": values}}}},
		"updateTransforms": []any{map[string]any{"fieldPath": "updatedAt", "setToServerValue": "REQUEST_TIME"}},
	}}})
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+s.h.Firestore.Host+"/v1/"+root+":commit", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.IDToken)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("the cart: %s %s", resp.Status, b)
	}
	return nil
}

// hostProc is the functions host: a real process, started, killed with
// SIGKILL and started again against the same services.
type hostProc struct {
	t       *testing.T
	file    string
	url     string
	logPath string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	kills   int
	starts  int
}

func (p *hostProc) start() error {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), hostEnv+"="+p.file)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.starts++
	p.mu.Unlock()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-done:
			return fmt.Errorf("the functions host exited: %s", cmd.ProcessState)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("the functions host did not answer within 90 s")
}

// killAndRestart kills the host with SIGKILL, leaves it dead a moment
// (events and webhooks keep arriving at the relay), and starts it again.
func (p *hostProc) killAndRestart() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.kills++
	p.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-done
	time.Sleep(time.Duration(300+rand.N(1200)) * time.Millisecond)
	return p.start()
}

func (p *hostProc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// docs reads every document of a collection.
func docs(ctx context.Context, s *suite, collection string) ([]map[string]any, error) {
	it := s.h.App.Firestore.Collection(collection).Documents(ctx)
	defer it.Stop()
	var out []map[string]any
	for {
		d, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		m := d.Data()
		m["_id"] = d.Ref.ID
		out = append(out, m)
	}
}
