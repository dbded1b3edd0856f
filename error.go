package parley

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is a stable, machine-readable error code. Codes are a public contract:
// they appear in REST error bodies, WebSocket error frames and the SDK. Never
// rename, renumber or reuse one; add new ones at the end of the list.
type Code string

// The closed set of error codes. docs/errors.md documents each one, and
// wire (below) maps each to exactly one HTTP status and WebSocket close code.
const (
	CodeInvalid         Code = "invalid"          // malformed or out-of-range input; Field names it
	CodeUnauthenticated Code = "unauthenticated"  // missing, bad, expired or revoked credentials
	CodeForbidden       Code = "forbidden"        // authenticated but not allowed
	CodeNotFound        Code = "not_found"        // absent, or its existence is private to the caller
	CodeConflict        Code = "conflict"         // clashes with stored state (duplicate username…)
	CodeRateLimited     Code = "rate_limited"     // too many requests; RetryAfter says when to retry
	CodeTooLarge        Code = "too_large"        // body, frame or field over its size limit
	CodeUnavailable     Code = "unavailable"      // a dependency (store, bus) is down; retry later
	CodeInternal        Code = "internal"         // a bug or unexpected failure; logged with a request id
	CodeUnsupportedType Code = "unsupported_type" // wrong content type or media type
)

// Codes lists every code, in the order they were introduced.
var Codes = []Code{
	CodeInvalid, CodeUnauthenticated, CodeForbidden, CodeNotFound, CodeConflict,
	CodeRateLimited, CodeTooLarge, CodeUnavailable, CodeInternal, CodeUnsupportedType,
}

// wire is the one table of how codes travel: the HTTP status of a REST
// error and the WebSocket close code of an error that ends a connection.
// Every code of Codes has an entry (a test checks it, and that no two
// codes share a status or close code, so the SDK can map both back);
// docs/errors.md mirrors it.
var wire = map[Code]struct{ status, close int }{
	CodeInvalid:         {http.StatusBadRequest, 4400},
	CodeUnauthenticated: {http.StatusUnauthorized, 4401},
	CodeForbidden:       {http.StatusForbidden, 4403},
	CodeNotFound:        {http.StatusNotFound, 4404},
	CodeConflict:        {http.StatusConflict, 4409},
	CodeRateLimited:     {http.StatusTooManyRequests, 1008},
	CodeTooLarge:        {http.StatusRequestEntityTooLarge, 1009},
	CodeUnavailable:     {http.StatusServiceUnavailable, 1013},
	CodeInternal:        {http.StatusInternalServerError, 1011},
	CodeUnsupportedType: {http.StatusUnsupportedMediaType, 1003},
}

// HTTPStatus returns c's HTTP status (500 for an unknown code).
func (c Code) HTTPStatus() int {
	if w, ok := wire[c]; ok {
		return w.status
	}
	return http.StatusInternalServerError
}

// CloseCode returns the WebSocket close code of an error with code c that
// ends a connection (1011 for an unknown code).
func (c Code) CloseCode() int {
	if w, ok := wire[c]; ok {
		return w.close
	}
	return 1011
}

// CodeForStatus maps an HTTP status back to its code, for responses that
// carry no error body (a proxy's 502, say): a gateway error or timeout is
// CodeUnavailable, any other status outside the table CodeInternal.
func CodeForStatus(status int) Code {
	for c, w := range wire {
		if w.status == status {
			return c
		}
	}
	if status == http.StatusBadGateway || status == http.StatusGatewayTimeout {
		return CodeUnavailable
	}
	return CodeInternal
}

// CodeForClose maps a WebSocket close code back to its error code; false
// for close codes that are no error (docs/protocol.md lists them: normal
// closure, going away, heartbeat timeout, slow consumer…).
func CodeForClose(close int) (Code, bool) {
	for c, w := range wire {
		if w.close == close {
			return c, true
		}
	}
	return "", false
}

// ErrorDetail is the wire form of an *Error, the same in the REST error
// body ({"error": ErrorDetail}, ErrorBody) and in WebSocket error frames.
type ErrorDetail struct {
	Code       Code   `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
	RequestID  string `json:"request_id,omitempty"`  // REST only: quote it when reporting an internal error
	RetryAfter int    `json:"retry_after,omitempty"` // seconds, for rate_limited
}

// ErrorBody is the JSON envelope of every non-2xx REST response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// Detail returns e's wire form. An internal error's message and cause are
// not shown: its Message is "internal error" (transports may add a
// request id). RetryAfter is rounded up to whole seconds.
func (e *Error) Detail() ErrorDetail {
	d := ErrorDetail{Code: e.Code, Message: e.Message, Field: e.Field}
	if e.Code == CodeInternal {
		d.Message = "internal error"
	}
	if e.RetryAfter > 0 {
		d.RetryAfter = int((e.RetryAfter + time.Second - 1) / time.Second)
	}
	return d
}

// Err returns the *Error d stands for (the SDK's side of Detail).
func (d ErrorDetail) Err() *Error {
	return &Error{Code: d.Code, Message: d.Message, Field: d.Field, RetryAfter: time.Duration(d.RetryAfter) * time.Second}
}

// Error is the one error type that crosses package boundaries. Stores translate
// driver errors into it at their edge; app returns it for every refusal;
// transports map Code to statuses in one table.
type Error struct {
	Code       Code
	Message    string        // human-readable, safe to show to the client
	Field      string        // for CodeInvalid/CodeTooLarge: the offending input field, if any
	RetryAfter time.Duration // for CodeRateLimited: when the client may retry
	Err        error         // the underlying cause; never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a CodeInvalid error naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// TooLarge returns a CodeTooLarge error naming the offending field.
func TooLarge(field, format string, args ...any) *Error {
	return &Error{Code: CodeTooLarge, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error as CodeInternal.
func Internal(err error) *Error {
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// Unavailable wraps a dependency failure as CodeUnavailable.
func Unavailable(err error) *Error {
	return &Error{Code: CodeUnavailable, Message: "service temporarily unavailable", Err: err}
}

// ErrorCode returns the code of err: "" for nil, the Code of an *Error found
// in err's chain, CodeInternal for anything else.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError returns err as an *Error: the one in its chain, or a CodeInternal
// wrapper. It returns nil for nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code Code) bool { return err != nil && ErrorCode(err) == code }
