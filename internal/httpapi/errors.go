package httpapi

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Error codes of SPEC §3.2. This file is the one place where a code becomes
// an HTTP status.
const (
	codeInvalidJSON       = "invalid_json"
	codeInvalidArgument   = "invalid_argument"
	codeUnauthenticated   = "unauthenticated"
	codeOriginNotAllowed  = "origin_not_allowed"
	codePermissionDenied  = "permission_denied"
	codeNotFound          = "not_found"
	codeMethodNotAllowed  = "method_not_allowed"
	codeTimeout           = "timeout"
	codePayloadTooLarge   = "payload_too_large"
	codeUnsupportedMedia  = "unsupported_media_type"
	codeRateLimited       = "rate_limited"
	codeInternal          = "internal"
	codeUnavailable       = "unavailable"
	codeTooManyConnection = "too_many_connections"
)

// Messages whose exact text the old mock's clients compare.
const (
	msgInvalidJSON      = "Invalid JSON body"
	msgNameRequired     = "Room name and participant name are required"
	msgOriginNotAllowed = "Origin not allowed"
	msgEndpointNotFound = "Endpoint not found"
	msgRoomNotFound     = "Room not found"
	msgMethodNotAllowed = "Method not allowed"
	msgTooLarge         = "Request payload too large"
	msgContentType      = "Content-Type must be application/json"
	msgRateLimited      = "Too many requests from this IP, please try again later."
	msgInternal         = "Internal server error"
	msgBodyTimeout      = "Request body not received in time"
)

// statusOf is the one table from an error code to its HTTP status: the API's
// codes (SPEC §3.2) and Twirp's (ServerHTTPStatusFromErrorCode), which share
// their common names (invalid_argument, not_found, permission_denied,
// unauthenticated, unavailable, internal).
func statusOf(code string) int {
	switch code {
	case codeInvalidJSON, codeInvalidArgument, "out_of_range", twirpMalformed:
		return http.StatusBadRequest
	case codeUnauthenticated:
		return http.StatusUnauthorized
	case codeOriginNotAllowed, codePermissionDenied:
		return http.StatusForbidden
	case codeNotFound, twirpBadRoute:
		return http.StatusNotFound
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case codeTimeout, "canceled", "deadline_exceeded":
		return http.StatusRequestTimeout
	case "already_exists", "aborted":
		return http.StatusConflict
	case "failed_precondition":
		return http.StatusPreconditionFailed
	case codePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case codeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case codeRateLimited, codeTooManyConnection, "resource_exhausted":
		return http.StatusTooManyRequests
	case twirpUnimplemented:
		return http.StatusNotImplemented
	case codeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// apiError is an error that already knows its code and its sentence.
type apiError struct {
	code  string
	msg   string
	extra gin.H
}

func (e *apiError) Error() string { return e.msg }

func newError(code, msg string) *apiError { return &apiError{code: code, msg: msg} }

// errorKey holds the answered error of a request for the middleware that
// journals it (no response body is parsed back).
const errorKey = "livekit-mock/error"

type answered struct{ code, msg string }

// mintedKey holds what a minting handler handed out (never the token).
const mintedKey = "livekit-mock/minted"

type minted struct{ room, identity, expiresAt string }

// abortError writes the JSON error of SPEC §3.2 and stops the chain.
func abortError(c *gin.Context, code, msg string) {
	abortErrorWith(c, code, msg, nil)
}

func abortErrorWith(c *gin.Context, code, msg string, extra gin.H) {
	c.Set(errorKey, answered{code: code, msg: msg})
	body := gin.H{"error": msg, "code": code}
	for k, v := range extra {
		body[k] = v
	}
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.AbortWithStatusJSON(statusOf(code), body)
}

// renderError maps any error to its JSON answer; errors that are not
// apiErrors are internal and their text is not shown.
func renderError(c *gin.Context, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		abortErrorWith(c, ae.code, ae.msg, ae.extra)
		return
	}
	_ = c.Error(err)
	abortError(c, codeInternal, msgInternal)
}
