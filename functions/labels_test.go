package functions

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/emulator"
	"github.com/readyplanner/oms/internal/fulfilment"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/orderflow"
	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
)

// buyLabelAs calls buyLabel for the order as the owner, with requestID
// ("" for a new one).
func buyLabelAs(t tester, a *app.App, token, orderID, requestID string) rpcAnswer[storefront.LabelAnswer] {
	t.Helper()
	data := map[string]any{"orderId": orderID}
	if requestID != "" {
		data["requestId"] = requestID
	}
	return rpc[storefront.LabelAnswer](t, withRequestID(buyLabel(a)), token, data)
}

// reasonIn reports whether an error answer's details carry reason.
func reasonIn(details json.RawMessage, reason string) bool {
	var d struct {
		Reason string `json:"reason"`
	}
	return json.Unmarshal(details, &d) == nil && d.Reason == reason
}

// identityOf is the owner u as the callables see them.
func identityOf(t tester, u emulator.User) *identity.Identity {
	t.Helper()
	return &identity.Identity{UID: u.UID, SignInProvider: "password", Claims: map[string]any{"admin": true}}
}

// labelsSold counts the labels the local ShipEngine sold for the order's
// parcel: from any rate recorded on it, good or voided.
func labelsSold(t *testing.T, a *app.App, id string) int {
	t.Helper()
	o, err := a.Orders.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	rates := map[string]bool{o.Shipping.Rate.RateID: true}
	if p := o.Part(order.PartParcel); p != nil {
		for _, l := range p.Labels {
			rates[l.RateID] = true
		}
		if p.Buying != nil {
			for _, r := range p.Buying.Rates {
				rates[r] = true
			}
		}
	}
	n := 0
	for r := range rates {
		n += shipEngine(t).Labels(r)
	}
	return n
}

// The owner buys a parcel-only order's label from the rate the customer
// chose: the label (a PDF one can open), its cost and tracking are on the
// parcel, which waits for the carrier's first scan. The same request
// again answers the same label; another request is refused while the
// label is good. Voided, its cost comes back as a figure and the parcel
// waits again; bought again, it comes from a fresh rate (the chosen one
// was used). Then the owner hands it over: the order ships with the
// label's tracking.
func TestBuyVoidAndBuyALabelAgain(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "B", 2)
	boss := owner(t)
	rid := testenv.ID("buy")
	first := buyLabelAs(t, a, boss.IDToken, o.ID, rid)
	if first.status != 200 || first.Result.Label == nil {
		t.Fatalf("buyLabel: %d %+v", first.status, first.Error)
	}
	l := first.Result.Label
	if l.Carrier != "USPS" || l.TrackingNumber == "" || !strings.HasPrefix(l.TrackingURL, "https://tools.usps.com/") || l.Cost <= 0 || l.Format != "pdf" ||
		first.Result.FreshRate || first.Result.LabelCost != l.Cost || first.Result.ShippingPaid != o.ShippingAmount().Amount {
		t.Errorf("the label: %+v, answer %+v", *l, first.Result)
	}
	for _, p := range first.Result.Order.Fulfilment.Parts {
		if p.ID == "parcel" && p.Status != order.PartLabelled {
			t.Errorf("the parcel is %s, want labelled", p.Status)
		}
	}
	if first.Result.Order.State != order.Fulfilling {
		t.Errorf("the order is %s: a label is not a shipment", first.Result.Order.State)
	}
	res, err := http.Get(l.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(pdf), "%PDF-1.4") || !strings.Contains(string(pdf), l.TrackingNumber) {
		t.Errorf("the label's file: %.40q", pdf)
	}
	if again := buyLabelAs(t, a, boss.IDToken, o.ID, rid); again.status != 200 || again.Result.Label == nil || again.Result.Label.LabelID != l.LabelID {
		t.Errorf("the same request again: %d %+v", again.status, again.Error)
	}
	if other := buyLabelAs(t, a, boss.IDToken, o.ID, ""); other.Error.Status != "FAILED_PRECONDITION" || !reasonIn(other.Error.Details, order.ReasonLabelExists) {
		t.Errorf("another purchase: %+v", other.Error)
	}
	if n := labelsSold(t, a, o.ID); n != 1 {
		t.Errorf("%d labels sold, want 1", n)
	}

	void := rpc[storefront.LabelAnswer](t, withRequestID(voidLabel(a)), boss.IDToken, map[string]any{"orderId": o.ID})
	if void.status != 200 || void.Result.Label == nil || void.Result.Label.VoidedAt == nil || void.Result.LabelRefunded != l.Cost || void.Result.LabelCost != 0 {
		t.Fatalf("voidLabel: %d %+v %+v", void.status, void.Error, void.Result)
	}
	if again := rpc[storefront.LabelAnswer](t, withRequestID(voidLabel(a)), boss.IDToken, map[string]any{"orderId": o.ID}); !reasonIn(again.Error.Details, order.ReasonNoLabel) {
		t.Errorf("a second void: %+v", again.Error)
	}
	second := buyLabelAs(t, a, boss.IDToken, o.ID, "")
	if second.status != 200 || second.Result.Label == nil || second.Result.Label.LabelID == l.LabelID || !second.Result.FreshRate ||
		second.Result.LabelRefunded != l.Cost || second.Result.LabelCost != second.Result.Label.Cost {
		t.Fatalf("bought again: %d %+v %+v", second.status, second.Error, second.Result)
	}
	if n := labelsSold(t, a, o.ID); n != 2 {
		t.Errorf("%d labels sold, want 2 (one voided)", n)
	}
	// Handed over: no carrier or tracking typed, the label's recorded.
	shipped := rpc[storefront.Order](t, withRequestID(markShipped(a)), boss.IDToken, map[string]any{"orderId": o.ID, "partId": "parcel"})
	if shipped.status != 200 || shipped.Result.State != order.Shipped {
		t.Fatalf("handed over: %d %+v", shipped.status, shipped.Error)
	}
	if p := shipped.Result.Fulfilment.Parts[0]; p.TrackingNumber != second.Result.Label.TrackingNumber || p.Carrier != "USPS" {
		t.Errorf("the parcel shipped: %+v", p)
	}
	if late := rpc[storefront.LabelAnswer](t, withRequestID(voidLabel(a)), boss.IDToken, map[string]any{"orderId": o.ID}); !reasonIn(late.Error.Details, order.ReasonLabelScanned) {
		t.Errorf("a void after the hand-over: %+v", late.Error)
	}
}

// Ten purchases at once buy one label: under one request id every answer
// is that label; under ten request ids one buys it and the others are
// told the parcel has it.
func TestTenLabelPurchasesAtOnce(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 50, 50)
	boss := owner(t)
	for _, sameID := range []bool{true, false} {
		_, o := fulfilling(t, a, s, "A", 1)
		rid := testenv.ID("ten")
		answers := make([]rpcAnswer[storefront.LabelAnswer], 10)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := rid
				if !sameID {
					id = testenv.ID("ten")
				}
				answers[i] = rpcB[storefront.LabelAnswer](withRequestID(buyLabel(a)), boss.IDToken, map[string]any{"orderId": o.ID, "requestId": id})
			}()
		}
		wg.Wait()
		ok, exists := 0, 0
		labels := map[string]bool{}
		for _, ans := range answers {
			switch {
			case ans.status == 200 && ans.Result.Label != nil:
				ok++
				labels[ans.Result.Label.LabelID] = true
			case reasonIn(ans.Error.Details, order.ReasonLabelExists):
				exists++
			default:
				t.Errorf("same id %v: %d %+v", sameID, ans.status, ans.Error)
			}
		}
		if n := labelsSold(t, a, o.ID); n != 1 || len(labels) != 1 {
			t.Errorf("same id %v: %d labels sold, %d told", sameID, n, len(labels))
		}
		if sameID && ok != 10 || !sameID && (ok != 1 || exists != 9) {
			t.Errorf("same id %v: %d answered the label, %d told it exists", sameID, ok, exists)
		}
	}
}

// dyingLabels is a label service whose next purchase reaches ShipEngine
// and whose runner then dies (runtime.Goexit: no write after the answer).
type dyingLabels struct {
	fulfilment.LabelService
	bought chan string
}

func (d *dyingLabels) Buy(ctx context.Context, rateID string) (order.Label, error) {
	l, err := d.LabelService.Buy(ctx, rateID)
	if err == nil {
		d.bought <- l.ID
		runtime.Goexit()
	}
	return l, err
}

// A crash between ShipEngine's answer and our write: the claim written
// before the call stands, so a purchase meanwhile waits and buys nothing;
// once the claim is stale, the next command finds the label by its rate
// and records it, and the sweeper's re-drive does the same for a crash no
// one retries. One label each, never two.
func TestCrashBetweenLabelAnswerAndWrite(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 20, 20)
	boss := owner(t)
	ctx := context.Background()
	for _, recovery := range []string{"command", "sweeper"} {
		_, o := fulfilling(t, a, s, "A", 1)
		dying := &dyingLabels{LabelService: a.Parts.Labels, bought: make(chan string, 1)}
		crashing := *a.Parts
		crashing.Labels = dying
		go func() { _, _, _ = crashing.BuyLabel(ctx, identityOf(t, boss), testenv.ID("crash"), o.ID) }()
		var bought string
		select {
		case bought = <-dying.bought:
		case <-time.After(20 * time.Second):
			t.Fatal("the purchase did not reach ShipEngine")
		}
		cur, _ := a.Orders.Get(ctx, o.ID)
		if p := cur.Part(order.PartParcel); p.Buying == nil || len(p.Labels) != 0 || p.Status != order.PartWaiting || !cur.WorkDue() {
			t.Fatalf("%s: after the crash: %+v due=%v", recovery, p, cur.WorkDue())
		}
		// A purchase while the claim stands waits, then answers in flight.
		waiting := *a.Parts
		waiting.LabelSettings.Wait = 300 * time.Millisecond
		if _, _, err := waiting.BuyLabel(ctx, identityOf(t, boss), testenv.ID("wait"), o.ID); !strings.Contains(err.Error(), "in flight") {
			t.Errorf("%s: a purchase during the claim: %v", recovery, err)
		}
		later := *a.Parts
		later.Now = func() time.Time { return time.Now().Add(fulfilment.DefaultLabelClaim + time.Second) }
		switch recovery {
		case "command":
			got, _, err := later.BuyLabel(ctx, identityOf(t, boss), testenv.ID("after"), o.ID)
			if err != nil {
				t.Fatalf("the command after the crash: %v", err)
			}
			cur = got
		case "sweeper":
			if err := later.Steps()[orderflow.StepSettleLabels](ctx, orderflow.Transition{Order: cur, To: cur.State(), Redrive: true}); err != nil {
				t.Fatal(err)
			}
			cur, _ = a.Orders.Get(ctx, o.ID)
		}
		p := cur.Part(order.PartParcel)
		if l := p.Label(); l == nil || l.ID != bought || p.Status != order.PartLabelled || p.Buying != nil || cur.WorkDue() {
			t.Errorf("%s: recovered: %+v due=%v, want label %s", recovery, p, cur.WorkDue(), bought)
		}
		if n := labelsSold(t, a, o.ID); n != 1 {
			t.Errorf("%s: %d labels sold, want 1", recovery, n)
		}
	}
}

// ShipEngine's refusals answer in its words and change nothing; a chosen
// rate it no longer honours is replaced by a fresh rate for the same
// carrier service; a mixed order's parcel is rated for its own weight.
// Not parallel: no funds is the whole local ShipEngine's state.
func TestLabelRefusalsAndFreshRates(t *testing.T) {
	a := testApp(t)
	s := newStore(t, a, 20, 20)
	boss := owner(t)
	ctx := context.Background()
	se := shipEngine(t)

	_, o := fulfilling(t, a, s, "A", 1)
	se.NoFunds(true)
	refused := buyLabelAs(t, a, boss.IDToken, o.ID, "")
	se.NoFunds(false)
	if refused.Error.Status != "FAILED_PRECONDITION" || !reasonIn(refused.Error.Details, order.ReasonLabelRefused) ||
		!strings.Contains(refused.Error.Message, "sufficient funds") {
		t.Errorf("no funds: %+v", refused.Error)
	}
	cur, _ := a.Orders.Get(ctx, o.ID)
	if p := cur.Part(order.PartParcel); p.Status != order.PartWaiting || p.Buying != nil || len(p.Labels) != 0 || cur.WorkDue() {
		t.Errorf("after the refusal: %+v", p)
	}

	se.ExpireRate(o.Shipping.Rate.RateID)
	fresh := buyLabelAs(t, a, boss.IDToken, o.ID, "")
	if fresh.status != 200 || !fresh.Result.FreshRate || fresh.Result.Label == nil {
		t.Fatalf("an expired rate: %d %+v %+v", fresh.status, fresh.Error, fresh.Result)
	}
	if se.Labels(o.Shipping.Rate.RateID) != 0 || labelsSold(t, a, o.ID) != 1 {
		t.Errorf("labels sold: %d from the chosen rate, %d in all", se.Labels(o.Shipping.Rate.RateID), labelsSold(t, a, o.ID))
	}
	cur, _ = a.Orders.Get(ctx, o.ID)
	if l := cur.Part(order.PartParcel).Label(); l.Service != o.Shipping.Rate.ServiceCode {
		t.Errorf("the fresh rate's service %s, want %s", l.Service, o.Shipping.Rate.ServiceCode)
	}

	// A planner and stickers: the customer's rate was for both; the
	// parcel's label is rated for the stickers and the box alone.
	_, mixed := fulfilling(t, a, s, "A", 2, "P", 1)
	ans := buyLabelAs(t, a, boss.IDToken, mixed.ID, "")
	if ans.status != 200 || !ans.Result.FreshRate || ans.Result.Label.Cost >= mixed.ShippingAmount().Amount {
		t.Fatalf("a mixed order's parcel: %d %+v %+v (the customer paid %d for both)", ans.status, ans.Error, ans.Result, mixed.ShippingAmount().Amount)
	}
	var grams string
	for _, r := range se.Requests() {
		if r.Path == "/v1/rates" && strings.Contains(string(r.Body), mixed.ID+"-parcel-") {
			grams = string(r.Body)
		}
	}
	if want := `"weight":{"value":230,"unit":"gram"}`; !strings.Contains(grams, want) {
		t.Errorf("the parcel's rate request %s, want %s (2 × 40 g and the 150 g box)", grams, want)
	}
}

// The owner cancels an order whose parcel has a label the carrier has not
// scanned: the trigger voids it and its cost comes back; the void is not
// asked for twice.
func TestCancelVoidsTheLabel(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 20, 20)
	boss := owner(t)
	ctx := context.Background()
	_, o := fulfilling(t, a, s, "B", 1)
	bought := buyLabelAs(t, a, boss.IDToken, o.ID, "")
	if bought.status != 200 {
		t.Fatal(bought.Error)
	}
	c := rpc[storefront.Order](t, withRequestID(cancelOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID, "reason": "the customer asked"})
	if c.status != 200 || c.Result.State != order.Canceled {
		t.Fatalf("cancel: %d %+v", c.status, c.Error)
	}
	cur, _ := a.Orders.Get(ctx, o.ID)
	if !cur.WorkDue() || cur.LabelToVoid() == nil {
		t.Fatalf("after the cancel: due=%v label to void %+v", cur.WorkDue(), cur.LabelToVoid())
	}
	for i := 0; i < 2; i++ { // the trigger, then a duplicate re-drive
		cur, _ = a.Orders.Get(ctx, o.ID)
		if err := a.Flow.Redrive(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ = a.Orders.Get(ctx, o.ID)
	cost, voided := cur.LabelCosts()
	if p := cur.Part(order.PartParcel); p.Status != order.PartCanceled || len(p.Labels) != 1 || !p.Labels[0].Voided() || cost.Amount != 0 ||
		voided.Amount != bought.Result.Label.Cost || cur.LabelWorkDue() {
		t.Errorf("after the trigger: %+v, cost %v, voided %v", p, cost, voided)
	}
	n := 0
	for _, r := range shipEngine(t).Requests() {
		if r.Method == "PUT" && r.Path == "/v1/labels/"+bought.Result.Label.LabelID+"/void" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d voids asked, want 1", n)
	}
}

// The owner refunds a charged order in full before the carrier scanned
// its parcel's label: nothing ships, and the trigger voids the label.
func TestFullRefundVoidsAnUnscannedLabel(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 20, 20)
	boss := owner(t)
	ctx := context.Background()
	_, o := fulfilling(t, a, s, "A", 1)
	bought := buyLabelAs(t, a, boss.IDToken, o.ID, "")
	if bought.status != 200 {
		t.Fatal(bought.Error)
	}
	ref := rpc[storefront.RefundOrderAnswer](t, withRequestID(refundOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID, "full": true, "reason": "the customer changed their mind"})
	if ref.status != 200 {
		t.Fatalf("refund: %d %+v", ref.status, ref.Error)
	}
	var cur *order.Order
	for i := 0; i < 6; i++ {
		cur, _ = a.Orders.Get(ctx, o.ID)
		_ = a.Flow.Redrive(ctx, cur)
	}
	cur, _ = a.Orders.Get(ctx, o.ID)
	p := cur.Part(order.PartParcel)
	if cur.State() != order.Refunded || len(p.Labels) != 1 || !p.Labels[0].Voided() || cur.LabelWorkDue() {
		t.Errorf("after the refund: %s, parcel %+v", cur.State(), p)
	}
}

// The owner cancels while the label purchase is in flight (ShipEngine
// sold it; its answer is held): the cancel goes through, the label
// arrives on the canceled parcel, and the trigger voids it — once.
func TestCancelWhileALabelIsBought(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 20, 20)
	boss := owner(t)
	ctx := context.Background()
	_, o := fulfilling(t, a, s, "B", 1)
	hold := shipEngine(t).HoldNext("POST", "/v1/labels/rates/"+o.Shipping.Rate.RateID, "")
	done := make(chan rpcAnswer[storefront.LabelAnswer], 1)
	go func() {
		done <- rpcB[storefront.LabelAnswer](withRequestID(buyLabel(a)), boss.IDToken, map[string]any{"orderId": o.ID})
	}()
	select {
	case <-hold.Reached():
	case <-time.After(20 * time.Second):
		t.Fatal("the purchase did not reach ShipEngine")
	}
	c := rpc[storefront.Order](t, withRequestID(cancelOrder(a)), boss.IDToken, map[string]any{"orderId": o.ID, "reason": "the customer asked"})
	hold.Release()
	bought := <-done
	if c.status != 200 || c.Result.State != order.Canceled {
		t.Fatalf("cancel during the purchase: %d %+v", c.status, c.Error)
	}
	if bought.status != 200 || bought.Result.Label == nil {
		t.Fatalf("the purchase: %d %+v", bought.status, bought.Error)
	}
	for i := 0; i < 2; i++ {
		cur, _ := a.Orders.Get(ctx, o.ID)
		if err := a.Flow.Redrive(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
	cur, _ := a.Orders.Get(ctx, o.ID)
	p := cur.Part(order.PartParcel)
	if p.Status != order.PartCanceled || len(p.Labels) != 1 || !p.Labels[0].Voided() || p.Buying != nil || cur.WorkDue() {
		t.Errorf("after the trigger: %+v, work due %v", p, cur.WorkDue())
	}
	if n := labelsSold(t, a, o.ID); n != 1 {
		t.Errorf("%d labels sold, want 1", n)
	}
}

// The owner ships a labelled parcel another way (other tracking typed
// into markShipped): the bought label is voided by the trigger and no
// longer tracked.
func TestShippedAnotherWayVoidsTheLabel(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	s := newStore(t, a, 20, 20)
	boss := owner(t)
	_, o := fulfilling(t, a, s, "B", 1)
	if ans := buyLabelAs(t, a, boss.IDToken, o.ID, ""); ans.status != 200 {
		t.Fatal(ans.Error)
	}
	shipped := rpc[storefront.Order](t, withRequestID(markShipped(a)), boss.IDToken, map[string]any{"orderId": o.ID, "partId": "parcel", "carrier": "UPS", "trackingNumber": "1Z999AA10123456784"})
	if shipped.status != 200 || shipped.Result.State != order.Shipped {
		t.Fatalf("shipped another way: %d %+v", shipped.status, shipped.Error)
	}
	cur := settle(t, a, o.ID)
	cost, voided := cur.LabelCosts()
	if p := cur.Part(order.PartParcel); p.TrackingNumber != "1Z999AA10123456784" || p.Label() != nil || cost.Amount != 0 || voided.Amount == 0 ||
		len(cur.Tracked()) != 0 || cur.WorkDue() {
		t.Errorf("after the trigger: %+v, cost %v voided %v", p, cost, voided)
	}
}
