package shipenginefake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/shipengine"
	"github.com/readyplanner/oms/internal/shipengine/shipenginefake"
	"github.com/readyplanner/oms/internal/shipping"
)

// The tester's page lists the labels sold and moves one as the carrier
// would; each move is a signed track webhook that verifies with the key
// set the fake publishes, and the label's tracking says so.
func TestTrackingPageAndSignedWebhooks(t *testing.T) {
	f, err := shipenginefake.Start("TEST_key")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c := shipengine.New(shipengine.Options{BaseURL: f.URL, APIKey: "TEST_key"})
	ctx := context.Background()
	from := shipping.Address{Name: "ReadyPlanner", AddressLine1: "1 Warehouse Rd", CityLocality: "Portland", StateProvince: "OR", PostalCode: "97201", CountryCode: "US"}
	to := shipping.Address{Name: "Ann Lee", AddressLine1: "12 Elm Street", CityLocality: "Springfield", StateProvince: "OR", PostalCode: "97477", CountryCode: "US"}
	rates, err := c.Rates(ctx, shipengine.RatesQuery{From: from, To: to, Package: shipping.Package{WeightGrams: 300}, CarrierIDs: shipenginefake.Carriers})
	if err != nil || len(rates) == 0 {
		t.Fatalf("rates: %v", err)
	}
	l, err := c.BuyLabel(ctx, rates[0].RateID, shipengine.LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var verified []string
	v := &shipengine.Verifier{JWKSURL: f.JWKSURL()}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.Verify(r.Context(), r.Header, body); err != nil {
			t.Errorf("a delivery does not verify: %v", err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		d, err := shipengine.ParseTrackWebhook(body)
		if err != nil || d.ResourceType != "API_TRACK" || d.Data.TrackingNumber != l.TrackingNumber {
			t.Errorf("a delivery: %v %+v", err, d)
		}
		mu.Lock()
		verified = append(verified, d.Data.StatusCode)
		mu.Unlock()
	}))
	defer hook.Close()
	f.SetWebhook(hook.URL)

	page := func() string {
		resp, err := http.Get(f.URL + "/_local/labels")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if p := page(); !strings.Contains(p, l.ID) || !strings.Contains(p, l.TrackingNumber) || !strings.Contains(p, "Not Yet In System") {
		t.Errorf("the page before any move: %s", p)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, move := range []string{"accepted", "out_for_delivery", "delivered"} {
		resp, err := noRedirect.PostForm(f.URL+"/_local/labels/"+l.ID+"/"+move, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %d", move, resp.StatusCode)
		}
	}
	if resp, _ := noRedirect.PostForm(f.URL+"/_local/labels/"+l.ID+"/lost", url.Values{}); resp == nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("an unknown move: %v", resp)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(verified)
		mu.Unlock()
		if n == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if got := strings.Join(verified, ","); !strings.Contains(got, "AC") || !strings.Contains(got, "DE") || len(verified) != 3 {
		t.Errorf("verified deliveries %s, want AC, IT, DE", got)
	}
	mu.Unlock()
	tr, err := c.Track(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tr.StatusCode != "DE" || len(tr.Events) != 3 || tr.Update().Status != "delivered" {
		b, _ := json.Marshal(tr)
		t.Errorf("tracking: %s", b)
	}
	if p := page(); !strings.Contains(p, "Delivered") {
		t.Errorf("the page after the delivery: %s", p)
	}
	if _, err := c.VoidLabel(ctx, l.ID, ""); err == nil {
		t.Error("a delivered label was voided")
	}
}
