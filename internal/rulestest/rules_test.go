package rulestest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// token is an unsigned ID token the Firestore emulator accepts: it takes
// sub as the uid.
func token(uid string, anonymous bool) string {
	provider := "password"
	if anonymous {
		provider = "anonymous"
	}
	p, _ := json.Marshal(map[string]any{"sub": uid, "user_id": uid, "aud": testenv.Project, "iss": "https://securetoken.google.com/" + testenv.Project,
		"firebase": map[string]any{"sign_in_provider": provider}})
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(p) + "."
}

// value encodes a Go value as a Firestore REST Value.
func value(v any) map[string]any {
	switch t := v.(type) {
	case string:
		return map[string]any{"stringValue": t}
	case int:
		return map[string]any{"integerValue": fmt.Sprint(t)}
	case float64:
		return map[string]any{"doubleValue": t}
	case bool:
		return map[string]any{"booleanValue": t}
	case []any:
		vals := []any{}
		for _, e := range t {
			vals = append(vals, value(e))
		}
		return map[string]any{"arrayValue": map[string]any{"values": vals}}
	case map[string]any:
		return map[string]any{"mapValue": map[string]any{"fields": fields(t)}}
	}
	panic(fmt.Sprintf("value: %T", v))
}

func fields(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = value(v)
	}
	return out
}

type client struct {
	host string
}

func (c client) do(t *testing.T, method, path, bearer string, body any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+c.host+"/v1/projects/"+testenv.Project+"/databases/(default)/documents"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 && resp.StatusCode != 403 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

func (c client) adminSet(t *testing.T, path string, data map[string]any) {
	t.Helper()
	if s := c.do(t, "PATCH", "/"+path, "owner", map[string]any{"fields": fields(data)}); s != 200 {
		t.Fatalf("admin write %s: %d", path, s)
	}
}

var validCart = map[string]any{"items": []any{map[string]any{"sku": "PEN-SET-6", "quantity": 2}}}

// Who asks, relative to the document.
const (
	owner = "owner"
	other = "other user"
	anon  = "anonymous"
	none  = "no auth"
)

var principals = []string{owner, other, anon, none}

type ops struct{ read, create, update, del bool } // allowed?

func TestRulesMatrix(t *testing.T) {
	env := testenv.Firestore(t)
	c := client{env.Firestore.Host}

	tests := []struct {
		collection string
		// ownerField: the document names its owner in this field (orders);
		// ownerIsID: the document id is the owner's uid (carts).
		ownerIsID  bool
		ownerField string
		allowed    map[string]ops
	}{
		{collection: "products", allowed: map[string]ops{owner: {read: true}, other: {read: true}, anon: {read: true}, none: {read: true}}},
		{collection: "skus", allowed: map[string]ops{owner: {read: true}, other: {read: true}, anon: {read: true}, none: {read: true}}},
		{collection: "carts", ownerIsID: true, allowed: map[string]ops{owner: {read: true, create: true, update: true, del: true}}},
		{collection: "orders", ownerField: "uid", allowed: map[string]ops{owner: {read: true}}},
		{collection: "inventory"},
		{collection: "promotions"},
		{collection: "redemptions"},
		{collection: "webhookEvents"},
		{collection: "webhookEvents/stripe/events"},
		{collection: "webhookEvents/quickbooks/events"},
		{collection: "webhookEvents/printer/events"},
		{collection: "webhookEvents/shipengine/events"},
		{collection: "integrations"},
		{collection: "checkouts"},
		{collection: "promotionCounters"},
		{collection: "mail"},
		{collection: "alerts"},
		{collection: "integrations/quickbooks/connectKeys"},
		{collection: "integrations/quickbooks/states"},
		{collection: "somethingNew"},
	}
	for _, tt := range tests {
		for _, who := range principals {
			ownerUID := testenv.ID("owner")
			asUID := map[string]string{owner: ownerUID, other: testenv.ID("other"), anon: testenv.ID("anon")}[who]
			bearer := ""
			if who != none {
				bearer = token(asUID, who == anon)
			}
			id := func() string {
				if tt.ownerIsID {
					return ownerUID
				}
				return testenv.ID("doc")
			}
			data := func() map[string]any {
				d := map[string]any{"name": "x"}
				if tt.collection == "carts" {
					d = validCart
				}
				if tt.ownerField != "" {
					d = map[string]any{tt.ownerField: ownerUID, "state": "pending"}
				}
				return d
			}
			want := tt.allowed[who]
			check := func(op string, allowed bool, status int) {
				t.Helper()
				if got := status == 200; got != allowed {
					t.Errorf("%s × %s × %s: allowed=%v, want %v", tt.collection, op, who, got, allowed)
				}
			}

			// read
			rid := id()
			c.adminSet(t, tt.collection+"/"+rid, data())
			check("read", want.read, c.do(t, "GET", "/"+tt.collection+"/"+rid, bearer, nil))
			// create
			if tt.ownerIsID {
				ownerUID = testenv.ID("owner") // a cart that does not exist yet
				if who == owner {
					bearer = token(ownerUID, false)
				}
			}
			cid := id()
			check("create", want.create, c.do(t, "POST", "/"+tt.collection+"?documentId="+cid, bearer, map[string]any{"fields": fields(data())}))
			// update
			uid := id()
			c.adminSet(t, tt.collection+"/"+uid, data())
			check("update", want.update, c.do(t, "PATCH", "/"+tt.collection+"/"+uid+"?currentDocument.exists=true", bearer, map[string]any{"fields": fields(data())}))
			// delete
			did := id()
			c.adminSet(t, tt.collection+"/"+did, data())
			check("delete", want.del, c.do(t, "DELETE", "/"+tt.collection+"/"+did, bearer, nil))
		}
	}
}

// An anonymous user (the storefront's usual shopper) owns its cart too.
func TestAnonymousOwnsItsCart(t *testing.T) {
	env := testenv.Firestore(t)
	c := client{env.Firestore.Host}
	uid := testenv.ID("anon")
	tok := token(uid, true)
	if s := c.do(t, "PATCH", "/carts/"+uid, tok, map[string]any{"fields": fields(validCart)}); s != 200 {
		t.Errorf("anonymous owner cannot write its cart: %d", s)
	}
	if s := c.do(t, "GET", "/carts/"+uid, tok, nil); s != 200 {
		t.Errorf("anonymous owner cannot read its cart: %d", s)
	}
}

func TestCartShape(t *testing.T) {
	env := testenv.Firestore(t)
	c := client{env.Firestore.Host}
	item := func(sku any, qty any) map[string]any { return map[string]any{"sku": sku, "quantity": qty} }
	items := func(n int) []any {
		var out []any
		for i := 0; i < n; i++ {
			out = append(out, item(fmt.Sprintf("SKU-%d", i), 1))
		}
		return out
	}
	tests := []struct {
		name string
		cart map[string]any
		ok   bool
	}{
		{"one line", validCart, true},
		{"empty", map[string]any{"items": []any{}}, true},
		{"twenty lines", map[string]any{"items": items(20)}, true},
		{"quantity 99", map[string]any{"items": []any{item("A", 99)}}, true},
		{"twenty-one lines", map[string]any{"items": items(21)}, false},
		{"quantity 0", map[string]any{"items": []any{item("A", 0)}}, false},
		{"quantity 100", map[string]any{"items": []any{item("A", 100)}}, false},
		{"quantity not an integer", map[string]any{"items": []any{item("A", 1.5)}}, false},
		{"quantity a string", map[string]any{"items": []any{item("A", "2")}}, false},
		{"empty sku", map[string]any{"items": []any{item("", 1)}}, false},
		{"long sku", map[string]any{"items": []any{item(strings.Repeat("S", 65), 1)}}, false},
		{"sku with a space", map[string]any{"items": []any{item("PEN SET", 1)}}, false},
		{"sku .", map[string]any{"items": []any{item(".", 1)}}, false},
		{"sku ..", map[string]any{"items": []any{item("..", 1)}}, false},
		{"sku __x__", map[string]any{"items": []any{item("__x__", 1)}}, false},
		{"sku __name__", map[string]any{"items": []any{item("__name__", 1)}}, false},
		{"sku with dots and underscores", map[string]any{"items": []any{item("PLN_2027.A5-x", 1)}}, true},
		{"sku starting with a dash", map[string]any{"items": []any{item("-A", 1)}}, false},
		{"a price in the line", map[string]any{"items": []any{map[string]any{"sku": "A", "quantity": 1, "price": 1}}}, false},
		{"a missing quantity", map[string]any{"items": []any{map[string]any{"sku": "A"}}}, false},
		{"a total beside the items", map[string]any{"items": []any{item("A", 1)}, "total": 100}, false},
		{"items not a list", map[string]any{"items": "A"}, false},
		{"no items", map[string]any{}, false},
		{"a client-chosen updatedAt", map[string]any{"items": []any{item("A", 1)}, "updatedAt": "yesterday"}, false},
		{"last line bad", map[string]any{"items": append(items(19), item("B", 0))}, false},
	}
	for _, tt := range tests {
		uid := testenv.ID("shopper")
		got := c.do(t, "PATCH", "/carts/"+uid, token(uid, true), map[string]any{"fields": fields(tt.cart)}) == 200
		if got != tt.ok {
			t.Errorf("%s: allowed=%v, want %v", tt.name, got, tt.ok)
		}
	}

	// updatedAt set by the server (serverTimestamp() in the JS SDK) passes.
	uid := testenv.ID("shopper")
	name := "projects/" + testenv.Project + "/databases/(default)/documents/carts/" + uid
	body := map[string]any{"writes": []any{map[string]any{
		"update":           map[string]any{"name": name, "fields": fields(validCart)},
		"updateTransforms": []any{map[string]any{"fieldPath": "updatedAt", "setToServerValue": "REQUEST_TIME"}},
	}}}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", "http://"+c.host+"/v1/projects/"+testenv.Project+"/databases/(default)/documents:commit", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token(uid, true))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("cart with server-set updatedAt: %d", resp.StatusCode)
	}
}
