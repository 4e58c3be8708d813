package devhost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/functions"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
	"github.com/readyplanner/oms/internal/usage"
	"github.com/readyplanner/oms/internal/webhook"
	"google.golang.org/api/option"
)

// counted is a local system whose App's Firestore client and functions
// are counted (internal/usage), with a Firestore client of the
// benchmark's own that is not: what the benchmark reads to follow its
// orders costs the host nothing.
type counted struct {
	*Host
	count *usage.Counter
	plain *firestore.Client
	seen  *firestoredb.Orders // orders read through plain
	boss  emulator.User       // the owner
	// callHook, if set, makes checkout's calls (BenchmarkCallableOverhead
	// measures each).
	callHook func(token, name string, data, out any)
	// foreign counts the deliveries of a webhook event to a trigger of
	// another source (0 since each source's records have a path of their
	// own; counted so that a regression shows).
	foreign *foreignEvents
}

// foreignEvents counts, by function, the webhook events delivered to a
// trigger that handles another source's events: each source's records
// live at a path of their own (firestoredb.WebhookEventsPath), so none
// should be.
type foreignEvents struct {
	mu sync.Mutex
	n  map[string]int64
}

// sources is the source each webhook event trigger handles.
var sources = map[string]webhook.Source{"onQuickBooksEvent": webhook.QuickBooks, "onPrinterEvent": webhook.Printer, "onShipEngineEvent": webhook.ShipEngine}

func (f *foreignEvents) wrap(name func(string) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn := name(r.URL.Path)
		if src, ok := sources[fn]; ok && !strings.HasPrefix(r.Header.Get("Ce-Subject"), "documents/"+firestoredb.WebhookEventsPath(src)+"/") {
			f.mu.Lock()
			f.n[fn]++
			f.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// take answers the counts and starts again.
func (f *foreignEvents) take() (total int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.n {
		total += n
	}
	f.n = map[string]int64{}
	return total
}

// functionNames maps each path the host serves to the function it
// invokes (the owner console's pages under its prefix).
func functionNames(project, region string) func(string) string {
	names := map[string]string{}
	var prefixes []string
	for _, f := range functions.List {
		names["/"+f.Name] = f.Name
		if f.Kind == functions.Trigger {
			names[emulator.TriggerURLPath(project, f.Name)] = f.Name
			continue
		}
		names["/"+project+"/"+region+"/"+f.Name] = f.Name
		if f.Subpaths {
			prefixes = append(prefixes, "/"+f.Name+"/", "/"+project+"/"+region+"/"+f.Name+"/")
		}
	}
	return func(path string) string {
		if n, ok := names[path]; ok {
			return n
		}
		for _, p := range prefixes {
			if strings.HasPrefix(path, p) {
				return names[strings.TrimSuffix(p, "/")]
			}
		}
		return ""
	}
}

// kinds maps each function to its kind.
func kinds() map[string]functions.Kind {
	k := map[string]functions.Kind{}
	for _, f := range functions.List {
		k[f.Name] = f.Kind
	}
	return k
}

// startCounted starts the seeded local system with counting; record keeps
// each invocation's Firestore calls (BenchmarkCallableOverhead replays
// them). The time of outgoing HTTP requests made on an invocation's
// context — the outside services: the local Stripe, ShipEngine,
// QuickBooks and printer, and Firebase Auth's revocation check of the
// owner's callables (the Auth emulator) — is measured by wrapping
// http.DefaultTransport, which every outside client of the App uses, for
// the benchmark's duration.
func startCounted(tb testing.TB, record bool) *counted {
	tb.Helper()
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		tb.Fatal(err)
	}
	authHost := testenv.AuthHost(tb)
	c := usage.New(functionNames("demo-oms", "us-central1"))
	c.Record = record
	c.Outside = func(*http.Request) bool { return true }
	orig := http.DefaultTransport
	http.DefaultTransport = c.Transport(orig)
	tb.Cleanup(func() { http.DefaultTransport = orig })
	logs := &problems{}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("the functions' warnings and errors:\n%s", logs.String())
		}
	})
	foreign := &foreignEvents{n: map[string]int64{}}
	h, err := Start(context.Background(), Options{Rules: rules, AuthHost: authHost, Logs: logs,
		Middleware: func(next http.Handler) http.Handler { return foreign.wrap(c.Name, c.Middleware(next)) },
		Firestore: func(ctx context.Context, host, project string) (*firestore.Client, error) {
			conn, err := testenv.DialFirestore(host, c.DialOptions()...)
			if err != nil {
				return nil, err
			}
			return firestore.NewClient(ctx, project, option.WithGRPCConn(conn))
		}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Stop() })
	conn, err := testenv.DialFirestore(h.Firestore.Host)
	if err != nil {
		tb.Fatal(err)
	}
	plain, err := firestore.NewClient(context.Background(), h.Project, option.WithGRPCConn(conn))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { plain.Close() })
	boss, err := emulator.SignInAs(context.Background(), h.AuthHost, testenv.ID("owner"), map[string]any{"admin": true})
	if err != nil {
		tb.Fatal(err)
	}
	return &counted{Host: h, count: c, plain: plain, seen: firestoredb.NewOrders(plain, time.Now), boss: boss, foreign: foreign}
}

// problems keeps the functions' log lines at warn level and above (the
// last 200).
type problems struct {
	mu    sync.Mutex
	lines []string
}

func (p *problems) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Contains(l, `"level":"warn"`) || strings.Contains(l, `"level":"error"`) {
			p.mu.Lock()
			p.lines = append(p.lines, l)
			if len(p.lines) > 200 {
				p.lines = p.lines[1:]
			}
			p.mu.Unlock()
		}
	}
	return len(b), nil
}

func (p *problems) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// call calls a callable over HTTP as the storefront's SDK does and decodes
// its result into out (nil: ignored); a failure is answered as an error.
func (h *counted) call(token, name string, data, out any) error {
	if hook := h.callHook; hook != nil {
		h.callHook = nil
		defer func() { h.callHook = hook }()
		hook(token, name, data, out)
		return nil
	}
	body, _ := json.Marshal(map[string]any{"data": data})
	req, _ := http.NewRequest("POST", h.URL+"/"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", name, resp.StatusCode, b)
	}
	var ans struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return fmt.Errorf("%s: %w (%s)", name, err, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(ans.Result, out)
}

// waitFor follows order id (a listener on the benchmark's own client)
// until cond holds, for up to 2 minutes (a loaded machine).
func (h *counted) waitFor(id, what string, cond func(*order.Order) bool) (*order.Order, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	it := h.plain.Collection("orders").Doc(id).Snapshots(ctx)
	defer it.Stop()
	var o *order.Order
	for {
		if _, err := it.Next(); err != nil {
			if o != nil {
				return nil, fmt.Errorf("order %s: not %s but %s (work %+v, attention %+v): %w", id, what, o.State(), o.Work, o.Attention, err)
			}
			return nil, fmt.Errorf("order %s: not %s: %w", id, what, err)
		}
		var err error
		if o, err = h.seen.Get(ctx, id); err == nil && cond(o) {
			return o, nil
		}
	}
}

func (h *counted) waitState(id string, s order.State) (*order.Order, error) {
	return h.waitFor(id, string(s), func(o *order.Order) bool { return o.State() == s })
}

// quiet waits until no function has been invoked for 700 ms: the last
// step's triggers (and the triggers of their writes) have all run.
func (h *counted) quiet() {
	last, since := int64(-1), time.Now()
	for time.Since(since) < 700*time.Millisecond {
		time.Sleep(50 * time.Millisecond)
		if n := h.count.Snapshot().Invocations() + h.count.InFlight(); n != last {
			last, since = n, time.Now()
		}
	}
}

// A path is what one order holds and what happens to it.
type path struct {
	name   string
	items  map[string]int64
	refund bool // the owner refunds the whole order once it is delivered
}

var paths = []path{
	{name: "print only", items: map[string]int64{"PLN-DAY-A5-LINEN": 1}},
	{name: "parcel only", items: map[string]int64{"PEN-SET-6": 1}},
	{name: "mixed", items: map[string]int64{"PLN-DAY-A5-LINEN": 1, "PEN-SET-6": 1}},
	{name: "mixed, refunded", items: map[string]int64{"PLN-DAY-A5-LINEN": 1, "PEN-SET-6": 1}, refund: true},
}

// marks are when the benchmark, as the owner, carrier or printer, acted
// on an order.
type marks struct {
	recorded, scanned, printed time.Time // payment recorded in QuickBooks; the parcel's first scan; the printer's SHIPPED
	parcelShipped              time.Time // when the benchmark saw the parcel part shipped
}

// checkout takes a new customer from the cart to a payment session, as the
// storefront does: the cart written under the rules' owner, then
// startCheckout, applyCustomer, quoteShipping, selectShipping and
// createPaymentSession. It answers the order and the session's URL.
func (h *counted) checkout(items map[string]int64) (id, payURL string, err error) {
	ctx := context.Background()
	u, err := emulator.SignInAnonymously(ctx, h.AuthHost)
	if err != nil {
		return "", "", err
	}
	var lines []any
	for sku, n := range items {
		lines = append(lines, map[string]any{"sku": sku, "quantity": n})
	}
	if _, err := h.plain.Collection("carts").Doc(u.UID).Set(ctx, map[string]any{"items": lines, "updatedAt": firestore.ServerTimestamp}); err != nil {
		return "", "", err
	}
	var started storefront.StartCheckoutAnswer
	if err := h.call(u.IDToken, "startCheckout", map[string]any{}, &started); err != nil {
		return "", "", err
	}
	id = started.OrderID
	email := strings.ToLower(testenv.ID("buyer")) + "@example.com"
	if err := h.call(u.IDToken, "applyCustomer", map[string]any{"orderId": id, "name": "Ann Lee", "email": email}, nil); err != nil {
		return "", "", err
	}
	var quote storefront.QuoteShippingAnswer
	if err := h.call(u.IDToken, "quoteShipping", map[string]any{"orderId": id, "address": map[string]any{"name": "Ann Lee",
		"addressLine1": "500 congress avenue", "cityLocality": "Austin", "stateProvince": "TX", "postalCode": "78701", "countryCode": "US",
		"phone": "512 555 0100"}}, &quote); err != nil {
		return "", "", err
	}
	if len(quote.Rates) == 0 {
		return "", "", fmt.Errorf("quoteShipping: no rates: %+v", quote)
	}
	if err := h.call(u.IDToken, "selectShipping", map[string]any{"orderId": id, "rateId": quote.Rates[0].RateID, "useVerifiedAddress": quote.Differs}, nil); err != nil {
		return "", "", err
	}
	var sess storefront.CreatePaymentSessionAnswer
	if err := h.call(u.IDToken, "createPaymentSession", map[string]any{"orderId": id}, &sess); err != nil {
		return "", "", err
	}
	return id, sess.URL, nil
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// pay pays on the local Stripe's page (its signed webhook authorizes the
// order).
func pay(payURL string) error {
	resp, err := noRedirect.Post(payURL+"/pay", "application/x-www-form-urlencoded", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("pay: %d", resp.StatusCode)
	}
	return nil
}

// fulfil takes an authorized order to shipped, acting as soon as the
// order lets it: the owner records the invoice paid in QuickBooks, buys
// the parcel's label (buyLabel) and the carrier scans it; the printer
// makes and ships the print job. With deliver, both parts are then
// delivered too. It answers the shipped order and when it acted.
func (h *counted) fulfil(id string, deliver bool) (*order.Order, marks, error) {
	var m marks
	o, err := h.waitState(id, order.Invoiced)
	if err != nil {
		return nil, m, err
	}
	m.recorded = time.Now()
	if err := h.recordPayment(o); err != nil {
		return nil, m, err
	}
	if o, err = h.waitState(id, order.Fulfilling); err != nil {
		return nil, m, err
	}
	var label string
	if o.Part(order.PartParcel) != nil {
		var bought storefront.LabelAnswer
		if err := h.call(h.boss.IDToken, "buyLabel", map[string]any{"requestId": "label-" + id, "orderId": id}, &bought); err != nil {
			return nil, m, err
		}
		label = bought.Label.LabelID
		m.scanned = time.Now()
		if err := h.ShipEngine.Track(label, "accepted"); err != nil {
			return nil, m, err
		}
		if _, err := h.waitFor(id, "parcel shipped", func(o *order.Order) bool { return !o.Part(order.PartParcel).ShippedAt.IsZero() }); err != nil {
			return nil, m, err
		}
		m.parcelShipped = time.Now()
	}
	var job string
	if o.Part(order.PartPrint) != nil {
		if o, err = h.waitFor(id, "at the printer", func(o *order.Order) bool { return o.Part(order.PartPrint).JobID != "" }); err != nil {
			return nil, m, err
		}
		job = o.Part(order.PartPrint).JobID
		if err := h.Printer.AdvanceTo(job, "IN_PRODUCTION"); err != nil {
			return nil, m, err
		}
		m.printed = time.Now()
		if _, err := h.Printer.Advance(job); err != nil { // → SHIPPED
			return nil, m, err
		}
	}
	if o, err = h.waitState(id, order.Shipped); err != nil || !deliver {
		return o, m, err
	}
	if label != "" {
		for _, move := range []string{"out_for_delivery", "delivered"} {
			if err := h.ShipEngine.Track(label, move); err != nil {
				return nil, m, err
			}
		}
	}
	if job != "" {
		if _, err := h.Printer.Advance(job); err != nil { // → DELIVERED
			return nil, m, err
		}
	}
	o, err = h.waitFor(id, "delivered", func(o *order.Order) bool {
		for _, p := range o.Parts {
			if p.Status != order.PartDelivered {
				return false
			}
		}
		return true
	})
	return o, m, err
}

// recordPayment records the invoice of o paid in the local QuickBooks, as
// the owner does on its page (its signed webhook approves the order).
func (h *counted) recordPayment(o *order.Order) error {
	resp, err := http.Post(h.QuickBooks.URL+"/app/invoices/"+o.Invoice.ID+"/payment", "application/x-www-form-urlencoded", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("order %s: recording the payment: %d", o.ID, resp.StatusCode)
	}
	return nil
}

// refund refunds the whole order and waits for its refund to be made,
// recorded and the order's work done.
func (h *counted) refund(id string) error {
	if err := h.call(h.boss.IDToken, "refundOrder", map[string]any{"orderId": id, "requestId": "refund-" + id, "full": true,
		"reason": "returned"}, nil); err != nil {
		return err
	}
	_, err := h.waitFor(id, "refunded and recorded", func(o *order.Order) bool {
		return o.State() == order.Refunded && len(o.Payment.Refunds) == 1 && o.Payment.Refunds[0].ReceiptID != "" && !o.WorkDue()
	})
	return err
}

// lifecycle runs one order of path p from its cart to its end.
func (h *counted) lifecycle(p path) (string, error) {
	id, payURL, err := h.checkout(p.items)
	if err != nil {
		return "", err
	}
	if err := pay(payURL); err != nil {
		return id, err
	}
	if _, _, err := h.fulfil(id, true); err != nil {
		return id, err
	}
	if p.refund {
		return id, h.refund(id)
	}
	return id, nil
}

// entered is when o last entered state s (zero if never).
func entered(o *order.Order, s order.State) time.Time {
	var at time.Time
	for _, c := range o.History() {
		if c.To == s {
			at = c.At
		}
	}
	return at
}
