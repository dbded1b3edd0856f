// Package mobiletest holds in-process fakes of the FCM HTTP v1 API (with
// Google's OAuth 2.0 token endpoint) and of the APNs provider API (HTTP/2),
// for tests of code that sends mobile pushes. Each checks the credentials
// the way the real service does (an RS256 assertion signed by the service
// account key; an ES256 provider token signed by the .p8 key) and records
// what it accepted; Answer and Reason make it refuse.
package mobiletest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var b64 = base64.RawURLEncoding

// jwtParts splits and decodes a JWT; a malformed one decodes to nothing
// (and then fails its signature check).
func jwtParts(tok string) (header, claims map[string]any, signing string, sig []byte) {
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		return nil, nil, "", nil
	}
	hb, _ := b64.DecodeString(p[0])
	cb, _ := b64.DecodeString(p[1])
	sig, _ = b64.DecodeString(p[2])
	_ = json.Unmarshal(hb, &header)
	_ = json.Unmarshal(cb, &claims)
	return header, claims, p[0] + "." + p[1], sig
}

// FCM is Google's token endpoint and the FCM v1 send endpoint: it
// checks the RS256 assertion with the service account's public key and the
// access token on every send.
type FCM struct {
	Srv     *httptest.Server
	pub     *rsa.PublicKey
	Mu      sync.Mutex
	Sent    []map[string]any
	Tokens  int
	Answer  func(token string) (int, string)
	Expired bool // the next send answers 401 once
}

func NewFCM(t testing.TB) (*FCM, []byte) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	f := &FCM{pub: &key.PublicKey}
	f.Srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Srv.Close)
	creds, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "parley-test",
		"client_email": "push@parley-test.iam.gserviceaccount.com", "token_uri": f.Srv.URL + "/token",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	return f, creds
}

func (f *FCM) serve(w http.ResponseWriter, r *http.Request) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	switch r.URL.Path {
	case "/token":
		_ = r.ParseForm()
		_, claims, signing, sig := jwtParts(r.Form.Get("assertion"))
		h := sha256.Sum256([]byte(signing))
		if len(sig) == 0 || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" ||
			rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, h[:], sig) != nil || claims["scope"] != "https://www.googleapis.com/auth/firebase.messaging" ||
			claims["aud"] != f.Srv.URL+"/token" || claims["iss"] != "push@parley-test.iam.gserviceaccount.com" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.Tokens++
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "access-" + strconv.Itoa(f.Tokens), "expires_in": 3600})
	case "/v1/projects/parley-test/messages:send":
		if f.Expired {
			f.Expired = false
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("Authorization") != "Bearer access-"+strconv.Itoa(f.Tokens) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body struct {
			Message map[string]any `json:"message"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		tok, _ := body.Message["token"].(string)
		if f.Answer != nil {
			if st, code := f.Answer(tok); st != 200 {
				w.WriteHeader(st)
				_, _ = w.Write([]byte(`{"error":{"status":"x","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"` + code + `"}]}}`))
				return
			}
		}
		f.Sent = append(f.Sent, body.Message)
		_, _ = w.Write([]byte(`{"name":"projects/parley-test/messages/1"}`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// APNs is the APNs provider API over HTTP/2: it checks the ES256
// provider token against the key, and the headers.
type APNs struct {
	Srv    *httptest.Server
	pub    *ecdsa.PublicKey
	Mu     sync.Mutex
	Sent   []map[string]any
	Hdrs   []http.Header
	Reason map[string]string // token → reason to refuse with
}

func NewAPNs(t testing.TB) (*APNs, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	f := &APNs{pub: &key.PublicKey, Reason: map[string]string{}}
	f.Srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Srv.EnableHTTP2 = true
	f.Srv.StartTLS()
	t.Cleanup(f.Srv.Close)
	return f, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func (f *APNs) serve(w http.ResponseWriter, r *http.Request) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	if r.ProtoMajor != 2 {
		w.WriteHeader(http.StatusHTTPVersionNotSupported)
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("authorization"), "bearer ")
	header, claims, signing, sig := jwtParts(tok)
	h := sha256.Sum256([]byte(signing))
	if len(sig) != 64 || !ecdsa.Verify(f.pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) ||
		header["kid"] != "KEY1234567" || claims["iss"] != "TEAM123456" {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"reason":"InvalidProviderToken"}`))
		return
	}
	device := strings.TrimPrefix(r.URL.Path, "/3/device/")
	if reason := f.Reason[device]; reason != "" {
		status := http.StatusBadRequest
		switch reason {
		case "Unregistered":
			status = http.StatusGone
		case "TooManyRequests":
			status = http.StatusTooManyRequests
		case "ExpiredProviderToken":
			status = http.StatusForbidden
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"reason":"` + reason + `"}`))
		return
	}
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	f.Sent = append(f.Sent, body)
	f.Hdrs = append(f.Hdrs, r.Header.Clone())
	w.Header().Set("apns-id", "x")
}
