package apitest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/parley-chat/parley/internal/httpapi"
)

// Validator checks real HTTP responses against the OpenAPI document served
// by httpapi, so the document cannot drift from the code: an undocumented
// path, method or status, or a body that does not match its schema, fails.
type Validator struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	routes   []route

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

type route struct {
	template string
	re       *regexp.Regexp
	literal  int // number of literal characters: more specific templates win
}

const docURL = "mem://openapi.json"

var (
	validatorOnce sync.Once
	validator     *Validator
	validatorErr  error
)

// OpenAPIValidator returns the shared validator for httpapi.OpenAPI().
func OpenAPIValidator() (*Validator, error) {
	validatorOnce.Do(func() {
		raw, err := httpapi.OpenAPI()
		if err != nil {
			validatorErr = err
			return
		}
		validator, validatorErr = NewValidator(raw)
	})
	return validator, validatorErr
}

// NewValidator parses an OpenAPI 3.1 document.
func NewValidator(raw []byte) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: document is not an object")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	v := &Validator{doc: m, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	paths, _ := m["paths"].(map[string]any)
	for tmpl := range paths {
		expr := "^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$"
		lit := len(regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(tmpl, ""))
		v.routes = append(v.routes, route{template: tmpl, re: regexp.MustCompile(expr), literal: lit})
	}
	sort.Slice(v.routes, func(i, j int) bool { return v.routes[i].literal > v.routes[j].literal })
	return v, nil
}

// Check validates one response (its body is given separately, already read).
func (v *Validator) Check(method, path string, status int, contentType string, body []byte) error {
	var tmpl string
	for _, r := range v.routes {
		if r.re.MatchString(path) {
			tmpl = r.template
			break
		}
	}
	if tmpl == "" {
		return fmt.Errorf("openapi: %s %s: path not documented", method, path)
	}
	item := v.doc["paths"].(map[string]any)[tmpl].(map[string]any)
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		if status == http.StatusMethodNotAllowed || status == http.StatusNotFound {
			return nil // the router refused an undocumented method: fine
		}
		return fmt.Errorf("openapi: %s %s: method not documented", method, tmpl)
	}
	responses, _ := op["responses"].(map[string]any)
	code := strconv.Itoa(status)
	resp, ok := responses[code]
	ptr := "/paths/" + escape(tmpl) + "/" + strings.ToLower(method) + "/responses/" + code
	if !ok {
		wild := code[:1] + "XX"
		if resp, ok = responses[wild]; ok {
			ptr = ptr[:strings.LastIndex(ptr, "/")+1] + wild
		} else if resp, ok = responses["default"]; ok {
			ptr = ptr[:strings.LastIndex(ptr, "/")+1] + "default"
		} else {
			return fmt.Errorf("openapi: %s %s: status %d not documented (body %.200s)", method, tmpl, status, body)
		}
	}
	respObj, _ := resp.(map[string]any)
	if ref, ok := respObj["$ref"].(string); ok {
		ptr = strings.TrimPrefix(ref, "#")
		respObj = v.resolve(ptr)
	}
	content, _ := respObj["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 && status != http.StatusNoContent {
			return fmt.Errorf("openapi: %s %s %d: body present but no content documented", method, tmpl, status)
		}
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if _, ok := content[mt]; !ok && content["*/*"] != nil {
		return nil // a file of any type (downloads)
	}
	if _, ok := content[mt]; !ok {
		return fmt.Errorf("openapi: %s %s %d: content type %q not documented", method, tmpl, status, contentType)
	}
	if mt != "application/json" {
		return nil
	}
	schema, err := v.schema(ptr + "/content/" + escape(mt) + "/schema")
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("openapi: %s %s %d: body is not JSON: %v", method, tmpl, status, err)
	}
	if err := schema.Validate(inst); err != nil {
		return fmt.Errorf("openapi: %s %s %d: body does not match schema: %v\nbody: %.500s", method, tmpl, status, err, body)
	}
	return nil
}

func (v *Validator) resolve(ptr string) map[string]any {
	var cur any = v.doc
	for _, p := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		m, _ := cur.(map[string]any)
		cur = m[p]
	}
	m, _ := cur.(map[string]any)
	return m
}

func (v *Validator) schema(ptr string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.schemas[ptr]; ok {
		return s, nil
	}
	s, err := v.compiler.Compile(docURL + "#" + ptr)
	if err != nil {
		return nil, fmt.Errorf("openapi: compile %s: %w", ptr, err)
	}
	v.schemas[ptr] = s
	return s, nil
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Transport is an http.RoundTripper that validates every response against
// the OpenAPI document and reports violations through Fail.
type Transport struct {
	Base      http.RoundTripper
	Validator *Validator
	Fail      func(error)
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.Base.RoundTrip(req)
	if err != nil || req.Header.Get("Upgrade") != "" {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil
	}
	if verr := t.Validator.Check(req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"), body); verr != nil {
		t.Fail(verr)
	}
	return resp, nil
}
