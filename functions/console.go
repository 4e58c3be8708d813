package functions

import (
	"net/http"

	"github.com/readyplanner/oms/internal/app"
)

// ownerConsole serves the owner's console (internal/console) at the
// function's root.
func ownerConsole(a *app.App) http.Handler {
	if a.Console == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "the owner's console is not available here", http.StatusServiceUnavailable)
		})
	}
	return a.Console.Handler()
}
