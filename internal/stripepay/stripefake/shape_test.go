package stripefake_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/stripepay/stripefake"
)

// stripeSpec is Stripe's OpenAPI specification as stripe-mock embeds it
// (the module make setup installs stripe-mock from).
func stripeSpec(t *testing.T) map[string]any {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "github.com", "stripe", "stripe-mock@v0.203.0", "embedded", "openapi", "spec3.json")
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("Stripe's OpenAPI specification is not in the module cache (%v): run make setup", err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestAnswersFollowStripesSpec: every object the local Stripe answers, and
// every event it sends with the object inside, has only fields Stripe's
// OpenAPI specification gives that object, each of the kind it gives (an
// expandable field: the id or the object). The fake may leave fields out
// (it keeps what the project reads); it may not invent or mistype one.
func TestAnswersFollowStripesSpec(t *testing.T) {
	spec := stripeSpec(t)
	schemas := spec["components"].(map[string]any)["schemas"].(map[string]any)
	fake, err := stripefake.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	call := func(method, path string, form url.Values) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, fake.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer sk_test_123")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return v
	}
	session := url.Values{"mode": {"payment"}, "success_url": {"https://shop.example.com/ok"}, "cancel_url": {"https://shop.example.com/no"},
		"customer_email": {"ann@example.com"}, "client_reference_id": {"K7Q2M9XH4TBA"}, "metadata[orderId]": {"K7Q2M9XH4TBA"},
		"expires_at": {fmt.Sprint(time.Now().Add(time.Hour).Unix())}, "payment_intent_data[capture_method]": {"manual"},
		"payment_intent_data[receipt_email]": {"ann@example.com"}, "payment_intent_data[metadata][orderId]": {"K7Q2M9XH4TBA"},
		"line_items[0][quantity]": {"2"}, "line_items[0][price_data][currency]": {"usd"}, "line_items[0][price_data][unit_amount]": {"1999"},
		"line_items[0][price_data][product_data][name]": {"Planner"}}
	type answer struct {
		name, schema string
		v            map[string]any
	}
	first := call("POST", "/v1/checkout/sessions", session)
	id := first["id"].(string)
	answers := []answer{{"create Checkout Session", "checkout.session", first},
		{"retrieve Checkout Session", "checkout.session", call("GET", "/v1/checkout/sessions/"+id, nil)}}
	pi, err := fake.Pay(id)
	if err != nil {
		t.Fatal(err)
	}
	answers = append(answers,
		answer{"retrieve PaymentIntent, latest_charge expanded", "payment_intent", call("GET", "/v1/payment_intents/"+pi+"?expand[0]=latest_charge", nil)},
		answer{"capture", "payment_intent", call("POST", "/v1/payment_intents/"+pi+"/capture", url.Values{"amount_to_capture": {"3998"}})},
		answer{"refund", "refund", call("POST", "/v1/refunds", url.Values{"payment_intent": {pi}, "amount": {"100"}})})
	second := call("POST", "/v1/checkout/sessions", session)
	answers = append(answers, answer{"expire Checkout Session", "checkout.session", call("POST", "/v1/checkout/sessions/"+second["id"].(string)+"/expire", nil)})
	third := call("POST", "/v1/checkout/sessions", session)
	pi3, err := fake.Pay(third["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	answers = append(answers, answer{"cancel", "payment_intent", call("POST", "/v1/payment_intents/"+pi3+"/cancel", url.Values{"cancellation_reason": {"abandoned"}})})
	// Stripe Tax: a calculation, its transaction and a reversal, line items expanded.
	fake.SetTaxRates(map[string]stripefake.TaxRate{"US-TX": {PPM: 82_500, Shipping: true}})
	calc := call("POST", "/v1/tax/calculations", url.Values{"currency": {"usd"}, "customer_details[address][country]": {"US"},
		"customer_details[address][state]": {"TX"}, "customer_details[address][postal_code]": {"78701"}, "customer_details[address_source]": {"shipping"},
		"line_items[0][amount]": {"3420"}, "line_items[0][reference]": {"PLN"}, "line_items[0][tax_behavior]": {"exclusive"},
		"shipping_cost[amount]": {"690"}, "expand[0]": {"line_items"}})
	txn := call("POST", "/v1/tax/transactions/create_from_calculation", url.Values{"calculation": {calc["id"].(string)}, "reference": {"K7Q2M9XH4TBA"},
		"expand[0]": {"line_items"}})
	rev := call("POST", "/v1/tax/transactions/create_reversal", url.Values{"original_transaction": {txn["id"].(string)}, "reference": {"K7Q2M9XH4TBA-r1"},
		"mode": {"partial"}, "flat_amount": {"-500"}, "expand[0]": {"line_items"}})
	answers = append(answers, answer{"tax calculation", "tax.calculation", calc}, answer{"tax transaction", "tax.transaction", txn},
		answer{"tax reversal", "tax.transaction", rev})
	for _, e := range fake.Events() {
		b, _ := json.Marshal(e)
		var ev map[string]any
		_ = json.Unmarshal(b, &ev)
		delete(ev, "_delivered")
		obj := ev["data"].(map[string]any)["object"].(map[string]any)
		answers = append(answers, answer{"event " + ev["type"].(string), "event", ev},
			answer{"event " + ev["type"].(string) + " object", obj["object"].(string), obj})
	}
	seen := map[string]bool{}
	for _, a := range answers {
		seen[a.schema] = true
		s, ok := schemas[a.schema].(map[string]any)
		if !ok {
			t.Fatalf("%s: no schema %q", a.name, a.schema)
		}
		for _, e := range conforms(schemas, s, a.v, a.schema) {
			t.Errorf("%s: %s", a.name, e)
		}
	}
	for _, want := range []string{"checkout.session", "payment_intent", "charge", "refund", "event", "tax.calculation", "tax.transaction"} {
		if !seen[want] {
			t.Errorf("no %s was checked", want)
		}
	}
}

// resolve follows a $ref.
func resolve(schemas map[string]any, s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
}

// alternatives are a schema's anyOf branches (or the schema itself).
func alternatives(schemas map[string]any, s map[string]any) []map[string]any {
	s = resolve(schemas, s)
	var out []map[string]any
	for _, key := range []string{"anyOf", "oneOf"} {
		for _, b := range asList(s[key]) {
			out = append(out, resolve(schemas, b.(map[string]any)))
		}
	}
	if len(out) == 0 {
		out = []map[string]any{s}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}

// conforms lists how v strays from schema s: a field s does not have, or
// a value of another kind than any alternative allows.
func conforms(schemas map[string]any, s map[string]any, v any, at string) []string {
	if v == nil {
		return nil // the project's fields are nullable where Stripe's are; null carries no shape
	}
	var last []string
	for _, alt := range alternatives(schemas, s) {
		typ, _ := alt["type"].(string)
		k := kindOf(v)
		if typ != "" && !(typ == k || (typ == "integer" && k == "number")) {
			last = []string{fmt.Sprintf("%s: a %s, the spec says %s", at, k, typ)}
			continue
		}
		errs := fieldsOf(schemas, alt, v, at)
		if len(errs) == 0 {
			return nil
		}
		last = errs
	}
	return last
}

func fieldsOf(schemas map[string]any, s map[string]any, v any, at string) []string {
	var errs []string
	switch x := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if props == nil {
			return nil // a free-form object (metadata)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, ok := props[k].(map[string]any)
			if !ok {
				errs = append(errs, at+"."+k+": not a field of "+at)
				continue
			}
			errs = append(errs, conforms(schemas, p, x[k], at+"."+k)...)
		}
	case []any:
		if it, ok := s["items"].(map[string]any); ok {
			for i, e := range x {
				errs = append(errs, conforms(schemas, it, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}
