package lulufake

import (
	"net/http"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/fakefault"
)

// Faults injects the printer's failures into its print-job API at random:
// 5xx, 429 (throttled), timeouts (the request carried out, its answer
// lost) and expired access tokens (the request's token expires: it meets
// a 401 and the caller must sign in again; a token issued in the last
// minute is not).
func (s *Server) Faults() *fakefault.Injector { return &s.faults }

func (s *Server) withFaults(next http.Handler) http.Handler {
	return s.faults.Wrap(next, func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/print-jobs/") },
		func(w http.ResponseWriter, r *http.Request, k fakefault.Kind) bool {
			switch k {
			case fakefault.ServerError:
				writeJSON(w, 500, map[string]any{"detail": "Internal server error"})
			case fakefault.Throttled:
				w.Header().Set("Retry-After", "1")
				writeJSON(w, 429, map[string]any{"detail": "Request was throttled."})
			case fakefault.ExpiredToken:
				s.mu.Lock()
				defer s.mu.Unlock()
				return fakefault.ExpireToken(s.tokens, r, s.clock(), time.Hour)
			default:
				return false
			}
			return true
		})
}
