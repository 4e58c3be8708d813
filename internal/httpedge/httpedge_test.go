package httpedge

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
)

func TestStatusTable(t *testing.T) {
	want := map[apperr.Code]int{
		"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409,
		"PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504, "INTERNAL": 500,
		"SOMETHING_ELSE": 500,
	}
	for code, status := range want {
		if got := StatusOf(code); got != status {
			t.Errorf("StatusOf(%s) = %d, want %d", code, got, status)
		}
	}
	for _, code := range apperr.Codes {
		if _, ok := want[code]; !ok {
			t.Errorf("code %s has no status in the table", code)
		}
	}
}

func TestErrorEnvelopeHidesInternals(t *testing.T) {
	for _, err := range []error{errors.New("db password=hunter2"), apperr.New(apperr.Internal, "bug at hunter2")} {
		w := httptest.NewRecorder()
		if s := WriteError(w, err); s != 500 || w.Body.String() != `{"error":{"status":"INTERNAL","message":"INTERNAL","details":{"reason":"internal"}}}` {
			t.Errorf("%v: %d %s", err, s, w.Body)
		}
	}
	w := httptest.NewRecorder()
	WriteError(w, apperr.New(apperr.Invalid, "bad %s", "x").Because("bad_x").On("x").WithDetails(map[string]int{"max": 3}))
	if w.Code != 400 || w.Body.String() != `{"error":{"status":"INVALID_ARGUMENT","message":"bad x","details":{"field":"x","max":3,"reason":"bad_x"}}}` {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	// Without a reason of its own, an error's reason is its code's.
	w = httptest.NewRecorder()
	WriteError(w, apperr.New(apperr.NotFound, "gone"))
	if w.Body.String() != `{"error":{"status":"NOT_FOUND","message":"gone","details":{"reason":"not_found"}}}` {
		t.Errorf("%s", w.Body)
	}
}

func TestBearer(t *testing.T) {
	for h, want := range map[string]string{"": "", "Bearer abc": "abc", "bearer  abc ": "abc"} {
		r := httptest.NewRequest("POST", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got, err := Bearer(r); err != nil || got != want {
			t.Errorf("%q: %q %v", h, got, err)
		}
	}
	for _, h := range []string{"Basic abc", "Bearer", "Bearer  ", "abc"} {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header.Set("Authorization", h)
		if _, err := Bearer(r); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Errorf("%q: %v", h, err)
		}
	}
}

func TestCORS(t *testing.T) {
	c := CORS{Origins: []string{"https://shop.example.com"}, Methods: "POST", Strict: true}
	pre := httptest.NewRequest(http.MethodOptions, "/", nil)
	pre.Header.Set("Origin", "https://shop.example.com")
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	w := httptest.NewRecorder()
	if !c.Handle(w, pre) || w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		w.Header().Get("Access-Control-Allow-Headers") != "authorization,content-type" || w.Header().Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("preflight: %d %v", w.Code, w.Header())
	}
	other := httptest.NewRequest(http.MethodPost, "/", nil)
	other.Header.Set("Origin", "https://evil.example.com")
	w = httptest.NewRecorder()
	if !c.Handle(w, other) || w.Code != 403 || !strings.Contains(w.Body.String(), "PERMISSION_DENIED") {
		t.Errorf("strict, other origin: %d %s", w.Code, w.Body)
	}
	c.Strict = false
	w = httptest.NewRecorder()
	if c.Handle(w, other) || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("lenient, other origin: served with %v", w.Header())
	}
}
