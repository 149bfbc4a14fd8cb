package proxy

import (
	"net/http"
	"strings"
)

// RealIPHeader carries the client's address to the backend, as
// X-Forwarded-For does; a client's own value is never passed.
const RealIPHeader = "X-Real-Ip"

// UntrustedClientHeaders returns the client request headers removed by
// default before a request reaches an http_proxy backend or a lambda_proxy
// function, spelled as they are usually written. Backends and their
// frameworks trust them to mean something the gateway has not checked:
//
//   - X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override: frameworks
//     that honour them would run DELETE for a token the route allowed GET.
//   - X-Original-URL, X-Rewrite-URL: some frameworks route by them, past
//     the path the gateway matched and authorized.
//   - X-Real-IP, True-Client-IP, X-Forwarded-Port, X-Forwarded-Prefix: the
//     client would claim another address, port or path prefix.
//
// A route may let any of them through (pass_client_headers) except
// X-Real-IP, which http_proxy sets to the client's address.
func UntrustedClientHeaders() []string {
	return []string{
		"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
		"X-Original-URL", "X-Rewrite-URL",
		"X-Real-IP", "True-Client-IP", "X-Forwarded-Port", "X-Forwarded-Prefix",
	}
}

// HeaderFilter removes named headers from a client's request, together with
// every spelling of them that has '_' for '-' (X_Real_IP): CGI-style backends
// (PHP, WSGI, Rack and others) read both as HTTP_X_REAL_IP, so a client could
// otherwise supply a removed header, or shadow one the gateway sets, under
// another name. It is safe for concurrent use once built.
type HeaderFilter struct {
	names []string        // canonical
	set   map[string]bool // the same
}

// NewHeaderFilter returns a filter for names (any case).
func NewHeaderFilter(names ...string) *HeaderFilter {
	f := &HeaderFilter{set: make(map[string]bool, len(names))}
	for _, n := range names {
		c := http.CanonicalHeaderKey(n)
		if !f.set[c] {
			f.set[c] = true
			f.names = append(f.names, c)
		}
	}
	return f
}

// Remove deletes the filter's headers from h, in every spelling. h must
// have canonical keys, as net/http's parsed requests do. Nothing is
// allocated unless a name with '_' is present.
func (f *HeaderFilter) Remove(h http.Header) {
	for _, n := range f.names {
		delete(h, n)
	}
	for name := range h {
		if f.underscored(name) {
			delete(h, name)
		}
	}
}

// Matches reports whether Remove would delete anything from h.
func (f *HeaderFilter) Matches(h http.Header) bool {
	for _, n := range f.names {
		if _, ok := h[n]; ok {
			return true
		}
	}
	for name := range h {
		if f.underscored(name) {
			return true
		}
	}
	return false
}

// underscored reports whether name is one of the filter's names spelled
// with '_' for '-'.
func (f *HeaderFilter) underscored(name string) bool {
	return strings.IndexByte(name, '_') >= 0 && f.set[http.CanonicalHeaderKey(strings.ReplaceAll(name, "_", "-"))]
}

// removedClientHeaders is UntrustedClientHeaders without those passed (any
// case); RealIPHeader is never passed.
func removedClientHeaders(passed []string) []string {
	var out []string
	for _, h := range UntrustedClientHeaders() {
		keep := false
		for _, p := range passed {
			keep = keep || strings.EqualFold(h, p) && !strings.EqualFold(h, RealIPHeader)
		}
		if !keep {
			out = append(out, h)
		}
	}
	return out
}

// ClientHeaderFilter returns the filter of UntrustedClientHeaders for a
// lambda_proxy route: all of them but those passed (any case; X-Real-IP is
// always removed), and X-Forwarded-Proto and ClientCertHeader, always
// removed too: only the gateway may say how the client connected, and the
// event carries the verified certificate in requestContext.
func ClientHeaderFilter(passed []string) *HeaderFilter {
	return NewHeaderFilter(append(removedClientHeaders(passed), "X-Forwarded-Proto", ClientCertHeader)...)
}
