package functions

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/readyplanner/oms/internal/testenv"
)

// withRequestID serves an owner callable as a console does: a request
// without a requestId gets a new one (each call a new act). Tests of the
// request id itself call the handler directly.
func withRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env map[string]json.RawMessage
		var data map[string]any
		if json.Unmarshal(body, &env) == nil && json.Unmarshal(env["data"], &data) == nil && data != nil {
			if _, ok := data["requestId"]; !ok {
				data["requestId"] = testenv.ID("request")
				env["data"], _ = json.Marshal(data)
				body, _ = json.Marshal(env)
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
}
