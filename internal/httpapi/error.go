package httpapi

import (
	"net/http"

	"github.com/parley-chat/parley"
)

// errorMapping is the single table that maps error codes to HTTP statuses and
// WebSocket close codes. docs/errors.md mirrors it; client/ maps back.
var errorMapping = map[parley.Code]struct {
	Status    int
	CloseCode int // WebSocket close code used when the error ends a connection
}{
	parley.CodeInvalid:         {http.StatusBadRequest, 4400},
	parley.CodeUnauthenticated: {http.StatusUnauthorized, 4401},
	parley.CodeForbidden:       {http.StatusForbidden, 4403},
	parley.CodeNotFound:        {http.StatusNotFound, 4404},
	parley.CodeConflict:        {http.StatusConflict, 4409},
	parley.CodeRateLimited:     {http.StatusTooManyRequests, 1008},
	parley.CodeTooLarge:        {http.StatusRequestEntityTooLarge, 1009},
	parley.CodeUnavailable:     {http.StatusServiceUnavailable, 1013},
	parley.CodeInternal:        {http.StatusInternalServerError, 1011},
	parley.CodeUnsupportedType: {http.StatusUnsupportedMediaType, 1003},
}

// closeReasons are the WebSocket close codes of connection endings that are
// not API errors. docs/protocol.md lists them with the codes above.
var closeReasons = map[string]int{
	"normal":            1000, // either side ended the session cleanly
	"going_away":        1001, // the server is shutting down; reconnect (to any node)
	"protocol_error":    1002, // a WebSocket protocol violation (unmasked frame, bad opcode…)
	"invalid_utf8":      1007, // a text frame that is not valid UTF-8
	"heartbeat_timeout": 4000, // nothing received for two ping intervals
	"slow_consumer":     4008, // the outbound queue overflowed; reconnect and resync
	"session_revoked":   4401, // signed out, session revoked or account disabled
}

// WSCloseCode returns the WebSocket close code for reason: a close reason
// of the table above, or an error code (1011 for anything unknown).
func WSCloseCode(reason string) int {
	if c, ok := closeReasons[reason]; ok {
		return c
	}
	return CloseCode(parley.Code(reason))
}

// HTTPStatus returns the HTTP status for code (500 for an unknown code).
func HTTPStatus(code parley.Code) int {
	if m, ok := errorMapping[code]; ok {
		return m.Status
	}
	return http.StatusInternalServerError
}

// CloseCode returns the WebSocket close code for code (1011 for an unknown code).
func CloseCode(code parley.Code) int {
	if m, ok := errorMapping[code]; ok {
		return m.CloseCode
	}
	return 1011
}

// ErrorBody is the JSON error envelope of every non-2xx response:
// {"error":{"code":"…","message":"…","field":"…","request_id":"…"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code       parley.Code `json:"code"`
	Message    string      `json:"message"`
	Field      string      `json:"field,omitempty"`
	RequestID  string      `json:"request_id,omitempty"`
	RetryAfter int         `json:"retry_after,omitempty"` // seconds, for rate_limited
}
