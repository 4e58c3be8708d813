package shipengine_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/shipengine"
	"github.com/readyplanner/oms/internal/shipengine/shipenginefake"
	"github.com/readyplanner/oms/internal/shipping"
)

// quote returns a fresh rate (USPS Ground Advantage, 6.90) to home.
func quote(t *testing.T, c *shipengine.Client, to shipping.Address, external string) shipping.Rate {
	t.Helper()
	rates, err := c.Rates(context.Background(), shipengine.RatesQuery{From: shop, To: to, Package: pkg, CarrierIDs: shipenginefake.Carriers,
		ShipDate: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), ExternalShipmentID: external})
	if err != nil || len(rates) == 0 {
		t.Fatalf("rates: %v %v", rates, err)
	}
	return rates[0]
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d", url, resp.StatusCode)
	}
	return b
}

func TestBuyLabel(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	r := quote(t, c, home, "")
	l, err := c.BuyLabel(ctx, r.RateID, shipengine.LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.ID == "" || l.ShipmentID == "" || l.TrackingNumber == "" || l.Carrier != "stamps_com" || l.Service != "usps_ground_advantage" ||
		l.Cost != r.Amount || l.Status != "completed" || l.Voided || l.Format != "pdf" || !strings.HasSuffix(l.DownloadURL, ".pdf") {
		t.Fatalf("label %+v (rate %+v)", l, r)
	}
	pdf := fetch(t, l.DownloadURL)
	if !strings.HasPrefix(string(pdf), "%PDF-1.4\n") || !strings.Contains(string(pdf), l.TrackingNumber) || !strings.HasSuffix(string(pdf), "%%EOF\n") {
		t.Errorf("not a PDF with the tracking number: %q", pdf)
	}
	if body := f.Requests()[len(f.Requests())-1].Body; string(body) != `{"label_format":"pdf","label_layout":"4x6","label_download_type":"url"}` {
		t.Errorf("purchase body %s", body)
	}

	// ZPL, from another rate of the same shipment (UPS Ground).
	rates, _ := c.Rates(ctx, shipengine.RatesQuery{From: shop, To: home, Package: pkg, CarrierIDs: shipenginefake.Carriers})
	z, err := c.BuyLabel(ctx, rates[2].RateID, shipengine.LabelOptions{Format: "zpl"})
	if err != nil || z.Format != "zpl" || !strings.HasSuffix(z.DownloadURL, ".zpl") || z.Carrier != "ups" || z.Cost != rates[2].Amount {
		t.Fatalf("zpl %+v %v", z, err)
	}
	if zpl := string(fetch(t, z.DownloadURL)); !strings.HasPrefix(zpl, "^XA") || !strings.Contains(zpl, z.TrackingNumber) {
		t.Errorf("zpl %q", zpl)
	}
	if got, found, err := c.LabelForRate(ctx, rates[2].RateID, "zpl"); err != nil || !found || got != z {
		t.Errorf("found %+v %v %v, want %+v", got, found, err, z)
	}
	if _, found, err := c.LabelForRate(ctx, rates[1].RateID, ""); err != nil || found {
		t.Errorf("a rate not bought: found %v %v", found, err)
	}
}

// TestLostAnswer: ShipEngine sold the label, its answer never came (the
// client gave up; or the process died and another asks again): the label
// is found by its rate, and bought once.
func TestLostAnswer(t *testing.T) {
	f, c := start(t)
	r := quote(t, c, home, "")

	// The caller's deadline passes while the answer is held: BuyLabel
	// looks for the label instead of buying again.
	hold := f.HoldNext("POST", "/v1/labels/rates/"+r.RateID, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var l shipengine.Label
	var err error
	go func() { defer close(done); l, err = c.BuyLabel(ctx, r.RateID, shipengine.LabelOptions{}) }()
	<-hold.Reached()
	cancel() // the answer is lost
	<-done
	hold.Release()
	if err != nil || l.ID == "" || f.Labels(r.RateID) != 1 {
		t.Fatalf("after a lost answer: %+v %v; %d labels", l, err, f.Labels(r.RateID))
	}

	// A crash between ShipEngine's answer and our write: the purchase
	// is in flight (sold, answer held) when a restarted process asks
	// again for the same rate.
	r2 := quote(t, c, home, "")
	hold = f.HoldNext("POST", "/v1/labels/rates/"+r2.RateID, "")
	crashed := shipengine.New(shipengine.Options{BaseURL: f.URL, APIKey: "TEST_key", CacheTTL: -1})
	go func() { _, _ = crashed.BuyLabel(context.Background(), r2.RateID, shipengine.LabelOptions{}) }()
	<-hold.Reached()
	again, bought, err := c.LabelOnce(context.Background(), r2.RateID, shipengine.LabelOptions{})
	hold.Release()
	if err != nil || bought || again.ID == "" || f.Labels(r2.RateID) != 1 {
		t.Fatalf("after a crash: %+v bought %v %v; %d labels", again, bought, err, f.Labels(r2.RateID))
	}
	if n := f.Count("/v1/labels/rates/" + r2.RateID); n != 1 {
		t.Errorf("%d purchases sent", n)
	}
}

// TestConcurrentBuys: concurrent purchases of the same rate buy one label.
func TestConcurrentBuys(t *testing.T) {
	f, c := start(t)
	r := quote(t, c, home, "")
	f.SetLatency(50 * time.Millisecond)
	var wg sync.WaitGroup
	ids := make([]string, 6)
	bought := make([]bool, 6)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, b, err := c.LabelOnce(context.Background(), r.RateID, shipengine.LabelOptions{})
			if err != nil {
				t.Error(err)
			}
			ids[i], bought[i] = l.ID, b
		}()
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if ids[i] != ids[0] || ids[i] == "" {
			t.Errorf("labels %v", ids)
		}
		if bought[i] {
			n++
		}
	}
	if n != 1 || f.Labels(r.RateID) != 1 {
		t.Errorf("%d callers bought, %d labels sold", n, f.Labels(r.RateID))
	}
}

// TestPurchaseFailing: a 5xx is not bought again blindly: the label is
// looked for, none found, UNAVAILABLE; LabelOnce later buys it.
func TestPurchaseFailing(t *testing.T) {
	f, c := start(t)
	r := quote(t, c, home, "")
	f.Fail5xx(1)
	_, err := c.BuyLabel(context.Background(), r.RateID, shipengine.LabelOptions{})
	if apperr.CodeOf(err) != apperr.Unavailable || apperr.As(err).ReasonOf() != shipengine.ReasonLabelUnknown {
		t.Fatalf("after a 500: %v", err)
	}
	if n := f.Count("/v1/labels/rates/" + r.RateID); n != 1 || f.Labels("") != 0 {
		t.Errorf("%d purchases sent, %d labels", n, f.Labels(""))
	}
	if l, bought, err := c.LabelOnce(context.Background(), r.RateID, shipengine.LabelOptions{}); err != nil || !bought || l.ID == "" {
		t.Errorf("then: %+v %v %v", l, bought, err)
	}
	// 429 was not acted on: sent again after Retry-After.
	r2 := quote(t, c, home, "")
	f.Fail429(1, 1)
	if l, err := c.BuyLabel(context.Background(), r2.RateID, shipengine.LabelOptions{}); err != nil || l.ID == "" || f.Labels(r2.RateID) != 1 {
		t.Errorf("after a 429: %+v %v", l, err)
	}
}

func TestVoidLabel(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	l, err := c.BuyLabel(ctx, quote(t, c, home, "").RateID, shipengine.LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.VoidLabel(ctx, l.ID, "")
	if err != nil || !v.Voided || v.Status != "voided" || v.VoidedAt.IsZero() || v.Cost != l.Cost {
		t.Fatalf("void: %+v %v", v, err)
	}
	if again, err := c.VoidLabel(ctx, l.ID, ""); err != nil || !again.Voided {
		t.Errorf("voided again: %+v %v", again, err)
	}
	used, err := c.BuyLabel(ctx, quote(t, c, home, "").RateID, shipengine.LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.MarkUsed(used.ID)
	if _, err := c.VoidLabel(ctx, used.ID, ""); apperr.CodeOf(err) != apperr.FailedPrecondition || !strings.Contains(apperr.As(err).Message, "already scanned") {
		t.Errorf("void a used label: %v", err)
	}
	if _, err := c.VoidLabel(ctx, "se-1", ""); apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.As(err).Message, "se-1 was not found") {
		t.Errorf("void an unknown label: %v", err)
	}
}

// TestRefusals: ShipEngine's refusals in its own words, nothing sold.
func TestRefusals(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	buy := func(rateID string) error { _, err := c.BuyLabel(ctx, rateID, shipengine.LabelOptions{}); return err }

	f.NoFunds(true)
	err := buy(quote(t, c, home, "").RateID)
	f.NoFunds(false)
	check := func(name string, err error, code apperr.Code, words string) {
		t.Helper()
		if apperr.CodeOf(err) != code || apperr.As(err).ReasonOf() != shipengine.ReasonLabelRefused || !strings.Contains(apperr.As(err).Message, words) {
			t.Errorf("%s: %v", name, err)
		}
	}
	check("no funds", err, apperr.FailedPrecondition, "do not have sufficient funds")

	expired := quote(t, c, home, "")
	f.ExpireRate(expired.RateID)
	check("expired rate", buy(expired.RateID), apperr.FailedPrecondition, "has expired")

	nowhere := home
	nowhere.AddressLine1 = "1 No Such Street"
	check("bad address", buy(quote(t, c, nowhere, "").RateID), apperr.Invalid, "Invalid ship_to address")

	check("unknown rate", buy("se-12345"), apperr.Invalid, "rate_id se-12345 was not found")
	if f.Labels("") != 0 {
		t.Errorf("%d labels sold", f.Labels(""))
	}
}

// TestExternalShipmentID: a shipment quoted with our id finds its label.
func TestExternalShipmentID(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	l, err := c.BuyLabel(ctx, quote(t, c, home, "ord-42.parcel").RateID, shipengine.LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, found, err := c.LabelByExternalShipmentID(ctx, "ord-42.parcel", ""); err != nil || !found || got.ID != l.ID {
		t.Errorf("found %+v %v %v", got, found, err)
	}
	if _, found, err := c.LabelByExternalShipmentID(ctx, "ord-43.parcel", ""); err != nil || found {
		t.Errorf("none: %v %v", found, err)
	}
}
