// Package logging writes zerolog JSON in Cloud Logging's structured format:
// one object per line with severity, message, an RFC 3339 timestamp, the
// request's trace (from X-Cloud-Trace-Context) and, where there is one, the
// order id.
package logging

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Field names Cloud Logging understands, and the order id's.
const (
	TraceField   = "logging.googleapis.com/trace"
	SpanField    = "logging.googleapis.com/spanId"
	SampledField = "logging.googleapis.com/trace_sampled"
	OrderField   = "orderId"
)

func init() {
	// Package-level settings of zerolog; every logger in the process shares them.
	zerolog.LevelFieldName = "severity"
	zerolog.MessageFieldName = "message"
	zerolog.TimestampFieldName = "time"
	zerolog.TimeFieldFormat = time.RFC3339Nano
	zerolog.LevelFieldMarshalFunc = severity
}

// severity maps zerolog levels to Cloud Logging's severity names.
func severity(l zerolog.Level) string {
	switch l {
	case zerolog.TraceLevel, zerolog.DebugLevel:
		return "DEBUG"
	case zerolog.InfoLevel:
		return "INFO"
	case zerolog.WarnLevel:
		return "WARNING"
	case zerolog.ErrorLevel:
		return "ERROR"
	case zerolog.FatalLevel:
		return "CRITICAL"
	case zerolog.PanicLevel:
		return "ALERT"
	}
	return "DEFAULT"
}

// New returns a logger writing to w at the given level ("debug", "info",
// "warn", "error"; anything else means info).
func New(w io.Writer, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || lvl == zerolog.NoLevel {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// FromContext returns the logger stored in ctx, or a disabled one.
func FromContext(ctx context.Context) *zerolog.Logger { return zerolog.Ctx(ctx) }

// WithOrder returns ctx whose logger also records the order id.
func WithOrder(ctx context.Context, orderID string) context.Context {
	l := zerolog.Ctx(ctx).With().Str(OrderField, orderID).Logger()
	return l.WithContext(ctx)
}

var traceHeader = regexp.MustCompile(`^([0-9a-fA-F]{32})(?:/([0-9]+))?(?:;o=([01]))?`)

// Trace parses X-Cloud-Trace-Context ("TRACE_ID/SPAN_ID;o=1"). ok is false
// when the header is absent or malformed.
func Trace(header string) (traceID, spanID string, sampled, ok bool) {
	m := traceHeader.FindStringSubmatch(header)
	if m == nil {
		return "", "", false, false
	}
	return strings.ToLower(m[1]), m[2], m[3] == "1", true
}

// Request returns ctx carrying base extended with the request's trace fields,
// so that every line logged while serving r can be found with its trace.
func Request(ctx context.Context, base zerolog.Logger, project string, r *http.Request) context.Context {
	c := base.With()
	if trace, span, sampled, ok := Trace(r.Header.Get("X-Cloud-Trace-Context")); ok {
		c = c.Str(TraceField, "projects/"+project+"/traces/"+trace)
		if span != "" {
			c = c.Str(SpanField, span)
		}
		c = c.Bool(SampledField, sampled)
	}
	l := c.Logger()
	return l.WithContext(ctx)
}

// Middleware puts a request logger (see Request) into every request's context.
func Middleware(base zerolog.Logger, project string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(Request(r.Context(), base, project, r)))
	})
}
