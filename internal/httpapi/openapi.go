package httpapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"sync"
)

// The OpenAPI 3.1 document is assembled from fragments, one per domain
// (openapi/user.json, openapi/conversation.json, …), each holding "paths" and
// "components" to merge into openapi/base.json. A key defined twice is an
// error. The e2e tests validate every real response against the result.
//
//go:embed openapi/*.json
var openapiFS embed.FS

var (
	openapiOnce sync.Once
	openapiDoc  []byte
	openapiErr  error
)

// OpenAPI returns the merged OpenAPI document.
func OpenAPI() ([]byte, error) {
	openapiOnce.Do(func() { openapiDoc, openapiErr = buildOpenAPI() })
	return openapiDoc, openapiErr
}

func buildOpenAPI() ([]byte, error) {
	var doc map[string]any
	base, err := openapiFS.ReadFile("openapi/base.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("openapi/base.json: %w", err)
	}
	names, _ := fs.Glob(openapiFS, "openapi/*.json")
	sort.Strings(names)
	for _, name := range names {
		if name == "openapi/base.json" {
			continue
		}
		b, _ := openapiFS.ReadFile(name)
		var frag map[string]any
		if err := json.Unmarshal(b, &frag); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := mergeInto(doc, frag, name); err != nil {
			return nil, err
		}
	}
	scopeRefusals(doc)
	return json.MarshalIndent(doc, "", "  ")
}

// scopeRefusals documents, on every operation that needs a signed-in
// caller (it answers 401), the 403 an API token gets outside its scopes
// (scope.go), so each fragment need not repeat it.
func scopeRefusals(doc map[string]any) {
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range paths {
		ops, _ := p.(map[string]any)
		for _, op := range ops {
			o, _ := op.(map[string]any)
			rs, _ := o["responses"].(map[string]any)
			if rs == nil || rs["401"] == nil || rs["403"] != nil {
				continue
			}
			rs["403"] = map[string]any{"$ref": "#/components/responses/Error"}
		}
	}
}

// mergeInto merges src into dst: objects merge key by key; any other value
// defined in both is a conflict.
func mergeInto(dst, src map[string]any, where string) error {
	for k, v := range src {
		cur, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		cm, ok1 := cur.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 {
			return fmt.Errorf("%s: %q is defined twice", where, k)
		}
		if err := mergeInto(cm, vm, where+"/"+k); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := OpenAPI()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(doc)
}
