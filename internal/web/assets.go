package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"regexp"
	"sort"
	"strings"
)

// asset is one static file after reference rewriting: its bytes, their
// content hash, the hashed URL it is served under and, when it compresses
// well, a precompressed gzip form.
type asset struct {
	name        string // path below static/, e.g. "js/app.js"
	contentType string
	body        []byte
	gz          []byte // nil when gzip does not pay
	hash        string // first 12 hex digits of SHA-256(body)
	url         string // "/assets/js/app.<hash>.js"
}

// assetSet holds every static asset, addressable by plain and hashed URL.
type assetSet struct {
	byName map[string]*asset // "js/app.js"
	byURL  map[string]*asset // "/assets/js/app.<hash>.js"
	index  *asset            // index.html, references rewritten
}

// References the build step rewrites to hashed URLs:
//   - JS:   import … from "./x.js", import "./x.js", import("./x.js"), export … from "./x.js"
//   - CSS:  url(x) with a relative or /assets/ path
//   - HTML: src="/assets/x" and href="/assets/x"
//
// Asset references must form a DAG (an ES-module import cycle is refused):
// a file's hash covers the hashed URLs of everything it imports, so a change
// anywhere below changes every URL above it (Merkle style), and an immutable
// cached file can never point at stale dependencies.
var (
	jsRef   = regexp.MustCompile(`((?:\bfrom|\bimport)\s*\(?\s*)(["'])(\.\.?/[^"'\s]+)(["'])`)
	cssRef  = regexp.MustCompile(`url\((["']?)([^"')\s]+)(["']?)\)`)
	htmlRef = regexp.MustCompile(`((?:src|href)=")(/assets/[^"]+)(")`)
)

// loadAssets reads every file of fsys (rooted at the static directory),
// rewrites references, hashes and compresses. It fails on a reference to a
// missing file and on reference cycles.
func loadAssets(fsys fs.FS) (*assetSet, error) {
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		raw[p] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := raw["index.html"]; !ok {
		return nil, fmt.Errorf("web: static/index.html missing")
	}
	set := &assetSet{byName: map[string]*asset{}, byURL: map[string]*asset{}}
	visiting := map[string]bool{}
	var build func(name string, chain []string) (*asset, error)
	build = func(name string, chain []string) (*asset, error) {
		if a, ok := set.byName[name]; ok {
			return a, nil
		}
		body, ok := raw[name]
		if !ok {
			return nil, fmt.Errorf("web: %s references missing asset %q", strings.Join(chain, " → "), name)
		}
		if visiting[name] {
			return nil, fmt.Errorf("web: reference cycle: %s → %s", strings.Join(chain, " → "), name)
		}
		visiting[name] = true
		defer delete(visiting, name)
		chain = append(chain, name)

		var rerr error
		resolve := func(ref string) string {
			target := ref
			if strings.HasPrefix(ref, "/assets/") {
				target = strings.TrimPrefix(ref, "/assets/")
			} else if isRelative(ref) {
				target = path.Join(path.Dir(name), ref)
			} else {
				return ref // data:, absolute URLs, fragments: left alone
			}
			target, frag := cutAny(target, "?#")
			dep, err := build(target, chain)
			if err != nil {
				if rerr == nil {
					rerr = err
				}
				return ref
			}
			return dep.url + frag
		}
		switch path.Ext(name) {
		case ".js", ".mjs":
			body = jsRef.ReplaceAllFunc(body, func(m []byte) []byte {
				s := jsRef.FindSubmatch(m)
				return concat(s[1], s[2], []byte(resolve(string(s[3]))), s[4])
			})
		case ".css":
			body = cssRef.ReplaceAllFunc(body, func(m []byte) []byte {
				s := cssRef.FindSubmatch(m)
				return concat([]byte("url("), s[1], []byte(resolve(string(s[2]))), s[3], []byte(")"))
			})
		case ".html", ".webmanifest":
			body = htmlRef.ReplaceAllFunc(body, func(m []byte) []byte {
				s := htmlRef.FindSubmatch(m)
				return concat(s[1], []byte(resolve(string(s[2]))), s[3])
			})
		}
		if rerr != nil {
			return nil, rerr
		}
		sum := sha256.Sum256(body)
		a := &asset{name: name, body: body, hash: hex.EncodeToString(sum[:6]), contentType: contentType(name)}
		ext := path.Ext(name)
		a.url = "/assets/" + strings.TrimSuffix(name, ext) + "." + a.hash + ext
		if compressible(a.contentType) && len(body) > 256 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(body)
			_ = zw.Close()
			if buf.Len() < len(body)*9/10 {
				a.gz = buf.Bytes()
			}
		}
		set.byName[name] = a
		set.byURL[a.url] = a
		return a, nil
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := build(n, nil); err != nil {
			return nil, err
		}
	}
	set.index = set.byName["index.html"]
	return set, nil
}

// isRelative reports whether ref is a path relative to the referring file
// (not a URL with a scheme, an absolute path, a fragment or a data: URL).
func isRelative(ref string) bool {
	if ref == "" || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "#") {
		return false
	}
	if i := strings.IndexAny(ref, ":/"); i >= 0 && ref[i] == ':' {
		return false
	}
	return true
}

func cutAny(s, chars string) (string, string) {
	if i := strings.IndexAny(s, chars); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".webmanifest":
		return "application/manifest+json"
	case ".json":
		return "application/json"
	case ".png":
		return "image/png"
	case ".woff2":
		return "font/woff2"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") ||
		strings.Contains(ct, "json") || strings.Contains(ct, "svg")
}
