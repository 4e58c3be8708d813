package functions

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"
	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/config"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/inventory"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
)

// A hot SKU across instances: each instance is what a separate Cloud
// Functions instance is — its own process (this test binary run again,
// hostInstanceEnv set), its own App, Firestore client and in-process state
// — serving startCheckout over real HTTP against this binary's Firestore
// emulator and the run's Auth emulator.

// hostInstanceEnv, set, makes this test binary a functions host instance
// (serveHostInstance) instead of running tests.
const hostInstanceEnv = "OMS_TEST_HOST_INSTANCE"

// serveHostInstance runs one host instance: the App built from the
// environment its parent passed, startCheckout served at the callable's
// path on a free port, the address printed on stdout; it ends when its
// stdin closes (the parent ended) and returns the exit code.
func serveHostInstance() int {
	cfg, err := config.Load(os.LookupEnv, AllSecrets()...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "host instance:", err)
		return 2
	}
	a, err := app.New(context.Background(), cfg, app.Options{LogOutput: io.Discard})
	if err != nil {
		fmt.Fprintln(os.Stderr, "host instance:", err)
		return 2
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "host instance:", err)
		return 2
	}
	mux := http.NewServeMux()
	mux.Handle("/"+cfg.ProjectID+"/"+cfg.Region+"/startCheckout", startCheckout(a))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("listening http://%s/%s/%s/startCheckout\n", ln.Addr(), cfg.ProjectID, cfg.Region)
	io.Copy(io.Discard, os.Stdin) // until the parent closes it
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	return 0
}

// hostInstances starts n host instances and returns their startCheckout
// URLs; they are stopped when the test ends.
func hostInstances(tb testing.TB, n int) []string {
	tb.Helper()
	testenv.Firestore(tb) // sets FIRESTORE_EMULATOR_HOST
	testenv.AuthHost(tb)  // sets FIREBASE_AUTH_EMULATOR_HOST
	env := append(os.Environ(), hostInstanceEnv+"=1", "OMS_ENV=development", "OMS_PROJECT_ID="+testenv.Project, "OMS_OWNER_EMAIL=owner@example.com")
	for k, v := range localFakes(tb).Vars(testCallbackURL) {
		env = append(env, k+"="+v)
	}
	urls := make([]string, n)
	for i := range urls {
		cmd := exec.Command(os.Args[0])
		cmd.Env = env
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			tb.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			tb.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			stdin.Close()
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if !strings.HasPrefix(line, "listening ") {
			tb.Fatalf("host instance %d did not start: %q %v", i, line, err)
		}
		urls[i] = strings.TrimSpace(strings.TrimPrefix(line, "listening "))
	}
	return urls
}

// saleAnswer is one buyer's answer.
type saleAnswer struct {
	status  int
	code    string // the error's status, "" on success
	reason  string // details.reason
	orderID string
	took    time.Duration
}

// hotSale is one sale's outcome, checked against the database afterwards.
type hotSale struct {
	sku                     string
	buyers                  int
	users                   []emulator.User
	stock                   int64         // the units available before it, when known
	wall                    time.Duration // from the first request to the last answer
	answers                 []saleAnswer
	winners, refused, other int
	firstOther              string
	oversold                int64
	problems                []string // whatever is not exactly right
}

// saleBuyers signs in n distinct customers in the Auth emulator, each with a
// cart of one unit of sku.
func saleBuyers(tb testing.TB, sku string, n int) []emulator.User {
	tb.Helper()
	ctx := context.Background()
	client := testenv.Firestore(tb).Client
	users := make([]emulator.User, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			u, err := emulator.SignInAs(ctx, testenv.AuthHost(tb), testenv.ID("buyer"), nil)
			if err == nil {
				_, err = client.Collection("carts").Doc(u.UID).Set(ctx, map[string]any{"items": []any{map[string]any{"sku": sku, "quantity": 1}}})
			}
			if err != nil {
				errs <- err
				return
			}
			users[i] = u
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return users
}

// hotSKU seeds a stock SKU with stock units (through the ledger, as the
// owner's first delivery would be).
func hotSKU(tb testing.TB, stock int64) string {
	tb.Helper()
	ctx := context.Background()
	client := testenv.Firestore(tb).Client
	sku := testenv.ID("HOT")
	if _, err := client.Collection("skus").Doc(sku).Set(ctx, map[string]any{"name": "Hot", "active": true,
		"price": map[string]any{"amount": 500, "currency": "USD"}, "fulfillment": "stock"}); err != nil {
		tb.Fatal(err)
	}
	if _, err := firestoredb.NewCheckouts(firestoredb.NewOrders(client, nil), time.UTC).OpenStock(ctx, sku, stock, 0, "test"); err != nil {
		tb.Fatal(err)
	}
	return sku
}

// runSale sends every buyer's startCheckout at once, spread round robin over
// the instances, as real HTTP onCall requests, and checks the answers and
// the database afterwards against the stock before the sale (nil when
// other changes of the stock ran at the same time: then only what must
// hold whatever they did is checked).
func runSale(tb testing.TB, urls []string, sku string, before *inventory.Level, users []emulator.User) *hotSale {
	tb.Helper()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(users), IdleConnTimeout: 30 * time.Second}, Timeout: 70 * time.Second}
	defer hc.CloseIdleConnections()
	s := &hotSale{sku: sku, buyers: len(users), users: users, answers: make([]saleAnswer, len(users))}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			s.answers[i] = callOver(hc, urls[i%len(urls)], u.IDToken)
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	s.wall = time.Since(start)
	s.check(tb, before)
	return s
}

// callOver calls a callable over HTTP as the JS SDK does.
func callOver(hc *http.Client, url, token string) saleAnswer {
	t0 := time.Now()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(`{"data":{}}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return saleAnswer{code: "transport: " + err.Error(), took: time.Since(t0)}
	}
	defer resp.Body.Close()
	var body struct {
		Result struct {
			OrderID string `json:"orderId"`
		} `json:"result"`
		Error struct {
			Status  string `json:"status"`
			Message string `json:"message"`
			Details struct {
				Reason string `json:"reason"`
			} `json:"details"`
		} `json:"error"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	a := saleAnswer{status: resp.StatusCode, code: body.Error.Status, reason: body.Error.Details.Reason, orderID: body.Result.OrderID, took: time.Since(t0)}
	if err != nil {
		a.code = "not JSON: " + err.Error()
	}
	return a
}

// check counts the answers and compares them with the database: every
// answer a winner with its own pending order holding one unit, or the
// clear out-of-stock refusal; the inventory not oversold, the ledger
// replaying to it; and, given the stock before the sale, exactly as many
// winners as units were available, each one held.
func (s *hotSale) check(tb testing.TB, before *inventory.Level) {
	tb.Helper()
	ctx := context.Background()
	client := testenv.Firestore(tb).Client
	bad := func(format string, args ...any) { s.problems = append(s.problems, fmt.Sprintf(format, args...)) }
	orders := map[string]bool{}
	for _, a := range s.answers {
		switch {
		case a.status == 200 && a.orderID != "":
			s.winners++
			if orders[a.orderID] {
				bad("order %s answered twice", a.orderID)
			}
			orders[a.orderID] = true
		case a.status == 400 && a.code == "FAILED_PRECONDITION" && a.reason == "out_of_stock":
			s.refused++
		default:
			s.other++
			if s.firstOther == "" {
				s.firstOther = fmt.Sprintf("%d %s %s", a.status, a.code, a.reason)
			}
		}
	}
	if s.other != 0 {
		bad("%d winners, %d refused, %d other answers (first: %s)", s.winners, s.refused, s.other, s.firstOther)
	}
	inv, snaps := stockAndLedger(tb, s.sku)
	onHand, _ := inv.Data()["onHand"].(int64)
	held, _ := inv.Data()["held"].(int64)
	s.oversold = max(0, held-onHand)
	if s.oversold > 0 {
		bad("oversold: onHand %d, held %d", onHand, held)
	}
	if before != nil {
		s.stock = before.Available()
		if want := min(int(s.stock), s.buyers); s.winners != want {
			bad("%d winners of %d available units for %d buyers", s.winners, s.stock, s.buyers)
		}
		if onHand != before.OnHand || held != before.Held+int64(s.winners) {
			bad("inventory onHand %d held %d after %d winners; before: %+v", onHand, held, s.winners, *before)
		}
	}
	var lOn, lHeld int64
	ledgerOrders := map[string]bool{}
	for _, m := range snaps {
		d := m.Data()
		dOn, _ := d["deltaOnHand"].(int64)
		dHeld, _ := d["deltaHeld"].(int64)
		lOn, lHeld = lOn+dOn, lHeld+dHeld
		if id, _ := d["orderId"].(string); id != "" {
			ledgerOrders[id] = true
		}
	}
	if lOn != onHand || lHeld != held {
		bad("the ledger (%d records) replays to onHand %d held %d; the inventory says %d, %d", len(snaps), lOn, lHeld, onHand, held)
	}
	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range orders {
			if !yield(id) {
				return
			}
		}
	})
	for chunk := range slices.Chunk(ids, 100) {
		var refs []*firestore.DocumentRef
		for _, id := range chunk {
			refs = append(refs, client.Collection(firestoredb.OrdersCollection).Doc(id))
		}
		got, err := client.GetAll(ctx, refs)
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range got {
			if !o.Exists() {
				bad("order %s answered but not stored", o.Ref.ID)
				continue
			}
			d := o.Data()
			holds, _ := d["holds"].([]any)
			if d["state"] != "pending" || len(holds) != 1 || !ledgerOrders[o.Ref.ID] {
				bad("order %s: state %v, holds %v, in the ledger %v", o.Ref.ID, d["state"], holds, ledgerOrders[o.Ref.ID])
			}
		}
	}
}

// stockAndLedger reads sku's inventory document and its ledger records as
// of one instant (the ledger at the inventory read's time: the emulator
// keeps recent versions), even while other writers change the stock:
// read one after the other, a restock committed between the two reads
// would be in the ledger and not in the inventory.
func stockAndLedger(tb testing.TB, sku string) (*firestore.DocumentSnapshot, []*firestore.DocumentSnapshot) {
	tb.Helper()
	ctx := context.Background()
	client := testenv.Firestore(tb).Client
	inv, err := client.Collection(firestoredb.InventoryCollection).Doc(sku).Get(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	ledger := client.Collection(firestoredb.InventoryMovementsCollection).Where("sku", "==", sku)
	snaps, err := ledger.WithReadOptions(firestore.ReadTime(inv.ReadTime)).Documents(ctx).GetAll()
	if err != nil {
		tb.Fatal(err)
	}
	return inv, snaps
}

// latencies are the percentiles of the answers that match keep.
func (s *hotSale) latency(p float64, keep func(saleAnswer) bool) time.Duration {
	var d []time.Duration
	for _, a := range s.answers {
		if keep(a) {
			d = append(d, a.took)
		}
	}
	if len(d) == 0 {
		return 0
	}
	return percentile(d, p)
}

func anyAnswer(saleAnswer) bool { return true }
func won(a saleAnswer) bool     { return a.status == 200 }
func refusal(a saleAnswer) bool { return a.code == "FAILED_PRECONDITION" }
func (s *hotSale) String() string {
	return fmt.Sprintf("%d buyers, %d units: %d winners, %d refused, %d other (first: %s), oversold %d; wall %s; all p50 %s p99 %s; winners p50 %s p99 %s; refusals p50 %s p99 %s",
		s.buyers, s.stock, s.winners, s.refused, s.other, s.firstOther, s.oversold, s.wall.Round(time.Millisecond),
		s.latency(0.5, anyAnswer).Round(time.Millisecond), s.latency(0.99, anyAnswer).Round(time.Millisecond),
		s.latency(0.5, won).Round(time.Millisecond), s.latency(0.99, won).Round(time.Millisecond),
		s.latency(0.5, refusal).Round(time.Millisecond), s.latency(0.99, refusal).Round(time.Millisecond))
}

// Many buyers for a few units over three instances: exactly as many
// winners as units, every other buyer refused with out_of_stock, nothing
// oversold, the ledger replaying to the inventory.
func TestHotSKUAcrossInstances(t *testing.T) {
	t.Parallel()
	urls := hostInstances(t, 3)
	sku := hotSKU(t, 20)
	s := runSale(t, urls, sku, &inventory.Level{OnHand: 20}, saleBuyers(t, sku, 200))
	t.Log(s)
	for _, p := range s.problems {
		t.Error(p)
	}
}

// A sale across three instances while the stock moves under it: early
// buyers' holds expire or are given back and the owner restocks, all from
// a fourth App, at the same time. Every answer is a win or out_of_stock,
// nothing is oversold, the inventory equals what the pending orders hold
// and the ledger replays to it; then, with units back that the instances
// last saw sold out, a new wave wins exactly those units.
func TestHotSKUWhileStockMoves(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	urls := hostInstances(t, 3)
	sku := hotSKU(t, 20)
	early := runSale(t, urls, sku, &inventory.Level{OnHand: 20}, saleBuyers(t, sku, 10))
	var held []string // the early orders, in the order they are given back
	for _, ans := range early.answers {
		held = append(held, ans.orderID)
	}
	for _, p := range early.problems {
		t.Fatal("early buyers:", p)
	}

	boss := owner(t)
	restock := func(delta int) {
		t.Helper()
		if ans := rpcB[storefront.StockLevel](withRequestID(adjustStock(a)), boss.IDToken, map[string]any{"sku": sku, "delta": delta, "reason": "restock"}); ans.status != 200 {
			t.Errorf("restock %+d: %d %+v", delta, ans.status, ans.Error)
		}
	}
	giveBack := func(ids []string) {
		t.Helper()
		for i, id := range ids {
			var err error
			if i%2 == 0 {
				_, err = a.CheckoutSteps.ExpireIfLapsed(ctx, id, time.Now().Add(time.Hour))
			} else {
				_, err = a.CheckoutSteps.ReleaseHolds(ctx, id)
			}
			if err != nil {
				t.Error(err)
			}
		}
	}
	wave := saleBuyers(t, sku, 150)
	done := make(chan *hotSale)
	go func() { done <- runSale(t, urls, sku, nil, wave) }()
	giveBack(held[:3])
	restock(3)
	giveBack(held[3:6])
	restock(2)
	s := <-done
	t.Log("while the stock moved:", s)
	for _, p := range s.problems {
		t.Error(p)
	}
	if s.winners < 10 || s.winners > 10+6+5 {
		t.Errorf("%d winners: at least the 10 units free before, at most 10 + 6 given back + 5 restocked", s.winners)
	}

	giveBack(held[6:8]) // units back, whatever the instances last saw
	var level inventory.Level
	level.OnHand, level.Held = stockOf(t, sku)
	if pending := pendingHolds(t, sku, append(held[8:], s.orders()...)); pending != level.Held {
		t.Errorf("the pending orders hold %d units; the inventory says %d", pending, level.Held)
	}
	last := runSale(t, urls, sku, &level, saleBuyers(t, sku, 40))
	t.Log("the wave after:", last)
	for _, p := range last.problems {
		t.Error(p)
	}
}

// orders are the winners' order ids.
func (s *hotSale) orders() []string {
	var ids []string
	for _, a := range s.answers {
		if a.orderID != "" {
			ids = append(ids, a.orderID)
		}
	}
	return ids
}

// stockOf reads a SKU's inventory.
func stockOf(t *testing.T, sku string) (onHand, held int64) {
	t.Helper()
	snap, err := testenv.Firestore(t).Client.Collection(firestoredb.InventoryCollection).Doc(sku).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	onHand, _ = snap.Data()["onHand"].(int64)
	held, _ = snap.Data()["held"].(int64)
	return onHand, held
}

// pendingHolds sums what the pending orders among ids hold of sku.
func pendingHolds(t *testing.T, sku string, ids []string) int64 {
	t.Helper()
	var refs []*firestore.DocumentRef
	for _, id := range ids {
		refs = append(refs, testenv.Firestore(t).Client.Collection(firestoredb.OrdersCollection).Doc(id))
	}
	snaps, err := testenv.Firestore(t).Client.GetAll(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range snaps {
		if s.Data()["state"] != "pending" || s.Data()["holdsReleased"] == true {
			continue
		}
		holds, _ := s.Data()["holds"].([]any)
		for _, h := range holds {
			if m, _ := h.(map[string]any); m["sku"] == sku {
				q, _ := m["quantity"].(int64)
				n += q
			}
		}
	}
	return n
}
