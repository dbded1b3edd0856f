package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/parley-chat/parley"
)

func TestDecodeJSONNamesTheBadField(t *testing.T) {
	cases := []struct {
		body  string
		code  parley.Code
		field string
	}{
		{`{"username":1,"password":"x"}`, parley.CodeInvalid, "username"},
		{`{"username":"a","password":["x"]}`, parley.CodeInvalid, "password"},
		{`{"username":"a","admin":true}`, parley.CodeInvalid, "admin"},
		{`{"username":"a"`, parley.CodeInvalid, ""},
		{``, parley.CodeInvalid, ""},
		{`{"username":"a"} {"username":"b"}`, parley.CodeInvalid, ""},
		{`{"username":"a"} x`, parley.CodeInvalid, ""},
		{`[]`, parley.CodeInvalid, ""},
		{`"str"`, parley.CodeInvalid, ""},
		{`{"username":"a\ud800"}`, "", ""}, // lone surrogate becomes U+FFFD; validation refuses it later
		{`null`, "", ""},
	}
	for _, c := range cases {
		var v registerRequest
		err := decodeJSON(strings.NewReader(c.body), &v)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		pe, ok := err.(*parley.Error)
		if !ok || pe.Code != c.code || pe.Field != c.field {
			t.Errorf("%s: got %#v, want %s field %q", c.body, err, c.code, c.field)
		}
	}
	var u updateMeRequest
	err := decodeJSON(strings.NewReader(`{"settings":{"theme":"dark","font":"x"}}`), &u)
	if pe, ok := err.(*parley.Error); !ok || pe.Field != "font" {
		t.Errorf("unknown nested field: %v", err)
	}
	err = decodeJSON(strings.NewReader(`{"settings":{"theme":7}}`), &u)
	if pe, ok := err.(*parley.Error); !ok || pe.Field != "settings.theme" {
		t.Errorf("wrong nested type: %#v", err)
	}
}

func TestDecodeEnforcesSizeAndContentType(t *testing.T) {
	s := &Server{opts: Options{MaxBodyBytes: 64}}
	big := `{"username":"` + strings.Repeat("a", 100) + `","password":"x"}`
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(big))
	var v registerRequest
	if err := s.decode(httptest.NewRecorder(), r, &v); !parley.IsCode(err, parley.CodeTooLarge) {
		t.Fatalf("oversized body: %v", err)
	}
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "text/plain")
	if err := s.decode(httptest.NewRecorder(), r, &v); !parley.IsCode(err, parley.CodeUnsupportedType) {
		t.Fatalf("text/plain: %v", err)
	}
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"username":"a"}`))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	if err := s.decode(httptest.NewRecorder(), r, &v); err != nil || v.Username != "a" {
		t.Fatalf("json with charset: %v", err)
	}
}

func TestBearerTokenAndClientAddr(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "192.0.2.4:5555"
	for h, want := range map[string]string{"": "", "Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": ""} {
		r.Header.Set("Authorization", h)
		if got := bearerToken(r); got != want {
			t.Errorf("Authorization %q: token %q, want %q", h, got, want)
		}
	}
	r.Header.Add("X-Forwarded-For", "10.0.0.1, 203.0.113.5")
	if got := (&Server{}).clientAddr(r); got != "192.0.2.4" {
		t.Errorf("untrusted proxy: %q", got)
	}
	trusting := &Server{opts: Options{TrustProxy: true}}
	if got := trusting.clientAddr(r); got != "203.0.113.5" {
		t.Errorf("trusted proxy: %q", got)
	}
	r.Header.Set("X-Forwarded-For", "garbage")
	if got := trusting.clientAddr(r); got != "192.0.2.4" {
		t.Errorf("malformed X-Forwarded-For: %q", got)
	}
	r.Header.Del("X-Forwarded-For")
	r.RemoteAddr = "[2001:db8::7]:443"
	if got := trusting.clientAddr(r); got != "2001:db8::7" {
		t.Errorf("IPv6: %q", got)
	}
}

// fuzzDecode checks decodeJSON's contract on one input and target type: it
// never panics; it fails only with invalid or too_large; what it accepts is
// one valid JSON value whose re-encoding decodes to the same result.
func fuzzDecode[T any](t *testing.T, data []byte) {
	var v T
	err := decodeJSON(bytes.NewReader(data), &v)
	if err != nil {
		pe, ok := err.(*parley.Error)
		if !ok || (pe.Code != parley.CodeInvalid && pe.Code != parley.CodeTooLarge) {
			t.Fatalf("decode %q: error %#v is not invalid/too_large", data, err)
		}
		return
	}
	if !json.Valid(bytes.TrimSpace(data)) {
		t.Fatalf("accepted invalid JSON %q", data)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var w T
	if err := decodeJSON(bytes.NewReader(again), &w); err != nil {
		t.Fatalf("re-decode of %s: %v", again, err)
	}
	if !reflect.DeepEqual(v, w) {
		t.Fatalf("round trip changed %+v to %+v", v, w)
	}
}

// FuzzDecodeJSON fuzzes the strict request decoder with every account
// request body type.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"username":"alice","password":"secret-pw","display_name":"Alice","email":"a@example.org"}`,
		`{"username":"alice","password":"secret-pw"}`,
		`{"display_name":null,"status_text":"hi","settings":{"theme":"dark"}}`,
		`{"current_password":"a","new_password":"b"}`,
		`{"username":1}`, `{"x":1}`, `{} {}`, `[`, `"\ud800"`, `{"settings":{"theme":7}}`,
		"\xef\xbb\xbf{}", `{"username":"a","username":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecode[registerRequest](t, data)
		fuzzDecode[loginRequest](t, data)
		fuzzDecode[updateMeRequest](t, data)
		fuzzDecode[changePasswordRequest](t, data)
		fuzzDecode[map[string]any](t, data)
	})
}
