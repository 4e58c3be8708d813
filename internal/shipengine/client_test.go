package shipengine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/shipengine"
	"github.com/readyplanner/oms/internal/shipengine/shipenginefake"
	"github.com/readyplanner/oms/internal/shipping"
)

func start(t *testing.T) (*shipenginefake.Server, *shipengine.Client) {
	t.Helper()
	f, err := shipenginefake.Start("TEST_key")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, shipengine.New(shipengine.Options{BaseURL: f.URL, APIKey: "TEST_key", CacheTTL: -1})
}

var (
	home = shipping.Address{Name: "Ann Lee", AddressLine1: "123 main street", CityLocality: "Austin", StateProvince: "tx", PostalCode: "78701", CountryCode: "US"}
	shop = shipping.Address{Name: "ReadyPlanner", AddressLine1: "1 Warehouse Rd", CityLocality: "Portland", StateProvince: "OR", PostalCode: "97201", CountryCode: "US"}
	pkg  = shipping.Package{WeightGrams: 700, LengthCM: 30, WidthCM: 22, HeightCM: 5}
)

func TestValidate(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	v, err := c.ValidateAddress(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != "verified" || v.Matched == nil || v.Matched.AddressLine1 != "123 MAIN ST" || len(v.Matched.PostalCode) != 10 {
		t.Fatalf("%+v %+v", v, v.Matched)
	}
	if d := shipping.Differences(home, *v.Matched); len(d) != 2 || d[0] != "addressLine1" || d[1] != "postalCode" {
		t.Errorf("differences %v", d)
	}
	for line, want := range map[string]string{"1 No Such Street": "error", "5 Elm St Needs Unit": "warning"} {
		a := home
		a.AddressLine1 = line
		v, err := c.ValidateAddress(ctx, a)
		if err != nil || v.Status != want || len(v.Messages) == 0 {
			t.Errorf("%s: %+v %v", line, v, err)
		}
		if want == "error" && v.Matched != nil {
			t.Error("an error has no match")
		}
	}
	abroad := home
	abroad.CountryCode, abroad.PostalCode = "DE", "10115"
	if v, _ := c.ValidateAddress(ctx, abroad); v.Status != "unverified" {
		t.Errorf("abroad: %+v", v)
	}
}

func TestRatesAndEstimate(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	q := shipengine.RatesQuery{From: shop, To: home, Package: pkg, CarrierIDs: shipenginefake.Carriers, ShipDate: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
	rates, err := c.Rates(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 4 {
		t.Fatalf("%d rates", len(rates))
	}
	// 700 g is 2 pounds started; zone |9-7|+1 = 3: 5.25 + 0.95 + 2×0.35 = 6.90 for Ground Advantage.
	r := rates[0]
	if r.RateID == "" || r.Amount.Amount != 690 || r.Amount.Currency != "USD" || r.Carrier != "USPS" || r.DeliveryDays != 6 || r.EstimatedDelivery.IsZero() {
		t.Errorf("rate %+v", r)
	}
	est, err := c.Estimate(ctx, q)
	if err != nil || len(est) != 4 || est[0].RateID != "" || est[0].Amount != r.Amount {
		t.Errorf("estimate %+v %v", est, err)
	}
	if _, err := c.Rates(ctx, shipengine.RatesQuery{From: shop, To: home, Package: pkg}); err == nil {
		t.Error("rates without carrier_ids must fail")
	} else {
		var ae *shipengine.APIError
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Errors[0].ErrorCode != "field_value_required" {
			t.Errorf("error %v", err)
		}
	}
	if f.Count("/v1/rates") != 2 || f.Requests()[0].Key != "TEST_key" {
		t.Errorf("fake recorded %+v", f.Requests())
	}
}

func TestRetries(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()

	f.Fail429(1, 1)
	began := time.Now()
	if _, err := c.ValidateAddress(ctx, home); err != nil {
		t.Fatalf("after one 429: %v", err)
	}
	if waited := time.Since(began); waited < time.Second {
		t.Errorf("Retry-After: 1 not honoured (%s)", waited)
	}

	f.Fail5xx(2)
	if _, err := c.ValidateAddress(ctx, home); err != nil {
		t.Fatalf("after two 500s: %v", err)
	}

	f.Fail5xx(10)
	before := len(f.Requests())
	_, err := c.ValidateAddress(ctx, home)
	if apperr.CodeOf(err) != apperr.Unavailable || len(f.Requests())-before != 4 {
		t.Errorf("always 500: %v after %d requests", err, len(f.Requests())-before)
	}
	f.Fail5xx(0)

	// A Retry-After past the deadline gives up at once.
	f.Fail429(1, 30)
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	began = time.Now()
	if _, err := c.ValidateAddress(dctx, home); apperr.CodeOf(err) != apperr.Unavailable || time.Since(began) > time.Second {
		t.Errorf("429 past the deadline: %v after %s", err, time.Since(began))
	}

	// Slow answers: the deadline bounds the whole call.
	f.SetLatency(500 * time.Millisecond)
	dctx2, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	if _, err := c.ValidateAddress(dctx2, home); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("slow: %v", err)
	}
	f.SetLatency(0)

	// A bad key is ShipEngine's answer, not retried.
	bad := shipengine.New(shipengine.Options{BaseURL: f.URL, APIKey: "TEST_wrong", CacheTTL: -1})
	before = len(f.Requests())
	var ae *shipengine.APIError
	if _, err := bad.ValidateAddress(ctx, home); !errors.As(err, &ae) || ae.Status != 401 || ae.Errors[0].ErrorType != "security" || len(f.Requests())-before != 1 {
		t.Errorf("bad key: %v", err)
	}
}

func TestCache(t *testing.T) {
	f, _ := start(t)
	c := shipengine.New(shipengine.Options{BaseURL: f.URL, APIKey: "TEST_key"})
	for i := 0; i < 3; i++ {
		if _, err := c.ValidateAddress(context.Background(), home); err != nil {
			t.Fatal(err)
		}
	}
	other := home
	other.AddressLine1 = "124 Main Street"
	if _, err := c.ValidateAddress(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if n := f.Count("/v1/addresses/validate"); n != 2 {
		t.Errorf("%d requests for 3 identical and 1 different, want 2", n)
	}
}
