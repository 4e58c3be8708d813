package callable

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/fuzzcheck"
	"github.com/readyplanner/oms/internal/httpedge"
	"github.com/readyplanner/oms/internal/storefront"
)

// fuzzReq is a request of the storefront's own shapes (a nested address, an
// owner's stock change) with the kinds of field the decoder must handle:
// integers signed and not, a number, a boolean, a list of objects.
type fuzzReq struct {
	storefront.QuoteShippingRequest
	storefront.AdjustStockRequest
	Lines []struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	} `json:"lines"`
	Max    uint64  `json:"max"`
	Weight float64 `json:"weight"`
	Gift   bool    `json:"gift"`
}

// FuzzCallable sends any body to a callable through the onCall protocol
// (Handle: envelope, token, decoder, answer). An answer is always the
// protocol's JSON; a refusal is INVALID_ARGUMENT with the status of its
// code, a stable reason and a message in the project's words; an accepted
// request decodes to a value that re-encodes and decodes to itself.
func FuzzCallable(f *testing.F) {
	f.Add(`{"data":{"orderId":"o1","address":{"name":"Ann","addressLine1":"1 Main St","cityLocality":"Austin","stateProvince":"TX","postalCode":"78701","countryCode":"US"}}}`)
	s := newServer(io.Discard)
	var got fuzzReq
	h := Handle(s, "fuzz", func(_ context.Context, _ Caller, r fuzzReq) (fuzzReq, error) {
		got = r
		return r, nil
	})
	f.Fuzz(func(t *testing.T, body string) {
		got = fuzzReq{}
		r := httptest.NewRequest("POST", "/fuzz", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer alice-token")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var ans struct {
			Result json.RawMessage     `json:"result"`
			Error  *httpedge.ErrorBody `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
			t.Fatalf("the answer is not JSON: %v %q", err, w.Body.String())
		}
		if w.Code != 200 {
			if ans.Error == nil {
				t.Fatalf("status %d without an error: %q", w.Code, w.Body.String())
			}
			e := ans.Error
			if e.Status != apperr.Invalid || w.Code != httpedge.StatusOf(e.Status) {
				t.Fatalf("status %d %s, want 400 INVALID_ARGUMENT: %s", w.Code, e.Status, w.Body.String())
			}
			fuzzcheck.Message(t, e.Message)
			switch reason, _ := e.Details["reason"].(string); reason {
			case httpedge.ReasonBadRequest, httpedge.ReasonWrongType, httpedge.ReasonUnknownField:
			default:
				t.Fatalf("refused with reason %q: %s", reason, w.Body.String())
			}
			return
		}
		// Accepted: the data was an object, and what the handler got
		// re-encodes and decodes to itself.
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("the decoded request does not encode: %v", err)
		}
		var again fuzzReq
		if err := decodeData(b, &again); err != nil {
			t.Fatalf("the decoded request, re-encoded, is refused: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("the decoded request does not survive a round trip:\n got %+v\nwant %+v", again, got)
		}
		if !json.Valid(ans.Result) || string(ans.Result) == "null" {
			t.Fatalf("the result is not the request: %s", ans.Result)
		}
	})
}
