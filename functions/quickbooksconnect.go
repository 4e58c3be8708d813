package functions

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/app"
	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/bookkeeping"
	"github.com/readyplanner/oms/internal/httpedge"
	"github.com/readyplanner/oms/internal/logging"
)

var ownerPageHTML = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#eee;padding:0 .2em}</style>
</head><body><h1>{{.Title}}</h1>{{range .Lines}}<p>{{.}}</p>{{end}}</body></html>
`))

// ownerPage answers the owner's browser with a small HTML page.
func ownerPage(w http.ResponseWriter, status int, title string, lines ...string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = ownerPageHTML.Execute(w, struct {
		Title string
		Lines []string
	}{title, lines})
}

// errorPage answers an apperr (anything else is INTERNAL, logged, not shown).
func errorPage(w http.ResponseWriter, r *http.Request, title string, err error) {
	e := apperr.As(err)
	if e == nil || e.Code == apperr.Internal {
		logging.FromContext(r.Context()).Error().Err(err).Msg(title)
		ownerPage(w, http.StatusInternalServerError, title, "Something went wrong on our side; it is logged. Try again in a minute.")
		return
	}
	logging.FromContext(r.Context()).Warn().Err(err).Str("code", string(e.Code)).Msg(title)
	ownerPage(w, httpedge.StatusOf(e.Code), title, e.Message)
}

// quickbooksConnect starts connecting QuickBooks (the OAuth 2.0
// authorization-code flow). Only the owner may: either a Firebase ID token
// whose admin claim is true (Authorization: Bearer …) or a one-time key
// (?key=… from cmd/quickbooks-link). A GET redirects (302) to Intuit's
// consent page with a signed state that expires in 10 minutes; a POST, or
// a GET that accepts only JSON, answers {"authorizeUrl", "expiresAt"} for
// an admin page to navigate to. The storefront's origins may call it
// from a browser (CORS).
func quickbooksConnect(a *app.App) http.Handler {
	return logging.Middleware(a.Log.With().Str("function", "quickbooksConnect").Logger(), a.Config.ProjectID,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (httpedge.CORS{Origins: a.Config.StorefrontOrigins, Methods: "GET, POST"}).Handle(w, r) {
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodPost {
				w.Header().Set("Allow", "GET, POST")
				ownerPage(w, http.StatusMethodNotAllowed, "Connect QuickBooks", "Open this address in a browser (GET), or POST to it from an admin page.")
				return
			}
			proof := bookkeeping.OwnerProof{ConnectKey: r.URL.Query().Get("key")}
			token, err := httpedge.Bearer(r)
			if err != nil {
				errorPage(w, r, "QuickBooks not connected", err)
				return
			}
			if token != "" {
				proof = bookkeeping.OwnerProof{IDToken: token}
			}
			asJSON := r.Method == http.MethodPost || (strings.Contains(r.Header.Get("Accept"), "application/json") && !strings.Contains(r.Header.Get("Accept"), "text/html"))
			u, expires, err := a.Bookkeeping.StartConnect(r.Context(), proof)
			if err != nil {
				if asJSON {
					answerJSONError(w, r, err)
					return
				}
				errorPage(w, r, "QuickBooks not connected", err)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			if asJSON {
				httpedge.WriteJSON(w, http.StatusOK, map[string]string{"authorizeUrl": u, "expiresAt": expires.UTC().Format(time.RFC3339)})
				return
			}
			http.Redirect(w, r, u, http.StatusFound)
		}))
}

// answerJSONError answers the onCall error envelope with the code's HTTP
// status (INTERNAL for anything unexpected: logged, not shown).
func answerJSONError(w http.ResponseWriter, r *http.Request, err error) {
	if status := httpedge.WriteError(w, err); status >= 500 {
		logging.FromContext(r.Context()).Error().Err(err).Msg("quickbooksConnect failed")
	}
}

// quickbooksCallback is the redirect URI registered with Intuit: it checks
// the state, exchanges the code for tokens, stores them and the realm id in
// integrations/quickbooks (server-only), and answers the owner with a page
// saying what happened. Orders that waited for QuickBooks go on at once.
func quickbooksCallback(a *app.App) http.Handler {
	return logging.Middleware(a.Log.With().Str("function", "quickbooksCallback").Logger(), a.Config.ProjectID,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				w.Header().Set("Allow", "GET")
				ownerPage(w, http.StatusMethodNotAllowed, "QuickBooks not connected", "Intuit's consent page redirects here with a GET.")
				return
			}
			q := r.URL.Query()
			c, err := a.Bookkeeping.CompleteConnect(r.Context(), bookkeeping.ConsentAnswer{Code: q.Get("code"), State: q.Get("state"), RealmID: q.Get("realmId"),
				Error: q.Get("error"), ErrorDescription: q.Get("error_description")})
			if err != nil {
				errorPage(w, r, "QuickBooks not connected", err)
				return
			}
			lines := []string{fmt.Sprintf("The store now keeps its books in QuickBooks company %s.", c.RealmID)}
			if c.PreviousRealmID != "" {
				lines = append(lines, fmt.Sprintf("It replaced company %s: invoices made there stay there.", c.PreviousRealmID))
			}
			if c.Resumed > 0 {
				lines = append(lines, fmt.Sprintf("%d order(s) that waited for QuickBooks were sent on to be invoiced.", c.Resumed))
			}
			lines = append(lines, "You can close this page.")
			ownerPage(w, http.StatusOK, "QuickBooks connected", lines...)
		}))
}
