package devhost

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/readyplanner/oms/internal/storefront"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/functions"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/messages"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// probe records the order flow's transitions for the orders of one test.
type probe struct{ ch chan orderflow.Transition }

func (p *probe) step(_ context.Context, t orderflow.Transition) error {
	if strings.HasPrefix(t.Order.ID, "devhost-") {
		p.ch <- t
	}
	return nil
}

func (p *probe) wait(t *testing.T, match func(orderflow.Transition) bool) orderflow.Transition {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case tr := <-p.ch:
			if match(tr) {
				return tr
			}
		case <-deadline:
			t.Fatal("the order flow did not see the expected transition within 20 s")
		}
	}
}

var customer = &order.Customer{Name: "Test Buyer", Email: "buyer@example.com", MailboxKey: "k"}

func TestLocalSystem(t *testing.T) {
	ctx := context.Background()
	rules, err := testenv.RepoFile("firestore.rules")
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{ch: make(chan orderflow.Transition, 16)}
	// The owner's alerts also go to a Slack-compatible webhook.
	posted := make(chan string, 64)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case posted <- string(body):
		default: // more alerts than this test reads: never block the poster
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer hook.Close()
	t.Setenv("OMS_ALERT_WEBHOOK_URL", hook.URL)
	h, err := Start(ctx, Options{
		AuthHost: testenv.AuthHost(t), Rules: rules,
		Configure: func(a *app.App) {
			a.Flow.OnFirst(order.Authorized, "probe", p.step)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	t.Logf("local system ready in %s (Auth emulator shared)", h.Ready.Round(time.Millisecond))

	t.Run("serves exactly the list", func(t *testing.T) {
		for _, f := range functions.List {
			want := "/" + f.Name
			if !slices.Contains(h.Routes, want) {
				t.Errorf("%s is not served at %s", f.Name, want)
			}
			if f.Kind.HTTP() && !slices.Contains(h.Routes, "/demo-oms/us-central1/"+f.Name) {
				t.Errorf("%s is not served at the JS SDK's URL", f.Name)
			}
			if f.Kind == functions.Trigger && !slices.Contains(h.Routes, emulator.TriggerURLPath("demo-oms", f.Name)) {
				t.Errorf("trigger %s is not served at the emulator's delivery path", f.Name)
			}
		}
		if got, want := len(h.Routes), 2*len(functions.List); got != want {
			t.Errorf("%d routes for %d functions: %v", got, len(functions.List), h.Routes)
		}
		if h.Seeded.SKUs == 0 {
			t.Error("the demo store was not seeded")
		}
	})

	t.Run("callable at the SDK URL with a real token", func(t *testing.T) {
		u, err := emulator.SignInAnonymously(ctx, h.AuthHost)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", h.URL+"/demo-oms/us-central1/whoami", strings.NewReader(`{"data":{}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+u.IDToken)
		resp, b := read(t)(http.DefaultClient.Do(req))
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"uid":"`+u.UID+`"`) {
			t.Errorf("whoami: %d %s", resp.StatusCode, b)
		}
		// A token the Auth emulator never issued is refused.
		req, _ = http.NewRequest("POST", h.URL+"/whoami", strings.NewReader(`{"data":{}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJub2JvZHkifQ.")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("forged token: %d", resp.StatusCode)
		}
	})

	sdkOrder := "" // the order the JS SDK pays for
	t.Run("Firebase JS SDK httpsCallable", func(t *testing.T) {
		script, _ := filepath.Abs("testdata/sdk_callable.mjs")
		if _, err := os.Stat(filepath.Join(filepath.Dir(rules), "node_modules", "firebase")); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("node_modules/firebase is missing: run npm ci")
			}
			t.Skip("node_modules/firebase is missing: run npm ci")
		}
		host, port, _ := strings.Cut(strings.TrimPrefix(h.URL, "http://"), ":")
		fsHost, fsPort, _ := strings.Cut(h.Firestore.Host, ":")
		cmd := exec.Command("node", script, host, port, h.AuthHost, fsHost, fsPort, h.Project, h.Region)
		cmd.Dir = filepath.Dir(rules)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		var got struct {
			UID    string                  `json:"uid"`
			Result storefront.WhoamiAnswer `json:"result"`
			Error  struct {
				Code, Message string
				Details       map[string]any
			}
			CartRefused bool                                  `json:"cartRefused"`
			Checkout    storefront.StartCheckoutAnswer        `json:"checkout"`
			Priced      storefront.Order                      `json:"priced"`
			Quote       storefront.QuoteShippingAnswer        `json:"quote"`
			Chosen      storefront.Order                      `json:"chosen"`
			ChosenDoc   map[string]any                        `json:"chosenDoc"`
			Session     storefront.CreatePaymentSessionAnswer `json:"session"`
			PageStatus  int                                   `json:"pageStatus"`
			PayStatus   int                                   `json:"payStatus"`
			PayRedirect string                                `json:"payRedirect"`
			Order       struct {
				State, UID, PaymentStatus   string
				Subtotal, Total, Capturable int64
			} `json:"order"`
		}
		if err := json.Unmarshal(out[strings.LastIndex(strings.TrimSpace(string(out)), "\n")+1:], &got); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		if got.UID == "" || got.Result.UID != got.UID || !got.Result.Anonymous || !got.Result.SignedIn {
			t.Errorf("SDK call: %+v", got)
		}
		if got.Error.Code != "functions/invalid-argument" || !strings.Contains(got.Error.Message, `"price"`) ||
			got.Error.Details["reason"] != "unknown_field" || got.Error.Details["field"] != "price" {
			t.Errorf("SDK error: %+v", got.Error)
		}
		if !got.CartRefused {
			t.Error("the rules let a cart line carry a price")
		}
		// The seeded store: a pen set (18.00, stock) and a daily planner (38.00, print on demand).
		c := got.Checkout
		sdkOrder = c.OrderID
		if c.State != "pending" || len(c.Lines) != 2 || c.Subtotal != 1800+3800 || c.HoldExpiresAt == nil {
			t.Errorf("startCheckout through the SDK: %+v", c)
		}
		// The seeded WELCOME10: 10% off a first order, typed in lower case.
		p := got.Priced
		if p.Code == nil || p.Code.Status != "applied" || p.Discount != 560 || p.Total != 5040 || len(p.Promotions) != 1 || p.Promotions[0].ID != "welcome10" {
			t.Errorf("applyCustomer through the SDK: %+v code %+v", p, p.Code)
		}
		// The local ShipEngine verifies "500 congress avenue" as "500 CONGRESS AVE" with ZIP+4.
		q, ch := got.Quote, got.Chosen
		if q.Status != "verified" || !q.Differs || len(q.Rates) != 4 || ch.ShippingChoice.Amount != q.Rates[0].Amount ||
			ch.ShippingChoice.Address.AddressLine1 != "500 CONGRESS AVE" || ch.Total != 5040+q.Rates[0].Amount {
			t.Errorf("shipping through the SDK: quote %+v chosen %+v", q, ch)
		}
		// The document, read through the SDK under the rules, is the order
		// the callable answered: the same fields, names and values.
		if diff := viewDiff(ch, got.ChosenDoc); diff != "" {
			t.Errorf("the order document read by its owner differs from selectShipping's answer: %s", diff)
		}
		// Paying on the local Stripe authorizes the card; its signed webhook
		// moves the order to authorized (the bookkeeping step is next).
		if got.Session.Total != ch.Total || got.PageStatus != 200 || got.PayStatus != 303 ||
			!strings.HasPrefix(got.PayRedirect, "http://localhost:3000/checkout/success?session_id="+got.Session.SessionID) {
			t.Errorf("payment through the SDK: %+v page %d pay %d → %s", got.Session, got.PageStatus, got.PayStatus, got.PayRedirect)
		}
		if (got.Order.State != "authorized" && got.Order.State != "invoiced") || got.Order.UID != got.UID || got.Order.Subtotal != c.Subtotal || got.Order.Total != ch.Total || got.Order.Capturable != ch.Total || got.Order.PaymentStatus != "authorized" {
			t.Errorf("the owner's read of its order: %+v", got.Order)
		}
	})

	t.Run("the owner connects QuickBooks with a one-time link", func(t *testing.T) {
		key, _, err := h.App.QuickBooksTokens.MintConnectKey(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// The browser follows quickbooksConnect → the consent page → quickbooksCallback.
		resp, b := read(t)(http.Get(h.URL + "/quickbooksConnect?key=" + key))
		if resp.StatusCode != 200 || !strings.Contains(string(b), "QuickBooks connected") || resp.Request.URL.Path != "/quickbooksCallback" {
			t.Fatalf("connect: %d at %s: %s", resp.StatusCode, resp.Request.URL, b)
		}
		if st, err := h.App.QuickBooksTokens.Status(ctx); err != nil || !st.Connected || st.RealmID != qbfake.Realm {
			t.Errorf("status %+v %v", st, err)
		}
	})

	t.Run("the owner marks the invoice paid: webhook, approval, capture", func(t *testing.T) {
		if sdkOrder == "" {
			t.Skip("no order from the JS SDK")
		}
		o := waitState(t, h, sdkOrder, order.Invoiced)
		// The tester's page of the local QuickBooks, as the owner's "Receive payment".
		clicked := time.Now()
		resp, page := read(t)(http.Post(h.QuickBooks.URL+"/app/invoices/"+o.Invoice.ID+"/payment", "application/x-www-form-urlencoded", nil))
		if resp.StatusCode != 200 || !strings.Contains(string(page), o.Invoice.DocNumber) {
			t.Fatalf("mark paid: %d %s", resp.StatusCode, page)
		}
		// Signed legacy webhook → recorded → onQuickBooksEvent → approved →
		// onOrderWritten → the capture on the local Stripe → paid → the
		// fulfil step → fulfilling, in a print part and a parcel part.
		o = waitState(t, h, sdkOrder, order.Fulfilling)
		t.Logf("from recording the payment to fulfilling (webhook, record, three triggers, capture): %s", time.Since(clicked).Round(time.Millisecond))
		if o.Payment == nil || o.Payment.AmountCaptured != o.Total().Amount || len(o.Parts) != 2 {
			t.Errorf("payment after approval: %+v, parts %+v", o.Payment, o.Parts)
		}
		var states []string
		for _, e := range o.History() {
			states = append(states, string(e.To))
		}
		if got := strings.Join(states, ","); !strings.HasSuffix(got, "authorized,invoiced,approved,paid,fulfilling") {
			t.Errorf("history %s", got)
		}
		// The owner buys the parcel's label (the pen set) through buyLabel:
		// the local ShipEngine sells it from the rate the customer chose;
		// the planner's print part still waits for the printer.
		boss, err := emulator.SignInAs(ctx, h.AuthHost, testenv.ID("owner"), map[string]any{"admin": true})
		if err != nil {
			t.Fatal(err)
		}
		body := `{"data":{"requestId":"label-the-parcel-1","orderId":"` + sdkOrder + `"}}`
		req, _ := http.NewRequest("POST", h.URL+"/buyLabel", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+boss.IDToken)
		resp, page = read(t)(http.DefaultClient.Do(req))
		var bought struct {
			Result storefront.LabelAnswer `json:"result"`
		}
		if err := json.Unmarshal(page, &bought); resp.StatusCode != 200 || err != nil || bought.Result.Label == nil || bought.Result.Order.State != order.Fulfilling {
			t.Fatalf("buyLabel: %d %s", resp.StatusCode, page)
		}
		label := bought.Result.Label
		// The carrier scans it, carries it, and delivers it: each move of
		// the local ShipEngine sends its signed track webhook → recorded →
		// onShipEngineEvent re-reads the label's tracking → the part moves
		// (its first scan ships it) → the delivered email.
		parcelIs := func(status string) *order.Order {
			t.Helper()
			var cur *order.Order
			testenv.Poll(t, 20*time.Second, "the parcel "+status, func() bool {
				cur, _ = h.App.Orders.Get(ctx, sdkOrder)
				return cur.Part(order.PartParcel).Status == status
			})
			return cur
		}
		for _, m := range []struct{ move, status string }{{"accepted", order.PartInTransit}, {"out_for_delivery", order.PartOutForDelivery}} {
			if err := h.ShipEngine.Track(label.LabelID, m.move); err != nil {
				t.Fatal(err)
			}
			o = parcelIs(m.status)
		}
		if p := o.Part(order.PartParcel); p.TrackingNumber != label.TrackingNumber || p.Carrier != "USPS" || p.ShippedAt.IsZero() || o.State() != order.Fulfilling {
			t.Errorf("the parcel scanned: %+v, order %s", p, o.State())
		}
		deliveredAt := time.Now()
		if err := h.ShipEngine.Track(label.LabelID, "delivered"); err != nil {
			t.Fatal(err)
		}
		o = parcelIs(order.PartDelivered)
		t.Logf("from the carrier's delivery to the parcel delivered (signed webhook, record, trigger, re-read): %s", time.Since(deliveredAt).Round(time.Millisecond))
		testenv.Poll(t, 20*time.Second, "the parcel's delivered email", func() bool {
			found, err := h.Mailpit.Search(ctx, `to:"`+o.Customer.Email+`" subject:"was delivered"`)
			return err == nil && len(found) == 1
		})
		t.Logf("from the carrier's delivery to the customer's delivered email in mailpit (four triggers, SMTP): %s", time.Since(deliveredAt).Round(time.Millisecond))
		// The planner's print job, made by the submitPrintJob step at the
		// local printer; then the printer ships it: its signed webhook →
		// recorded → onPrinterEvent re-reads the job → the part and the
		// order shipped → commitStock.
		var paidAt time.Time
		for _, c := range o.History() {
			if c.To == order.Paid {
				paidAt = c.At
			}
		}
		var job string
		o, job = printJob(t, h, sdkOrder)
		t.Logf("from paid to the print job recorded: %s", o.Part(order.PartPrint).UpdatedAt.Sub(paidAt).Round(time.Millisecond))
		if err := h.Printer.AdvanceTo(job, "IN_PRODUCTION"); err != nil { // CREATED → UNPAID → … → IN_PRODUCTION
			t.Fatal(err)
		}
		shippedAt := time.Now()
		if _, err := h.Printer.Advance(job); err != nil { // → SHIPPED
			t.Fatal(err)
		}
		o = waitState(t, h, sdkOrder, order.Shipped)
		t.Logf("from the printer's SHIPPED to the order shipped (webhook, record, two triggers, re-read): %s", time.Since(shippedAt).Round(time.Millisecond))
		if p := o.Part(order.PartPrint); p.Carrier != "USPS" || p.TrackingNumber == "" {
			t.Errorf("the print part: %+v", p)
		}
		if _, err := h.Printer.Advance(job); err != nil { // → DELIVERED
			t.Fatal(err)
		}
		testenv.Poll(t, 20*time.Second, "the print part delivered", func() bool {
			o, _ = h.App.Orders.Get(ctx, sdkOrder)
			return o.Part(order.PartPrint).Status == order.PartDelivered
		})
		// The customer sends the planner back: the owner refunds the whole
		// order; the order's triggers make the refund at the local Stripe
		// and record it in the local QuickBooks, and the order is refunded.
		refundAt := time.Now()
		body = `{"data":{"orderId":"` + sdkOrder + `","requestId":"refund-the-return-1","full":true,"reason":"returned: the customer ordered the wrong year"}}`
		req, _ = http.NewRequest("POST", h.URL+"/refundOrder", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+boss.IDToken)
		resp, page = read(t)(http.DefaultClient.Do(req))
		if resp.StatusCode != 200 || !strings.Contains(string(page), fmt.Sprintf(`"refund":{"n":1,"amount":%d,"refundable":0}`, o.Total().Amount)) {
			t.Fatalf("refundOrder: %d %s", resp.StatusCode, page)
		}
		o = waitState(t, h, sdkOrder, order.Refunded)
		testenv.Poll(t, 20*time.Second, "the refund receipt and the refunded order's steps", func() bool {
			o, _ = h.App.Orders.Get(ctx, sdkOrder)
			return o.Payment.Refunds[0].ReceiptID != "" && !o.WorkDue()
		})
		t.Logf("from refundOrder to refunded at Stripe and recorded in QuickBooks (two triggers): %s", time.Since(refundAt).Round(time.Millisecond))
		if o.PaymentStatus() != order.PaymentRefunded || o.RefundedTotal() != o.Total().Amount || o.WorkDue() {
			t.Errorf("after the refund: %s refunded %d of %d, work due %v (%+v, labels %v, refunds %v)", o.PaymentStatus(), o.RefundedTotal(), o.Total().Amount, o.WorkDue(),
				o.Work, o.LabelWorkDue(), o.RefundsDue())
		}
		// The customer's emails, queued by the order's steps and delivered
		// by onMailWritten (a trigger on mail/) to the host's mailpit, each
		// once: authorized, receipt, two parts shipped, two delivered, the
		// refund.
		to := o.Customer.Email
		want := []string{"We have your order " + sdkOrder, "Your receipt for order " + sdkOrder, "Part of your order " + sdkOrder + " has shipped",
			"Part of your order " + sdkOrder + " has shipped", "Part of your order " + sdkOrder + " was delivered",
			"Part of your order " + sdkOrder + " was delivered", "A refund of " + messages.Format(o.Total()) + " for order " + sdkOrder}
		var subjects []string
		testenv.Poll(t, 20*time.Second, "the customer's seven emails", func() bool {
			found, err := h.Mailpit.Search(ctx, `to:"`+to+`"`)
			if err != nil {
				t.Fatal(err)
			}
			subjects = subjects[:0]
			for _, f := range found {
				subjects = append(subjects, f.Subject)
			}
			return len(found) >= len(want)
		})
		slices.Sort(subjects)
		slices.Sort(want)
		if !slices.Equal(subjects, want) {
			t.Errorf("the customer's emails:\n%s\nwant\n%s", strings.Join(subjects, "\n"), strings.Join(want, "\n"))
		}
		t.Logf("from refundOrder to its email read back from mailpit (three triggers, SMTP): %s", time.Since(refundAt).Round(time.Millisecond))

	})

	t.Run("email previews", func(t *testing.T) {
		for path, want := range map[string]string{"/mail/preview/receipt": "Your receipt for order K7Q2M9XH4TBA", "/mail/preview/receipt.txt": "Visa card ending 4242",
			"/mail/preview/index": "/mail/preview/shipped.txt", "/mail/preview/summary": "Needing your attention"} {
			resp, body := read(t)(http.Get(h.URL + path))
			if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
				t.Errorf("%s: %d, no %q", path, resp.StatusCode, want)
			}
		}
		if resp, _ := read(t)(http.Get(h.URL + "/mail/preview/nope")); resp.StatusCode != 404 {
			t.Errorf("an unknown template: %d", resp.StatusCode)
		}
	})

	t.Run("an order write reaches the trigger", func(t *testing.T) {
		o, err := order.New(testenv.ID("devhost"), testenv.ID("u"), "USD", time.Now().UTC())
		if err != nil {
			t.Fatal(err)
		}
		o.Customer = customer // the invoice step on authorized needs one
		if err := h.App.Orders.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.App.Orders.Transition(ctx, o.ID, order.Move{From: []order.State{order.Pending}, To: order.Authorized, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		tr := p.wait(t, func(tr orderflow.Transition) bool { return tr.Order.ID == o.ID })
		if tr.From != order.Pending || tr.To != order.Authorized || tr.EventID == "" || tr.Redrive {
			t.Errorf("transition %+v", tr)
		}
	})

	t.Run("a permanent step failure needs attention", func(t *testing.T) {
		id := testenv.ID("devhost")
		o, _ := order.New(id, testenv.ID("u"), "USD", time.Now().UTC())
		o, _ = order.Restore(*o, order.Invoiced, o.History())
		if err := h.App.Orders.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.App.Orders.Transition(ctx, id, order.Move{From: []order.State{order.Invoiced}, To: order.Approved, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		got := waitState(t, h, id, order.NeedsAttention)
		// The capture step finds no authorized payment on this order.
		if want := "step capturePayment failed: order " + id + " has no authorized payment to capture"; got.Attention != want {
			t.Errorf("attention %q, want %q", got.Attention, want)
		}
		// Its alert reaches the webhook through onAlertWritten (a trigger on
		// alerts/), and its mail the owner's inbox through onMailWritten.
		deadline := time.After(20 * time.Second)
		for found := false; !found; {
			select {
			case body := <-posted:
				found = strings.Contains(body, "Order "+id+" needs your attention")
			case <-deadline:
				t.Fatal("the alert was not posted to the webhook")
			}
		}
		testenv.Poll(t, 20*time.Second, "the alert's mail", func() bool {
			found, err := h.Mailpit.Search(ctx, `subject:"Order `+id+` needs your attention"`)
			return err == nil && len(found) == 1
		})
	})

	t.Run("the sweeper re-drives a stale order", func(t *testing.T) {
		old := time.Now().UTC().Add(-time.Hour)
		o, _ := order.New(testenv.ID("devhost"), testenv.ID("u"), "USD", old)
		o.Customer = customer
		o, _ = order.Restore(*o, order.Authorized, o.History())
		if err := h.App.Orders.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		resp, b := read(t)(http.Post(h.URL+"/sweep", "application/json", nil))
		if resp.StatusCode != 200 || !strings.Contains(string(b), "redriveStaleOrders") {
			t.Fatalf("sweep: %d %s", resp.StatusCode, b)
		}
		tr := p.wait(t, func(tr orderflow.Transition) bool { return tr.Order.ID == o.ID && tr.Redrive })
		if tr.To != order.Authorized {
			t.Errorf("re-drive %+v", tr)
		}
		if resp, err := http.Get(h.URL + "/sweep"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /sweep: %v %v", resp.StatusCode, err)
		}
	})

	t.Run("holds: the sweeper expires, the trigger releases", func(t *testing.T) {
		sku := testenv.ID("HOLD")
		inv := h.App.Firestore.Collection("inventory").Doc(sku)
		if _, err := inv.Set(ctx, map[string]any{"onHand": 5, "held": 4}); err != nil {
			t.Fatal(err)
		}
		held := func() int64 {
			snap, err := inv.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := snap.DataAt("held")
			return v.(int64)
		}
		mk := func(state order.State, expires time.Time) string {
			o, _ := order.New(testenv.ID("devhost"), testenv.ID("u"), "USD", time.Now().UTC().Add(-time.Hour))
			o.Customer = customer
			o, _ = order.Restore(*o, state, o.History())
			o.Holds, o.HoldExpiresAt = []order.Hold{{SKU: sku, Quantity: 2}}, expires
			if err := h.App.Orders.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
			return o.ID
		}
		lapsed := mk(order.Pending, time.Now().Add(-time.Minute))
		firm := mk(order.Authorized, time.Time{})

		resp, b := read(t)(http.Post(h.URL+"/sweep", "application/json", nil))
		if resp.StatusCode != 200 || !strings.Contains(string(b), "expireHolds") {
			t.Fatalf("sweep: %d %s", resp.StatusCode, b)
		}
		if o, _ := h.App.Orders.Get(ctx, lapsed); o.State() != order.Expired || !o.HoldsReleased {
			t.Errorf("lapsed order: %s released=%v", o.State(), o.HoldsReleased)
		}
		if got := held(); got != 2 {
			t.Errorf("held %d after expiry, want 2", got)
		}

		// Cancel the authorized order: its releaseHolds step runs from the trigger.
		if _, _, err := h.App.Orders.Transition(ctx, firm, order.Move{From: []order.State{order.Authorized, order.Invoiced}, To: order.Canceled, Actor: "test"}); err != nil {
			o, _ := h.App.Orders.Get(ctx, firm)
			t.Fatalf("%v (attention: %q)", err, o.Attention)
		}
		testenv.Poll(t, 20*time.Second, "the canceled order's units to be released", func() bool { return held() == 0 })
	})

	fsHost := h.Firestore.Host
	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + fsHost + "/"); err == nil {
		t.Error("the Firestore emulator still answers after Stop")
	}
	if _, err := http.Get(h.URL + "/"); err == nil {
		t.Error("the functions host still answers after Stop")
	}
}

// read returns a function that reads a whole answer (failing the test
// if the request failed): read(t)(http.Get(url)).
func read(t *testing.T) func(*http.Response, error) (*http.Response, []byte) {
	return func(resp *http.Response, err error) (*http.Response, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
}

// waitState waits up to 20 s for the order to reach state.
// printJob waits for order id's print part to have its job at the
// printer, and answers the order and the job's id.
func printJob(t *testing.T, h *Host, id string) (*order.Order, string) {
	t.Helper()
	var o *order.Order
	testenv.Poll(t, 20*time.Second, "the print job", func() bool {
		o, _ = h.App.Orders.Get(context.Background(), id)
		p := o.Part(order.PartPrint)
		return p != nil && p.JobID != ""
	})
	return o, o.Part(order.PartPrint).JobID
}

func waitState(t *testing.T, h *Host, id string, state order.State) *order.Order {
	t.Helper()
	var o *order.Order
	testenv.Poll(t, 20*time.Second, "order "+id+" to be "+string(state), func() bool {
		var err error
		if o, err = h.App.Orders.Get(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		return o.State() == state
	})
	return o
}

// Interrupted while starting (Ctrl-C during make dev): Start fails cleanly
// and stops what it had started.
func TestStartCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rules, _ := testenv.RepoFile("firestore.rules")
	h, err := Start(ctx, Options{AuthHost: testenv.AuthHost(t), Rules: rules})
	if err == nil {
		h.Stop()
		t.Fatal("Start with a canceled context succeeded")
	}
}

// With an Intuit app configured (a "sandbox company", played here by a
// QuickBooks the host did not start), make dev connects nothing by itself
// and prints a one-time link; following it in a browser connects the company.
func TestSandboxCompanyConnects(t *testing.T) {
	sandbox, err := qbfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer sandbox.Close()
	for k, v := range map[string]string{"QUICKBOOKS_CLIENT_ID": sandbox.ClientID, "QUICKBOOKS_CLIENT_SECRET": sandbox.ClientSecret,
		"QUICKBOOKS_WEBHOOK_VERIFIER": sandbox.VerifierToken, "OMS_QUICKBOOKS_BASE_URL": sandbox.URL,
		"OMS_QUICKBOOKS_TOKEN_URL": sandbox.TokenURL(), "OMS_QUICKBOOKS_AUTHORIZE_URL": sandbox.AuthorizeURL()} {
		t.Setenv(k, v)
	}
	rules, _ := testenv.RepoFile("firestore.rules")
	h, err := Start(context.Background(), Options{AuthHost: testenv.AuthHost(t), Rules: rules, NoSeed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	port := strings.TrimPrefix(h.URL, "http://127.0.0.1:")
	if h.QuickBooks != nil || !strings.HasPrefix(h.QuickBooksConnectLink, "http://localhost:"+port+"/quickbooksConnect?key=") ||
		h.App.Config.QuickBooksRedirectURL != "http://localhost:"+port+"/quickbooksCallback" {
		t.Fatalf("local QuickBooks %v, link %q, redirect %q", h.QuickBooks, h.QuickBooksConnectLink, h.App.Config.QuickBooksRedirectURL)
	}
	sandbox.AllowRedirect(h.App.Config.QuickBooksRedirectURL) // as registered in the Intuit app
	resp, page := read(t)(http.Get(h.QuickBooksConnectLink))
	if resp.StatusCode != 200 || !strings.Contains(string(page), "QuickBooks connected") {
		t.Fatalf("following the link: %d %s", resp.StatusCode, page)
	}
	if st, err := h.App.QuickBooksTokens.Status(context.Background()); err != nil || !st.Connected || st.RealmID != qbfake.Realm {
		t.Errorf("status %+v %v", st, err)
	}
	// The link was for once.
	if resp, err := http.Get(h.QuickBooksConnectLink); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("the link again: %v %v", resp.StatusCode, err)
	}
}

// viewDiff names the first field of the answer a that the document d does
// not carry with the same value ("" when none): objects may carry more on
// the document (its internal fields), times are compared to the second.
func viewDiff(a any, d map[string]any) string {
	b, _ := json.Marshal(a)
	var av any
	_ = json.Unmarshal(b, &av)
	b, _ = json.Marshal(d)
	var dv any
	_ = json.Unmarshal(b, &dv)
	var walk func(path string, a, d any) string
	walk = func(path string, a, d any) string {
		switch x := a.(type) {
		case map[string]any:
			y, ok := d.(map[string]any)
			if !ok {
				return fmt.Sprintf("%s: %v on the document", path, d)
			}
			for k, v := range x {
				if s := walk(path+"."+k, v, y[k]); s != "" {
					return s
				}
			}
			return ""
		case []any:
			y, ok := d.([]any)
			if !ok || len(x) != len(y) {
				return fmt.Sprintf("%s: %v on the document", path, d)
			}
			for i := range x {
				if s := walk(fmt.Sprintf("%s[%d]", path, i), x[i], y[i]); s != "" {
					return s
				}
			}
			return ""
		case string:
			if at, err := time.Parse(time.RFC3339Nano, x); err == nil {
				if ds, ok := d.(string); ok {
					if dt, err := time.Parse(time.RFC3339Nano, ds); err == nil && dt.Truncate(time.Second).Equal(at.Truncate(time.Second)) {
						return ""
					}
				}
			}
		}
		if fmt.Sprint(a) != fmt.Sprint(d) {
			return fmt.Sprintf("%s: answered %v, the document has %v", path, a, d)
		}
		return ""
	}
	return walk("order", av, dv)
}

// STRIPE_WEBHOOK_SECRET and QUICKBOOKS_WEBHOOK_VERIFIER set in the
// environment win over the local fakes' random ones (.env.example says the
// environment wins): the App verifies with them and the local Stripe and
// QuickBooks sign with them, so a developer can send a signed test webhook.
func TestWebhookSecretsFromTheEnvironment(t *testing.T) {
	const secret, verifier = "whsec_from_the_environment", "verifier-from-the-environment"
	t.Setenv(app.StripeWebhookSecret, secret)
	t.Setenv(app.QuickBooksWebhookVerifier, verifier)
	rules, _ := testenv.RepoFile("firestore.rules")
	h, err := Start(context.Background(), Options{AuthHost: testenv.AuthHost(t), Rules: rules, NoSeed: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	cfg := h.App.Config
	if got := cfg.Secret(app.StripeWebhookSecret).Reveal(); got != secret || h.Stripe == nil || h.Stripe.WebhookSecret != secret {
		t.Errorf("Stripe's webhook secret: the App verifies with %q, the local Stripe signs with %q; want %q", got, h.Stripe.WebhookSecret, secret)
	}
	if got := cfg.Secret(app.QuickBooksWebhookVerifier).Reveal(); got != verifier || h.QuickBooks == nil || h.QuickBooks.VerifierToken != verifier {
		t.Errorf("QuickBooks' verifier: the App verifies with %q, the local QuickBooks signs with %q; want %q", got, h.QuickBooks.VerifierToken, verifier)
	}
	// A test webhook signed by hand with the environment's values is accepted.
	body := []byte(`{"eventNotifications":[{"realmId":"` + qbfake.Realm + `","dataChangeEvent":{"entities":[{"name":"Customer","id":"1","operation":"Update","lastUpdated":"2026-12-07T10:00:00.000Z"}]}}]}`)
	req, _ := http.NewRequest("POST", h.URL+"/quickbooksWebhook", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("intuit-signature", quickbooks.SignWebhook(body, verifier))
	if resp, b := read(t)(http.DefaultClient.Do(req)); resp.StatusCode != 200 {
		t.Errorf("a QuickBooks webhook signed with the environment's verifier: %d %s", resp.StatusCode, b)
	}
	ev := []byte(fmt.Sprintf(`{"id":"evt_env_1","object":"event","type":"customer.created","created":%d,"data":{"object":{"object":"customer","id":"cus_1"}}}`, time.Now().Unix()))
	ts := time.Now().Unix()
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", ts, ev)
	req, _ = http.NewRequest("POST", h.URL+"/stripeWebhook", strings.NewReader(string(ev)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(mac.Sum(nil))))
	if resp, b := read(t)(http.DefaultClient.Do(req)); resp.StatusCode != 200 {
		t.Errorf("a Stripe webhook signed with the environment's secret: %d %s", resp.StatusCode, b)
	}
}
