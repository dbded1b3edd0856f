// Package archtest checks the import rules of docs/architecture.md with
// `go list`, so the layering cannot erode silently.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/parley-chat/parley"

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

// forbidden lists, per package prefix, the module packages it must not import
// (non-test code). A prefix ending in "/" matches subpackages.
var forbidden = map[string][]string{
	"internal/app":       {"internal/sqlite", "internal/postgres", "internal/bus/", "internal/httpapi", "internal/gateway", "internal/web", "internal/server", "internal/xmpp"},
	"internal/sqlite":    {"internal/app", "internal/postgres", "internal/bus/", "internal/httpapi", "internal/gateway", "internal/web", "internal/server", "internal/xmpp"},
	"internal/postgres":  {"internal/app", "internal/sqlite", "internal/bus/", "internal/httpapi", "internal/gateway", "internal/web", "internal/server", "internal/xmpp"},
	"internal/bus/":      {"internal/app", "internal/sqlite", "internal/postgres", "internal/httpapi", "internal/gateway", "internal/web", "internal/server", "internal/xmpp"},
	"internal/httpapi":   {"internal/sqlite", "internal/postgres", "internal/bus/", "internal/server", "internal/xmpp"},
	"internal/gateway":   {"internal/sqlite", "internal/postgres", "internal/bus/", "internal/httpapi", "internal/server", "internal/xmpp"},
	"internal/mqtt":      {"internal/sqlite", "internal/postgres", "internal/bus/", "internal/httpapi", "internal/gateway", "internal/server", "internal/xmpp"},
	"internal/xmpp":      {"internal/sqlite", "internal/postgres", "internal/bus/", "internal/httpapi", "internal/gateway", "internal/web", "internal/server", "internal/mqtt"},
	"internal/web":       {"internal/sqlite", "internal/postgres", "internal/bus/", "internal/app", "internal/server"},
	"internal/turn":      {"internal/app", "internal/sqlite", "internal/postgres", "internal/bus/", "internal/httpapi", "internal/gateway", "internal/web", "internal/server", "internal/xmpp", "internal/mqtt"},
	"internal/storetest": {"internal/app", "internal/sqlite", "internal/postgres", "internal/httpapi", "internal/server"},
}

func matches(path, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(path, prefix)
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := rel(imp)
			for prefix, bad := range forbidden {
				if !matches(from, prefix) {
					continue
				}
				for _, b := range bad {
					if matches(to, b) && !matches(to, prefix) {
						t.Errorf("%s imports %s: forbidden by the layering rules (DESIGN.md §1)", from, to)
					}
				}
			}
		}
	}
}

// TestRootPackageIsStdlibOnly keeps the vocabulary free of dependencies.
func TestRootPackageIsStdlibOnly(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.ImportPath != module {
			continue
		}
		for _, imp := range p.Imports {
			if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				t.Errorf("root package imports %s; it may use the standard library only", imp)
			}
		}
		return
	}
	t.Fatal("root package not found by go list")
}

// TestClientImportsRootOnly keeps the SDK usable without the server's internals.
func TestClientImportsRootOnly(t *testing.T) {
	for _, p := range listPackages(t) {
		if !matches(rel(p.ImportPath), "client") {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/") && !matches(rel(imp), "client") {
				t.Errorf("%s imports %s; the SDK may import only the root package and its own packages", rel(p.ImportPath), rel(imp))
			}
		}
	}
}
