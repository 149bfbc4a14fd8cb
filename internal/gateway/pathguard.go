package gateway

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/route"
)

// cleanPath refuses paths whose meaning could differ between the gateway and
// a backend: dot segments (also with ;parameters), encoded slashes or
// backslashes, backslashes, control characters and invalid UTF-8. The route
// is chosen on the decoded path, so anything that decodes into a separator
// must be refused rather than matched.
func cleanPath(r *http.Request) bool {
	p := r.URL.Path
	if p == "" || p[0] != '/' {
		return false
	}
	if raw := r.URL.RawPath; raw != "" {
		for i := 0; i+2 < len(raw); i++ {
			if raw[i] == '%' && (raw[i+1] == '2' && (raw[i+2] == 'f' || raw[i+2] == 'F') ||
				raw[i+1] == '5' && (raw[i+2] == 'c' || raw[i+2] == 'C')) {
				return false
			}
		}
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	// Overlong and other invalid UTF-8 (%c0%ae is '.' to old decoders) is
	// refused like the separators it can stand for.
	if !utf8.ValidString(p) {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		// "..;x" is ".." with a path parameter to servlet containers
		// (Tomcat strips ";..." before resolving dot segments).
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// hasLooseSlashes reports whether path has an empty segment ("//") or a
// trailing slash: slashes that many backends ignore (nginx's
// merge_slashes, Apache's MergeSlashes, Express's non-strict routing,
// frameworks that strip a trailing slash), so that to them the path is
// another one.
func hasLooseSlashes(path string) bool {
	return len(path) > 1 && path[len(path)-1] == '/' || strings.Contains(path, "//")
}

// slashesChangeRoute reports whether r's path, read as a backend that
// ignores loose slashes reads it, selects another route than matched, the
// route r's path selects. Such a request would pass one route's authorizer
// (often none: a public {proxy+} or $default) and be served by a backend
// as the other route's path, so it is refused. A path whose loose slashes
// change nothing about the route (a URL in a greedy parameter, a directory
// path with its slash) is served as it is.
func (g *Gateway) slashesChangeRoute(r *http.Request, matched int) bool {
	var p route.Params
	i := g.table.Match(r.Method, tightSlashes(r.URL.Path), &p)
	return i >= 0 && i != matched
}

// tightSlashes returns path with every run of slashes made one and a
// trailing slash removed ("/" stays "/").
func tightSlashes(path string) string {
	b := make([]byte, 0, len(path))
	for i := 0; i < len(path); i++ {
		if path[i] == '/' && len(b) > 0 && b[len(b)-1] == '/' {
			continue
		}
		b = append(b, path[i])
	}
	if len(b) > 1 && b[len(b)-1] == '/' {
		b = b[:len(b)-1]
	}
	return string(b)
}

// rejectBadPath answers 400 for a path the guard refuses.
func (ex *exchange) rejectBadPath() {
	if ex.trace != nil {
		ex.trace.BadPath = true
	}
	ex.route = ex.g.unmatched
	ex.reject(gwresponse.BadRequestParameters, http.StatusBadRequest, answer.BadRequest, "bad_path")
}
