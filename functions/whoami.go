package functions

import (
	"context"
	"net/http"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/callable"
	"github.com/readyplanner/oms/internal/storefront"
)

// callableOf serves a callable of the storefront's contract with its handler:
// the handler's request and answer are the contract's types, checked by
// the compiler.
func callableOf[Req, Ans any](a *app.App, c storefront.Call[Req, Ans], fn callable.Handler[Req, Ans], opts ...callable.Option) http.Handler {
	return callable.Handle(a.Callables, c.Name, fn, opts...)
}

func whoami(a *app.App) http.Handler {
	return callableOf(a, storefront.Whoami, func(_ context.Context, c callable.Caller, _ storefront.WhoamiRequest) (storefront.WhoamiAnswer, error) {
		r := storefront.WhoamiAnswer{SignedIn: c.Identity != nil, UID: c.UID(), Anonymous: c.Anonymous(), AppCheck: c.AppID != "",
			Project: a.Config.ProjectID, Region: a.Config.Region, ServerTime: a.Now().UTC().Format(time.RFC3339)}
		if c.Identity != nil {
			r.SignInProvider = c.SignInProvider
		}
		return r, nil
	}, callable.AllowUnauthenticated())
}
