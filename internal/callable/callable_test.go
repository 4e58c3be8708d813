package callable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/logging"
)

type fakeTokens map[string]*Identity

func (f fakeTokens) VerifyIDToken(_ context.Context, token string) (*Identity, error) {
	if id, ok := f[token]; ok {
		return id, nil
	}
	return nil, errors.New("token refused")
}

// VerifyIDTokenAndCheckRevoked refuses tokens that start with "revoked-".
func (f fakeTokens) VerifyIDTokenAndCheckRevoked(ctx context.Context, token string) (*Identity, error) {
	if strings.HasPrefix(token, "revoked-") {
		return nil, errors.New("ID token has been revoked")
	}
	return f.VerifyIDToken(ctx, token)
}

type fakeAppCheck struct{}

func (fakeAppCheck) VerifyAppCheck(_ context.Context, token string) (string, error) {
	if token == "good-app" {
		return "1:123:web:abc", nil
	}
	return "", errors.New("app check refused")
}

type greetReq struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

type greetResp struct {
	Greeting string `json:"greeting"`
	UID      string `json:"uid"`
	Count    int64  `json:"count"`
	AppID    string `json:"appId,omitempty"`
}

func newServer(logs io.Writer) *Server {
	return &Server{
		Project: "demo-oms",
		Origins: []string{"https://shop.example.com"},
		Tokens:  fakeTokens{"alice-token": {UID: "alice", SignInProvider: "anonymous"}},
		Logger:  logging.New(logs, "info"),
	}
}

func greet(_ context.Context, c Caller, r greetReq) (greetResp, error) {
	switch r.Name {
	case "":
		return greetResp{}, apperr.New(apperr.Invalid, "name is required").WithDetails(map[string]string{"field": "name"})
	case "boom":
		return greetResp{}, errors.New("database password is hunter2")
	case "panic":
		panic("handler bug")
	}
	return greetResp{Greeting: "hello " + r.Name, UID: c.UID(), Count: r.Count, AppID: c.AppID}, nil
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, h http.Handler, method, body string, headers map[string]string) answer {
	t.Helper()
	r := httptest.NewRequest(method, "/greet", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := answer{status: w.Code, header: w.Header(), raw: w.Body.String()}
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &a.body); err != nil {
			t.Fatalf("answer is not JSON: %q", w.Body.String())
		}
	}
	return a
}

func errStatus(a answer) string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["status"].(string)
	return s
}

var auth = map[string]string{"Authorization": "Bearer alice-token"}

func TestSuccess(t *testing.T) {
	h := Handle(newServer(io.Discard), "greet", greet)
	a := do(t, h, "POST", `{"data":{"name":"Ann","count":3}}`, auth)
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	res := a.body["result"].(map[string]any)
	if res["greeting"] != "hello Ann" || res["uid"] != "alice" || res["count"] != 3.0 {
		t.Errorf("result %v", res)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestProtocolErrors(t *testing.T) {
	var logs bytes.Buffer
	h := Handle(newServer(&logs), "greet", greet)
	tests := []struct {
		name       string
		method     string
		body       string
		headers    map[string]string
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"no token", "POST", `{"data":{"name":"a"}}`, nil, 401, "UNAUTHENTICATED", "sign in"},
		{"bad token", "POST", `{"data":{"name":"a"}}`, map[string]string{"Authorization": "Bearer forged"}, 401, "UNAUTHENTICATED", "not valid"},
		{"not bearer", "POST", `{"data":{"name":"a"}}`, map[string]string{"Authorization": "Basic abc"}, 401, "UNAUTHENTICATED", "Bearer"},
		{"GET", "GET", ``, auth, 400, "INVALID_ARGUMENT", "POST"},
		{"content type", "POST", `{"data":{}}`, map[string]string{"Authorization": "Bearer alice-token", "Content-Type": "text/plain"}, 400, "INVALID_ARGUMENT", "Content-Type"},
		{"no data", "POST", `{"name":"a"}`, auth, 400, "INVALID_ARGUMENT", `no "data"`},
		{"extra key", "POST", `{"data":{"name":"a"},"extra":1}`, auth, 400, "INVALID_ARGUMENT", `"extra"`},
		{"not json", "POST", `{"data":`, auth, 400, "INVALID_ARGUMENT", "JSON object"},
		{"array body", "POST", `[1]`, auth, 400, "INVALID_ARGUMENT", "JSON object"},
		{"trailing", "POST", `{"data":{}} {}`, auth, 400, "INVALID_ARGUMENT", "trailing"},
		{"unknown field", "POST", `{"data":{"name":"a","price":1}}`, auth, 400, "INVALID_ARGUMENT", `unknown field "price"`},
		{"wrong type", "POST", `{"data":{"name":"a","count":"three"}}`, auth, 400, "INVALID_ARGUMENT", "data.count must be an integer"},
		{"data not object", "POST", `{"data":[1,2]}`, auth, 400, "INVALID_ARGUMENT", "object"},
		{"handler invalid", "POST", `{"data":{"name":""}}`, auth, 400, "INVALID_ARGUMENT", "name is required"},
		{"bad long", "POST", `{"data":{"name":"a","count":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"x"}}}`, auth, 400, "INVALID_ARGUMENT", "64-bit"},
		{"internal", "POST", `{"data":{"name":"boom"}}`, auth, 500, "INTERNAL", "INTERNAL"},
		{"panic", "POST", `{"data":{"name":"panic"}}`, auth, 500, "INTERNAL", "INTERNAL"},
		{"too big", "POST", `{"data":{"name":"` + strings.Repeat("x", MaxBodyBytes) + `"}}`, auth, 400, "INVALID_ARGUMENT", "larger than"},
	}
	for _, tt := range tests {
		a := do(t, h, tt.method, tt.body, tt.headers)
		if a.status != tt.wantStatus || errStatus(a) != tt.wantCode {
			t.Errorf("%s: %d %s, want %d %s: %s", tt.name, a.status, errStatus(a), tt.wantStatus, tt.wantCode, a.raw)
			continue
		}
		msg := a.body["error"].(map[string]any)["message"].(string)
		if !strings.Contains(msg, tt.wantMsg) {
			t.Errorf("%s: message %q does not contain %q", tt.name, msg, tt.wantMsg)
		}
		if strings.Contains(a.raw, "hunter2") || strings.Contains(a.raw, "handler bug") {
			t.Errorf("%s: internals leaked: %s", tt.name, a.raw)
		}
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), `"severity":"ERROR"`) {
		t.Errorf("an internal error must be logged at ERROR with its cause:\n%s", logs.String())
	}
}

func TestDetails(t *testing.T) {
	a := do(t, Handle(newServer(io.Discard), "greet", greet), "POST", `{"data":{"name":""}}`, auth)
	d := a.body["error"].(map[string]any)["details"].(map[string]any)
	if d["field"] != "name" {
		t.Errorf("details %v", d)
	}
}

func TestCharsetAndLongsAndNull(t *testing.T) {
	h := Handle(newServer(io.Discard), "greet", greet)
	hdr := map[string]string{"Authorization": "Bearer alice-token", "Content-Type": "application/json; charset=utf-8"}
	a := do(t, h, "POST", `{"data":{"name":"b","count":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"9007199254740993"}}}`, hdr)
	if a.status != 200 || !strings.Contains(a.raw, `"count":9007199254740993`) {
		t.Errorf("Int64Value: %d %s", a.status, a.raw)
	}
	// null data is refused where fields are required, and reaches a
	// handler that takes none as its zero request.
	a = do(t, h, "POST", `{"data":null}`, auth)
	if a.status != 400 || !strings.Contains(a.raw, "not null") {
		t.Errorf("null data for a handler with fields: %d %s", a.status, a.raw)
	}
	none := Handle(newServer(io.Discard), "ping", func(context.Context, Caller, struct{}) (string, error) { return "pong", nil })
	if a := do(t, none, "POST", `{"data":null}`, auth); a.status != 200 || !strings.Contains(a.raw, "pong") {
		t.Errorf("null data for a handler without fields: %d %s", a.status, a.raw)
	}
	// Wrapped integers must hold an integer of their kind; trailing data
	// after the envelope is refused.
	for _, body := range []string{
		`{"data":{"name":"b","count":{"@type":"type.googleapis.com/google.protobuf.UInt64Value","value":"abc"}}}`,
		`{"data":{"name":"b","count":{"@type":"type.googleapis.com/google.protobuf.UInt64Value","value":"-1"}}}`,
		`{"data":{"@type":"type.googleapis.com/google.protobuf.UInt64Value","value":"abc"}}`,
		`{"data":{"name":"b"}}}}`,
		`{"data":{"name":"b"}} {}`,
	} {
		if a := do(t, h, "POST", body, auth); a.status != 400 || errStatus(a) != "INVALID_ARGUMENT" {
			t.Errorf("%s: %d %s", body, a.status, a.raw)
		}
	}
}

func TestAllowUnauthenticated(t *testing.T) {
	h := Handle(newServer(io.Discard), "greet", greet, AllowUnauthenticated())
	a := do(t, h, "POST", `{"data":{"name":"x"}}`, nil)
	if a.status != 200 || a.body["result"].(map[string]any)["uid"] != "" {
		t.Errorf("%d %s", a.status, a.raw)
	}
	// A bad token is still refused: an invalid credential is never ignored.
	a = do(t, h, "POST", `{"data":{"name":"x"}}`, map[string]string{"Authorization": "Bearer forged"})
	if a.status != 401 {
		t.Errorf("bad token with AllowUnauthenticated: %d", a.status)
	}
}

func TestCORS(t *testing.T) {
	h := Handle(newServer(io.Discard), "greet", greet)
	a := do(t, h, "OPTIONS", "", map[string]string{"Origin": "https://shop.example.com", "Access-Control-Request-Headers": "authorization,content-type,x-firebase-appcheck", "Content-Type": ""})
	if a.status != 204 || a.header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		a.header.Get("Access-Control-Allow-Headers") != "authorization,content-type,x-firebase-appcheck" || a.header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("preflight: %d %v", a.status, a.header)
	}
	a = do(t, h, "OPTIONS", "", map[string]string{"Origin": "https://evil.example.com"})
	if a.status != 403 || a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign preflight: %d %v", a.status, a.header)
	}
	a = do(t, h, "POST", `{"data":{"name":"c"}}`, map[string]string{"Authorization": "Bearer alice-token", "Origin": "https://shop.example.com"})
	if a.status != 200 || a.header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" {
		t.Errorf("cross-origin POST: %d %v", a.status, a.header)
	}
	a = do(t, h, "POST", `{"data":{"name":"c"}}`, map[string]string{"Authorization": "Bearer alice-token", "Origin": "https://evil.example.com"})
	if a.status != 403 || errStatus(a) != "PERMISSION_DENIED" {
		t.Errorf("foreign POST: %d %s", a.status, a.raw)
	}
}

func TestAppCheck(t *testing.T) {
	s := newServer(io.Discard)
	s.AppCheck = fakeAppCheck{}
	s.EnforceAppCheck = true
	h := Handle(s, "greet", greet)
	body := `{"data":{"name":"d"}}`
	if a := do(t, h, "POST", body, auth); a.status != 401 || !strings.Contains(a.raw, "App Check") {
		t.Errorf("missing App Check token: %d %s", a.status, a.raw)
	}
	if a := do(t, h, "POST", body, map[string]string{"Authorization": "Bearer alice-token", "X-Firebase-AppCheck": "forged"}); a.status != 401 {
		t.Errorf("bad App Check token: %d %s", a.status, a.raw)
	}
	a := do(t, h, "POST", body, map[string]string{"Authorization": "Bearer alice-token", "X-Firebase-AppCheck": "good-app"})
	if a.status != 200 || a.body["result"].(map[string]any)["appId"] != "1:123:web:abc" {
		t.Errorf("good App Check token: %d %s", a.status, a.raw)
	}
	// Not enforced: a missing token passes, a bad one still fails.
	s.EnforceAppCheck = false
	if a := do(t, h, "POST", body, auth); a.status != 200 {
		t.Errorf("unenforced, no token: %d", a.status)
	}
	if a := do(t, h, "POST", body, map[string]string{"Authorization": "Bearer alice-token", "X-Firebase-AppCheck": "forged"}); a.status != 401 {
		t.Errorf("unenforced, bad token: %d", a.status)
	}
}

func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{`{"data":1}`, `{"data":{"a":[1,{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"5"}]}}`, `{}`, `null`, `{"data":null,"x":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		data, err := envelope([]byte(body))
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("envelope error with code %s", apperr.CodeOf(err))
			}
			return
		}
		var v greetReq
		if err := decodeData(data, &v); err != nil && apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("decode error with code %s: %v", apperr.CodeOf(err), err)
		}
	})
}
