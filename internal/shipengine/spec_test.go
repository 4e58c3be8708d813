package shipengine_test

// Contract tests against ShipEngine's published OpenAPI description (the
// npm package shipengine-openapi, which make setup installs): every request
// the client sends, and every answer of the local ShipEngine, checked
// against the schemas of the operation.
//
// How the spec is read: its schemas compose with allOf, and a branch says
// additionalProperties: false while the sibling branches hold the
// properties — read literally (JSON Schema), no object could pass. So
// allOf is read as OpenAPI tools read it: the properties and required
// fields of every branch together, additionalProperties: false applied to
// that union. nullable is honoured; format is not asserted (ShipEngine's
// own date-time pattern allows a bare date).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/shipengine"
	"github.com/readyplanner/oms/internal/shipengine/shipenginefake"
	"github.com/readyplanner/oms/internal/shipping"
	"github.com/readyplanner/oms/internal/testenv"
)

type spec struct{ doc map[string]any }

func loadSpec(t *testing.T) spec {
	t.Helper()
	path, err := testenv.RepoFile("node_modules/shipengine-openapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("ShipEngine's OpenAPI description is not installed (%v): run make setup (npm ci)", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return spec{doc}
}

func obj(v any, keys ...string) map[string]any {
	m, _ := v.(map[string]any)
	for _, k := range keys {
		m, _ = m[k].(map[string]any)
	}
	return m
}

// request is the request body schema of POST path; response the answer's
// for status.
func (s spec) request(path string) map[string]any {
	return obj(s.doc, "paths", path, "post", "requestBody", "content", "application/json", "schema")
}

func (s spec) response(path, status string) map[string]any {
	return obj(s.doc, "paths", path, "post", "responses", status, "content", "application/json", "schema")
}

// flat is a schema with its allOf branches merged in.
type flat struct {
	types      []string
	nullable   bool
	props      map[string]map[string]any
	required   []string
	closed     bool // additionalProperties: false somewhere in the composition
	extra      map[string]any
	items      map[string]any
	enum       []any
	minLength  int
	maxLength  int
	pattern    string
	oneOf      []any
	anyOf      []any
	minItems   int
	hasMinimum bool
	minimum    float64
}

func flatten(s map[string]any) flat {
	f := flat{props: map[string]map[string]any{}, minLength: -1, maxLength: -1}
	var walk func(s map[string]any)
	walk = func(s map[string]any) {
		if t, ok := s["type"].(string); ok {
			f.types = append(f.types, t)
		}
		if n, _ := s["nullable"].(bool); n {
			f.nullable = true
		}
		for k, v := range obj(s, "properties") {
			if p, ok := v.(map[string]any); ok {
				f.props[k] = p
			}
		}
		for _, r := range asList(s["required"]) {
			if name, ok := r.(string); ok {
				f.required = append(f.required, name)
			}
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap {
				f.closed = true
			}
		case map[string]any:
			f.extra = ap
		}
		if it, ok := s["items"].(map[string]any); ok {
			f.items = it
		}
		if e, ok := s["enum"].([]any); ok {
			f.enum = e
		}
		if n, ok := s["minLength"].(float64); ok {
			f.minLength = int(n)
		}
		if n, ok := s["maxLength"].(float64); ok {
			f.maxLength = int(n)
		}
		if n, ok := s["minItems"].(float64); ok {
			f.minItems = int(n)
		}
		if n, ok := s["minimum"].(float64); ok {
			f.hasMinimum, f.minimum = true, n
		}
		if p, ok := s["pattern"].(string); ok {
			f.pattern = p
		}
		f.oneOf = append(f.oneOf, asList(s["oneOf"])...)
		f.anyOf = append(f.anyOf, asList(s["anyOf"])...)
		for _, b := range asList(s["allOf"]) {
			if m, ok := b.(map[string]any); ok {
				walk(m)
			}
		}
	}
	walk(s)
	return f
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// check reports every way v breaks schema s (nil: it conforms) in a
// request; checkAnswer in a response. OpenAPI 3.0: a readOnly property is
// required only in responses, a writeOnly one only in requests.
func check(s map[string]any, v any, at string) []string {
	return checkFlat(flatten(s), v, at, false)
}

func checkAnswer(s map[string]any, v any, at string) []string {
	return checkFlat(flatten(s), v, at, true)
}

func skipRequired(p map[string]any, answer bool) bool {
	ro, _ := p["readOnly"].(bool)
	wo, _ := p["writeOnly"].(bool)
	return (ro && !answer) || (wo && answer)
}

func checkFlat(f flat, v any, at string, answer bool) []string {
	if v == nil {
		if f.nullable || len(f.types) == 0 {
			return nil
		}
		return []string{at + ": null where " + f.types[0] + " is required"}
	}
	var errs []string
	typeOK := func(t string) bool {
		switch t {
		case "object":
			_, ok := v.(map[string]any)
			return ok
		case "array":
			_, ok := v.([]any)
			return ok
		case "string":
			_, ok := v.(string)
			return ok
		case "boolean":
			_, ok := v.(bool)
			return ok
		case "number":
			_, ok := v.(json.Number)
			return ok
		case "integer":
			n, ok := v.(json.Number)
			_, err := n.Int64()
			return ok && err == nil
		}
		return true
	}
	for _, t := range f.types {
		if !typeOK(t) {
			return []string{fmt.Sprintf("%s: %v is not a %s", at, v, t)}
		}
	}
	if len(f.enum) > 0 && !slices.ContainsFunc(f.enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", at, v, f.enum))
	}
	switch x := v.(type) {
	case string:
		if f.minLength >= 0 && len([]rune(x)) < f.minLength {
			errs = append(errs, fmt.Sprintf("%s: %q is shorter than %d", at, x, f.minLength))
		}
		if f.maxLength >= 0 && len([]rune(x)) > f.maxLength {
			errs = append(errs, fmt.Sprintf("%s: %q is longer than %d", at, x, f.maxLength))
		}
		if f.pattern != "" {
			if re, err := regexp.Compile(f.pattern); err == nil && !re.MatchString(x) {
				errs = append(errs, fmt.Sprintf("%s: %q does not match %s", at, x, f.pattern))
			}
		}
	case json.Number:
		if n, err := x.Float64(); err == nil && f.hasMinimum && n < f.minimum {
			errs = append(errs, fmt.Sprintf("%s: %v is below %v", at, x, f.minimum))
		}
	case []any:
		if len(x) < f.minItems {
			errs = append(errs, fmt.Sprintf("%s: %d items, at least %d", at, len(x), f.minItems))
		}
		if f.items != nil {
			for i, e := range x {
				errs = append(errs, checkFlat(flatten(f.items), e, fmt.Sprintf("%s[%d]", at, i), answer)...)
			}
		}
	case map[string]any:
		if len(f.oneOf) > 0 || len(f.anyOf) > 0 {
			// Each branch adds to the object's own schema.
			branches, exactlyOne := f.oneOf, true
			if len(branches) == 0 {
				branches, exactlyOne = f.anyOf, false
			}
			ok, why := 0, [][]string{}
			for _, b := range branches {
				g := merge(f, flatten(b.(map[string]any)))
				e := checkObject(g, x, at, answer)
				if len(e) == 0 {
					ok++
				}
				why = append(why, e)
			}
			switch {
			case ok == 0 && len(why) > 0:
				// Report the branch the value chose (one of its own
				// properties is present), else the one that came closest.
				best := -1
				for i, b := range branches {
					for k := range flatten(b.(map[string]any)).props {
						if _, present := x[k]; present && best < 0 {
							best = i
						}
					}
				}
				if best < 0 {
					best = 0
					for i, e := range why {
						if len(e) < len(why[best]) {
							best = i
						}
					}
				}
				errs = append(errs, why[best]...)
			case exactlyOne && ok > 1:
				errs = append(errs, fmt.Sprintf("%s: %d branches of oneOf match", at, ok))
			}
			return errs
		}
		errs = append(errs, checkObject(f, x, at, answer)...)
	}
	return errs
}

func merge(a, b flat) flat {
	out := a
	out.props = map[string]map[string]any{}
	for k, v := range a.props {
		out.props[k] = v
	}
	for k, v := range b.props {
		out.props[k] = v
	}
	out.required = append(slices.Clone(a.required), b.required...)
	out.closed = a.closed || b.closed
	out.oneOf, out.anyOf = nil, nil
	return out
}

func checkObject(f flat, x map[string]any, at string, answer bool) []string {
	var errs []string
	for _, r := range f.required {
		if _, ok := x[r]; !ok && !skipRequired(f.props[r], answer) {
			errs = append(errs, at+": "+r+" is required")
		}
	}
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := f.props[k]
		switch {
		case ok:
			errs = append(errs, checkFlat(flatten(p), x[k], at+"."+k, answer)...)
		case f.extra != nil:
			errs = append(errs, checkFlat(flatten(f.extra), x[k], at+"."+k, answer)...)
		case f.closed:
			errs = append(errs, at+": "+k+" is not in the spec")
		}
	}
	return errs
}

// erratum is a place where ShipEngine's published description contradicts
// itself or what ShipEngine is measured to do (reference/shipengine.md); an
// error it explains is logged, not failed. Each says why.
type erratum struct {
	re  *regexp.Regexp
	why string
}

var errata = []erratum{
	{regexp.MustCompile(`^/v1/rates/estimate: from_state_provinced is required$`),
		"a typo in the spec's required list: the property it defines, and the client sends, is from_state_province"},
	{regexp.MustCompile(`^/v1/rates: (shipment_id is required|shipment is not in the spec)$`),
		"calculate_rates_request_body requires both shipment_id and shipment while its own oneOf takes one or the other: the client sends a shipment"},
	{regexp.MustCompile(`^/v1/rates\.shipment: (carrier_id|service_code) is required$`),
		"rates are asked for every carrier in rate_options.carrier_ids: a carrier and service in the shipment are what a label needs, not a quote"},
	{regexp.MustCompile(`\.(ship_to|ship_from): phone is required$`),
		"a customer's phone is optional at checkout; the spec's address requires one (a label needs it), a rate quote is not refused without it"},
	{regexp.MustCompile(`_address\.phone: null where string is required$`),
		"ShipEngine answers null for a field it has no value for (reference/shipengine.md); the spec's address gives phone no nullable"},
	{regexp.MustCompile(`\.rate_response\.created_at: ".*" does not match \^se`),
		"the spec gives rate_response.created_at both format date-time and the pattern of an se- id; it is a timestamp"},
}

// failUnlessErratum fails the test for each error no erratum explains.
func failUnlessErratum(t *testing.T, kind string, errs []string) {
	t.Helper()
	for _, e := range errs {
		if i := slices.IndexFunc(errata, func(x erratum) bool { return x.re.MatchString(e) }); i >= 0 {
			t.Logf("%s: %s (erratum: %s)", kind, e, errata[i].why)
			continue
		}
		t.Errorf("%s: %s", kind, e)
	}
}

// decode reads JSON keeping numbers exact.
func decode(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return v
}

// TestSpecReader: the reader itself refuses what the spec forbids, so a
// passing contract test means something.
func TestSpecReader(t *testing.T) {
	s := loadSpec(t)
	req := s.request("/v1/addresses/validate")
	good := decode(t, []byte(`[{"name":"Ann","address_line1":"1 Main St","city_locality":"Austin","state_province":"TX","postal_code":"78701","country_code":"US","address_residential_indicator":"unknown"}]`))
	if errs := check(req, good, "body"); len(errs) > 0 {
		t.Errorf("a valid address refused: %v", errs)
	}
	for name, bad := range map[string]string{
		"empty optional field": `[{"address_line1":"1 Main St","address_line2":"","city_locality":"Austin","state_province":"TX","country_code":"US"}]`,
		"unknown field":        `[{"address_line1":"1 Main St","city_locality":"Austin","state_province":"TX","country_code":"US","price":1}]`,
		"missing line 1":       `[{"city_locality":"Austin","state_province":"TX","country_code":"US"}]`,
		"bad residential":      `[{"address_line1":"1","city_locality":"A","state_province":"TX","country_code":"US","address_residential_indicator":"maybe"}]`,
	} {
		if errs := check(req, decode(t, []byte(bad)), "body"); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestClientRequestsFollowTheSpec: what the client sends for each
// operation conforms to ShipEngine's OpenAPI description (no "" for an
// optional field the spec gives minLength 1, every required field).
func TestClientRequestsFollowTheSpec(t *testing.T) {
	s := loadSpec(t)
	f, c := start(t)
	ctx := context.Background()
	sparse := shipping.Address{Name: "Ann Lee", AddressLine1: "123 main street", CityLocality: "Austin", StateProvince: "TX", PostalCode: "78701", CountryCode: "US"}
	full := sparse
	full.Phone, full.CompanyName, full.AddressLine2, full.Residential = "+1 512 555 0100", "Lee & Co", "Suite 4", "yes"
	for _, a := range []shipping.Address{sparse, full} {
		if _, err := c.ValidateAddress(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Rates(ctx, shipengine.RatesQuery{From: shop, To: a, Package: pkg, CarrierIDs: shipenginefake.Carriers, ShipDate: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Estimate(ctx, shipengine.RatesQuery{From: shop, To: a, Package: pkg, CarrierIDs: shipenginefake.Carriers}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	for _, r := range f.Requests() {
		seen[r.Path]++
		failUnlessErratum(t, "request", check(s.request(r.Path), decode(t, r.Body), r.Path))
	}
	if seen["/v1/addresses/validate"] != 2 || seen["/v1/rates"] != 2 || seen["/v1/rates/estimate"] != 2 {
		t.Errorf("requests %v", seen)
	}
}

// TestLocalShipEngineFollowsTheSpec: the local ShipEngine's answers — each
// operation's 200, and its errors — conform to the OpenAPI description.
func TestLocalShipEngineFollowsTheSpec(t *testing.T) {
	s := loadSpec(t)
	f, _ := start(t)
	post := func(path, key, body string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	addr := `{"name":"Ann Lee","address_line1":"%s","city_locality":"Austin","state_province":"TX","postal_code":"78701","country_code":"US"}`
	from := `{"name":"ReadyPlanner","phone":"+1 503 555 0100","address_line1":"1 Warehouse Rd","city_locality":"Portland","state_province":"OR","postal_code":"97201","country_code":"US","address_residential_indicator":"no"}`
	to := `{"name":"Ann Lee","phone":"+1 512 555 0100","address_line1":"123 Main St","city_locality":"Austin","state_province":"TX","postal_code":"78701","country_code":"US","address_residential_indicator":"yes"}`
	carriers, _ := json.Marshal(shipenginefake.Carriers)
	cases := []struct {
		name, path, key, body string
		status                int
	}{
		{"verified", "/v1/addresses/validate", "TEST_key", "[" + fmt.Sprintf(addr, "123 main street") + "]", 200},
		{"several, each status", "/v1/addresses/validate", "TEST_key", "[" + fmt.Sprintf(addr, "1 Nowhere Ln") + "," + fmt.Sprintf(addr, "9 Warning Way") + "]", 200},
		{"rates", "/v1/rates", "TEST_key", `{"shipment":{"ship_to":` + to + `,"ship_from":` + from + `,"packages":[{"weight":{"value":700,"unit":"gram"}}],"validate_address":"no_validation"},"rate_options":{"carrier_ids":` + string(carriers) + `}}`, 200},
		{"estimate", "/v1/rates/estimate", "TEST_key", `{"carrier_ids":` + string(carriers) + `,"from_country_code":"US","from_postal_code":"97201","from_city_locality":"Portland","from_state_province":"OR","to_country_code":"US","to_postal_code":"78701","to_city_locality":"Austin","to_state_province":"TX","weight":{"value":700,"unit":"gram"},"ship_date":"2026-12-03T00:00:00Z"}`, 200},
		{"bad request", "/v1/rates", "TEST_key", `{"shipment":{"packages":[]},"rate_options":{"carrier_ids":[]}}`, 400},
		{"bad key", "/v1/rates/estimate", "TEST_other", `{}`, 401},
	}
	for _, tt := range cases {
		status, body := post(tt.path, tt.key, tt.body)
		if status != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.name, status, tt.status, body)
			continue
		}
		schema := s.response(tt.path, strconv.Itoa(status))
		if status >= 400 {
			schema = s.response(tt.path, "400") // every error body is error_response_body
		}
		failUnlessErratum(t, "answer", checkAnswer(schema, decode(t, body), tt.path+" ("+tt.name+")"))
	}
	// Rate limited and failing: the same error body.
	f.Fail429(1, 1)
	f.Fail5xx(1)
	for _, want := range []int{429, 500} {
		status, body := post("/v1/rates/estimate", "TEST_key", `{}`)
		if status != want {
			t.Errorf("%d, want %d", status, want)
		}
		failUnlessErratum(t, "answer", checkAnswer(s.response("/v1/rates/estimate", "500"), decode(t, body), strconv.Itoa(status)))
	}
}

// A bare-date estimated_delivery_date (the spec's pattern allows
// YYYY-MM-DD; the local UPS answers one) is read, not dropped.
func TestBareDeliveryDate(t *testing.T) {
	_, c := start(t)
	ship := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	rates, err := c.Rates(context.Background(), shipengine.RatesQuery{From: shop, To: home, Package: pkg, CarrierIDs: shipenginefake.Carriers, ShipDate: ship})
	if err != nil || len(rates) != 4 {
		t.Fatalf("%d rates, %v", len(rates), err)
	}
	for _, r := range rates {
		if r.EstimatedDelivery.IsZero() || !r.EstimatedDelivery.Equal(ship.AddDate(0, 0, int(r.DeliveryDays))) {
			t.Errorf("%s: delivery %v after %d days", r.Service, r.EstimatedDelivery, r.DeliveryDays)
		}
	}
}
