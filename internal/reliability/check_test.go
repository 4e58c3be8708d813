package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/fakefault"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/messages"
)

// effects are what the suite counted outside the backend.
type effects struct {
	captures, stripeRefunds, invoices, receipts, jobs, labels, mailDocs, mailSent, mailUnknown, movements int
}

// check compares every order with what Stripe, QuickBooks, the printer,
// ShipEngine, the mail server and the stock ledger have, and records each
// disagreement in r.
func (s *suite) check(ctx context.Context, results []*result, r *Report) effects {
	var e effects
	h := s.h
	invoices := map[string][]map[string]any{}
	for _, inv := range h.QuickBooks.Invoices() {
		doc, _ := inv["DocNumber"].(string)
		invoices[doc] = append(invoices[doc], inv)
	}
	receipts := map[string][]map[string]any{}
	for _, rr := range h.QuickBooks.RefundReceipts() {
		doc, _ := rr["DocNumber"].(string)
		id, _, _ := strings.Cut(doc, "-R")
		receipts[id] = append(receipts[id], rr)
	}
	refunds := map[string][]map[string]any{}
	for _, rf := range h.Stripe.Refunds() {
		pi, _ := rf["payment_intent"].(string)
		refunds[pi] = append(refunds[pi], rf)
	}
	mails, err := docs(ctx, s, firestoredb.MailCollection)
	if err != nil {
		r.Discrepancy("reading the outbox: %v", err)
	}
	sent, err := mailpitMessages(h.Mailpit.URL)
	if err != nil {
		r.Discrepancy("reading mailpit: %v", err)
	}
	e.mailSent = len(sent)

	var wantJobs, wantLabels int
	var capturedStripe, refundedStripe, capturedOrders, refundedOrders, invoicedBooks, refundedBooks int64
	for _, res := range results {
		name := fmt.Sprintf("order %d (%s, refund %s, %s)", res.n, res.path, res.refund, res.id)
		if res.err != nil {
			r.Discrepancy("%s: %v", name, res.err)
		}
		if res.id == "" {
			r.Discrepancy("%s: lost: no order", name)
			continue
		}
		if res.path != "parcel" {
			wantJobs++
		}
		if res.path != "print" {
			wantLabels++
		}
		o, err := h.App.Orders.Get(ctx, res.id)
		if err != nil {
			r.Discrepancy("%s: lost: %v", name, err)
			continue
		}
		if o.State() != res.want() {
			r.Discrepancy("%s: %s, want %s", name, o.State(), res.want())
		}
		if o.WorkDue() {
			r.Discrepancy("%s: steps still due after the sweeper", name)
		}
		if o.Payment == nil {
			r.Discrepancy("%s: no payment", name)
			continue
		}
		p := o.Payment
		if p.AmountCaptured != res.total || p.AmountRefunded != res.refunded {
			r.Discrepancy("%s: the order records %d captured, %d refunded; the story %d, %d", name, p.AmountCaptured, p.AmountRefunded, res.total, res.refunded)
		}
		capturedOrders += p.AmountCaptured
		refundedOrders += p.AmountRefunded
		// Stripe: one capture of the total, the refunds asked for, once each.
		intent := h.Stripe.Intent(p.IntentID)
		received := toInt(intent["amount_received"])
		if received != res.total {
			r.Discrepancy("%s: Stripe received %d, the total is %d", name, received, res.total)
		}
		if received > 0 {
			e.captures++
		}
		capturedStripe += received
		var n int
		var sum int64
		for _, rf := range refunds[p.IntentID] {
			if rf["status"] == "succeeded" {
				n++
				sum += toInt(rf["amount"])
			}
		}
		e.stripeRefunds += n
		refundedStripe += sum
		if n != res.refunds || sum != res.refunded {
			r.Discrepancy("%s: Stripe has %d refunds for %d; the story %d for %d", name, n, sum, res.refunds, res.refunded)
		}
		// QuickBooks: one invoice, paid; one refund receipt per refund.
		invs := invoices[res.id]
		e.invoices += len(invs)
		if len(invs) != 1 {
			r.Discrepancy("%s: %d QuickBooks invoices", name, len(invs))
		}
		for _, inv := range invs {
			total, bal := cents(inv["TotalAmt"]), cents(inv["Balance"])
			invoicedBooks += total - bal
			if total != res.total || bal != 0 {
				r.Discrepancy("%s: the invoice totals %d with %d unpaid; the order %d", name, total, bal, res.total)
			}
		}
		rs := receipts[res.id]
		e.receipts += len(rs)
		var booked int64
		for _, rr := range rs {
			booked += cents(rr["TotalAmt"])
		}
		refundedBooks += booked
		if len(rs) != res.refunds || booked != res.refunded {
			r.Discrepancy("%s: %d refund receipts for %d in QuickBooks; the story %d for %d", name, len(rs), booked, res.refunds, res.refunded)
		}
		// Mail: every email of the order's outbox delivered exactly once.
		var outbox []map[string]any
		for _, m := range mails {
			if m["orderId"] == res.id {
				outbox = append(outbox, m)
			}
		}
		byID := map[string]int{}
		for _, m := range sent {
			if strings.EqualFold(m.to, res.email) {
				byID[m.messageID]++
			}
		}
		toCustomer := 0
		for _, m := range outbox {
			id := m["_id"].(string)
			d, _ := m["delivery"].(map[string]any)
			// An attempt a SIGKILL cut short ends "delivery unknown" with the
			// owner alerted, by design never sent again blindly (the server
			// may have taken it): counted, not lost unseen.
			// Still PROCESSING: its attempt's lease (10 minutes) has not run
			// out yet; it will end the same way.
			unknown := d["state"] == "ERROR" && d["error"] == messages.DeliveryUnknown || d["state"] == "PROCESSING"
			if unknown {
				e.mailUnknown++
			}
			if to, _ := m["to"].(string); strings.Contains(strings.ToLower(to), res.email) { // "Name <address>"
				toCustomer++
				if n := byID[id]; n > 1 || n == 0 && !unknown {
					r.Discrepancy("%s: the email %s delivered %d times", name, id, n)
				}
				delete(byID, id)
			}
			if d["state"] != "SUCCESS" && !unknown {
				r.Discrepancy("%s: the email %s is %v, not sent", name, id, d["state"])
			}
		}
		if toCustomer < 3 {
			r.Discrepancy("%s: only %d emails to the customer in the outbox", name, toCustomer)
		}
		for id, n := range byID {
			r.Discrepancy("%s: %d emails (Message-ID %s) delivered that the outbox does not have", name, n, id)
		}
	}
	e.mailDocs = len(mails)
	// The money agrees: Stripe, the orders and the books.
	if capturedStripe-refundedStripe != capturedOrders-refundedOrders || capturedOrders-refundedOrders != invoicedBooks-refundedBooks {
		r.Discrepancy("money: Stripe %d captured − %d refunded; the orders %d − %d; QuickBooks %d paid − %d refunded",
			capturedStripe, refundedStripe, capturedOrders, refundedOrders, invoicedBooks, refundedBooks)
	}
	// One print job and one label per order that has that part.
	e.jobs, e.labels = len(h.Printer.Jobs()), h.ShipEngine.Labels("")
	if e.jobs != wantJobs {
		r.Discrepancy("%d print jobs at the printer for %d orders with a print part", e.jobs, wantJobs)
	}
	if e.labels != wantLabels {
		r.Discrepancy("%d labels bought for %d orders with a parcel", e.labels, wantLabels)
	}
	e.movements = s.checkStock(ctx, results, r)
	return e
}

// checkStock replays the ledger: for every SKU, the sum of its movements
// is its on-hand and held units, none negative, none held beyond what is
// on hand; the scarce SKU sold no more than it had.
func (s *suite) checkStock(ctx context.Context, results []*result, r *Report) int {
	levels, err := docs(ctx, s, firestoredb.InventoryCollection)
	if err != nil {
		r.Discrepancy("reading the inventory: %v", err)
		return 0
	}
	moves, err := docs(ctx, s, firestoredb.InventoryMovementsCollection)
	if err != nil {
		r.Discrepancy("reading the stock ledger: %v", err)
		return 0
	}
	type sums struct{ onHand, held, received int64 }
	replay := map[string]*sums{}
	for _, m := range moves {
		sku, _ := m["sku"].(string)
		if replay[sku] == nil {
			replay[sku] = &sums{}
		}
		dOn := toInt(m["deltaOnHand"])
		replay[sku].onHand += dOn
		replay[sku].held += toInt(m["deltaHeld"])
		if dOn > 0 {
			replay[sku].received += dOn // the seed and restocks
		}
	}
	for _, l := range levels {
		sku := l["_id"].(string)
		on, held := toInt(l["onHand"]), toInt(l["held"])
		got := replay[sku]
		if got == nil {
			got = &sums{}
		}
		if got.onHand != on || got.held != held {
			r.Discrepancy("stock %s: on hand %d, held %d; its ledger replays to %d, %d", sku, on, held, got.onHand, got.held)
		}
		if on < 0 || held < 0 || held > on {
			r.Discrepancy("stock %s oversold: on hand %d, held %d", sku, on, held)
		}
		if sku == scarceSKU {
			var sold int64
			for _, res := range results {
				if res.gotScarce {
					sold++
				}
			}
			if sold > got.received {
				r.Discrepancy("stock %s: %d sold of %d", sku, sold, got.received)
			}
		}
	}
	return len(moves)
}

// table adds the run's figures to r.
func (s *suite) table(r *Report, results []*result, e effects, drove time.Duration) {
	count := func(f func(*result) bool) int {
		n := 0
		for _, x := range results {
			if f(x) {
				n++
			}
		}
		return n
	}
	r.Add("orders", "driven", len(results))
	for _, p := range []string{"print", "parcel", "mixed"} {
		r.Add("orders", "path "+p, count(func(x *result) bool { return x.path == p }))
	}
	for _, f := range []string{"none", "partial", "full"} {
		r.Add("orders", "refund "+f, count(func(x *result) bool { return x.refund == f }))
	}
	r.Add("orders", "scarce unit bought", count(func(x *result) bool { return x.gotScarce }))
	r.Add("orders", "scarce unit refused (sold out)", count(func(x *result) bool { return x.refusedScarce }))
	r.Add("orders", "seconds to drive them all", int(drove.Seconds()))
	fakes := []struct {
		name string
		in   interface{ Counts() map[fakefault.Kind]int }
	}{{"Stripe", s.h.Stripe.Faults()}, {"QuickBooks", s.h.QuickBooks.Faults()}, {"printer", s.h.Printer.Faults()}, {"ShipEngine", s.h.ShipEngine.Faults()}}
	for _, k := range fakefault.Kinds {
		total := 0
		var by []string
		for _, f := range fakes {
			if n := f.in.Counts()[k]; n > 0 {
				total += n
				by = append(by, f.name+" "+strconv.Itoa(n))
			}
		}
		what := string(k)
		if len(by) > 0 {
			what += " (" + strings.Join(by, ", ") + ")"
		}
		r.Add("faults injected", what, total)
	}
	st := s.h.Relay.Stats()
	r.Add("deliveries", "Firestore events", st.Events)
	r.Add("deliveries", "Firestore events delivered twice", st.DuplicateEvents)
	r.Add("deliveries", "webhooks", st.Webhooks)
	r.Add("deliveries", "webhooks delivered twice (out of order)", st.DuplicateWebhooks)
	r.Add("deliveries", "retried (host down or 5xx)", st.Retried)
	r.Add("deliveries", "refused by the host (4xx)", st.Refused)
	r.Add("deliveries", "abandoned", st.Abandoned)
	s.host.mu.Lock()
	r.Add("host", "SIGKILLs", s.host.kills)
	r.Add("host", "starts", s.host.starts)
	r.Add("host", "scheduled sweeps while the orders ran", int(s.sweeps.Load()))
	s.host.mu.Unlock()
	r.Add("effects", "captures at Stripe", e.captures)
	r.Add("effects", "refunds at Stripe", e.stripeRefunds)
	r.Add("effects", "QuickBooks invoices", e.invoices)
	r.Add("effects", "QuickBooks refund receipts", e.receipts)
	r.Add("effects", "print jobs", e.jobs)
	r.Add("effects", "labels bought", e.labels)
	r.Add("effects", "emails in the outbox", e.mailDocs)
	r.Add("effects", "emails delivered (mailpit)", e.mailSent)
	r.Add("effects", "emails a kill cut short mid-send (delivery unknown: not resent, owner alerted)", e.mailUnknown)
	r.Add("effects", "stock ledger records", e.movements)
}

type sentMail struct{ to, subject, messageID string }

// mailpitMessages lists every message mailpit accepted.
func mailpitMessages(url string) ([]sentMail, error) {
	resp, err := http.Get(url + "/api/v1/messages?limit=100000")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Messages []struct {
			To        []struct{ Address string }
			Subject   string
			MessageID string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	var ms []sentMail
	for _, m := range out.Messages {
		for _, to := range m.To {
			id, _, _ := strings.Cut(m.MessageID, "@") // <id@domain>, as the built-in sender names it
			ms = append(ms, sentMail{to.Address, m.Subject, strings.TrimPrefix(id, "<")})
		}
	}
	return ms, nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(x)
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}

// cents reads QuickBooks' decimal amounts ("12.50") exactly.
func cents(v any) int64 {
	s := fmt.Sprint(v)
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + "00")[:2]
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	if strings.HasPrefix(s, "-") {
		return w*100 - f
	}
	return w*100 + f
}
