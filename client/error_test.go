package client

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
)

// TestEveryCodeRoundTrips: whatever code the server sends — in an error
// body, as a bare status, or as the close code ending a WebSocket — the SDK
// returns an error with that code.
func TestEveryCodeRoundTrips(t *testing.T) {
	for _, c := range parley.Codes {
		body := `{"error":{"code":"` + string(c) + `","message":"m","field":"f","retry_after":3}}`
		err := decodeError(&http.Response{StatusCode: c.HTTPStatus(), Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(body))})
		var e *parley.Error
		if !errors.As(err, &e) || e.Code != c || e.Field != "f" || e.RetryAfter.Seconds() != 3 {
			t.Errorf("%s body: %#v", c, err)
		}
		err = decodeError(&http.Response{StatusCode: c.HTTPStatus(), Header: http.Header{},
			Body: io.NopCloser(strings.NewReader("<html>proxy</html>"))})
		if !parley.IsCode(err, c) {
			t.Errorf("%s status %d without a body: %v", c, c.HTTPStatus(), err)
		}
		if got := (&CloseError{Code: c.CloseCode()}).ParleyError().Code; got != c {
			t.Errorf("%s close %d: mapped back to %s", c, c.CloseCode(), got)
		}
		if err := decodeFrameError([]byte(`{"type":"error","error":{"code":"` + string(c) + `","message":"m"}}`)); !parley.IsCode(err, c) {
			t.Errorf("%s frame: %v", c, err)
		}
	}
	for _, cl := range []int{1000, 1001, 4000, 4008} {
		if got := (&CloseError{Code: cl}).ParleyError().Code; got != parley.CodeUnavailable {
			t.Errorf("close %d: %s, want unavailable (reconnect)", cl, got)
		}
	}
	if err := decodeFrameError([]byte(`{"type":"error"}`)); !parley.IsCode(err, parley.CodeInternal) {
		t.Errorf("malformed frame: %v", err)
	}
}
