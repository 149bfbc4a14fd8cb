// Package decision is the decision API: the gateway's decision path (route,
// stages, authorizer, limits, identity mapping) served to proxies that keep
// the traffic themselves: forward-auth over HTTP (nginx auth_request,
// Traefik forwardAuth, Caddy forward_auth, Envoy ext_authz's http_service)
// and Envoy ext_authz v3 over gRPC. Every decision is gateway.Decide, the
// code the gateway runs, so a request decided here and one served by the
// gateway cannot differ. See README.md.
package decision

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/httpheader"
)

// Paths of the HTTP decision API, one per dialect. The dialect decides which
// headers carry the original request, and only those are read: nginx,
// Traefik and Caddy pass the client's own headers on to the decision
// request, so a client could add another dialect's headers to choose the
// route that is decided.
const (
	PathNginx   = "/nginx"   // X-Original-Method, X-Original-URI
	PathTraefik = "/traefik" // X-Forwarded-Method, X-Forwarded-Uri
	PathCaddy   = "/caddy"   // X-Forwarded-Method, X-Forwarded-Uri, as Traefik
	PathEnvoy   = "/envoy"   // prefix: the original method, and the original path and query after it
)

// EnvoyHeadersToRemove is the response header by which Envoy's ext_authz
// http_service learns which request headers to remove (comma-separated).
const EnvoyHeadersToRemove = "X-Envoy-Auth-Headers-To-Remove"

// The headers the dialects carry the original request in.
const (
	headerOriginalMethod  = "X-Original-Method"
	headerOriginalURI     = "X-Original-Uri"
	headerForwardedMethod = "X-Forwarded-Method"
	headerForwardedURI    = "X-Forwarded-Uri"
	headerForwardedHost   = "X-Forwarded-Host"
	headerForwardedFor    = "X-Forwarded-For"
	headerRealIP          = "X-Real-Ip"
)

// maxURI bounds the original URI a proxy reports; the listener's
// max_header_bytes bounds it already, this says so in a clearer error.
const maxURI = 16 << 10

// Current returns the gateway serving now (a reload swaps it).
type Current func() *gateway.Gateway

// HTTP is the decision API's HTTP handler. Its contract: every answer is
// either the gateway's denial for the original request, a 200 with the
// identity headers the route's mapping sets, or (when the proxy did not say
// what the original request was) 500; never an allow by default.
type HTTP struct {
	current Current
	log     *slog.Logger
}

var _ http.Handler = (*HTTP)(nil)

// NewHTTP returns the HTTP decision API for the gateway current returns.
func NewHTTP(current Current, log *slog.Logger) *HTTP {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &HTTP{current: current, log: log}
}

// ServeHTTP implements http.Handler.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var (
		orig  *http.Request
		err   error
		envoy bool
	)
	switch p := r.URL.Path; {
	case p == PathNginx:
		orig, err = forwarded(r, headerOriginalMethod, headerOriginalURI)
	case p == PathTraefik || p == PathCaddy:
		orig, err = forwarded(r, headerForwardedMethod, headerForwardedURI)
	case strings.HasPrefix(p, PathEnvoy+"/"):
		envoy = true
		orig, err = envoyOriginal(r)
	default:
		answer.JSON(w, r, http.StatusNotFound, answer.NotFound)
		return
	}
	if err != nil {
		// A proxy set up without the headers the dialect needs: nothing
		// can be decided, so nothing is allowed.
		h.log.Warn("decision API: the proxy did not say what the original request was; denied", "path", r.URL.Path, "error", err.Error())
		answer.JSON(w, r, http.StatusInternalServerError, answer.InternalError)
		return
	}
	v := h.current().Decide(w, orig, ClientIP(r), gateway.ModeForwardAuth)
	if !v.Allowed {
		return // the gateway's denial is written
	}
	hdr := w.Header()
	for name, vals := range v.Identity {
		hdr[name] = vals
	}
	if envoy && len(v.Remove) > 0 {
		hdr.Set(EnvoyHeadersToRemove, strings.ToLower(strings.Join(v.Remove, ",")))
	}
	w.WriteHeader(http.StatusOK)
}

// forwarded rebuilds the original request of a forward-auth request whose
// dialect carries the method and the request target (path and query, as
// the client sent them) in the headers named. The headers of the original
// request are the decision request's, without these two: the proxies copy
// the client's headers (Authorization, cookies, ...) into it.
func forwarded(r *http.Request, methodHeader, uriHeader string) (*http.Request, error) {
	method, err := onlyValue(r.Header, methodHeader)
	if err != nil {
		return nil, err
	}
	target, err := onlyValue(r.Header, uriHeader)
	if err != nil {
		return nil, err
	}
	delete(r.Header, methodHeader)
	delete(r.Header, uriHeader)
	host := r.Host
	if vals := r.Header[headerForwardedHost]; len(vals) > 0 {
		if len(vals) > 1 {
			return nil, errors.New(headerForwardedHost + " is repeated")
		}
		if vals[0] != "" {
			host = vals[0]
		}
	}
	return original(r, method, target, host)
}

// onlyValue is the one non-empty value of the header name. A header the
// proxy sends twice is an error, not a choice: a proxy that adds its
// value (HAProxy's add-header, Apache's RequestHeader add) rather than
// replacing the client's sends both, and the client's may come first or
// last.
func onlyValue(h http.Header, name string) (string, error) {
	switch vals := h[name]; {
	case len(vals) == 0 || vals[0] == "":
		return "", errors.New(name + " is missing")
	case len(vals) > 1:
		return "", errors.New(name + " is repeated")
	default:
		return vals[0], nil
	}
}

// envoyOriginal rebuilds the original request of an Envoy http_service
// authorization request: Envoy sends it with the original method, and the
// original request target after its path_prefix.
func envoyOriginal(r *http.Request) (*http.Request, error) {
	target, ok := strings.CutPrefix(r.RequestURI, PathEnvoy)
	if !ok || target == "" || target[0] != '/' {
		return nil, errors.New("the request target does not start with " + PathEnvoy + "/")
	}
	return original(r, r.Method, target, r.Host)
}

// original is r as the request the proxy reports: method, target (path and
// raw query, undecoded) and host; r's headers and context.
func original(r *http.Request, method, target, host string) (*http.Request, error) {
	if len(target) > maxURI {
		return nil, errors.New("the original request target is over 16 KiB")
	}
	if !validMethod(method) {
		return nil, errors.New("the original method is not an HTTP method token")
	}
	if target[0] != '/' {
		return nil, errors.New("the original request target is not a path")
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, errors.New("the original request target does not parse")
	}
	orig := new(http.Request)
	*orig = *r // r's context, headers and protocol; r is not used again
	orig.Method = method
	orig.URL = u
	orig.RequestURI = target
	orig.Host = host
	orig.Body = http.NoBody
	orig.ContentLength = 0 // the proxy keeps the body; limiting it is its business
	orig.TransferEncoding = nil
	// The connection is the proxy's, not the client's: its TLS state
	// (the proxy's certificate) must never stand for the client's in
	// certificate binding or clientCert, so a decision has none, and a
	// route that needs a client certificate denies.
	orig.TLS = nil
	return orig, nil
}

// ClientIP is the client's address as the proxy in front reports it: the
// last X-Forwarded-For entry (the one that proxy added: earlier ones are
// the client's to write), else X-Real-IP, else the peer's address. The
// decision API is for proxies only: nothing else may reach its listener.
func ClientIP(r *http.Request) string {
	if vals := r.Header[headerForwardedFor]; len(vals) > 0 {
		last := vals[len(vals)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip := strings.TrimSpace(last); ip != "" {
			return ip
		}
	}
	if ip := strings.TrimSpace(r.Header.Get(headerRealIP)); ip != "" {
		return ip
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// validMethod reports whether m is an HTTP method token (RFC 9110 9.1, the
// grammar of a header name) of at most 32 bytes.
func validMethod(m string) bool { return len(m) <= 32 && httpheader.ValidName(m) }

// canonical is a header name as net/http keys it.
func canonical(name string) string { return textproto.CanonicalMIMEHeaderKey(name) }
