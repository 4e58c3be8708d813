package functions

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/firestoredb"
	webhookev "github.com/readyplanner/oms/internal/webhook"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/quickbooks"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/testenv"
)

func qbPost(t *testing.T, body []byte, sig string) (int, string) {
	t.Helper()
	r := httptest.NewRequest("POST", "/quickbooksWebhook", strings.NewReader(string(body)))
	if sig != "" {
		r.Header.Set("intuit-signature", sig)
	}
	w := httptest.NewRecorder()
	quickbooksWebhook(testApp(t)).ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func legacyEvent(realm, entity, id, op string) []byte {
	b, _ := json.Marshal(map[string]any{"eventNotifications": []any{map[string]any{"realmId": realm, "dataChangeEvent": map[string]any{
		"entities": []any{map[string]any{"name": entity, "id": id, "operation": op, "lastUpdated": testenv.ID("t")}}}}}})
	return b
}

// invoiced takes an order to invoiced (through payment and the invoice step).
func invoiced(t *testing.T) (string, *order.Order) {
	t.Helper()
	a := testApp(t)
	id, _ := authorized(t, a, newStore(t, a, 10, 10))
	o, _ := a.Orders.Get(context.Background(), id)
	if err := a.Flow.Redrive(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	o, _ = a.Orders.Get(context.Background(), id)
	if o.State() != order.Invoiced {
		t.Fatalf("not invoiced: %s %s", o.State(), o.Attention)
	}
	return id, o
}

func TestQuickBooksApprovalCaptures(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()
	id, o := invoiced(t)

	// The owner records the payment in QuickBooks; QuickBooks notifies.
	if err := qb.MarkPaid(o.Invoice.ID); err != nil {
		t.Fatal(err)
	}
	body := legacyEvent(qbfake.Realm, "Payment", qb.PaymentFor(o.Invoice.ID), "Create")
	if status, ans := qbPost(t, body, quickbooks.SignWebhook(body, qb.VerifierToken)); status != 200 || !strings.Contains(ans, `"recorded":1`) {
		t.Fatalf("webhook: %d %s", status, ans)
	}
	// What the trigger on the recorded event does.
	outcome, err := a.Bookkeeping.HandleEvent(ctx, "Payment", qb.PaymentFor(o.Invoice.ID), "Create")
	if err != nil || !strings.Contains(outcome, "approved") {
		t.Fatalf("handle: %q %v", outcome, err)
	}
	// The same news again (an Invoice Update for the same payment): nothing moves twice.
	if outcome, err := a.Bookkeeping.HandleEvent(ctx, "Invoice", o.Invoice.ID, "Update"); err != nil || !strings.Contains(outcome, "already approved") {
		t.Errorf("again: %q %v", outcome, err)
	}
	// Approval triggers the capture.
	o, _ = a.Orders.Get(ctx, id)
	if err := a.Flow.Redrive(ctx, o); err != nil {
		t.Fatal(err)
	}
	if o, _ = a.Orders.Get(ctx, id); o.State() != order.Paid {
		t.Errorf("after approval: %s %s", o.State(), o.Attention)
	}
}

func TestQuickBooksWebhookRefusesAndIgnores(t *testing.T) {
	qb := localQuickBooks(t)
	body := legacyEvent(qbfake.Realm, "Invoice", "1", "Update")
	if status, _ := qbPost(t, body, ""); status != 401 {
		t.Errorf("no signature: %d", status)
	}
	if status, _ := qbPost(t, body, quickbooks.SignWebhook(body, "someone-else")); status != 401 {
		t.Errorf("wrong verifier: %d", status)
	}
	junk := []byte(`{"hello":"world"}`)
	if status, _ := qbPost(t, junk, quickbooks.SignWebhook(junk, qb.VerifierToken)); status != 400 {
		t.Errorf("malformed: %d", status)
	}
	other := legacyEvent("4620816365000000000", "Invoice", "1", "Update")
	if status, ans := qbPost(t, other, quickbooks.SignWebhook(other, qb.VerifierToken)); status != 200 || !strings.Contains(ans, `"ignored":1`) {
		t.Errorf("another realm: %d %s", status, ans)
	}
	ce := []byte(`[{"specversion":"1.0","id":"` + testenv.ID("ce") + `","source":"intuit.com","type":"qbo.customer.updated.v1","time":"2026-11-25T10:00:00Z","intuitentityid":"5","intuitaccountid":"` + qbfake.Realm + `","data":{}}]`)
	if status, ans := qbPost(t, ce, quickbooks.SignWebhook(ce, qb.VerifierToken)); status != 200 || !strings.Contains(ans, `"recorded":1`) {
		t.Errorf("CloudEvents format: %d %s", status, ans)
	}
}

// Canceling an invoiced order (its authorization lapsed) voids its invoice, once.
func TestCancelVoidsInvoice(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()
	id, _ := invoiced(t)
	if _, _, err := a.Orders.Transition(ctx, id, order.Move{From: []order.State{order.Invoiced}, To: order.Canceled, Actor: "sweeper"}); err != nil {
		t.Fatal(err)
	}
	o, _ := a.Orders.Get(ctx, id)
	for i := 0; i < 2; i++ {
		if err := a.Flow.Redrive(ctx, o); err != nil {
			t.Fatalf("cancel steps #%d: %v", i+1, err)
		}
	}
	if inv := qb.Invoice(o.Invoice.ID); !strings.HasPrefix(inv["PrivateNote"].(string), "Voided Order "+id) || inv["SyncToken"] != "1" {
		t.Errorf("invoice %v", inv)
	}
}

func TestVoidedInvoiceCancels(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()
	id, o := invoiced(t)
	inv := qb.Invoice(o.Invoice.ID)
	c := quickbooks.New(qb.URL, qbfake.Realm, a.QuickBooksAccess, nil)
	if err := c.VoidInvoice(ctx, o.Invoice.ID, inv["SyncToken"].(string)); err != nil {
		t.Fatal(err)
	}
	if outcome, err := a.Bookkeeping.HandleEvent(ctx, "Invoice", o.Invoice.ID, "Update"); err != nil || !strings.Contains(outcome, "canceled") {
		t.Fatalf("void: %q %v", outcome, err)
	}
	if o, _ := a.Orders.Get(ctx, id); o.State() != order.Canceled {
		t.Errorf("state %s", o.State())
	}
}

// The local QuickBooks posts its own signed CloudEvents when the owner
// records the payment; quickbooksWebhook records them; the recorded event
// approves the order.
func TestLocalQuickBooksNotifiesApproval(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()
	srv := httptest.NewServer(quickbooksWebhook(a))
	defer srv.Close()
	qb.SetWebhook(srv.URL, qbfake.CloudEvents)
	defer qb.SetWebhook("", "")
	id, o := invoiced(t)

	resp, err := http.Post(qb.URL+"/app/invoices/"+o.Invoice.ID+"/payment", "", nil)
	if err != nil || resp.StatusCode != 200 { // the 303 was followed to the page
		t.Fatalf("mark paid: %v %v", resp, err)
	}
	resp.Body.Close()
	var recorded []*firestore.DocumentSnapshot
	testenv.Poll(t, 10*time.Second, "an Invoice Updated event recorded for invoice "+o.Invoice.ID, func() bool {
		recorded, err = a.Firestore.Collection(firestoredb.WebhookEventsPath(webhookev.QuickBooks)).Where("entity", "==", "Invoice").Where("entityId", "==", o.Invoice.ID).
			Where("operation", "==", "Updated").Documents(ctx).GetAll()
		if err != nil {
			t.Fatal(err)
		}
		return len(recorded) > 0
	})
	ev, err := firestoredb.DecodeWebhookEvent(recorded[0].Data())
	if err != nil || ev.QuickBooks == nil {
		t.Fatalf("the record decodes to %+v, %v", ev, err)
	}
	outcome, err := a.Bookkeeping.HandleRecorded(ctx, ev)
	if err != nil || outcome != "order "+id+" approved" {
		t.Errorf("handle: %q %v", outcome, err)
	}
	for _, d := range qb.Deliveries() {
		if d.Status != 200 {
			t.Errorf("a delivery was answered %d: %s", d.Status, d.Body)
		}
	}
}

func TestOwnerAlerts(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	id, o := invoiced(t)
	for range 2 { // a duplicate delivery raises nothing new
		if err := a.Flow.Redrive(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	mails := func(orderID string) []map[string]any {
		alerts, err := a.Firestore.Collection("alerts").Where("orderId", "==", orderID).Documents(ctx).GetAll()
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]any
		for _, al := range alerts {
			m, err := a.Firestore.Collection("mail").Doc("alert-" + al.Ref.ID).Get(ctx)
			if err != nil {
				t.Fatalf("no mail for alert %s: %v", al.Ref.ID, err)
			}
			out = append(out, m.Data())
		}
		return out
	}
	got := mails(id)
	if len(got) != 1 || got[0]["to"] != "owner@example.com" {
		t.Fatalf("review alerts: %v", got)
	}
	msg := got[0]["message"].(map[string]any)
	if subject := msg["subject"].(string); !strings.Contains(subject, o.Invoice.DocNumber) || !strings.Contains(msg["text"].(string), "Record the invoice paid") {
		t.Errorf("review mail: %v", msg)
	}

	o, _, err := a.Orders.Transition(ctx, id, order.Move{From: []order.State{order.Invoiced}, To: order.NeedsAttention, Actor: "test", Reason: "the printer refused the file"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := a.Flow.Redrive(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if got := mails(id); len(got) != 2 || !strings.Contains(got[0]["message"].(map[string]any)["text"].(string)+got[1]["message"].(map[string]any)["text"].(string), "the printer refused the file") {
		t.Errorf("attention alerts: %v", got)
	}
}

// The owner's approval whose webhook was lost (or never configured) still
// arrives: the sweeper re-reads the invoices of orders waiting in invoiced.
// Not parallel: it settles every invoiced order of the project.
func TestSweeperReconcilesLostWebhooks(t *testing.T) {
	a := testApp(t)
	qb := localQuickBooks(t)
	ctx := context.Background()
	paidID, paid := invoiced(t)
	voidedID, voided := invoiced(t)
	openID, _ := invoiced(t)
	if err := qb.MarkPaid(paid.Invoice.ID); err != nil {
		t.Fatal(err)
	}
	if err := qb.VoidInvoice(voided.Invoice.ID); err != nil {
		t.Fatal(err)
	}
	state := func(id string) order.State {
		o, err := a.Orders.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return o.State()
	}
	// Within OMS_REDRIVE_AFTER the webhook may still come: nothing is read.
	before := len(qb.Calls())
	if _, err := a.Bookkeeping.Reconcile(ctx, time.Now()); err != nil || state(paidID) != order.Invoiced || len(qb.Calls()) != before {
		t.Fatalf("too early: %v, %s, %d calls", err, state(paidID), len(qb.Calls())-before)
	}
	summary, err := a.Bookkeeping.Reconcile(ctx, time.Now().Add(time.Hour))
	if err != nil || !strings.HasPrefix(summary, "moved ") {
		t.Fatalf("reconcile: %q %v", summary, err)
	}
	if state(paidID) != order.Approved || state(voidedID) != order.Canceled || state(openID) != order.Invoiced {
		t.Errorf("after the sweep: paid %s, voided %s, open %s", state(paidID), state(voidedID), state(openID))
	}
	if summary, _ := a.Bookkeeping.Reconcile(ctx, time.Now().Add(time.Hour)); !strings.HasPrefix(summary, "moved 0 ") {
		t.Errorf("a second sweep moved something: %q", summary)
	}
}
