// Package httpedge is the one HTTP edge every function shares: the error
// envelope of the Firebase onCall protocol ({"error": {status, message,
// details}}) with its one table of HTTP statuses, the Bearer token of the
// Authorization header, CORS for the storefront's origins, and bounded
// body reads. Callables, owner pages and webhooks all answer through it.
package httpedge

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/readyplanner/oms/internal/apperr"
)

// The reasons (details.reason) of the errors every HTTP function may answer
// before its own work starts: the request itself, the caller's proof, the
// origin. Stable: storefronts switch on them.
const (
	ReasonBadRequest       = "bad_request"        // not the protocol: method, content type, envelope, size
	ReasonWrongType        = "wrong_type"         // a field (details.field) or data itself has the wrong JSON type
	ReasonUnknownField     = "unknown_field"      // data has a field (details.field) the function does not take
	ReasonSignInRequired   = "sign_in_required"   // no Firebase ID token
	ReasonInvalidToken     = "invalid_token"      // the ID token (or the Authorization header) is not valid
	ReasonAppCheckRequired = "app_check_required" // App Check is enforced and no token came
	ReasonInvalidAppCheck  = "invalid_app_check"  // the App Check token is not valid
	ReasonOriginNotAllowed = "origin_not_allowed" // the Origin is not one of the storefront's
	ReasonInternal         = "internal"           // anything unexpected (the cause is logged)
)

// statusOf is the one table from error codes to HTTP statuses, as the
// onCall protocol pairs them (reference/firebase.md).
var statusOf = map[apperr.Code]int{
	apperr.Invalid:            http.StatusBadRequest,
	apperr.FailedPrecondition: http.StatusBadRequest,
	apperr.NotFound:           http.StatusNotFound,
	apperr.AlreadyExists:      http.StatusConflict,
	apperr.Aborted:            http.StatusConflict,
	apperr.PermissionDenied:   http.StatusForbidden,
	apperr.Unauthenticated:    http.StatusUnauthorized,
	apperr.Unavailable:        http.StatusServiceUnavailable,
	apperr.DeadlineExceeded:   http.StatusGatewayTimeout,
	apperr.Internal:           http.StatusInternalServerError,
}

// StatusOf returns the HTTP status of an error code (500 for any other).
func StatusOf(code apperr.Code) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorBody is the envelope's error.
type ErrorBody struct {
	Status  apperr.Code    `json:"status"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

// Shown is what err shows a caller: an *apperr.Error's code, message and
// details — always an object with the stable reason, the field at fault
// when there is one, and the error's own details; for anything else, or
// INTERNAL, only "INTERNAL" with the reason "internal" (the cause is for
// the log).
func Shown(err error) ErrorBody {
	e := apperr.As(err)
	if e == nil || e.Code == apperr.Internal {
		return ErrorBody{Status: apperr.Internal, Message: "INTERNAL", Details: map[string]any{"reason": ReasonInternal}}
	}
	details := map[string]any{}
	if e.Details != nil {
		// An object's fields join reason and field; details of another
		// kind (a bug) are dropped rather than shown half-understood.
		if b, err := json.Marshal(e.Details); err == nil {
			_ = json.Unmarshal(b, &details)
		}
	}
	details["reason"] = e.ReasonOf()
	if e.Field != "" {
		details["field"] = e.Field
	}
	return ErrorBody{Status: e.Code, Message: e.Message, Details: details}
}

// WriteError answers err in the envelope with its code's status, and
// returns the status.
func WriteError(w http.ResponseWriter, err error) int {
	body := Shown(err)
	status := StatusOf(body.Status)
	WriteJSON(w, status, map[string]any{"error": body})
	return status
}

// WriteJSON answers v as JSON with status. A value that cannot be encoded
// answers INTERNAL instead of half a body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"status":"INTERNAL","message":"INTERNAL"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// MethodNotAllowed answers 405 with the methods allowed, in the envelope.
func MethodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	WriteJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": ErrorBody{Status: apperr.Invalid, Message: "this function takes " + allow}})
}

// Bearer returns the token of "Authorization: Bearer <token>", "" when the
// header is absent, and UNAUTHENTICATED for a malformed header.
func Bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", nil
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", apperr.New(apperr.Unauthenticated, "the Authorization header must be \"Bearer <Firebase ID token>\"").Because(ReasonInvalidToken)
	}
	return token, nil
}

// CORS lets the storefront's origins call a function from a browser.
type CORS struct {
	Origins []string
	Methods string // answered to a preflight, e.g. "POST"
	// Strict refuses a request from any other origin (PERMISSION_DENIED);
	// otherwise such a request is served without CORS headers, so a
	// browser keeps its answer from the page (an owner page opened from a
	// link sends no Origin or its own).
	Strict bool
}

// Handle sets the CORS headers for an allowed origin and answers a
// preflight (204). It reports done when the request is answered (a
// preflight, or a refused origin).
func (c CORS) Handle(w http.ResponseWriter, r *http.Request) (done bool) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	if !slices.Contains(c.Origins, origin) {
		if c.Strict {
			WriteError(w, apperr.New(apperr.PermissionDenied, "origin %s may not call this function", origin).Because(ReasonOriginNotAllowed))
			return true
		}
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", c.Methods)
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
		h.Add("Vary", "Access-Control-Request-Headers")
	} else {
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, X-Firebase-AppCheck")
	}
	h.Set("Access-Control-Max-Age", "3600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// ReadBody reads at most max bytes of the body: INVALID_ARGUMENT for an
// unreadable or larger one.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Invalid, "could not read the request body").Because(ReasonBadRequest)
	}
	if int64(len(body)) > max {
		return nil, apperr.New(apperr.Invalid, "request body is larger than %d bytes", max).Because(ReasonBadRequest)
	}
	return body, nil
}
