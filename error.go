package parley

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. Codes are a public contract:
// they appear in REST error bodies, WebSocket error frames and the SDK. Never
// rename, renumber or reuse one; add new ones at the end of the list.
type Code string

// The closed set of error codes. docs/errors.md documents each one, and
// internal/httpapi maps each to exactly one HTTP status and WebSocket close code.
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
