package functions

import (
	"context"
	"encoding/json"
	"github.com/readyplanner/oms/internal/storefront"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/localfakes"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/quickbooks/qbfake"
	"github.com/readyplanner/oms/internal/shipengine/shipenginefake"
	"github.com/readyplanner/oms/internal/stripepay/stripefake"
	"github.com/readyplanner/oms/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(hostInstanceEnv) != "" {
		os.Exit(serveHostInstance())
	}
	os.Exit(testenv.Run(m))
}

// tester is what the test helpers need of a test: *testing.T, *testing.B
// and the model test's *rapid.T all have it.
type tester interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

var (
	appOnce sync.Once
	theApp  *app.App
)

// testApp is the App as a deployed instance builds it, on the emulators.
func testApp(t *testing.T) *app.App {
	t.Helper()
	testenv.Firestore(t)
	testenv.AuthHost(t)
	appOnce.Do(func() {
		var err error
		if theApp, err = app.New(context.Background(), devConfig(t), app.Options{LogOutput: io.Discard}); err != nil {
			t.Fatal(err)
		}
		if err := localQuickBooks(t).ConnectTo(context.Background(), theApp.QuickBooksTokens); err != nil {
			t.Fatal(err)
		}
	})
	return theApp
}

var (
	fakesOnce sync.Once
	fakes     *localfakes.Fakes
)

// localFakes are this binary's local ShipEngine, Stripe and QuickBooks,
// wired as make dev wires them (internal/localfakes).
func localFakes(tb tester) *localfakes.Fakes {
	tb.Helper()
	fakesOnce.Do(func() {
		var err error
		if fakes, err = localfakes.Start(localfakes.Options{ShipEngine: true, Stripe: true, QuickBooks: true, Printer: true, QuickBooksRedirect: testCallbackURL}); err != nil {
			tb.Fatal(err)
		}
	})
	return fakes
}

// localQuickBooks is this binary's local QuickBooks.
func localQuickBooks(tb tester) *qbfake.Server { tb.Helper(); return localFakes(tb).QuickBooks }

// localStripe is this binary's local Stripe.
func localStripe(tb tester) *stripefake.Server { tb.Helper(); return localFakes(tb).Stripe }

// shipEngine is this binary's local ShipEngine.
func shipEngine(tb tester) *shipenginefake.Server { tb.Helper(); return localFakes(tb).ShipEngine }

// testCallbackURL is quickbooksCallback's URL as registered for tests
// (the tests call the handler directly with the redirect's query).
const testCallbackURL = "http://localhost:5001/quickbooksCallback"

// devConfig is the development configuration on the test emulators and the
// local ShipEngine.
func devConfig(tb testing.TB) config.Config {
	tb.Helper()
	return devConfigWith(tb, nil)
}

// devConfigWith is devConfig with some variables set otherwise.
func devConfigWith(tb tester, vars map[string]string) config.Config {
	tb.Helper()
	wired := localFakes(tb).Vars(testCallbackURL)
	cfg, err := config.Load(func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		if v, ok := wired[k]; ok {
			return v, true
		}
		switch k {
		case "OMS_ENV":
			return "development", true
		case "OMS_PROJECT_ID":
			return testenv.Project, true
		case "OMS_OWNER_EMAIL":
			return "owner@example.com", true
		}
		return os.LookupEnv(k)
	}, AllSecrets()...)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

type store struct {
	t   tester
	c   *firestore.Client
	sku map[string]string // short name → unique id
}

// newStore seeds a few SKUs with unique ids: A and B stocked (onHand as
// given), P printed on demand, X inactive.
func newStore(t tester, a *app.App, onHandA, onHandB int64) *store {
	s := &store{t: t, c: a.Firestore, sku: map[string]string{}}
	ctx := context.Background()
	for name, doc := range map[string]map[string]any{
		"A": {"name": "Sticker pack", "price": map[string]any{"amount": 900, "currency": "USD"}, "fulfillment": "stock", "weightGrams": 40, "quickbooksItem": "Sticker Pack"},
		"B": {"name": "Pen set", "price": map[string]any{"amount": 1800, "currency": "USD"}, "fulfillment": "stock", "weightGrams": 90, "maxPerOrder": 5, "quickbooksItem": "Pen Set"},
		"P": {"name": "Planner", "price": map[string]any{"amount": 3800, "currency": "USD"}, "fulfillment": "print_on_demand", "weightGrams": 600, "quickbooksItem": "Daily Planner A5",
			"printer": map[string]any{"podPackageId": "0583X0827FCSTDCW080CW444MXX", "interiorUrl": "https://files.example.com/p/interior.pdf", "coverUrl": "https://files.example.com/p/cover.pdf"}},
		"X": {"name": "Retired", "price": map[string]any{"amount": 100, "currency": "USD"}, "fulfillment": "stock", "active": false},
	} {
		id := testenv.ID("SKU-" + name)
		s.sku[name] = id
		if _, ok := doc["active"]; !ok {
			doc["active"] = true
		}
		if _, err := s.c.Collection("skus").Doc(id).Set(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}
	for name, n := range map[string]int64{"A": onHandA, "B": onHandB, "X": 10} {
		if _, err := s.c.Collection("inventory").Doc(s.sku[name]).Set(ctx, map[string]any{"onHand": n, "held": 0}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *store) cart(uid string, lines ...any) {
	s.t.Helper()
	var items []any
	for i := 0; i < len(lines); i += 2 {
		sku := lines[i].(string)
		if id, ok := s.sku[sku]; ok {
			sku = id
		}
		items = append(items, map[string]any{"sku": sku, "quantity": lines[i+1]})
	}
	if _, err := s.c.Collection("carts").Doc(uid).Set(context.Background(), map[string]any{"items": items}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *store) level(name string) (onHand, held int64) {
	s.t.Helper()
	snap, err := s.c.Collection("inventory").Doc(s.sku[name]).Get(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	on, _ := snap.DataAt("onHand")
	h, _ := snap.DataAt("held")
	return on.(int64), h.(int64)
}

// call calls startCheckout (its data is {}) through rpc, the one way the
// tests call a callable.
func call(t tester, h http.Handler, token string) rpcAnswer[storefront.StartCheckoutAnswer] {
	t.Helper()
	return rpc[storefront.StartCheckoutAnswer](t, h, token, map[string]any{})
}

// callB is call for benchmarks' goroutines: status 0 means the answer was
// not JSON.
func callB(h http.Handler, token string) rpcAnswer[storefront.StartCheckoutAnswer] {
	return rpcB[storefront.StartCheckoutAnswer](h, token, map[string]any{})
}

func user(t tester) emulator.User {
	t.Helper()
	u, err := emulator.SignInAs(context.Background(), testenv.AuthHost(t), testenv.ID("shopper"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestStartCheckoutHoldsReusesReplaces(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := startCheckout(a)
	s := newStore(t, a, 5, 3)
	u := user(t)

	s.cart(u.UID, "A", 2, "P", 1, "A", 1)
	first := call(t, h, u.IDToken)
	if first.status != 200 {
		t.Fatalf("%d %+v", first.status, first.Error)
	}
	r := first.Result
	if r.State != "pending" || r.Reused || len(r.Lines) != 2 || r.Lines[0].Quantity != 3 || r.Subtotal != 3*900+3800 || r.Currency != "USD" {
		t.Fatalf("answer %+v", r)
	}
	if exp := r.HoldExpiresAt; exp == nil || exp.Before(time.Now().Add(29*time.Minute)) || exp.After(time.Now().Add(31*time.Minute)) {
		t.Errorf("hold expiry %v", r.HoldExpiresAt)
	}
	if _, held := s.level("A"); held != 3 {
		t.Errorf("held %d, want 3", held)
	}
	o, err := a.Orders.Get(context.Background(), r.OrderID)
	if err != nil || o.UID != u.UID || o.State() != order.Pending || len(o.Holds) != 1 {
		t.Fatalf("order %+v %v", o, err)
	}

	// The same cart again: the same order, nothing held twice.
	again := call(t, h, u.IDToken)
	if again.status != 200 || again.Result.OrderID != r.OrderID || !again.Result.Reused {
		t.Errorf("again: %d %+v", again.status, again.Result)
	}
	if _, held := s.level("A"); held != 3 {
		t.Errorf("held %d after the second call, want 3", held)
	}

	// A changed cart replaces the holds atomically.
	s.cart(u.UID, "A", 1, "B", 2)
	changed := call(t, h, u.IDToken)
	if changed.status != 200 || changed.Result.OrderID != r.OrderID || changed.Result.Reused || changed.Result.Subtotal != 900+3600 {
		t.Errorf("changed: %d %+v", changed.status, changed.Result)
	}
	if _, held := s.level("A"); held != 1 {
		t.Errorf("A held %d, want 1", held)
	}
	if _, held := s.level("B"); held != 2 {
		t.Errorf("B held %d, want 2", held)
	}
}

func TestStartCheckoutShortChangesNothing(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := startCheckout(a)
	s := newStore(t, a, 3, 0)
	u := user(t)
	s.cart(u.UID, "A", 2, "B", 1, "P", 1, "A", 3)
	ans := call(t, h, u.IDToken)
	if ans.status != 400 || ans.Error.Status != "FAILED_PRECONDITION" {
		t.Fatalf("%d %+v", ans.status, ans.Error)
	}
	var d struct {
		Unavailable []struct {
			SKU                  string
			Requested, Available int64
		}
	}
	if err := json.Unmarshal(ans.Error.Details, &d); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{s.sku["A"]: {5, 3}, s.sku["B"]: {1, 0}}
	if len(d.Unavailable) != 2 {
		t.Fatalf("unavailable %+v", d.Unavailable)
	}
	for _, u := range d.Unavailable {
		if w := want[u.SKU]; w != [2]int64{u.Requested, u.Available} {
			t.Errorf("%s: requested %d available %d, want %v", u.SKU, u.Requested, u.Available, w)
		}
	}
	if _, held := s.level("A"); held != 0 {
		t.Errorf("A held %d after a refused checkout", held)
	}
	if _, err := a.Firestore.Collection("checkouts").Doc(u.UID).Get(context.Background()); err == nil {
		t.Error("a refused checkout wrote a pointer")
	}
	snap, _ := a.Firestore.Collection("carts").Doc(u.UID).Get(context.Background())
	if items, _ := snap.DataAt("items"); len(items.([]any)) != 4 {
		t.Error("the cart changed")
	}
}

func TestStartCheckoutBadInput(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := startCheckout(a)
	s := newStore(t, a, 5, 5)
	if ans := call(t, h, ""); ans.status != 401 || ans.Error.Status != "UNAUTHENTICATED" {
		t.Errorf("no auth: %d %+v", ans.status, ans.Error)
	}
	tests := []struct {
		name  string
		lines []any
		want  string
	}{
		{"empty cart", nil, "the cart is empty"},
		{"unknown sku", []any{"A", 1, "NOPE-" + testenv.ID("x"), 1}, "cart line 2"},
		{"inactive", []any{"X", 1}, "no longer sold"},
		{"zero", []any{"A", 0}, "whole number from 1"},
		{"over the SKU's max", []any{"B", 3, "B", 3}, "at most 5 per order"},
		{"over the store's max", []any{"A", 21}, "at most 20 per order"},
		{"not an integer", []any{"A", 1.5}, "cart line 1"},
	}
	for _, tt := range tests {
		u := user(t)
		s.cart(u.UID, tt.lines...)
		ans := call(t, h, u.IDToken)
		if ans.status != 400 || ans.Error.Status != "INVALID_ARGUMENT" || !strings.Contains(ans.Error.Message, tt.want) {
			t.Errorf("%s: %d %+v", tt.name, ans.status, ans.Error)
		}
		if _, err := a.Firestore.Collection("checkouts").Doc(u.UID).Get(context.Background()); err == nil {
			t.Errorf("%s: wrote a checkout", tt.name)
		}
	}
	if _, held := s.level("A"); held != 0 {
		t.Errorf("held %d after bad input", held)
	}
}

// Forty buyers at once for ten units: exactly ten holds, never oversold.
func TestStartCheckoutConcurrentBuyers(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := startCheckout(a)
	s := newStore(t, a, 10, 0)
	const buyers = 40
	users := make([]emulator.User, buyers)
	for i := range users {
		users[i] = user(t)
		s.cart(users[i].UID, "A", 1)
	}
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		won, out, other int
	)
	start := time.Now()
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ans := call(t, h, u.IDToken)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case ans.status == 200:
				won++
			case ans.Error.Status == "FAILED_PRECONDITION":
				out++
			default:
				other++
				t.Errorf("unexpected answer %d %+v", ans.status, ans.Error)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d buyers answered in %s", buyers, time.Since(start).Round(time.Millisecond))
	on, held := s.level("A")
	if won != 10 || out != 30 || other != 0 || held != 10 || on-held < 0 {
		t.Errorf("won %d, out of stock %d, other %d, held %d of %d", won, out, other, held, on)
	}
}

func TestHoldLifecycle(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	h := startCheckout(a)
	s := newStore(t, a, 5, 5)
	ctx := context.Background()

	// Expiry: the sweeper's path, twice.
	u := user(t)
	s.cart(u.UID, "A", 2)
	ans := call(t, h, u.IDToken)
	if ans.status != 200 {
		t.Fatal(ans.Error)
	}
	later := time.Now().Add(31 * time.Minute)
	if done, err := a.CheckoutSteps.ExpireIfLapsed(ctx, ans.Result.OrderID, time.Now()); err != nil || done {
		t.Errorf("expired before its time: %v %v", done, err)
	}
	ids, err := a.Checkouts.Lapsed(ctx, later, 1000)
	if err != nil || !contains(ids, ans.Result.OrderID) {
		t.Fatalf("lapsed %v %v", ids, err)
	}
	for i, want := range []bool{true, false} {
		done, err := a.CheckoutSteps.ExpireIfLapsed(ctx, ans.Result.OrderID, later)
		if err != nil || done != want {
			t.Errorf("expire #%d: %v %v", i+1, done, err)
		}
	}
	if o, _ := a.Orders.Get(ctx, ans.Result.OrderID); o.State() != order.Expired || !o.HoldsReleased {
		t.Errorf("after expiry: %s released=%v", o.State(), o.HoldsReleased)
	}
	if _, held := s.level("A"); held != 0 {
		t.Errorf("held %d after expiry", held)
	}

	// Authorization makes the holds firm; shipping takes the units out once.
	u2 := user(t)
	s.cart(u2.UID, "B", 2)
	ans = call(t, h, u2.IDToken)
	id := ans.Result.OrderID
	if _, _, err := a.Orders.Transition(ctx, id, order.Move{From: []order.State{order.Pending}, To: order.Authorized}); err != nil {
		t.Fatal(err)
	}
	if done, _ := a.CheckoutSteps.ExpireIfLapsed(ctx, id, later); done {
		t.Error("a firm hold expired")
	}
	for i := 0; i < 2; i++ {
		if _, err := a.CheckoutSteps.CommitStock(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if on, held := s.level("B"); on != 3 || held != 0 {
		t.Errorf("after shipping: onHand %d held %d, want 3 and 0", on, held)
	}
	// Releasing after shipping, or twice, changes nothing.
	if done, err := a.CheckoutSteps.ReleaseHolds(ctx, id); err != nil || done {
		t.Errorf("release after shipping: %v %v", done, err)
	}

	// Cancel releases, once.
	u3 := user(t)
	s.cart(u3.UID, "B", 1)
	ans = call(t, h, u3.IDToken)
	for i, want := range []bool{true, false} {
		if done, err := a.CheckoutSteps.ReleaseHolds(ctx, ans.Result.OrderID); err != nil || done != want {
			t.Errorf("release #%d: %v %v", i+1, done, err)
		}
	}
	if on, held := s.level("B"); on != 3 || held != 0 {
		t.Errorf("after release: onHand %d held %d", on, held)
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
