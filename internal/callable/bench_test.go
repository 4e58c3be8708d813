package callable

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkCallableOverhead is the protocol's own cost per call: decode,
// token check (a map lookup here), handler, encode, one log line.
func BenchmarkCallableOverhead(b *testing.B) {
	h := Handle(newServer(io.Discard), "greet", greet)
	body := `{"data":{"name":"Ann","count":{"@type":"type.googleapis.com/google.protobuf.Int64Value","value":"3"}}}`
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("POST", "/greet", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer alice-token")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
	}
}
