package qbfake

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/fakefault"
)

// Faults injects QuickBooks' failures into the accounting API
// (/v3/company/…) at random: 5xx (SystemFault), 429 (ThrottleExceeded),
// timeouts (the request carried out, its answer lost) and expired access
// tokens (the request's access token expires: it meets Intuit's 401 and
// the caller must refresh; a token issued in the last minute is not).
func (s *Server) Faults() *fakefault.Injector { return &s.faults }

func (s *Server) withFaults(next http.Handler) http.Handler {
	return s.faults.Wrap(next, func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v3/company/") },
		func(w http.ResponseWriter, r *http.Request, k fakefault.Kind) bool {
			switch k {
			case fakefault.ServerError:
				s.fault(w, 500, "SystemFault", "10000", "An application error has occurred while processing your request", "System Failure Error (injected)")
			case fakefault.Throttled:
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(429)
				_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2026-11-25T10:00:00.000-08:00"><Fault type="SERVICE"><Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message><Detail>The request limit was reached.</Detail></Error></Fault></IntuitResponse>`)
			case fakefault.ExpiredToken:
				s.mu.Lock()
				defer s.mu.Unlock()
				return fakefault.ExpireToken(s.access, r, s.now(), time.Hour)
			default:
				return false
			}
			return true
		})
}
