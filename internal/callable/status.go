package callable

import (
	"net/http"

	"github.com/readyplanner/oms/internal/apperr"
)

// httpStatus is the one table from error codes to the HTTP statuses the
// onCall protocol pairs with them (reference/firebase.md).
var httpStatus = map[apperr.Code]int{
	apperr.Invalid:            http.StatusBadRequest,
	apperr.FailedPrecondition: http.StatusBadRequest,
	apperr.NotFound:           http.StatusNotFound,
	apperr.AlreadyExists:      http.StatusConflict,
	apperr.Aborted:            http.StatusConflict,
	apperr.PermissionDenied:   http.StatusForbidden,
	apperr.Unauthenticated:    http.StatusUnauthorized,
	apperr.ResourceExhausted:  http.StatusTooManyRequests,
	apperr.Unavailable:        http.StatusServiceUnavailable,
	apperr.DeadlineExceeded:   http.StatusGatewayTimeout,
	apperr.Unimplemented:      http.StatusNotImplemented,
	apperr.Internal:           http.StatusInternalServerError,
	apperr.OutOfRange:         http.StatusBadRequest,
	apperr.Canceled:           499, // the de facto "client closed request"
	apperr.Unknown:            http.StatusInternalServerError,
	apperr.DataLoss:           http.StatusInternalServerError,
}

// StatusOf returns the HTTP status the protocol uses for code.
func StatusOf(code apperr.Code) int {
	if s, ok := httpStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
