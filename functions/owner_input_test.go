package functions

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
)

// detailsOf decodes an error answer's details.
func detailsOf(a rpcAnswer[json.RawMessage]) map[string]any {
	var d map[string]any
	_ = json.Unmarshal(a.Error.Details, &d)
	return d
}

// handlerOf is the handler of the callable c, built on a.
func handlerOf(t *testing.T, a *app.App, c storefront.Described) http.Handler {
	t.Helper()
	f, ok := Lookup(c.CallName())
	if !ok {
		t.Fatalf("%s is in no function list", c.CallName())
	}
	return f.Handler(a)
}

// isOwnerCall reports whether c is the owner's only (its table has not_owner).
func isOwnerCall(c storefront.Described) bool {
	return slices.ContainsFunc(c.ErrorCases(), func(e storefront.ErrorCase) bool { return e.Reason == identity.ReasonNotOwner })
}

const someOrderID = "ABCDEFGHJKLM"

// Issue 20, item 11: a wrapped 64-bit integer that is not one (of the
// wrong form, or out of its range) is wrong_type naming its field, on
// every callable, as any other field of the wrong type is.
func TestWrappedValuesNameTheirField(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	u := user(t)
	const i64 = "type.googleapis.com/google.protobuf.Int64Value"
	const u64 = "type.googleapis.com/google.protobuf.UInt64Value"
	wrapped := func(typ string, v any) map[string]any { return map[string]any{"@type": typ, "value": v} }
	for _, c := range storefront.Calls {
		h := handlerOf(t, a, c)
		for _, bad := range []any{wrapped(i64, "K7Q2M9XH4TBA"), wrapped(i64, 12), wrapped(u64, "-1")} {
			ans := rpc[json.RawMessage](t, h, u.IDToken, map[string]any{"orderId": bad})
			if d := detailsOf(ans); d["reason"] != "wrong_type" || d["field"] != "orderId" {
				t.Errorf("%s with a wrapped orderId %v: %d %s %q %s, want wrong_type on orderId", c.CallName(), bad, ans.status, ans.Error.Status, ans.Error.Message, ans.Error.Details)
			}
		}
	}
	boss := owner(t)
	for _, c := range []struct {
		h     http.Handler
		data  map[string]any
		field string
	}{
		{withRequestID(adjustStock(a)), map[string]any{"sku": "SKU-1", "delta": wrapped(i64, "99999999999999999999"), "reason": "restock"}, "delta"},
		{withRequestID(adjustStock(a)), map[string]any{"sku": "SKU-1", "delta": wrapped(u64, "18446744073709551615"), "reason": "restock"}, "delta"},
		{withRequestID(refundOrder(a)), map[string]any{"orderId": someOrderID, "amount": wrapped(i64, "-99999999999999999999"), "reason": "why"}, "amount"},
		{withRequestID(refundOrder(a)), map[string]any{"orderId": someOrderID, "amount": wrapped(u64, "-5"), "reason": "why"}, "amount"},
		{withRequestID(refundOrder(a)), map[string]any{"orderId": someOrderID, "amount": wrapped(i64, "5.5"), "reason": "why"}, "amount"},
	} {
		ans := rpc[json.RawMessage](t, c.h, boss.IDToken, c.data)
		if d := detailsOf(ans); d["reason"] != "wrong_type" || d["field"] != c.field || !strings.Contains(ans.Error.Message, c.field) {
			t.Errorf("%v: %d %s %q %s, want wrong_type on %s", c.data, ans.status, ans.Error.Status, ans.Error.Message, ans.Error.Details, c.field)
		}
	}
}

// Issue 20, item 10: the owner's free text (a shipment's carrier and
// tracking number, every reason) reaches emails, alerts, Stripe and
// QuickBooks: control characters and line breaks in it are refused as
// malformed, naming the field, before anything is read or written.
func TestOwnerTextRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	boss := owner(t)
	ship := func(carrier, tracking string) map[string]any {
		return map[string]any{"orderId": someOrderID, "partId": "parcel", "carrier": carrier, "trackingNumber": tracking}
	}
	bad := []string{"USPS\nYour refund: https://evil.example", "USPS\r\nBcc: x@evil.example", "1Z\u2028999", "\x1b[31mUSPS", "USPS\u0085x", "US\tPS", "USPS\u202e"}
	type tc struct {
		h     http.Handler
		data  map[string]any
		field string
	}
	var cases []tc
	for _, s := range bad {
		cases = append(cases,
			tc{withRequestID(markShipped(a)), ship(s, "1Z999"), "carrier"},
			tc{withRequestID(markShipped(a)), ship("USPS", s), "trackingNumber"},
			tc{withRequestID(cancelOrder(a)), map[string]any{"orderId": someOrderID, "reason": s}, "reason"},
			tc{withRequestID(refundOrder(a)), map[string]any{"orderId": someOrderID, "full": true, "reason": s}, "reason"},
			tc{withRequestID(adjustStock(a)), map[string]any{"sku": testenv.ID("SKU-NONE"), "delta": 1, "reason": s}, "reason"},
		)
	}
	for _, c := range cases {
		ans := rpc[json.RawMessage](t, c.h, boss.IDToken, c.data)
		if d := detailsOf(ans); ans.Error.Status != "INVALID_ARGUMENT" || d["reason"] != order.ReasonMalformed || d["field"] != c.field {
			t.Errorf("%q: %d %s %q %s, want malformed on %s", c.data, ans.status, ans.Error.Status, ans.Error.Message, ans.Error.Details, c.field)
		}
	}
	// Letters of any script, punctuation and inner spaces are words.
	ans := rpc[json.RawMessage](t, withRequestID(cancelOrder(a)), boss.IDToken, map[string]any{"orderId": someOrderID, "reason": "Kundin möchte — «storniert» 注文"})
	if d := detailsOf(ans); d["reason"] != order.ReasonOrderNotFound {
		t.Errorf("a reason in words: %s %s", ans.Error.Status, ans.Error.Details)
	}
}

// Issue 20, item 7: refundOrder never refunds everything by omission (the
// JS SDK sends undefined as null): a full refund is asked for with
// full: true; no amount without it is required on amount, and full: true
// with an amount is refused on amount.
func TestRefundAsksForEverythingExplicitly(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	boss := owner(t)
	refund := func(data map[string]any) rpcAnswer[json.RawMessage] {
		return rpc[json.RawMessage](t, withRequestID(refundOrder(a)), boss.IDToken, data)
	}
	for _, c := range []struct {
		data   map[string]any
		reason string
	}{
		{map[string]any{"orderId": someOrderID, "reason": "why"}, order.ReasonRequired},
		{map[string]any{"orderId": someOrderID, "amount": nil, "reason": "why"}, order.ReasonRequired},
		{map[string]any{"orderId": someOrderID, "amount": nil, "full": false, "reason": "why"}, order.ReasonRequired},
		{map[string]any{"orderId": someOrderID, "full": nil, "reason": "why"}, order.ReasonRequired},
		{map[string]any{"orderId": someOrderID, "amount": 0, "reason": "why"}, order.ReasonAmountInvalid},
		{map[string]any{"orderId": someOrderID, "amount": 0, "full": true, "reason": "why"}, "full_with_amount"},
		{map[string]any{"orderId": someOrderID, "amount": 500, "full": true, "reason": "why"}, "full_with_amount"},
		{map[string]any{"orderId": someOrderID, "full": true, "reason": "why"}, order.ReasonOrderNotFound},
		{map[string]any{"orderId": someOrderID, "amount": 500, "full": false, "reason": "why"}, order.ReasonOrderNotFound},
	} {
		ans := refund(c.data)
		d := detailsOf(ans)
		if d["reason"] != c.reason || (ans.Error.Status == "INVALID_ARGUMENT" && d["field"] != "amount") {
			t.Errorf("%v: %d %s %q %s, want %s", c.data, ans.status, ans.Error.Status, ans.Error.Message, ans.Error.Details, c.reason)
		}
	}
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "B", 1)
	ans := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID, "full": true, "reason": "returned"})
	if ans.status != 200 || ans.Result.Refund.Amount != o.Total().Amount || ans.Result.Refund.Refundable != 0 {
		t.Errorf("full: true: %d %+v %+v", ans.status, ans.Error, ans.Result.Refund)
	}
}

// revokingTokens verifies ID tokens as production's VerifyIDToken does —
// without asking Firebase Auth whether the token was revoked or its
// account disabled — and checks that only when asked.
type revokingTokens struct {
	ids     map[string]*identity.Identity
	revoked map[string]bool // tokens revoked (or whose account is disabled)
	checks  atomic.Int64    // revocation checks made
}

func (r *revokingTokens) VerifyIDToken(_ context.Context, token string) (*identity.Identity, error) {
	if id, ok := r.ids[token]; ok {
		return id, nil
	}
	return nil, errors.New("not a token")
}

func (r *revokingTokens) VerifyIDTokenAndCheckRevoked(ctx context.Context, token string) (*identity.Identity, error) {
	r.checks.Add(1)
	if r.revoked[token] {
		return nil, errors.New("ID token has been revoked")
	}
	return r.VerifyIDToken(ctx, token)
}

// Issue 20, item 12: the owner's callables check that the owner's ID token
// was not revoked (nor the account disabled), so that an owner signed out
// everywhere loses access at once; the customers' callables do not pay
// for that check.
func TestOwnerCallablesCheckRevocation(t *testing.T) {
	t.Parallel()
	testenv.Firestore(t)
	testenv.AuthHost(t)
	boss := &identity.Identity{UID: testenv.ID("owner"), SignInProvider: "password", Claims: map[string]any{"admin": true}}
	shopper := &identity.Identity{UID: testenv.ID("shopper"), SignInProvider: "anonymous", Claims: map[string]any{}}
	tokens := &revokingTokens{ids: map[string]*identity.Identity{"owner": boss, "revoked-owner": boss, "revoked-shopper": shopper},
		revoked: map[string]bool{"revoked-owner": true, "revoked-shopper": true}}
	a, err := app.New(context.Background(), devConfig(t), app.Options{LogOutput: io.Discard, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	owned := 0
	for _, c := range storefront.Calls {
		if !isOwnerCall(c) {
			continue
		}
		owned++
		h := handlerOf(t, a, c)
		data := map[string]any{"orderId": someOrderID}
		if c.CallName() == storefront.AdjustStock.Name {
			data = map[string]any{"sku": testenv.ID("SKU-NONE"), "delta": 1, "reason": "restock"}
		}
		ans := rpc[json.RawMessage](t, h, "revoked-owner", data)
		if d := detailsOf(ans); ans.Error.Status != "UNAUTHENTICATED" || d["reason"] != "invalid_token" {
			t.Errorf("%s with a revoked owner's token: %d %s %s", c.CallName(), ans.status, ans.Error.Status, ans.Error.Details)
		}
		ans = rpc[json.RawMessage](t, h, "owner", data)
		if ans.Error.Status == "UNAUTHENTICATED" || ans.Error.Status == "PERMISSION_DENIED" {
			t.Errorf("%s with the owner's token: %d %s %s", c.CallName(), ans.status, ans.Error.Status, ans.Error.Details)
		}
	}
	if owned != 7 {
		t.Errorf("%d owner callables, want 7", owned)
	}
	checked := tokens.checks.Load()
	for _, c := range storefront.Calls {
		if isOwnerCall(c) {
			continue
		}
		ans := rpc[json.RawMessage](t, handlerOf(t, a, c), "revoked-shopper", map[string]any{"orderId": someOrderID})
		if ans.Error.Status == "UNAUTHENTICATED" {
			t.Errorf("%s checked revocation: %s", c.CallName(), ans.Error.Details)
		}
	}
	if n := tokens.checks.Load() - checked; n != 0 {
		t.Errorf("the customers' callables made %d revocation checks", n)
	}
}

// Issue 20, item 14: markShipped again with the same carrier and tracking
// after the order shipped answers the order unchanged (as docs/api.md
// promises); other tracking is refused as before (the order is not
// fulfilling: state says shipped).
func TestMarkShippedAgainAfterTheOrderShipped(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "B", 1)
	boss := owner(t)
	data := map[string]any{"orderId": o.ID, "partId": "parcel", "carrier": "USPS", "trackingNumber": "9400 1000"}
	first := rpc[json.RawMessage](t, withRequestID(markShipped(a)), boss.IDToken, data)
	var shipped storefront.Order
	if err := json.Unmarshal(first.Result, &shipped); err != nil || first.status != 200 || shipped.State != order.Shipped {
		t.Fatalf("shipped: %d %+v %s", first.status, first.Error, first.Result)
	}
	before, _ := a.Orders.Get(context.Background(), o.ID)
	data["trackingNumber"] = " 9400 1000 " // as typed again
	again := rpc[json.RawMessage](t, withRequestID(markShipped(a)), boss.IDToken, data)
	if again.status != 200 || string(again.Result) != string(first.Result) {
		t.Errorf("the same tracking again: %d %+v\n got  %s\n want %s", again.status, again.Error, again.Result, first.Result)
	}
	after, _ := a.Orders.Get(context.Background(), o.ID)
	if !after.UpdatedAt.Equal(before.UpdatedAt) || len(after.History()) != len(before.History()) {
		t.Errorf("the order changed: %v → %v, %d → %d history entries", before.UpdatedAt, after.UpdatedAt, len(before.History()), len(after.History()))
	}
	data["trackingNumber"] = "9400 2000"
	other := rpc[json.RawMessage](t, withRequestID(markShipped(a)), boss.IDToken, data)
	if d := detailsOf(other); d["reason"] != order.ReasonNotFulfilling || d["state"] != string(order.Shipped) {
		t.Errorf("other tracking: %d %s %s", other.status, other.Error.Status, other.Error.Details)
	}
}

// Issue 20, item 15: an answer's times are the order document's, to the
// microsecond Firestore keeps (not the nanoseconds of the write's clock).
func TestAnswersCarryTheDocumentsTimes(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	boss := owner(t)
	var (
		o   *order.Order
		ans rpcAnswer[storefront.Order]
	)
	for i := 0; i < 5; i++ { // a clock may land on a whole microsecond: five tries
		_, o = fulfilling(t, a, s, "B", 1)
		ans = rpc[storefront.Order](t, withRequestID(markShipped(a)), boss.IDToken, map[string]any{"orderId": o.ID, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"})
		if ans.status != 200 {
			t.Fatalf("shipped: %d %+v", ans.status, ans.Error)
		}
		if at := ans.Result.Fulfilment.Parts[0].ShippedAt; at != nil && at.Nanosecond()%1000 != 0 {
			break
		}
	}
	snap, err := a.Firestore.Collection("orders").Doc(o.ID).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		UpdatedAt  time.Time `firestore:"updatedAt"`
		CreatedAt  time.Time `firestore:"createdAt"`
		Fulfilment struct {
			Parts []struct {
				ShippedAt time.Time `firestore:"shippedAt"`
			} `firestore:"parts"`
		} `firestore:"fulfilment"`
	}
	if err := snap.DataTo(&doc); err != nil {
		t.Fatal(err)
	}
	got := ans.Result
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{
		{"shippedAt", *got.Fulfilment.Parts[0].ShippedAt, doc.Fulfilment.Parts[0].ShippedAt},
		{"updatedAt", got.UpdatedAt, doc.UpdatedAt},
		{"createdAt", got.CreatedAt, doc.CreatedAt},
	} {
		if g, w := c.got.UTC().Format(time.RFC3339Nano), c.want.UTC().Format(time.RFC3339Nano); g != w {
			t.Errorf("%s: answered %s, the document holds %s", c.name, g, w)
		}
	}
}

// Issue 20, item 12, the owner's QuickBooks page too: quickbooksConnect
// checks that the owner's ID token was not revoked.
func TestQuickBooksConnectChecksRevocation(t *testing.T) {
	t.Parallel()
	testenv.Firestore(t)
	testenv.AuthHost(t)
	boss := &identity.Identity{UID: testenv.ID("owner"), SignInProvider: "password", Claims: map[string]any{"admin": true}}
	tokens := &revokingTokens{ids: map[string]*identity.Identity{"owner": boss, "revoked-owner": boss}, revoked: map[string]bool{"revoked-owner": true}}
	a, err := app.New(context.Background(), devConfig(t), app.Options{LogOutput: io.Discard, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if w := serve(quickbooksConnect(a), "GET", "/quickbooksConnect", map[string]string{"Authorization": "Bearer revoked-owner"}); w.Code != 401 {
		t.Errorf("a revoked owner's token: %d %s", w.Code, w.Body)
	}
	if w := serve(quickbooksConnect(a), "GET", "/quickbooksConnect", map[string]string{"Authorization": "Bearer owner"}); w.Code/100 != 3 {
		t.Errorf("the owner's token: %d %s", w.Code, w.Body)
	}
}
