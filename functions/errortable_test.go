package functions

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/fulfilment"
	"github.com/readyplanner/oms/internal/localfakes"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/payments"
	"github.com/readyplanner/oms/internal/shipengine/shipenginefake"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/stripepay"
	"github.com/readyplanner/oms/internal/tax"
	"github.com/readyplanner/oms/internal/testenv"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// knownReasons are every reason of every callable's error table: rpcB
// fails a test whose callable answered any other (so that no reason
// reaches a storefront undocumented, whichever test provokes it).
var knownReasons = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range storefront.Calls {
		for _, e := range c.ErrorCases() {
			m[e.Reason] = true
		}
	}
	return m
}()

// otherTab is the payment provider as seen while the customer works in a
// second tab: after an expire (or a create) reached Stripe, the other
// tab acts (opens a new session, changes the cart, …) before this call
// goes on. Not re-entrant: the other tab's own calls pass straight through.
type otherTab struct {
	payments.Sessions
	afterExpire, afterCreate atomic.Pointer[func()]
	busy                     atomic.Bool
}

func (o *otherTab) run(p *atomic.Pointer[func()]) {
	if f := p.Load(); f != nil && o.busy.CompareAndSwap(false, true) {
		defer o.busy.Store(false)
		(*f)()
	}
}

func (o *otherTab) ExpireSession(ctx context.Context, id string) (payments.SessionInfo, error) {
	info, err := o.Sessions.ExpireSession(ctx, id)
	o.run(&o.afterExpire)
	return info, err
}

func (o *otherTab) CreateSession(ctx context.Context, r payments.SessionRequest) (payments.Session, error) {
	s, err := o.Sessions.CreateSession(ctx, r)
	o.run(&o.afterCreate)
	return s, err
}

// refusingAppCheck refuses every App Check token.
type refusingAppCheck struct{}

func (refusingAppCheck) VerifyAppCheck(context.Context, string) (string, error) {
	return "", errors.New("token is not a JWT")
}

// faultyApp is an App whose Firestore connection answers every Commit with
// the code fault holds (codes.OK: no fault): the real emulator, with a
// failure injected on the wire.
func faultyApp(t *testing.T) (*app.App, *atomic.Uint32) {
	t.Helper()
	var fault atomic.Uint32
	a := wiredApp(t, func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if c := codes.Code(fault.Load()); c != codes.OK && strings.HasSuffix(method, "/Commit") {
			return status.Error(c, "injected by the test")
		}
		return inv(ctx, method, req, reply, cc, opts...)
	}, nil)
	return a, &fault
}

// raw sends a callable request as a browser could, with any method, body,
// headers and context.
func raw(ctx context.Context, h http.Handler, method, body string, header map[string]string) rpcAnswer[json.RawMessage] {
	r := httptest.NewRequestWithContext(ctx, method, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var a rpcAnswer[json.RawMessage]
	_ = json.Unmarshal(w.Body.Bytes(), &a)
	a.status = w.Code
	return a
}

// failingTaxWith is a tax provider that answers err.
type failingTaxWith struct{ err error }

func (f failingTaxWith) Calculate(context.Context, tax.Sale, string) (tax.Calculation, error) {
	return tax.Calculation{}, f.err
}

// raceOnly are the cases no test can provoke on demand, and why: they are
// reached only by two requests interleaving inside one call.
var raceOnly = map[string]string{
	"startCheckout/order_changed": "the cart changes in another tab between startCheckout's write and its re-pricing (no outside call in between to hold it at)",
}

// Every row of every callable's error table (storefront.Calls, which
// docs/api.md and oms.d.ts list) is provoked for real, and answers its
// status, its reason and the details the row promises.
func TestErrorTableWalk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The rig's own ShipEngine (it is made to fail) and 31-minute payment
	// sessions (a session is reused only with more than 30 minutes left).
	se, err := shipenginefake.Start(localfakes.ShipEngineKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { se.Close() })
	r := newRigWith(t, map[string]string{"OMS_SHIPENGINE_URL": se.URL, "OMS_PAYMENT_SESSION_TTL": "31m"})
	a := r.a
	tab := &otherTab{Sessions: a.Payments.Sessions}
	a.Payments.Sessions = tab
	s := newStore(t, a, 50, 50)
	handlers := map[string]http.Handler{"whoami": whoami(a), "startCheckout": startCheckout(a), "applyCustomer": applyCustomer(a),
		"quoteShipping": quoteShipping(a), "selectShipping": selectShipping(a), "createPaymentSession": createPaymentSession(a)}
	do := func(name, token string, data any) rpcAnswer[json.RawMessage] {
		t.Helper()
		return rpc[json.RawMessage](t, handlers[name], token, data)
	}
	const unknownID = "ABCDEFGHJKLM"
	notPending := func() (emulator.User, string) {
		u, id := checkedOut(t, a, s, "A", 1)
		if _, _, err := a.Orders.Transition(ctx, id, order.Move{From: []order.State{order.Pending}, To: order.Expired, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		return u, id
	}
	// withSession is an order ready to pay with its current session open.
	withSession := func() (emulator.User, string, string) {
		u, id := readyToPay(t, a, s, "", "A", 1)
		return u, id, r.mustSession(t, u.IDToken, id)
	}
	// paidLate: the customer paid the open session; its webhook is late.
	paidLate := func(change func(u emulator.User, id string) rpcAnswer[json.RawMessage]) rpcAnswer[json.RawMessage] {
		u, id, cs := withSession()
		r.st.SetEndpoint("")
		defer func() { r.st.SetEndpoint(r.hook); r.st.Redeliver() }()
		if _, err := r.st.Pay(cs); err != nil {
			t.Fatal(err)
		}
		return change(u, id)
	}
	stripeDown := func(change func(u emulator.User, id string) rpcAnswer[json.RawMessage]) rpcAnswer[json.RawMessage] {
		u, id, _ := withSession()
		r.st.FailNext(100)
		defer r.st.FailNext(0)
		return change(u, id)
	}
	// reopening: every time this call closes the session, the other tab
	// opens a new one.
	reopening := func(change func(u emulator.User, id string) rpcAnswer[json.RawMessage]) rpcAnswer[json.RawMessage] {
		u, id, _ := withSession()
		f := func() {
			if _, err := a.Payments.Start(ctx, u.UID, id, "", ""); err != nil {
				t.Errorf("the other tab's session: %v", err)
			}
			r.clk.Advance(2 * time.Minute) // under 30 minutes left: not reused
		}
		r.clk.Advance(2 * time.Minute)
		tab.afterExpire.Store(&f)
		defer tab.afterExpire.Store(nil)
		return change(u, id)
	}
	// cartChanging: when this call closes the session, the other tab
	// changes the cart (and checks out again).
	cartChanging := func(change func(u emulator.User, id string) rpcAnswer[json.RawMessage]) rpcAnswer[json.RawMessage] {
		u, id, _ := withSession()
		f := func() {
			s.cart(u.UID, "A", 2)
			if _, err := a.Checkout.Start(ctx, u.UID); err != nil {
				t.Errorf("the other tab's checkout: %v", err)
			}
		}
		tab.afterExpire.Store(&f)
		defer tab.afterExpire.Store(nil)
		return change(u, id)
	}
	cartChange := func(u emulator.User, id string) rpcAnswer[json.RawMessage] {
		s.cart(u.UID, "A", 3)
		return do("startCheckout", u.IDToken, map[string]any{})
	}
	rename := func(u emulator.User, id string) rpcAnswer[json.RawMessage] {
		o, _ := a.Orders.Get(ctx, id)
		return do("applyCustomer", u.IDToken, map[string]any{"orderId": id, "name": "Someone Else", "email": o.Customer.Email})
	}
	rechoose := func(u emulator.User, id string) rpcAnswer[json.RawMessage] {
		o, _ := a.Orders.Get(ctx, id)
		for _, rt := range o.Quote.Rates {
			if rt.RateID != o.Shipping.Rate.RateID {
				return do("selectShipping", u.IDToken, map[string]any{"orderId": id, "rateId": rt.RateID})
			}
		}
		t.Fatal("one rate only")
		return rpcAnswer[json.RawMessage]{}
	}
	pay := func(u emulator.User, id string) rpcAnswer[json.RawMessage] {
		r.clk.Advance(2 * time.Minute) // under 30 minutes left: not reused, so closed first
		return do("createPaymentSession", u.IDToken, map[string]any{"orderId": id})
	}
	// taxFails: the store collects tax, and its provider answers err
	// while change works on an order ready to pay.
	taxFails := func(err error, change func(u emulator.User, id string) rpcAnswer[json.RawMessage]) rpcAnswer[json.RawMessage] {
		u, id := readyToPay(t, a, s, "", "A", 1)
		taxes := a.Customers.Taxes
		taxes.Calculator, taxes.Provider = failingTaxWith{err}, order.TaxByStripe
		defer func() { taxes.Calculator, taxes.Provider = nil, "" }()
		return change(u, id)
	}
	taxDown := apperr.New(apperr.Unavailable, "Stripe is unavailable")
	taxRefused := apperr.New(apperr.FailedPrecondition, "Stripe Tax cannot place the address").Because(tax.ReasonAddress)
	freshCart := func(items any) emulator.User {
		u := user(t)
		if _, err := a.Firestore.Collection("carts").Doc(u.UID).Set(ctx, map[string]any{"items": items}); err != nil {
			t.Fatal(err)
		}
		return u
	}
	fa, fault := faultyApp(t)
	// A short budget: a call that keeps losing its transaction answers
	// contention when its time is up (50 s by default).
	fa.Callables.Budget = 4 * time.Second
	fs := newStore(t, fa, 10, 10)
	injected := func(c codes.Code) rpcAnswer[json.RawMessage] {
		u := user(t)
		fs.cart(u.UID, "A", 1)
		fault.Store(uint32(c))
		defer fault.Store(uint32(codes.OK))
		return rpc[json.RawMessage](t, startCheckout(fa), u.IDToken, map[string]any{})
	}
	// App Check enforced: Firebase's verifier needs its keys from the
	// internet, so this one refuses every token as it refuses a malformed one.
	enforced := func(f func() rpcAnswer[json.RawMessage]) rpcAnswer[json.RawMessage] {
		a.Callables.AppCheck, a.Callables.EnforceAppCheck = refusingAppCheck{}, true
		defer func() { a.Callables.AppCheck, a.Callables.EnforceAppCheck = nil, false }()
		return f()
	}

	scenarios := map[string]func() rpcAnswer[json.RawMessage]{
		// The protocol, the caller, the database: every callable.
		"*/bad_request": func() rpcAnswer[json.RawMessage] {
			return raw(ctx, handlers["whoami"], "GET", "", nil)
		},
		"*/unknown_field": func() rpcAnswer[json.RawMessage] {
			return do("applyCustomer", user(t).IDToken, map[string]any{"orderId": unknownID, "name": "Ann", "email": "ann@example.com", "price": 1})
		},
		"*/wrong_type": func() rpcAnswer[json.RawMessage] {
			return do("applyCustomer", user(t).IDToken, map[string]any{"orderId": 5, "name": "Ann", "email": "ann@example.com"})
		},
		"*/sign_in_required": func() rpcAnswer[json.RawMessage] { return do("startCheckout", "", map[string]any{}) },
		"*/invalid_token":    func() rpcAnswer[json.RawMessage] { return do("startCheckout", "not-a-token", map[string]any{}) },
		"*/app_check_required": func() rpcAnswer[json.RawMessage] {
			return enforced(func() rpcAnswer[json.RawMessage] { return do("whoami", "", map[string]any{}) })
		},
		"*/invalid_app_check": func() rpcAnswer[json.RawMessage] {
			return enforced(func() rpcAnswer[json.RawMessage] {
				return raw(ctx, whoami(a), "POST", `{"data":{}}`, map[string]string{"X-Firebase-AppCheck": "not-a-token"})
			})
		},
		"*/origin_not_allowed": func() rpcAnswer[json.RawMessage] {
			return raw(ctx, handlers["whoami"], "POST", `{"data":{}}`, map[string]string{"Origin": "https://elsewhere.example"})
		},
		"*/contention": func() rpcAnswer[json.RawMessage] { return injected(codes.Aborted) },
		// Firestore's INTERNAL: a server error to retry later. (UNAVAILABLE is
		// retried by the client itself for a minute, then times out.)
		"*/database_unavailable": func() rpcAnswer[json.RawMessage] { return injected(codes.Internal) },
		"*/internal":             func() rpcAnswer[json.RawMessage] { return injected(codes.PermissionDenied) },
		"*/canceled": func() rpcAnswer[json.RawMessage] {
			u := user(t)
			s.cart(u.UID, "A", 1)
			c, cancel := context.WithCancel(ctx)
			cancel()
			return raw(c, handlers["startCheckout"], "POST", `{"data":{}}`, map[string]string{"Authorization": "Bearer " + u.IDToken})
		},
		"*/timeout": func() rpcAnswer[json.RawMessage] {
			u := user(t)
			s.cart(u.UID, "A", 1)
			c, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
			defer cancel()
			return raw(c, handlers["startCheckout"], "POST", `{"data":{}}`, map[string]string{"Authorization": "Bearer " + u.IDToken})
		},

		"startCheckout/empty_cart": func() rpcAnswer[json.RawMessage] {
			return do("startCheckout", freshCart([]any{}).IDToken, map[string]any{})
		},
		"startCheckout/too_many_lines": func() rpcAnswer[json.RawMessage] {
			var items []any
			for i := 0; i < 101; i++ {
				items = append(items, map[string]any{"sku": s.sku["A"], "quantity": 1})
			}
			return do("startCheckout", freshCart(items).IDToken, map[string]any{})
		},
		"startCheckout/bad_lines": func() rpcAnswer[json.RawMessage] {
			u := user(t)
			s.cart(u.UID, "A", 1, "NO-SUCH-SKU", 1)
			return do("startCheckout", u.IDToken, map[string]any{})
		},
		"startCheckout/malformed_cart": func() rpcAnswer[json.RawMessage] {
			return do("startCheckout", freshCart("stickers").IDToken, map[string]any{})
		},
		"startCheckout/out_of_stock": func() rpcAnswer[json.RawMessage] {
			u := user(t)
			newStore(t, a, 1, 1).cart(u.UID, "A", 2)
			return do("startCheckout", u.IDToken, map[string]any{})
		},
		"startCheckout/payment_completed":            func() rpcAnswer[json.RawMessage] { return paidLate(cartChange) },
		"startCheckout/payment_provider_unavailable": func() rpcAnswer[json.RawMessage] { return stripeDown(cartChange) },
		"startCheckout/changing_elsewhere":           func() rpcAnswer[json.RawMessage] { return reopening(cartChange) },

		"applyCustomer/required": func() rpcAnswer[json.RawMessage] {
			_, id := checkedOut(t, a, s, "A", 1)
			return do("applyCustomer", user(t).IDToken, map[string]any{"orderId": id, "name": " ", "email": "ann@example.com"})
		},
		"applyCustomer/malformed": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			return do("applyCustomer", u.IDToken, map[string]any{"orderId": id, "name": "Ann", "email": "ann at example"})
		},
		"applyCustomer/too_long": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			return do("applyCustomer", u.IDToken, map[string]any{"orderId": id, "name": "Ann", "email": "ann@example.com", "code": strings.Repeat("X", 65)})
		},
		"applyCustomer/order_not_found": func() rpcAnswer[json.RawMessage] {
			return do("applyCustomer", user(t).IDToken, map[string]any{"orderId": unknownID, "name": "Ann", "email": "ann@example.com"})
		},
		"applyCustomer/order_not_pending": func() rpcAnswer[json.RawMessage] {
			u, id := notPending()
			return do("applyCustomer", u.IDToken, map[string]any{"orderId": id, "name": "Ann", "email": "ann@example.com"})
		},
		"applyCustomer/payment_completed":            func() rpcAnswer[json.RawMessage] { return paidLate(rename) },
		"applyCustomer/tax_unavailable":              func() rpcAnswer[json.RawMessage] { return taxFails(taxDown, rename) },
		"applyCustomer/tax_address":                  func() rpcAnswer[json.RawMessage] { return taxFails(taxRefused, rename) },
		"applyCustomer/payment_provider_unavailable": func() rpcAnswer[json.RawMessage] { return stripeDown(rename) },
		"applyCustomer/changing_elsewhere":           func() rpcAnswer[json.RawMessage] { return reopening(rename) },
		"applyCustomer/order_changed":                func() rpcAnswer[json.RawMessage] { return cartChanging(rename) },

		"quoteShipping/required": func() rpcAnswer[json.RawMessage] {
			return do("quoteShipping", user(t).IDToken, map[string]any{"address": address("1 Main St")})
		},
		"quoteShipping/malformed": func() rpcAnswer[json.RawMessage] {
			return do("quoteShipping", user(t).IDToken, map[string]any{"orderId": "orders/x", "address": address("1 Main St")})
		},
		"quoteShipping/bad_address": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			bad := address("")
			delete(bad, "cityLocality")
			return do("quoteShipping", u.IDToken, map[string]any{"orderId": id, "address": bad})
		},
		"quoteShipping/order_not_found": func() rpcAnswer[json.RawMessage] {
			return do("quoteShipping", user(t).IDToken, map[string]any{"orderId": unknownID, "address": address("1 Main St")})
		},
		"quoteShipping/order_not_pending": func() rpcAnswer[json.RawMessage] {
			u, id := notPending()
			return do("quoteShipping", u.IDToken, map[string]any{"orderId": id, "address": address("1 Main St")})
		},
		"quoteShipping/shipping_unavailable": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			se.Fail5xx(1000)
			defer se.Fail5xx(0)
			return do("quoteShipping", u.IDToken, map[string]any{"orderId": id, "address": address("2 " + testenv.ID("down") + " St")})
		},

		"selectShipping/required": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			return do("selectShipping", u.IDToken, map[string]any{"orderId": id, "rateId": " "})
		},
		"selectShipping/malformed": func() rpcAnswer[json.RawMessage] {
			return do("selectShipping", user(t).IDToken, map[string]any{"orderId": "..", "rateId": "se-1"})
		},
		"selectShipping/order_not_found": func() rpcAnswer[json.RawMessage] {
			return do("selectShipping", user(t).IDToken, map[string]any{"orderId": unknownID, "rateId": "se-1"})
		},
		"selectShipping/order_not_pending": func() rpcAnswer[json.RawMessage] {
			u, id := notPending()
			return do("selectShipping", u.IDToken, map[string]any{"orderId": id, "rateId": "se-1"})
		},
		"selectShipping/no_quote": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			return do("selectShipping", u.IDToken, map[string]any{"orderId": id, "rateId": "se-1"})
		},
		"selectShipping/quote_expired": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			q := do("quoteShipping", u.IDToken, map[string]any{"orderId": id, "address": address("4 " + testenv.ID("late") + " St")})
			var ans storefront.QuoteShippingAnswer
			_ = json.Unmarshal(q.Result, &ans)
			if _, _, err := a.Orders.Update(ctx, id, func(o *order.Order) (bool, error) {
				o.Quote.ExpiresAt = r.clk.Now().Add(-time.Second)
				return true, nil
			}); err != nil {
				t.Fatal(err)
			}
			return do("selectShipping", u.IDToken, map[string]any{"orderId": id, "rateId": ans.Rates[0].RateID})
		},
		"selectShipping/unknown_rate": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			do("quoteShipping", u.IDToken, map[string]any{"orderId": id, "address": address("5 " + testenv.ID("rate") + " St")})
			return do("selectShipping", u.IDToken, map[string]any{"orderId": id, "rateId": "se-no-such-rate"})
		},
		"selectShipping/no_verified_address": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			q := do("quoteShipping", u.IDToken, map[string]any{"orderId": id, "address": address("1 NO SUCH " + testenv.ID("road"))})
			var ans storefront.QuoteShippingAnswer
			_ = json.Unmarshal(q.Result, &ans)
			if len(ans.Rates) == 0 {
				t.Fatalf("no rates for an unverified address: %s %+v", q.Result, q.Error)
			}
			return do("selectShipping", u.IDToken, map[string]any{"orderId": id, "rateId": ans.Rates[0].RateID, "useVerifiedAddress": true})
		},
		"selectShipping/payment_completed":            func() rpcAnswer[json.RawMessage] { return paidLate(rechoose) },
		"selectShipping/tax_unavailable":              func() rpcAnswer[json.RawMessage] { return taxFails(taxDown, rechoose) },
		"selectShipping/tax_address":                  func() rpcAnswer[json.RawMessage] { return taxFails(taxRefused, rechoose) },
		"selectShipping/payment_provider_unavailable": func() rpcAnswer[json.RawMessage] { return stripeDown(rechoose) },
		"selectShipping/changing_elsewhere":           func() rpcAnswer[json.RawMessage] { return reopening(rechoose) },
		"selectShipping/order_changed":                func() rpcAnswer[json.RawMessage] { return cartChanging(rechoose) },

		"createPaymentSession/required": func() rpcAnswer[json.RawMessage] {
			return do("createPaymentSession", user(t).IDToken, map[string]any{})
		},
		"createPaymentSession/malformed": func() rpcAnswer[json.RawMessage] {
			return do("createPaymentSession", user(t).IDToken, map[string]any{"orderId": "__name__"})
		},
		"createPaymentSession/off_storefront": func() rpcAnswer[json.RawMessage] {
			u, id := readyToPay(t, a, s, "", "A", 1)
			return do("createPaymentSession", u.IDToken, map[string]any{"orderId": id, "successUrl": "https://elsewhere.example/thanks"})
		},
		"createPaymentSession/order_not_found": func() rpcAnswer[json.RawMessage] {
			return do("createPaymentSession", user(t).IDToken, map[string]any{"orderId": unknownID})
		},
		"createPaymentSession/order_not_pending": func() rpcAnswer[json.RawMessage] {
			u, id := notPending()
			return do("createPaymentSession", u.IDToken, map[string]any{"orderId": id})
		},
		"createPaymentSession/no_customer": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			return do("createPaymentSession", u.IDToken, map[string]any{"orderId": id})
		},
		"createPaymentSession/no_shipping": func() rpcAnswer[json.RawMessage] {
			u, id := checkedOut(t, a, s, "A", 1)
			do("applyCustomer", u.IDToken, map[string]any{"orderId": id, "name": "Ann", "email": testenv.ID("ann") + "@example.com"})
			return do("createPaymentSession", u.IDToken, map[string]any{"orderId": id})
		},
		"createPaymentSession/repriced": func() rpcAnswer[json.RawMessage] {
			code := strings.ToUpper(testenv.ID("LAST"))
			promo(t, a, map[string]any{"kind": "percent_off_order", "percent": int64(10), "code": code, "maxRedemptions": int64(1)})
			u1, id1 := readyToPay(t, a, s, code, "A", 1)
			u2, id2 := readyToPay(t, a, s, code, "A", 1)
			r.mustSession(t, u1.IDToken, id1) // takes the last redemption
			return do("createPaymentSession", u2.IDToken, map[string]any{"orderId": id2})
		},
		"createPaymentSession/payment_completed":            func() rpcAnswer[json.RawMessage] { return paidLate(pay) },
		"createPaymentSession/tax_unavailable":              func() rpcAnswer[json.RawMessage] { return taxFails(taxDown, pay) },
		"createPaymentSession/tax_address":                  func() rpcAnswer[json.RawMessage] { return taxFails(taxRefused, pay) },
		"createPaymentSession/payment_provider_unavailable": func() rpcAnswer[json.RawMessage] { return stripeDown(pay) },
		"createPaymentSession/changing_elsewhere":           func() rpcAnswer[json.RawMessage] { return reopening(pay) },
		"createPaymentSession/order_changed": func() rpcAnswer[json.RawMessage] {
			u, id := readyToPay(t, a, s, "", "A", 1)
			f := func() { // while Stripe makes the session, the other tab renames the customer
				if ans := rename(u, id); ans.status != 200 {
					t.Errorf("the other tab's change: %+v", ans.Error)
				}
			}
			tab.afterCreate.Store(&f)
			defer tab.afterCreate.Store(nil)
			return do("createPaymentSession", u.IDToken, map[string]any{"orderId": id})
		},
	}

	boss := owner(t)
	stockSKU := s.sku["A"]
	adjust := func(token string, data map[string]any) rpcAnswer[json.RawMessage] {
		return rpc[json.RawMessage](t, withRequestID(adjustStock(a)), token, data)
	}
	scenarios["adjustStock/not_owner"] = func() rpcAnswer[json.RawMessage] {
		return adjust(user(t).IDToken, map[string]any{"sku": stockSKU, "delta": 1, "reason": "restock"})
	}
	scenarios["adjustStock/required"] = func() rpcAnswer[json.RawMessage] {
		return adjust(boss.IDToken, map[string]any{"sku": stockSKU, "delta": 1, "reason": " "})
	}
	scenarios["adjustStock/malformed"] = func() rpcAnswer[json.RawMessage] {
		return adjust(boss.IDToken, map[string]any{"sku": stockSKU, "delta": 0, "reason": "nothing"})
	}
	scenarios["adjustStock/too_long"] = func() rpcAnswer[json.RawMessage] {
		return adjust(boss.IDToken, map[string]any{"sku": stockSKU, "delta": 1, "reason": strings.Repeat("r", 201)})
	}
	scenarios["adjustStock/unknown_sku"] = func() rpcAnswer[json.RawMessage] {
		return adjust(boss.IDToken, map[string]any{"sku": s.sku["P"], "delta": 1, "reason": "a planner is printed, not stocked"})
	}
	scenarios["adjustStock/below_held"] = func() rpcAnswer[json.RawMessage] {
		return adjust(boss.IDToken, map[string]any{"sku": stockSKU, "delta": -100000, "reason": "all gone"})
	}

	// An order of the rig in fulfilling: paid through the rig's Stripe.
	fulfillingOrder := func(lines ...any) string {
		u, id := readyToPay(t, a, s, "", lines...)
		if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
			t.Fatal(err)
		}
		approve(t, a, id)
		if o := settle(t, a, id); o.State() != order.Fulfilling {
			t.Fatalf("order %s is %s", id, o.State())
		}
		return id
	}
	ship := func(data map[string]any) rpcAnswer[json.RawMessage] {
		return rpc[json.RawMessage](t, withRequestID(markShipped(a)), boss.IDToken, data)
	}
	label := func(h func(*app.App) http.Handler, token string, data map[string]any) rpcAnswer[json.RawMessage] {
		return rpc[json.RawMessage](t, withRequestID(h(a)), token, data)
	}
	// claimed is a parcel-only order whose label purchase is in flight.
	claimed := func() string {
		id := fulfillingOrder("B", 1)
		if _, _, err := a.Orders.Update(ctx, id, func(o *order.Order) (bool, error) {
			_, ok, err := o.ClaimLabel("another-tab", time.Hour, r.clk.Now())
			return ok, err
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	a.Parts.LabelSettings.Wait = 300 * time.Millisecond
	for _, call := range []struct {
		name string
		h    func(*app.App) http.Handler
	}{{"buyLabel", buyLabel}, {"voidLabel", voidLabel}} {
		scenarios[call.name+"/not_owner"] = func() rpcAnswer[json.RawMessage] {
			return label(call.h, user(t).IDToken, map[string]any{"orderId": unknownID})
		}
		scenarios[call.name+"/required"] = func() rpcAnswer[json.RawMessage] {
			return label(call.h, boss.IDToken, map[string]any{"orderId": ""})
		}
		scenarios[call.name+"/malformed"] = func() rpcAnswer[json.RawMessage] {
			return label(call.h, boss.IDToken, map[string]any{"orderId": "not-an-order"})
		}
		scenarios[call.name+"/order_not_found"] = func() rpcAnswer[json.RawMessage] {
			return label(call.h, boss.IDToken, map[string]any{"orderId": unknownID})
		}
		scenarios[call.name+"/request_id_reused"] = func() rpcAnswer[json.RawMessage] {
			id, used := fulfillingOrder("B", 1), testenv.ID("used-request")
			if ans := ship(map[string]any{"requestId": used, "orderId": id, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"}); ans.status != 200 {
				t.Errorf("shipping the parcel: %+v", ans.Error)
			}
			return label(call.h, boss.IDToken, map[string]any{"requestId": used, "orderId": id})
		}
		scenarios[call.name+"/no_parcel"] = func() rpcAnswer[json.RawMessage] {
			return label(call.h, boss.IDToken, map[string]any{"orderId": fulfillingOrder("P", 1)})
		}
		scenarios[call.name+"/label_in_flight"] = func() rpcAnswer[json.RawMessage] {
			return label(call.h, boss.IDToken, map[string]any{"orderId": claimed()})
		}
		scenarios[call.name+"/shipping_unavailable"] = func() rpcAnswer[json.RawMessage] {
			id := fulfillingOrder("B", 1)
			if call.name == "voidLabel" {
				if ans := label(buyLabel, boss.IDToken, map[string]any{"orderId": id}); ans.status != 200 {
					t.Errorf("buying the label: %+v", ans.Error)
				}
				se.Fail5xx(100)
				defer se.Fail5xx(0)
			} else {
				se.Fail429(100, 0)
				defer se.Fail429(0, 0)
			}
			return label(call.h, boss.IDToken, map[string]any{"orderId": id})
		}
	}
	scenarios["buyLabel/order_not_fulfilling"] = func() rpcAnswer[json.RawMessage] {
		_, id := checkedOut(t, a, s, "B", 1)
		return label(buyLabel, boss.IDToken, map[string]any{"orderId": id})
	}
	scenarios["buyLabel/label_exists"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("B", 1)
		if ans := label(buyLabel, boss.IDToken, map[string]any{"orderId": id}); ans.status != 200 {
			t.Errorf("the first label: %+v", ans.Error)
		}
		return label(buyLabel, boss.IDToken, map[string]any{"orderId": id})
	}
	scenarios["buyLabel/bad_part_transition"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("B", 1, "P", 1)
		if ans := ship(map[string]any{"orderId": id, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"}); ans.status != 200 {
			t.Errorf("shipping the parcel by hand: %+v", ans.Error)
		}
		return label(buyLabel, boss.IDToken, map[string]any{"orderId": id})
	}
	scenarios["buyLabel/service_not_rated"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("B", 1, "P", 1) // the parcel needs a fresh rate
		if _, _, err := a.Orders.Update(ctx, id, func(o *order.Order) (bool, error) {
			o.Shipping.Rate.ServiceCode = "usps_retired_service"
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		return label(buyLabel, boss.IDToken, map[string]any{"orderId": id})
	}
	scenarios["buyLabel/label_refused"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("B", 1)
		se.NoFunds(true)
		defer se.NoFunds(false)
		return label(buyLabel, boss.IDToken, map[string]any{"orderId": id})
	}
	scenarios["buyLabel/label_outcome_unknown"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("B", 1)
		se.Fail5xx(100)
		defer se.Fail5xx(0)
		return label(buyLabel, boss.IDToken, map[string]any{"orderId": id})
	}
	scenarios["voidLabel/no_label"] = func() rpcAnswer[json.RawMessage] {
		return label(voidLabel, boss.IDToken, map[string]any{"orderId": fulfillingOrder("B", 1)})
	}
	// bought is a parcel-only order with its label.
	bought := func() (string, string) {
		id := fulfillingOrder("B", 1)
		ans := rpc[storefront.LabelAnswer](t, withRequestID(buyLabel(a)), boss.IDToken, map[string]any{"orderId": id})
		if ans.status != 200 || ans.Result.Label == nil {
			t.Fatalf("buying the label: %+v", ans.Error)
		}
		return id, ans.Result.Label.LabelID
	}
	scenarios["voidLabel/label_scanned"] = func() rpcAnswer[json.RawMessage] {
		id, _ := bought()
		if ans := ship(map[string]any{"orderId": id, "partId": "parcel"}); ans.status != 200 {
			t.Errorf("handing the parcel over: %+v", ans.Error)
		}
		return label(voidLabel, boss.IDToken, map[string]any{"orderId": id})
	}
	scenarios["voidLabel/label_refused"] = func() rpcAnswer[json.RawMessage] {
		id, l := bought()
		se.MarkUsed(l) // the carrier scanned it; its webhook has not come
		return label(voidLabel, boss.IDToken, map[string]any{"orderId": id})
	}
	scenarios["markShipped/not_owner"] = func() rpcAnswer[json.RawMessage] {
		return rpc[json.RawMessage](t, withRequestID(markShipped(a)), user(t).IDToken, map[string]any{"orderId": unknownID, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"})
	}
	scenarios["markShipped/required"] = func() rpcAnswer[json.RawMessage] {
		return ship(map[string]any{"orderId": unknownID, "partId": "parcel", "carrier": "USPS", "trackingNumber": " "})
	}
	scenarios["markShipped/malformed"] = func() rpcAnswer[json.RawMessage] {
		return ship(map[string]any{"orderId": unknownID, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1", "trackingUrl": "javascript:alert(1)"})
	}
	scenarios["markShipped/too_long"] = func() rpcAnswer[json.RawMessage] {
		return ship(map[string]any{"orderId": unknownID, "partId": "parcel", "carrier": strings.Repeat("C", 101), "trackingNumber": "1"})
	}
	scenarios["markShipped/order_not_found"] = func() rpcAnswer[json.RawMessage] {
		return ship(map[string]any{"orderId": unknownID, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"})
	}
	scenarios["markShipped/order_not_fulfilling"] = func() rpcAnswer[json.RawMessage] {
		_, id := checkedOut(t, a, s, "A", 1)
		return ship(map[string]any{"orderId": id, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"})
	}
	var mixed string
	scenarios["markShipped/unknown_part"] = func() rpcAnswer[json.RawMessage] {
		mixed = fulfillingOrder("A", 1, "P", 1)
		return ship(map[string]any{"orderId": mixed, "partId": "box", "carrier": "USPS", "trackingNumber": "1"})
	}
	scenarios["markShipped/not_a_parcel"] = func() rpcAnswer[json.RawMessage] {
		return ship(map[string]any{"orderId": mixed, "partId": "print", "carrier": "USPS", "trackingNumber": "1"})
	}
	scenarios["markShipped/already_shipped"] = func() rpcAnswer[json.RawMessage] {
		if ans := ship(map[string]any{"orderId": mixed, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"}); ans.status != 200 {
			t.Errorf("shipping the parcel: %+v", ans.Error)
		}
		return ship(map[string]any{"orderId": mixed, "partId": "parcel", "carrier": "UPS", "trackingNumber": "2"})
	}

	scenarios["markShipped/request_id_reused"] = func() rpcAnswer[json.RawMessage] {
		id, used := fulfillingOrder("B", 1), testenv.ID("used-request")
		if ans := ship(map[string]any{"requestId": used, "orderId": id, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"}); ans.status != 200 {
			t.Errorf("shipping the parcel: %+v", ans.Error)
		}
		return ship(map[string]any{"requestId": used, "orderId": id, "partId": "parcel", "carrier": "UPS", "trackingNumber": "2"})
	}
	scenarios["adjustStock/request_id_reused"] = func() rpcAnswer[json.RawMessage] {
		used := testenv.ID("used-request")
		if ans := adjust(boss.IDToken, map[string]any{"requestId": used, "sku": stockSKU, "delta": 1, "reason": "restock"}); ans.status != 200 {
			t.Errorf("the first adjustment: %+v", ans.Error)
		}
		return adjust(boss.IDToken, map[string]any{"requestId": used, "sku": stockSKU, "delta": 2, "reason": "restock"})
	}

	ownerCall := func(h func(*app.App) http.Handler, token string, data map[string]any) rpcAnswer[json.RawMessage] {
		return rpc[json.RawMessage](t, withRequestID(h(a)), token, data)
	}
	scenarios["retryOrder/not_owner"] = func() rpcAnswer[json.RawMessage] {
		return ownerCall(retryOrder, user(t).IDToken, map[string]any{"orderId": unknownID})
	}
	scenarios["retryOrder/required"] = func() rpcAnswer[json.RawMessage] {
		return ownerCall(retryOrder, boss.IDToken, map[string]any{"orderId": ""})
	}
	scenarios["retryOrder/malformed"] = func() rpcAnswer[json.RawMessage] {
		return ownerCall(retryOrder, boss.IDToken, map[string]any{"orderId": "a/b"})
	}
	scenarios["retryOrder/order_not_found"] = func() rpcAnswer[json.RawMessage] {
		return ownerCall(retryOrder, boss.IDToken, map[string]any{"orderId": unknownID})
	}
	scenarios["retryOrder/order_not_needing_attention"] = func() rpcAnswer[json.RawMessage] {
		_, id := checkedOut(t, a, s, "A", 1)
		return ownerCall(retryOrder, boss.IDToken, map[string]any{"orderId": id})
	}
	cancelWith := func(id, reason string) rpcAnswer[json.RawMessage] {
		return ownerCall(cancelOrder, boss.IDToken, map[string]any{"orderId": id, "reason": reason})
	}
	scenarios["cancelOrder/not_owner"] = func() rpcAnswer[json.RawMessage] {
		return ownerCall(cancelOrder, user(t).IDToken, map[string]any{"orderId": unknownID, "reason": "mine"})
	}
	scenarios["cancelOrder/required"] = func() rpcAnswer[json.RawMessage] { return cancelWith(unknownID, " ") }
	scenarios["cancelOrder/malformed"] = func() rpcAnswer[json.RawMessage] { return cancelWith("x", "why") }
	scenarios["cancelOrder/too_long"] = func() rpcAnswer[json.RawMessage] { return cancelWith(unknownID, strings.Repeat("w", 501)) }
	scenarios["cancelOrder/order_not_found"] = func() rpcAnswer[json.RawMessage] { return cancelWith(unknownID, "why") }
	scenarios["cancelOrder/not_paid"] = func() rpcAnswer[json.RawMessage] {
		_, id := checkedOut(t, a, s, "A", 1)
		return cancelWith(id, "why")
	}
	scenarios["cancelOrder/part_shipped"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("A", 1, "P", 1)
		if ans := ship(map[string]any{"orderId": id, "partId": "parcel", "carrier": "USPS", "trackingNumber": "1"}); ans.status != 200 {
			t.Errorf("shipping the parcel: %+v", ans.Error)
		}
		return cancelWith(id, "too late")
	}
	// A charged print order and its job at the printer.
	printing := func() (string, string) {
		id := fulfillingOrder("P", 1)
		o, _ := a.Orders.Get(ctx, id)
		return id, o.Part(order.PartPrint).JobID
	}
	scenarios["cancelOrder/in_production"] = func() rpcAnswer[json.RawMessage] {
		id, job := printing()
		if err := localFakes(t).Printer.SetStatus(job, "IN_PRODUCTION", "Printing."); err != nil {
			t.Fatal(err)
		}
		return cancelWith(id, "too late")
	}
	scenarios["cancelOrder/printer_unavailable"] = func() rpcAnswer[json.RawMessage] {
		id, _ := printing()
		live := a.Parts.Printer
		a.Parts.Printer = fulfilment.NoPrinter{} // the printer's keys gone, or the printer down past its retries
		defer func() { a.Parts.Printer = live }()
		return cancelWith(id, "the printer is down")
	}
	scenarios["cancelOrder/not_cancelable"] = func() rpcAnswer[json.RawMessage] {
		_, id := notPending()
		return cancelWith(id, "it expired")
	}

	refundWith := func(token string, data map[string]any) rpcAnswer[json.RawMessage] {
		return ownerCall(refundOrder, token, data)
	}
	scenarios["refundOrder/not_owner"] = func() rpcAnswer[json.RawMessage] {
		return refundWith(user(t).IDToken, map[string]any{"orderId": unknownID, "reason": "mine"})
	}
	scenarios["refundOrder/required"] = func() rpcAnswer[json.RawMessage] {
		return refundWith(boss.IDToken, map[string]any{"orderId": unknownID, "reason": " "})
	}
	scenarios["refundOrder/malformed"] = func() rpcAnswer[json.RawMessage] {
		return refundWith(boss.IDToken, map[string]any{"orderId": "x", "reason": "why"})
	}
	scenarios["refundOrder/too_long"] = func() rpcAnswer[json.RawMessage] {
		return refundWith(boss.IDToken, map[string]any{"orderId": unknownID, "reason": strings.Repeat("w", 501)})
	}
	scenarios["refundOrder/amount_invalid"] = func() rpcAnswer[json.RawMessage] {
		return refundWith(boss.IDToken, map[string]any{"orderId": unknownID, "amount": -5, "reason": "why"})
	}
	scenarios["refundOrder/order_not_found"] = func() rpcAnswer[json.RawMessage] {
		return refundWith(boss.IDToken, map[string]any{"orderId": unknownID, "full": true, "reason": "why"})
	}
	scenarios["refundOrder/full_with_amount"] = func() rpcAnswer[json.RawMessage] {
		return refundWith(boss.IDToken, map[string]any{"orderId": unknownID, "full": true, "amount": 500, "reason": "why"})
	}
	scenarios["refundOrder/not_captured"] = func() rpcAnswer[json.RawMessage] {
		_, id := checkedOut(t, a, s, "A", 1)
		return refundWith(boss.IDToken, map[string]any{"orderId": id, "full": true, "reason": "why"})
	}
	charged := fulfillingOrder("B", 1)
	scenarios["refundOrder/amount_too_large"] = func() rpcAnswer[json.RawMessage] {
		return refundWith(boss.IDToken, map[string]any{"orderId": charged, "amount": 100000000, "reason": "why"})
	}
	scenarios["refundOrder/too_many_refunds"] = func() rpcAnswer[json.RawMessage] {
		for i := 0; i < order.MaxRefunds; i++ {
			if ans := refundWith(boss.IDToken, map[string]any{"orderId": charged, "amount": 1, "reason": "a cent back", "confirmDuplicate": true}); ans.status != 200 {
				t.Fatalf("refund %d: %+v", i+1, ans.Error)
			}
		}
		return refundWith(boss.IDToken, map[string]any{"orderId": charged, "amount": 1, "reason": "one too many", "confirmDuplicate": true})
	}
	intentsDown := func(call func() rpcAnswer[json.RawMessage]) rpcAnswer[json.RawMessage] {
		live := a.Payments.Intents
		a.Payments.Intents = stripepay.NotConfigured{} // Stripe down for reads too
		defer func() { a.Payments.Intents = live }()
		return call()
	}
	scenarios["cancelOrder/payment_provider_unavailable"] = func() rpcAnswer[json.RawMessage] {
		// Authorized, not yet charged: the cancel asks Stripe whether a
		// capture is on its way.
		u, id := readyToPay(t, a, s, "", "B", 1)
		if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
			t.Fatal(err)
		}
		return intentsDown(func() rpcAnswer[json.RawMessage] { return cancelWith(id, "Stripe is down") })
	}
	scenarios["refundOrder/payment_provider_unavailable"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("B", 1)
		return intentsDown(func() rpcAnswer[json.RawMessage] {
			return refundWith(boss.IDToken, map[string]any{"orderId": id, "amount": 1, "reason": "Stripe is down"})
		})
	}
	// An order canceled under request id used, which then names another
	// command or other input.
	usedRequest := func() (string, string) {
		u, id := readyToPay(t, a, s, "", "B", 1)
		if _, err := r.st.Pay(r.mustSession(t, u.IDToken, id)); err != nil {
			t.Fatal(err)
		}
		used := testenv.ID("used-request")
		if ans := ownerCall(cancelOrder, boss.IDToken, map[string]any{"requestId": used, "orderId": id, "reason": "first"}); ans.status != 200 {
			t.Fatalf("the first cancel: %+v", ans.Error)
		}
		return id, used
	}
	scenarios["retryOrder/request_id_reused"] = func() rpcAnswer[json.RawMessage] {
		id, used := usedRequest()
		return ownerCall(retryOrder, boss.IDToken, map[string]any{"requestId": used, "orderId": id})
	}
	scenarios["cancelOrder/request_id_reused"] = func() rpcAnswer[json.RawMessage] {
		id, used := usedRequest()
		return ownerCall(cancelOrder, boss.IDToken, map[string]any{"requestId": used, "orderId": id, "reason": "another reason"})
	}
	scenarios["refundOrder/request_id_reused"] = func() rpcAnswer[json.RawMessage] {
		id, used := usedRequest()
		return refundWith(boss.IDToken, map[string]any{"requestId": used, "orderId": id, "amount": 1, "reason": "x"})
	}
	scenarios["refundOrder/possible_duplicate"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("B", 1)
		if ans := refundWith(boss.IDToken, map[string]any{"orderId": id, "amount": 100, "reason": "late"}); ans.status != 200 {
			t.Fatalf("the first refund: %+v", ans.Error)
		}
		return refundWith(boss.IDToken, map[string]any{"orderId": id, "amount": 100, "reason": "late"}) // another id (withRequestID)
	}
	scenarios["refundOrder/fully_refunded"] = func() rpcAnswer[json.RawMessage] {
		id := fulfillingOrder("B", 1)
		if ans := refundWith(boss.IDToken, map[string]any{"orderId": id, "full": true, "reason": "all of it"}); ans.status != 200 {
			t.Fatalf("the full refund: %+v", ans.Error)
		}
		return refundWith(boss.IDToken, map[string]any{"orderId": id, "amount": 1, "reason": "and a cent more"})
	}

	// A print order whose address the printer cannot take.
	printOrderTo := func(addr map[string]any) rpcAnswer[json.RawMessage] {
		u, id := checkedOut(t, a, s, "P", 1)
		do("applyCustomer", u.IDToken, map[string]any{"orderId": id, "name": "Ann", "email": testenv.ID("ann") + "@example.com"})
		q := do("quoteShipping", u.IDToken, map[string]any{"orderId": id, "address": addr})
		var ans storefront.QuoteShippingAnswer
		_ = json.Unmarshal(q.Result, &ans)
		if len(ans.Rates) == 0 {
			t.Fatalf("no rates: %s %+v", q.Result, q.Error)
		}
		if sel := do("selectShipping", u.IDToken, map[string]any{"orderId": id, "rateId": ans.Rates[0].RateID}); sel.status != 200 {
			t.Fatalf("select: %+v", sel.Error)
		}
		return do("createPaymentSession", u.IDToken, map[string]any{"orderId": id})
	}
	scenarios["createPaymentSession/printer_needs_phone"] = func() rpcAnswer[json.RawMessage] {
		addr := address("6 " + testenv.ID("phone") + " St")
		addr["phone"] = "call me"
		return printOrderTo(addr)
	}
	scenarios["createPaymentSession/printer_cannot_ship"] = func() rpcAnswer[json.RawMessage] {
		return printOrderTo(map[string]any{"name": "Ana Souza", "addressLine1": "Avenida Paulista 1000", "cityLocality": "São Paulo",
			"stateProvince": "SP", "postalCode": "01310-100", "countryCode": "BR", "phone": "+55 11 5555 0100"})
	}

	walked := map[string]bool{}
	for _, c := range storefront.Calls {
		for _, e := range c.ErrorCases() {
			key := c.CallName() + "/" + e.Reason
			if isCommon(e) {
				key = "*/" + e.Reason
			}
			if walked[key] {
				continue
			}
			walked[key] = true
			if why, ok := raceOnly[key]; ok {
				t.Logf("%s %s: reached only by a race (%s)", key, e.Status, why)
				continue
			}
			provoke, ok := scenarios[key]
			if !ok {
				t.Errorf("%s (%s): the table has it, no scenario provokes it", key, e.Status)
				continue
			}
			began := time.Now()
			ans := provoke()
			if d := time.Since(began); d > 3*time.Second {
				t.Logf("%s took %v", key, d.Round(time.Millisecond))
			}
			var d map[string]any
			_ = json.Unmarshal(ans.Error.Details, &d)
			if ans.Error.Status != string(e.Status) || d["reason"] != e.Reason {
				t.Errorf("%s: want %s %s, answered %d %s %s %s", key, e.Status, e.Reason, ans.status, ans.Error.Status, ans.Error.Message, ans.Error.Details)
				continue
			}
			for _, f := range e.Details {
				if _, ok := d[f]; !ok {
					t.Errorf("%s: details have no %q: %s", key, f, ans.Error.Details)
				}
			}
		}
	}
	for key := range scenarios {
		if !walked[key] {
			t.Errorf("scenario %s is in no table", key)
		}
	}
}

// Each callable's table has each status and reason once, so that a
// storefront can tell every case apart by details.reason.
func TestErrorTablesAreUnambiguous(t *testing.T) {
	for _, c := range storefront.Calls {
		seen := map[string]bool{}
		for _, e := range c.ErrorCases() {
			if seen[e.Reason] {
				t.Errorf("%s: reason %s twice", c.CallName(), e.Reason)
			}
			seen[e.Reason] = true
		}
	}
}

// docs/api.md has, for every callable, the table of its errors with one
// row per case as storefront.Calls lists them (status, reason, details),
// and no row the code does not have.
func TestErrorTablesAreDocumented(t *testing.T) {
	path, _ := testenv.RepoFile("docs/api.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| `([a-z_]+)` \\|([^|]*)\\|([^|]*)\\|$")
	section := func(name string) string {
		start := strings.Index(doc, "<!-- errors:"+name+" -->")
		end := strings.Index(doc, "<!-- /errors:"+name+" -->")
		if start < 0 || end < start {
			t.Errorf("docs/api.md has no errors table for %s (<!-- errors:%s --> … <!-- /errors:%s -->)", name, name, name)
			return ""
		}
		return doc[start:end]
	}
	check := func(name string, cases []storefront.ErrorCase) {
		got := map[string]string{}
		for _, m := range row.FindAllStringSubmatch(section(name), -1) {
			got[m[1]+" "+m[2]] = strings.TrimSpace(m[4])
		}
		for _, e := range cases {
			k := string(e.Status) + " " + e.Reason
			details, ok := got[k]
			if !ok {
				t.Errorf("%s: docs/api.md has no row for %s", name, k)
				continue
			}
			for _, f := range e.Details {
				if !strings.Contains(details, "`"+f+"`") {
					t.Errorf("%s: the row for %s does not name details.%s", name, k, f)
				}
			}
			delete(got, k)
		}
		for k := range got {
			t.Errorf("%s: docs/api.md has a row for %s, which the code does not answer", name, k)
		}
	}
	check("common", storefront.Common)
	for _, c := range storefront.Calls {
		own := slices.DeleteFunc(c.ErrorCases(), isCommon)
		check(c.CallName(), own)
	}
}

// isCommon reports whether e is one of the errors every callable shares.
func isCommon(e storefront.ErrorCase) bool {
	return slices.ContainsFunc(storefront.Common, func(c storefront.ErrorCase) bool { return c.Status == e.Status && c.Reason == e.Reason })
}

// Every callable refuses a field it does not take, naming it by its path
// under data (issue 13: applyCustomer's {price: 1} named nothing).
func TestUnknownFieldsNameThemselves(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	u := user(t)
	handlers := map[string]http.Handler{"whoami": whoami(a), "startCheckout": startCheckout(a), "applyCustomer": applyCustomer(a),
		"quoteShipping": quoteShipping(a), "selectShipping": selectShipping(a), "createPaymentSession": createPaymentSession(a)}
	const id = "ABCDEFGHJKLM"
	cases := []struct {
		call  string
		data  map[string]any
		field string
	}{
		{"whoami", map[string]any{"price": 1}, "price"},
		{"startCheckout", map[string]any{"total": 1}, "total"},
		{"startCheckout", map[string]any{"items": []any{map[string]any{"sku": "A", "quantity": 1}}}, "items"},
		{"applyCustomer", map[string]any{"orderId": id, "name": "Ann", "email": "ann@example.com", "price": 1}, "price"},
		{"applyCustomer", map[string]any{"orderId": id, "name": "Ann", "email": "ann@example.com", "Discount": 5}, "Discount"},
		{"quoteShipping", map[string]any{"orderId": id, "address": address("1 Main St"), "rates": []any{}}, "rates"},
		{"quoteShipping", map[string]any{"orderId": id, "address": map[string]any{"name": "Ann", "addressLine1": "1 Main St", "cityLocality": "Austin",
			"stateProvince": "TX", "postalCode": "78701", "countryCode": "US", "phoneNumber": "555"}}, "address.phoneNumber"},
		{"selectShipping", map[string]any{"orderId": id, "rateId": "se-1", "amount": 0}, "amount"},
		{"createPaymentSession", map[string]any{"orderId": id, "total": 100}, "total"},
	}
	for _, c := range cases {
		ans := rpc[json.RawMessage](t, handlers[c.call], u.IDToken, c.data)
		var d map[string]any
		_ = json.Unmarshal(ans.Error.Details, &d)
		if ans.Error.Status != "INVALID_ARGUMENT" || d["reason"] != "unknown_field" || d["field"] != c.field || !strings.Contains(ans.Error.Message, c.field) {
			t.Errorf("%s %v: %d %s %q %s, want unknown_field %q", c.call, c.data, ans.status, ans.Error.Status, ans.Error.Message, ans.Error.Details, c.field)
		}
	}
	// A field of the wrong type names itself too.
	ans := rpc[json.RawMessage](t, handlers["quoteShipping"], u.IDToken, map[string]any{"orderId": id, "address": map[string]any{"postalCode": 78701}})
	if !strings.Contains(string(ans.Error.Details), `"field":"address.postalCode"`) || !strings.Contains(string(ans.Error.Details), `"reason":"wrong_type"`) {
		t.Errorf("wrong type: %s %s", ans.Error.Message, ans.Error.Details)
	}
}
