package shipengine_test

// The label operations against ShipEngine's OpenAPI description, as the
// rates are in spec_test.go: every request the client sends (body, path
// and query parameters) and every answer of the local ShipEngine.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/shipengine"
)

// labelOps are the label operations the client uses: a concrete path is
// matched to its template.
var labelOps = []struct {
	method, template string
	re               *regexp.Regexp
}{
	{"POST", "/v1/labels/rates/{rate_id}", regexp.MustCompile(`^/v1/labels/rates/([^/]+)$`)},
	{"GET", "/v1/labels/external_shipment_id/{external_shipment_id}", regexp.MustCompile(`^/v1/labels/external_shipment_id/([^/]+)$`)},
	{"PUT", "/v1/labels/{label_id}/void", regexp.MustCompile(`^/v1/labels/([^/]+)/void$`)},
	{"GET", "/v1/labels/{label_id}/track", regexp.MustCompile(`^/v1/labels/([^/]+)/track$`)},
	{"GET", "/v1/labels/{label_id}", regexp.MustCompile(`^/v1/labels/([^/]+)$`)},
	{"GET", "/v1/labels", regexp.MustCompile(`^/v1/labels$`)},
}

// operation is the spec's operation for method and a concrete path, its
// template and the path parameter's value.
func (s spec) operation(t *testing.T, method, path string) (op map[string]any, template, param string) {
	t.Helper()
	for _, o := range labelOps {
		if m := o.re.FindStringSubmatch(path); m != nil && o.method == method {
			op = obj(s.doc, "paths", o.template, strings.ToLower(method))
			if op == nil {
				t.Fatalf("the spec has no %s %s", method, o.template)
			}
			if len(m) > 1 {
				param, _ = url.PathUnescape(m[1])
			}
			return op, o.template, param
		}
	}
	t.Fatalf("no label operation for %s %s", method, path)
	return nil, "", ""
}

// parameters are the operation's parameters with those of its path item,
// by location and name.
func (s spec) parameters(template string, op map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, list := range [][]any{asList(obj(s.doc, "paths", template)["parameters"]), asList(op["parameters"])} {
		for _, p := range list {
			if m, ok := p.(map[string]any); ok {
				out[m["in"].(string)+":"+m["name"].(string)] = m
			}
		}
	}
	return out
}

// paramValue is a parameter's string as the JSON value its schema checks.
func paramValue(schema map[string]any, v string) any {
	if t, _ := flattenType(schema); t == "integer" || t == "number" {
		return json.Number(v)
	}
	return v
}

func flattenType(schema map[string]any) (string, bool) {
	f := flatten(schema)
	if len(f.types) == 0 {
		return "", false
	}
	return f.types[0], true
}

func opResponse(op map[string]any, status string) map[string]any {
	return obj(op, "responses", status, "content", "application/json", "schema")
}

// TestLabelRequestsFollowTheSpec: what the client sends to buy, find,
// read and void labels — bodies, path and query parameters — conforms to
// the description, as does a rates request with an external_shipment_id.
func TestLabelRequestsFollowTheSpec(t *testing.T) {
	s := loadSpec(t)
	f, c := start(t)
	ctx := context.Background()
	r := quote(t, c, home, "ord-42.parcel")
	for _, format := range []string{"pdf", "zpl"} {
		r := quote(t, c, home, "")
		if _, _, err := c.LabelOnce(ctx, r.RateID, shipengine.LabelOptions{Format: format}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := c.BuyLabel(ctx, r.RateID, shipengine.LabelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.LabelByExternalShipmentID(ctx, "ord-42.parcel", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Track(ctx, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VoidLabel(ctx, l.ID, ""); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, q := range f.Requests() {
		if q.Path == "/v1/rates" {
			failUnlessErratum(t, "request", check(s.request(q.Path), decode(t, q.Body), q.Path))
			continue
		}
		op, template, value := s.operation(t, q.Method, q.Path)
		seen[q.Method+" "+template]++
		params := s.parameters(template, op)
		if value != "" {
			name := template[strings.Index(template, "{")+1 : strings.Index(template, "}")]
			p := params["path:"+name]
			failUnlessErratum(t, "request", check(obj(p, "schema"), value, q.Method+" "+template+" "+name))
		}
		query, _ := url.ParseQuery(q.Query)
		for name, vals := range query {
			p, ok := params["query:"+name]
			if !ok {
				t.Errorf("%s %s: query parameter %s is not in the spec", q.Method, template, name)
				continue
			}
			failUnlessErratum(t, "request", check(obj(p, "schema"), paramValue(obj(p, "schema"), vals[0]), q.Method+" "+template+"?"+name))
		}
		body := obj(op, "requestBody", "content", "application/json", "schema")
		switch {
		case body != nil && len(q.Body) > 0:
			failUnlessErratum(t, "request", check(body, decode(t, q.Body), q.Method+" "+template))
		case body != nil && obj(op, "requestBody")["required"] == true:
			t.Errorf("%s %s: the spec requires a body", q.Method, template)
		case body == nil && len(q.Body) > 0:
			t.Errorf("%s %s: a body the operation does not take: %s", q.Method, template, q.Body)
		}
	}
	for _, op := range []string{"POST /v1/labels/rates/{rate_id}", "GET /v1/labels", "GET /v1/labels/external_shipment_id/{external_shipment_id}",
		"PUT /v1/labels/{label_id}/void", "GET /v1/labels/{label_id}", "GET /v1/labels/{label_id}/track"} {
		if seen[op] == 0 {
			t.Errorf("no %s checked (%v)", op, seen)
		}
	}
}

// TestLocalShipEngineLabelsFollowTheSpec: the local ShipEngine's label
// answers — each operation's 200, its refusals and not-founds — conform
// to the description.
func TestLocalShipEngineLabelsFollowTheSpec(t *testing.T) {
	s := loadSpec(t)
	f, c := start(t)
	do := func(method, path, body string) (int, []byte) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, f.URL+path, rd)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("API-Key", "TEST_key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	bought := quote(t, c, home, "ord-7.parcel")
	expired := quote(t, c, home, "")
	f.ExpireRate(expired.RateID)
	poor := quote(t, c, home, "")
	used := quote(t, c, home, "")
	nowhere := home
	nowhere.AddressLine1 = "1 No Such Street"
	bad := quote(t, c, nowhere, "")
	format := `{"label_format":"pdf","label_layout":"4x6","label_download_type":"url"}`

	var labelID, usedID string
	cases := []struct {
		name, method, path, body string
		status                   int
		before                   func()
		after                    func(b []byte)
	}{
		{"buy", "POST", "/v1/labels/rates/" + bought.RateID, format, 200, nil, func(b []byte) {
			var l shipengine.WireLabel
			_ = json.Unmarshal(b, &l)
			labelID = l.LabelID
		}},
		{"buy zpl", "POST", "/v1/labels/rates/" + used.RateID, `{"label_format":"zpl","label_layout":"4x6"}`, 200, nil, func(b []byte) {
			var l shipengine.WireLabel
			_ = json.Unmarshal(b, &l)
			usedID = l.LabelID
		}},
		{"expired rate", "POST", "/v1/labels/rates/" + expired.RateID, format, 400, nil, nil},
		{"no funds", "POST", "/v1/labels/rates/" + poor.RateID, format, 400, func() { f.NoFunds(true) }, func([]byte) { f.NoFunds(false) }},
		{"bad address", "POST", "/v1/labels/rates/" + bad.RateID, format, 400, nil, nil},
		{"unknown rate", "POST", "/v1/labels/rates/se-1", format, 400, nil, nil},
		{"list by rate", "GET", "/v1/labels?rate_id=" + bought.RateID, "", 200, nil, nil},
		{"list, none", "GET", "/v1/labels?rate_id=se-1&page_size=1", "", 200, nil, nil},
		{"list all, paged", "GET", "/v1/labels?page_size=1&page=1", "", 200, nil, nil},
		{"by external id", "GET", "/v1/labels/external_shipment_id/ord-7.parcel", "", 200, nil, nil},
		{"by external id, none", "GET", "/v1/labels/external_shipment_id/ord-8.parcel", "", 404, nil, nil},
		{"void", "PUT", "/v1/labels/{id}/void", "", 200, nil, nil},
		{"void again", "PUT", "/v1/labels/{id}/void", "", 200, nil, nil},
		{"void used", "PUT", "/v1/labels/{used}/void", "", 200, func() { f.MarkUsed(usedID) }, nil},
		{"void unknown", "PUT", "/v1/labels/se-1/void", "", 404, nil, nil},
		{"read voided", "GET", "/v1/labels/{id}", "", 200, nil, nil},
		{"read unknown", "GET", "/v1/labels/se-1", "", 404, nil, nil},
		{"track, not yet in system", "GET", "/v1/labels/{used}/track", "", 200, nil, nil},
		{"track, out for delivery", "GET", "/v1/labels/{used}/track", "", 200, func() {
			for _, m := range []string{"accepted", "in_transit", "out_for_delivery"} {
				if err := f.Track(usedID, m); err != nil {
					t.Fatal(err)
				}
			}
		}, nil},
		{"track, delivered", "GET", "/v1/labels/{used}/track", "", 200, func() { _ = f.Track(usedID, "delivered") }, nil},
		{"track, exception", "GET", "/v1/labels/{used}/track", "", 200, func() { _ = f.Track(usedID, "exception") }, nil},
		{"track unknown", "GET", "/v1/labels/se-1/track", "", 404, nil, nil},
	}
	for _, tt := range cases {
		path := strings.NewReplacer("{id}", labelID, "{used}", usedID).Replace(tt.path)
		if tt.before != nil {
			tt.before()
		}
		status, body := do(tt.method, path, tt.body)
		if tt.after != nil {
			tt.after(body)
		}
		if status != tt.status {
			t.Errorf("%s: %d, want %d: %s", tt.name, status, tt.status, body)
			continue
		}
		op, template, _ := s.operation(t, tt.method, strings.SplitN(path, "?", 2)[0])
		schema := opResponse(op, strconv.Itoa(status))
		if schema == nil {
			t.Errorf("%s: the spec has no %d answer for %s %s", tt.name, status, tt.method, template)
			continue
		}
		failUnlessErratum(t, "answer", checkAnswer(schema, decode(t, body), tt.method+" "+template+" ("+tt.name+")"))
	}
}
