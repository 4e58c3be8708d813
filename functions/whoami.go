package functions

import (
	"context"
	"net/http"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
)

// WhoamiRequest takes no fields: call it with {}.
type WhoamiRequest struct{}

// WhoamiResponse says what the backend saw of the caller.
type WhoamiResponse struct {
	SignedIn       bool   `json:"signedIn"`
	UID            string `json:"uid,omitempty"`
	Anonymous      bool   `json:"anonymous"`
	SignInProvider string `json:"signInProvider,omitempty"`
	AppCheck       bool   `json:"appCheck"` // a valid App Check token came with the call
	Project        string `json:"project"`
	Region         string `json:"region"`
	ServerTime     string `json:"serverTime"` // RFC 3339, UTC
}

func whoami(a *app.App) http.Handler {
	return callable.Handle(a.Callables, "whoami", func(_ context.Context, c callable.Caller, _ WhoamiRequest) (WhoamiResponse, error) {
		r := WhoamiResponse{SignedIn: c.Identity != nil, UID: c.UID(), Anonymous: c.Anonymous(), AppCheck: c.AppID != "",
			Project: a.Config.ProjectID, Region: a.Config.Region, ServerTime: a.Now().UTC().Format(time.RFC3339)}
		if c.Identity != nil {
			r.SignInProvider = c.SignInProvider
		}
		return r, nil
	}, callable.AllowUnauthenticated())
}
