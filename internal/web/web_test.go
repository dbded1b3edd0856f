package web

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		rd = zr
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIndexAndSecurityHeaders(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/login", "/register", "/settings", "/browse", "/bots", "/c/01JABCDEF"} {
		r := get(t, h, p, nil)
		if r.StatusCode != 200 {
			t.Fatalf("%s: status %d", p, r.StatusCode)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q", p, got)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "require-trusted-types-for 'script'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP allows unsafe code: %q", csp)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: missing nosniff/referrer headers: %v", p, r.Header)
		}
	}
	for _, p := range []string{"/nope", "/c/", "/c/a/b", "/assets/nope.js", "/assets/index.html", "/wp-login.php"} {
		if r := get(t, h, p, nil); r.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", p, r.StatusCode)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 405 || rec.Header().Get("Allow") == "" {
		t.Errorf("POST /: %d %v", rec.Code, rec.Header())
	}
}

// TestNoInlineCode checks the HTML carries no inline script, style or event
// handler attribute that the CSP would block.
func TestNoInlineCode(t *testing.T) {
	html := body(t, get(t, Handler(), "/", nil))
	if regexp.MustCompile(`<script(?:[^>]*)>\s*[^<\s]`).MatchString(html) {
		t.Error("inline <script> in index.html")
	}
	if regexp.MustCompile(`(?i)\sstyle=|\son[a-z]+=|<style`).MatchString(html) {
		t.Error("inline style or event handler in index.html")
	}
	set, err := loadAssets(embeddedStatic())
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range set.byName {
		if strings.HasSuffix(name, ".js") && regexp.MustCompile(`\.innerHTML\s*=|outerHTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(`).Match(a.body) {
			t.Errorf("%s uses an HTML/code string sink", name)
		}
	}
}

func TestHashedAssetsImmutable(t *testing.T) {
	h := Handler()
	html := body(t, get(t, h, "/", nil))
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(html, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html references %d assets", len(refs))
	}
	hashed := regexp.MustCompile(`\.[0-9a-f]{12}\.[a-z]+$`)
	for _, m := range refs {
		u := m[1]
		if !hashed.MatchString(u) {
			t.Errorf("asset reference %s is not content-hashed", u)
		}
		r := get(t, h, u, nil)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", u, r.StatusCode)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", u, cc)
		}
	}
	// ES-module imports inside app.js are rewritten to hashed URLs too.
	set, _ := loadAssets(embeddedStatic())
	app := string(set.byName["js/app.js"].body)
	for _, m := range regexp.MustCompile(`from '([^']+)'`).FindAllStringSubmatch(app, -1) {
		if !strings.HasPrefix(m[1], "/assets/js/") || !hashed.MatchString(m[1]) {
			t.Errorf("app.js import %q not rewritten", m[1])
		}
	}
	// The unhashed name still works, revalidated.
	r := get(t, h, "/assets/js/api.js", nil)
	if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("plain asset: %d %q", r.StatusCode, r.Header.Get("Cache-Control"))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("js Content-Type %q", ct)
	}
}

func TestGzipAndETag(t *testing.T) {
	h := Handler()
	plain := get(t, h, "/", nil)
	if plain.Header.Get("Content-Encoding") != "" {
		t.Fatal("gzip sent without Accept-Encoding")
	}
	want := body(t, plain)
	gz := get(t, h, "/", map[string]string{"Accept-Encoding": "br, gzip;q=0.9"})
	if gz.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(gz.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("no gzip: %v", gz.Header)
	}
	if got := body(t, gz); got != want {
		t.Fatal("gzip body differs")
	}
	if gz.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Error("same ETag for two encodings")
	}
	if r := get(t, h, "/", map[string]string{"Accept-Encoding": "gzip;q=0"}); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 honoured as acceptance")
	}
	r := get(t, h, "/", map[string]string{"If-None-Match": plain.Header.Get("ETag")})
	if r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", r.StatusCode)
	}
	r = get(t, h, "/", map[string]string{"If-None-Match": `"other", W/` + gz.Header.Get("ETag"), "Accept-Encoding": "gzip"})
	if r.StatusCode != http.StatusNotModified {
		t.Errorf("weak If-None-Match list: %d", r.StatusCode)
	}
	req := httptest.NewRequest(http.MethodHead, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %d len %d", rec.Code, rec.Body.Len())
	}
}

// TestMerkleHashing: changing a leaf module changes the URL of every module
// importing it, transitively, and of index.html's references.
func TestMerkleHashing(t *testing.T) {
	fs1 := fstest.MapFS{
		"index.html":  {Data: []byte(`<script type="module" src="/assets/js/a.js"></script><link rel="stylesheet" href="/assets/s.css">`)},
		"js/a.js":     {Data: []byte("import { b } from './b.js';\nimport(\"./lib/c.js\");")},
		"js/b.js":     {Data: []byte(`export * from "./lib/c.js"; export const b = 1;`)},
		"js/lib/c.js": {Data: []byte(`export const c = 1;`)},
		"s.css":       {Data: []byte(`body{background:url(img/x.svg)} i{background:url("data:image/png;base64,AA")}`)},
		"img/x.svg":   {Data: []byte(`<svg/>`)},
	}
	s1, err := loadAssets(fs1)
	if err != nil {
		t.Fatal(err)
	}
	a := string(s1.byName["js/a.js"].body)
	if !strings.Contains(a, s1.byName["js/b.js"].url) || !strings.Contains(a, s1.byName["js/lib/c.js"].url) {
		t.Errorf("a.js not rewritten: %s", a)
	}
	css := string(s1.byName["s.css"].body)
	if !strings.Contains(css, s1.byName["img/x.svg"].url) || !strings.Contains(css, "data:image/png") {
		t.Errorf("css not rewritten: %s", css)
	}
	fs2 := fstest.MapFS{}
	for k, v := range fs1 {
		fs2[k] = v
	}
	fs2["js/lib/c.js"] = &fstest.MapFile{Data: []byte(`export const c = 2;`)}
	s2, err := loadAssets(fs2)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"js/lib/c.js", "js/b.js", "js/a.js", "index.html"} {
		if s1.byName[n].url == s2.byName[n].url {
			t.Errorf("%s: URL did not change when a dependency changed", n)
		}
	}
	if s1.byName["s.css"].url != s2.byName["s.css"].url {
		t.Error("s.css changed although none of its dependencies did")
	}
	// Cycles and dangling references are refused.
	cyc := fstest.MapFS{"index.html": {Data: []byte(`<script src="/assets/a.js"></script>`)},
		"a.js": {Data: []byte(`import "./b.js"`)}, "b.js": {Data: []byte(`import "./a.js"`)}}
	if _, err := loadAssets(cyc); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
	dangling := fstest.MapFS{"index.html": {Data: []byte(`<script src="/assets/missing.js"></script>`)}}
	if _, err := loadAssets(dangling); err == nil {
		t.Error("dangling reference accepted")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for in, want := range map[string]bool{"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=1.0": true,
		"gzip;q=0": false, "gzip; q=0.0": false, "*": true, "br": false, "identity": false} {
		if got := acceptsGzip(in); got != want {
			t.Errorf("acceptsGzip(%q) = %v", in, got)
		}
	}
}

// FuzzHandler: no path or header value makes the handler panic, answer 5xx,
// or serve anything but index.html, an asset, a redirect or an error.
func FuzzHandler(f *testing.F) {
	h := Handler()
	f.Add("/", "gzip", `"x"`)
	f.Add("/assets/js/app.js", "gzip;q=0, br", "*")
	f.Add("/c/../../etc/passwd", "", "")
	f.Add("/assets/%2e%2e/web.go", "*;q=0.5", `W/"abc", "def"`)
	f.Fuzz(func(t *testing.T, path, ae, inm string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		req.Header.Set("Accept-Encoding", ae)
		req.Header.Set("If-None-Match", inm)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 302, 304, 404:
		default:
			t.Fatalf("%q: status %d", path, rec.Code)
		}
		if rec.Header().Get("Content-Security-Policy") != CSP {
			t.Fatalf("%q: no CSP", path)
		}
		if rec.Code == 200 && strings.Contains(rec.Body.String(), "package web") {
			t.Fatalf("%q served Go source", path)
		}
	})
}
