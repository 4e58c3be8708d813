package shipenginefake

import (
	"net/http"
	"strings"

	"github.com/readyplanner/oms/internal/fakefault"
)

// Faults injects ShipEngine's failures into its API (/v1/…, label files
// apart) at random: 5xx, 429 (rate_limit_exceeded, Retry-After 1) and
// timeouts (the request carried out, its answer lost). API keys do not
// expire, so there is no expired token here.
func (s *Server) Faults() *fakefault.Injector { return &s.faults }

func (s *Server) withFaults(next http.Handler) http.Handler {
	return s.faults.Wrap(next, func(r *http.Request) bool {
		return strings.HasPrefix(r.URL.Path, "/v1/") && !strings.HasPrefix(r.URL.Path, "/v1/downloads/")
	}, func(w http.ResponseWriter, _ *http.Request, k fakefault.Kind) bool {
		switch k {
		case fakefault.ServerError:
			writeError(w, http.StatusInternalServerError, "shipengine", "system", "unspecified", "An unknown error has occurred.")
		case fakefault.Throttled:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "shipengine", "system", "rate_limit_exceeded", "You have exceeded the rate limit. Please see https://www.shipengine.com/docs/rate-limits")
		default:
			return false
		}
		return true
	})
}
