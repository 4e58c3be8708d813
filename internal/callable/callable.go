// Package callable serves Firebase callable functions ("onCall") exactly as
// the Firebase JS SDK's httpsCallable expects: a POST of {"data": …} with an
// optional Firebase ID token and App Check token, answered {"result": …} or
// {"error": {status, message, details}} with the canonical HTTP status, and
// CORS for the configured storefront origins.
//
// Handlers are typed: func(ctx, Caller, Req) (Resp, error). An *apperr.Error
// is shown to the caller; any other error is logged and answered INTERNAL.
package callable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/httpedge"
	"github.com/readyplanner/oms/internal/identity"
	"github.com/readyplanner/oms/internal/logging"
	"github.com/rs/zerolog"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// DefaultBudget is how long a call may work when Server.Budget is 0.
const DefaultBudget = 50 * time.Second

// Identity is what a verified Firebase ID token says about the caller.
type Identity = identity.Identity

// TokenVerifier checks a Firebase ID token (identity.Verifier).
type TokenVerifier = identity.Verifier

// AppCheckVerifier checks an App Check token and returns the app id it was
// issued to.
type AppCheckVerifier interface {
	VerifyAppCheck(ctx context.Context, token string) (appID string, err error)
}

// Caller is who made a call. UID is empty for a call without a token
// (handlers that allow that must check).
type Caller struct {
	*Identity           // nil when the call carried no ID token
	AppID        string // the App Check app id, when a valid token came with the call
	InstanceID   string // Firebase-Instance-ID-Token, passed through unverified
	RemoteOrigin string
}

// UID returns the caller's uid, or "" for an unauthenticated call.
func (c Caller) UID() string {
	if c.Identity == nil {
		return ""
	}
	return c.Identity.UID
}

// Anonymous reports whether the caller signed in anonymously.
func (c Caller) Anonymous() bool {
	return c.Identity != nil && c.SignInProvider == "anonymous"
}

// Server holds what every callable shares: origins, verifiers, logger.
type Server struct {
	Project         string // for trace fields in logs
	Origins         []string
	Tokens          TokenVerifier
	AppCheck        AppCheckVerifier // may be nil when EnforceAppCheck is false
	EnforceAppCheck bool
	// Budget bounds each call (DefaultBudget when 0), so that a call that
	// keeps losing to contention, or waits on a slow dependency, answers
	// (ABORTED, DEADLINE_EXCEEDED) before the platform's timeout (60 s by
	// default) kills it and before the JS SDK gives up (70 s).
	Budget time.Duration
	Logger zerolog.Logger
	Now    func() time.Time // for tests; time.Now when nil
}

// Option changes how one callable is served.
type Option func(*options)

type options struct{ allowUnauthenticated, checkRevoked bool }

// AllowUnauthenticated lets calls without an ID token through (Caller.UID()
// is then ""). By default such calls answer UNAUTHENTICATED.
func AllowUnauthenticated() Option { return func(o *options) { o.allowUnauthenticated = true } }

// CheckRevoked also asks Firebase Auth, on every call, whether the ID token
// was revoked or its account disabled (TokenVerifier's
// VerifyIDTokenAndCheckRevoked): for the owner's callables, so that an
// owner signed out everywhere or disabled loses them at once rather than
// when the token expires. It costs a request to Auth per call, which the
// customers' callables do not pay.
func CheckRevoked() Option { return func(o *options) { o.checkRevoked = true } }

// Handler is a typed callable.
type Handler[Req, Resp any] func(ctx context.Context, caller Caller, req Req) (Resp, error)

// Handle serves fn as the callable named name.
func Handle[Req, Resp any](s *Server, name string, fn Handler[Req, Resp], opts ...Option) http.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, name, o, func(ctx context.Context, c Caller, data json.RawMessage) (any, error) {
			var req Req
			if err := decodeData(data, &req); err != nil {
				return nil, err
			}
			return fn(ctx, c, req)
		})
	})
}

type rawHandler func(ctx context.Context, c Caller, data json.RawMessage) (any, error)

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, name string, o options, fn rawHandler) {
	start := s.now()
	ctx := logging.Request(r.Context(), s.Logger.With().Str("callable", name).Logger(), s.Project, r)
	log := logging.FromContext(ctx)

	if (httpedge.CORS{Origins: s.Origins, Methods: "POST", Strict: true}).Handle(w, r) {
		if r.Method != http.MethodOptions {
			log.Warn().Str("origin", r.Header.Get("Origin")).Msg("callable refused: origin not allowed")
		}
		return
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent) // a preflight without an Origin: nothing to allow
		return
	}

	caller, result, err := s.call(ctx, w, r, o, fn)
	status := http.StatusOK
	if err != nil {
		status = httpedge.WriteError(w, err)
	} else {
		httpedge.WriteJSON(w, http.StatusOK, map[string]any{"result": result})
	}

	ev := log.Info()
	if status >= 500 {
		ev = log.Error().Err(err)
	} else if err != nil {
		ev = log.Info().Str("reason", apperr.As(err).Message)
	}
	ev.Str("uid", caller.UID()).Int("status", status).Dur("latencyMs", s.now().Sub(start)).Msg("callable " + name)
}

func (s *Server) call(ctx context.Context, w http.ResponseWriter, r *http.Request, o options, fn rawHandler) (caller Caller, result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		return caller, nil, apperr.New(apperr.Invalid, "callable functions take POST, not %s", r.Method).Because(httpedge.ReasonBadRequest)
	}
	if mt, _, perr := mime.ParseMediaType(r.Header.Get("Content-Type")); perr != nil || mt != "application/json" {
		return caller, nil, apperr.New(apperr.Invalid, "Content-Type must be application/json").Because(httpedge.ReasonBadRequest)
	}
	body, err := httpedge.ReadBody(r, MaxBodyBytes)
	if err != nil {
		return caller, nil, err
	}
	data, err := envelope(body)
	if err != nil {
		return caller, nil, err
	}
	caller, err = s.authenticate(ctx, r, o)
	if err != nil {
		return caller, nil, err
	}
	budget := s.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	result, err = fn(ctx, caller, data)
	if err != nil && apperr.As(err) == nil && ctx.Err() != nil {
		err = contextError(ctx.Err())
	}
	if err == nil {
		// Encode now so that a result that cannot be encoded is an INTERNAL
		// error rather than a half-written answer.
		if _, merr := json.Marshal(result); merr != nil {
			return caller, nil, fmt.Errorf("encode result: %w", merr)
		}
	}
	return caller, result, err
}

func (s *Server) authenticate(ctx context.Context, r *http.Request, o options) (Caller, error) {
	c := Caller{InstanceID: r.Header.Get("Firebase-Instance-ID-Token"), RemoteOrigin: r.Header.Get("Origin")}
	token, err := httpedge.Bearer(r)
	if err != nil {
		return c, err
	}
	if token != "" {
		verify := s.Tokens.VerifyIDToken
		if o.checkRevoked {
			verify = s.Tokens.VerifyIDTokenAndCheckRevoked
		}
		id, err := verify(ctx, token)
		if cerr := ctx.Err(); err != nil && cerr != nil {
			// The call ran out of time (or was canceled) while the token
			// was checked: that says nothing about the token.
			return c, contextError(cerr)
		}
		if err != nil {
			logging.FromContext(ctx).Info().Err(err).Msg("ID token refused")
			return c, apperr.Wrap(err, apperr.Unauthenticated, "the Firebase ID token is not valid; sign in again").Because(httpedge.ReasonInvalidToken)
		}
		c.Identity = id
	} else if !o.allowUnauthenticated {
		return c, apperr.New(apperr.Unauthenticated, "sign in first: this function needs a Firebase ID token").Because(httpedge.ReasonSignInRequired)
	}

	appCheck := r.Header.Get("X-Firebase-AppCheck")
	switch {
	case appCheck == "" && s.EnforceAppCheck:
		return c, apperr.New(apperr.Unauthenticated, "this function needs an App Check token").Because(httpedge.ReasonAppCheckRequired)
	case appCheck != "" && s.AppCheck != nil:
		appID, err := s.AppCheck.VerifyAppCheck(ctx, appCheck)
		if err != nil {
			logging.FromContext(ctx).Info().Err(err).Msg("App Check token refused")
			return c, apperr.Wrap(err, apperr.Unauthenticated, "the App Check token is not valid").Because(httpedge.ReasonInvalidAppCheck)
		}
		c.AppID = appID
	case appCheck != "" && s.EnforceAppCheck:
		return c, errors.New("app check is enforced but no verifier is configured")
	}
	return c, nil
}

// envelope checks that body is exactly {"data": <JSON>} and returns the data.
func envelope(body []byte) (json.RawMessage, error) {
	var env map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil || env == nil {
		return nil, apperr.New(apperr.Invalid, `the body must be a JSON object {"data": …}`).Because(httpedge.ReasonBadRequest)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return nil, apperr.New(apperr.Invalid, "the body has trailing data after the JSON object").Because(httpedge.ReasonBadRequest)
	}
	data, ok := env["data"]
	if !ok {
		return nil, apperr.New(apperr.Invalid, `the body has no "data" field`).Because(httpedge.ReasonBadRequest)
	}
	if len(env) != 1 {
		var extra []string
		for k := range env {
			if k != "data" {
				extra = append(extra, fmt.Sprintf("%q", k))
			}
		}
		slices.Sort(extra)
		return nil, apperr.New(apperr.Invalid, `the body may hold only "data"; unexpected %s`, strings.Join(extra, ", ")).Because(httpedge.ReasonBadRequest)
	}
	return data, nil
}

// contextError is the error of a call whose context ended: DEADLINE_EXCEEDED
// (reason timeout) or, canceled, ABORTED (reason canceled).
func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return apperr.Wrap(err, apperr.DeadlineExceeded, "the call did not finish in time; try again").Because("timeout")
	}
	return apperr.Wrap(err, apperr.Aborted, "the call was canceled").Because("canceled")
}
