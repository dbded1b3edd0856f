package httpapi

import (
	"fmt"
	"net/http"

	"github.com/parley-chat/parley"
)

func notFoundRoute(r *http.Request) error {
	return parley.Errorf(parley.CodeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
}

func internalPanic(v any) error {
	return parley.Internal(fmt.Errorf("panic: %v", v))
}
