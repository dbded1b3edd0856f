package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/parley-chat/parley"
)

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pageBuffers holds the buffers writeMessageList encodes into.
var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// writeMessageList writes 200 and {"messages": ms} as writeJSON would (the
// same bytes, from parley.AppendMessagesJSON instead of reflection), with
// its Content-Length.
func writeMessageList(w http.ResponseWriter, ms []parley.Message) {
	bp := pageBuffers.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 {
			pageBuffers.Put(bp)
		}
	}()
	b, err := parley.AppendMessagesJSON(append((*bp)[:0], `{"messages":`...), ms)
	*bp = b
	if err != nil {
		writeJSON(w, http.StatusOK, messageList{Messages: ms})
		return
	}
	b = append(b, "}\n"...)
	*bp = b
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeError writes err as the JSON error envelope. Internal errors are
// logged once here, with the request id, and shown only as "internal".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := parley.AsError(err)
	rid := requestID(r.Context())
	body := parley.ErrorBody{Error: e.Detail()}
	body.Error.RequestID = rid
	if e.Code == parley.CodeInternal {
		s.log.Error("internal error", "request_id", rid, "method", r.Method, "path", logPath(r.URL.Path), "err", err)
		body.Error.Message = "internal error; quote request id " + rid
	} else if e.Code == parley.CodeUnavailable {
		s.log.Warn("unavailable", "request_id", rid, "path", r.URL.Path, "err", err)
	}
	if e.Code != parley.CodeRateLimited {
		body.Error.RetryAfter = 0
	} else if body.Error.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(body.Error.RetryAfter))
	}
	writeJSON(w, e.Code.HTTPStatus(), body)
}

// decode reads a JSON request body into v strictly: the body must be
// application/json, at most s.opts.MaxBodyBytes, one JSON value, with no
// unknown fields and no wrong types. The error names the offending field.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return parley.Errorf(parley.CodeUnsupportedType, "request body must be application/json")
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	return decodeJSON(r.Body, v)
}

// decodeJSON is the strict decoder behind decode; it is also the fuzz target.
// Bodies must be valid UTF-8: encoding/json would silently replace invalid
// bytes with U+FFFD, storing something other than what the client sent.
func decodeJSON(body io.Reader, v any) error {
	raw, err := io.ReadAll(body)
	if err != nil {
		return jsonError(err)
	}
	if !utf8.Valid(raw) {
		return parley.Invalid("", "request body must be valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return parley.Invalid("", "request body must hold exactly one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return jsonError(err)
		}
		return parley.Invalid("", "request body must hold exactly one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return parley.TooLarge("", "request body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &ute):
		field := ute.Field
		return parley.Invalid(field, "field %q must be %s, not %s", field, jsonKind(ute.Type.Kind().String()), ute.Value)
	case errors.As(err, &se):
		return parley.Invalid("", "malformed JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.EOF):
		return parley.Invalid("", "request body is empty; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return parley.Invalid("", "request body ends in the middle of a JSON value")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return parley.Invalid(field, "unknown field %q", field)
	}
	return parley.Invalid("", "malformed JSON: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return fmt.Sprintf("of Go kind %s", goKind)
}
