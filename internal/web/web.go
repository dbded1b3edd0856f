// Package web serves Parley's browser client: plain HTML, CSS and JavaScript
// ES modules embedded with go:embed, with no build step.
//
// Serving contract:
//   - App routes ("/", "/login", "/register", "/settings", "/browse", "/admin", "/bots", "/c/{id}",
//     "/c/{id}/stats", "/verify-email", "/reset-password")
//     answer index.html with Cache-Control: no-cache and a strong ETag.
//   - The service worker is served at /sw.js (no-cache, scope "/").
//   - Every asset is served at /assets/<path-with-content-hash>, immutable for
//     a year; references between assets (HTML src/href, ES-module imports, CSS
//     url()) are rewritten at start-up to these hashed URLs, hashing bottom-up
//     so a change to any module changes the URL of every module importing it.
//     The plain /assets/<path> also works (no-cache, ETag) for tooling and tests.
//   - Text assets are gzip-compressed once at start-up and sent precompressed
//     when the client accepts gzip (Vary: Accept-Encoding).
//   - Every response carries a strict Content-Security-Policy (no inline
//     script or style, Trusted Types required so no string can reach an HTML
//     sink), X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer and
//     frame-ancestors 'none'.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
)

//go:embed static
var staticFS embed.FS

// CSP is the Content-Security-Policy sent with every response of the handler.
// connect-src 'self' covers same-origin ws:/wss: in CSP Level 3 browsers;
// the Trusted Types policies only pass fixed script URLs: parley-sw the
// service worker's (js/push.js), parley-worker the Argon2id worker's
// (js/e2ee/backup.js);
// img-src blob: admits the object URLs the client makes for attachment
// thumbnails it fetched with its token.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; object-src 'none'; worker-src 'self'; require-trusted-types-for 'script'; trusted-types parley-sw parley-worker"

// Handler returns the web client's handler. It panics if the embedded assets
// are inconsistent (a missing or cyclic reference), which the package tests
// rule out.
func Handler() http.Handler {
	h, err := New(nil)
	if err != nil {
		panic(err)
	}
	return h
}

// New returns a handler serving the assets of fsys (nil: the embedded
// static directory), rooted at the directory holding index.html.
func New(fsys fs.FS) (http.Handler, error) {
	if fsys == nil {
		fsys = embeddedStatic()
	}
	set, err := loadAssets(fsys)
	if err != nil {
		return nil, err
	}
	return &handler{set: set}, nil
}

type handler struct{ set *assetSet }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=()")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/assets/") {
		if a := h.set.byURL[p]; a != nil {
			serve(w, r, a, "public, max-age=31536000, immutable")
			return
		}
		if a := h.set.byName[strings.TrimPrefix(p, "/assets/")]; a != nil && a != h.set.index {
			serve(w, r, a, "no-cache")
			return
		}
		http.NotFound(w, r)
		return
	}
	if p == "/sw.js" {
		// The service worker lives at the root so that its scope is the
		// whole app; never cached, so an update is seen at once.
		if a := h.set.byName["sw.js"]; a != nil {
			serve(w, r, a, "no-cache")
			return
		}
	}
	if isAppRoute(p) {
		serve(w, r, h.set.index, "no-cache")
		return
	}
	if p == "/favicon.ico" {
		if a := h.set.byName["icon.svg"]; a != nil {
			http.Redirect(w, r, a.url, http.StatusFound)
			return
		}
	}
	http.NotFound(w, r)
}

// isAppRoute reports whether p is a client-side route that loads the app.
func isAppRoute(p string) bool {
	switch p {
	case "/", "/login", "/register", "/settings", "/browse", "/admin", "/bots", "/verify-email", "/reset-password":
		return true
	}
	if id, ok := strings.CutPrefix(p, "/c/"); ok {
		id = strings.TrimSuffix(id, "/stats") // the analytics page
		return id != "" && !strings.ContainsAny(id, "/.")
	}
	return false
}

// serve writes a, precompressed when accepted, honouring If-None-Match.
func serve(w http.ResponseWriter, r *http.Request, a *asset, cacheControl string) {
	hd := w.Header()
	body, etag := a.body, `"`+a.hash+`"`
	if a.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, `"`+a.hash+`-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", cacheControl)
	hd.Set("ETag", etag)
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip (q > 0).
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		if q, ok := strings.CutPrefix(params, "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// etagMatch implements the weak comparison of If-None-Match.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func embeddedStatic() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	return sub
}
