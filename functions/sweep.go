package functions

import (
	"net/http"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/httpedge"
	"github.com/readyplanner/oms/internal/logging"
)

// sweepHandler runs every sweep task. Cloud Scheduler POSTs to it with an
// OIDC token that IAM checks (the function is deployed without
// --allow-unauthenticated). It answers 200 with each task's result, or 500
// if any task failed so that the scheduler records the failure.
func sweepHandler(a *app.App) http.Handler {
	return logging.Middleware(a.Log.With().Str("function", "sweep").Logger(), a.Config.ProjectID,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				httpedge.MethodNotAllowed(w, "POST")
				return
			}
			results := a.Sweeper.Run(r.Context())
			status := http.StatusOK
			for _, res := range results {
				if !res.OK {
					status = http.StatusInternalServerError
				}
			}
			httpedge.WriteJSON(w, status, map[string]any{"results": results})
		}))
}
