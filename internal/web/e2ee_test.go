package web_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestE2EEJS runs testdata/e2ee_test.js in headless Chromium: the browser's
// E2EE core (static/js/e2ee/) against the reference values of
// e2ee_ref_test.go (X3DH, Double Ratchet, sender keys, safety number,
// BLAKE2b, Argon2id, backup), then in-page parties with replay, reordering
// and tampering. Finally the backup blob the browser sealed is opened in Go.
func TestE2EEJS(t *testing.T) {
	vectors, err := json.Marshal(e2eeVectors(t))
	if err != nil {
		t.Fatal(err)
	}
	// The Go implementation's vectors (docs/e2ee.md §11), when in the tree.
	spec, specErr := os.ReadFile(filepath.Join("..", "..", "testdata", "e2ee", "vectors.json"))
	tb, res := runJSPage(t, "e2ee_test.html", 14, func(mux *http.ServeMux) {
		mux.HandleFunc("/test/spec-vectors.json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if specErr != nil {
				_, _ = w.Write([]byte("null")) // not a 404: the page counts console errors
				return
			}
			_, _ = w.Write(spec)
		})
		mux.HandleFunc("/test/vectors.json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(vectors)
		})
	})
	if specErr == nil && !res.SpecVectors {
		t.Error("testdata/e2ee/vectors.json exists but the page did not check it")
	}
	if specErr != nil {
		t.Logf("testdata/e2ee/vectors.json not in this tree (%v): the Go implementation's vectors are not checked", specErr)
	}
	blob := eval[map[string]any](t, tb, `window.__jsBackup || {}`)
	if len(blob) == 0 {
		t.Fatal("the browser made no backup blob")
	}
	var want map[string]any
	v := e2eeVectors(t)["backup"].(map[string]any)["state"]
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &want)
	if got := openBackupGo(t, blob, "browser pass ✓"); !reflect.DeepEqual(got, want) {
		t.Errorf("browser backup state in Go = %v, want %v", got, want)
	}
}
