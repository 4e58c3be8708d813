package stripefake

import (
	"net/http"
	"strings"

	"github.com/readyplanner/oms/internal/fakefault"
)

// Faults injects Stripe's failures into the API (/v1/) at random: 5xx
// (api_error), 429 (rate_limit, as Stripe throttles) and timeouts (the
// request carried out, its answer lost). Stripe keys do not expire, so
// there is no expired token here.
func (s *Server) Faults() *fakefault.Injector { return &s.faults }

func (s *Server) withFaults(next http.Handler) http.Handler {
	return s.faults.Wrap(next, func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v1/") },
		func(w http.ResponseWriter, _ *http.Request, k fakefault.Kind) bool {
			switch k {
			case fakefault.ServerError:
				stripeError(w, 500, "api_error", "", "An unknown error occurred (injected by the local Stripe).", "")
			case fakefault.Throttled:
				stripeError(w, 429, "invalid_request_error", "rate_limit", "Too many requests hit the API too quickly (injected by the local Stripe).", "")
			default:
				return false
			}
			return true
		})
}
