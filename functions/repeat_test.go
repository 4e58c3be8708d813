package functions

// Issue 21, part 1: every owner command carries a request id; the same id
// again — ten at once — answers what the first did and changes nothing; a
// different id is a new act, and the same refund again within a minute
// must be confirmed.

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestOwnerCommandsAreSafeToRepeat(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	s := newStore(t, r.a, 10, 10)
	boss := owner(t)
	o, pi := r.charged(t, s, "A", 3)
	refund := func(data map[string]any) rpcAnswer[storefront.RefundOrderAnswer] {
		data["orderId"] = o.ID
		return rpc[storefront.RefundOrderAnswer](t, refundOrder(r.a), boss.IDToken, data)
	}

	// Ten clicks at once with one request id: one refund.
	id := testenv.ID("refund-once")
	start := time.Now()
	answers := make([]rpcAnswer[storefront.RefundOrderAnswer], 10)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = refund(map[string]any{"requestId": id, "amount": 500, "reason": "scuffed"})
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for i, ans := range answers {
		if ans.status != 200 || ans.Result.Refund.N != 1 || ans.Result.Refund.Amount != 500 {
			t.Errorf("answer %d: %d %+v %+v", i, ans.status, ans.Error, ans.Result.Refund)
		}
	}
	for i := 0; i < 3; i++ {
		o = settle(t, r.a, o.ID)
	}
	if got := refundsAt(r.st, pi); len(got) != 1 || len(receiptsOf(t, o.ID)) != 1 || len(o.Payment.Refunds) != 1 {
		t.Fatalf("ten repeats of one request: %d refunds at Stripe, %d receipts, %d on the order", len(got), len(receiptsOf(t, o.ID)), len(o.Payment.Refunds))
	}
	t.Logf("ten concurrent refundOrder calls with one requestId: all answered refund 1 in %s; Stripe refunds 1, QuickBooks receipts 1", took.Round(time.Millisecond))

	// The same request again while Stripe is down: the first answer, and
	// nothing asked of Stripe.
	live := r.a.Payments.Intents
	r.a.Payments.Intents = stripepay.NotConfigured{}
	again := refund(map[string]any{"requestId": id, "amount": 500, "reason": "scuffed"})
	r.a.Payments.Intents = live
	if again.status != 200 || again.Result.Refund.N != 1 {
		t.Errorf("the same request with Stripe down: %d %+v", again.status, again.Error)
	}

	// The same id with other input is no repeat of it.
	if ans := refund(map[string]any{"requestId": id, "amount": 600, "reason": "scuffed"}); ans.Error.Status != "INVALID_ARGUMENT" || !hasReason(ans.Error.Details, order.ReasonRequestReused, "requestId") {
		t.Errorf("the same id, another amount: %d %+v", ans.status, ans.Error)
	}
	// Another id, the same amount within a minute: a possible duplicate,
	// unless confirmed.
	if ans := refund(map[string]any{"requestId": testenv.ID("refund-again"), "amount": 500, "reason": "scuffed"}); ans.Error.Status != "FAILED_PRECONDITION" || !hasReason(ans.Error.Details, order.ReasonPossibleDuplicate, "") {
		t.Errorf("the same refund under another id: %d %+v", ans.status, ans.Error)
	}
	if ans := refund(map[string]any{"requestId": testenv.ID("refund-again"), "amount": 500, "reason": "scuffed", "confirmDuplicate": true}); ans.status != 200 || ans.Result.Refund.N != 2 {
		t.Errorf("the same refund again, confirmed: %d %+v", ans.status, ans.Error)
	}
	if ans := refund(map[string]any{"requestId": testenv.ID("refund-other"), "amount": 100, "reason": "late"}); ans.status != 200 || ans.Result.Refund.N != 3 {
		t.Errorf("another amount under another id: %d %+v", ans.status, ans.Error)
	}
	for i := 0; i < 3; i++ {
		o = settle(t, r.a, o.ID)
	}
	if got := refundsAt(r.st, pi); len(got) != 3 || len(receiptsOf(t, o.ID)) != 3 {
		t.Errorf("three ids: %d refunds at Stripe, %d receipts", len(got), len(receiptsOf(t, o.ID)))
	}

	// A cancel repeated (ten at once) cancels once and asks for one refund.
	c, cpi := r.charged(t, s, "A", 1)
	cid := testenv.ID("cancel-once")
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ans := rpc[storefront.Order](t, cancelOrder(r.a), boss.IDToken, map[string]any{"requestId": cid, "orderId": c.ID, "reason": "the customer called"})
			if ans.status != 200 || ans.Result.State != order.Canceled {
				t.Errorf("cancel %d: %d %+v", i, ans.status, ans.Error)
			}
		}()
	}
	wg.Wait()
	c = settle(t, r.a, c.ID)
	c = settle(t, r.a, c.ID)
	if got := refundsAt(r.st, cpi); len(c.Payment.Refunds) != 1 || len(got) != 1 {
		t.Errorf("ten repeats of one cancel: %d refunds on the order, %d at Stripe", len(c.Payment.Refunds), len(got))
	}

	// A stock adjustment repeated (ten at once) moves the stock once.
	sku := s.sku["B"]
	aid := testenv.ID("adjust-once")
	levels := make([]rpcAnswer[storefront.StockLevel], 10)
	for i := range levels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			levels[i] = rpc[storefront.StockLevel](t, adjustStock(r.a), boss.IDToken, map[string]any{"requestId": aid, "sku": sku, "delta": 7, "reason": "restock"})
		}()
	}
	wg.Wait()
	for i, l := range levels {
		if l.status != 200 || l.Result.OnHand != 17 {
			t.Errorf("adjustment %d: %d %+v %+v", i, l.status, l.Result, l.Error)
		}
	}
	if l := rpc[storefront.StockLevel](t, adjustStock(r.a), boss.IDToken, map[string]any{"requestId": aid, "sku": sku, "delta": 8, "reason": "restock"}); !hasReason(l.Error.Details, order.ReasonRequestReused, "requestId") {
		t.Errorf("the same id, another delta: %d %+v", l.status, l.Error)
	}
	if l := rpc[storefront.StockLevel](t, adjustStock(r.a), boss.IDToken, map[string]any{"requestId": testenv.ID("adjust-again"), "sku": sku, "delta": 7, "reason": "restock"}); l.Result.OnHand != 24 {
		t.Errorf("another id: %d %+v %+v", l.status, l.Result, l.Error)
	}

	// Without a request id the owner's commands are refused.
	for name, h := range map[string]func() rpcAnswer[json.RawMessage]{
		"retryOrder": func() rpcAnswer[json.RawMessage] {
			return rpc[json.RawMessage](t, retryOrder(r.a), boss.IDToken, map[string]any{"orderId": o.ID})
		},
		"cancelOrder": func() rpcAnswer[json.RawMessage] {
			return rpc[json.RawMessage](t, cancelOrder(r.a), boss.IDToken, map[string]any{"orderId": o.ID, "reason": "x"})
		},
		"refundOrder": func() rpcAnswer[json.RawMessage] {
			return rpc[json.RawMessage](t, refundOrder(r.a), boss.IDToken, map[string]any{"orderId": o.ID, "amount": 1, "reason": "x"})
		},
		"markShipped": func() rpcAnswer[json.RawMessage] {
			return rpc[json.RawMessage](t, markShipped(r.a), boss.IDToken, map[string]any{"orderId": o.ID, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"})
		},
		"adjustStock": func() rpcAnswer[json.RawMessage] {
			return rpc[json.RawMessage](t, adjustStock(r.a), boss.IDToken, map[string]any{"sku": sku, "delta": 1, "reason": "x"})
		},
	} {
		if ans := h(); ans.Error.Status != "INVALID_ARGUMENT" || !hasReason(ans.Error.Details, order.ReasonRequired, "requestId") {
			t.Errorf("%s without a requestId: %d %+v", name, ans.status, ans.Error)
		}
	}
}

// hasReason reports whether error details name reason (and field, if
// given).
func hasReason(details []byte, reason, field string) bool {
	var d map[string]any
	_ = json.Unmarshal(details, &d)
	return d["reason"] == reason && (field == "" || d["field"] == field)
}
