package gateway

import (
	"net/http"
)

// Mode says how a request reached the decision path. It labels the
// request's metrics (mode="...") and its access-log line.
type Mode uint8

const (
	// ModeGateway: the gateway served the request (ServeHTTP).
	ModeGateway Mode = iota
	// ModeForwardAuth: a proxy asked over HTTP (nginx auth_request,
	// Traefik forwardAuth, Caddy forward_auth, Envoy ext_authz's
	// http_service).
	ModeForwardAuth
	// ModeExtAuthz: Envoy asked over gRPC (envoy.service.auth.v3).
	ModeExtAuthz
	numModes
)

var modeNames = [numModes]string{ModeGateway: "gateway", ModeForwardAuth: "forward_auth", ModeExtAuthz: "ext_authz"}

// String is the mode's metric label.
func (m Mode) String() string {
	if m < numModes {
		return modeNames[m]
	}
	return "unknown"
}

// Verdict is what a proxy needs to pass an allowed request on. The zero
// value is a denial.
type Verdict struct {
	Allowed bool
	// Identity holds, when allowed, the headers the route's request
	// parameter mapping sets for the backend (canonical names), with the
	// values the gateway would send.
	Identity http.Header
	// Remove names, when allowed, the headers the route's mapping owns
	// that the request carries and Identity does not set: the client's
	// copies, which the proxy must drop (the gateway removes them too).
	Remove []string
}

// Decide runs the decision path (decide) for a request a proxy reports
// instead of serving it: r is the original request as the proxy saw it
// (method, URL with the raw query, Host, Header, Proto, TLS when it came
// over TLS, ContentLength; the body is not read) and clientIP the client's
// address. A denial is written to w exactly as the gateway writes it:
// status, JSON body, WWW-Authenticate and an authorizer's headers. An
// allowed request is not answered: the caller answers it in its protocol
// from the Verdict (w's headers already hold the request id). Either way
// the request is logged and counted as the gateway does (an allowed one as
// status 200), with mode. Like ServeHTTP, Decide is safe for concurrent
// use.
func (g *Gateway) Decide(w http.ResponseWriter, r *http.Request, clientIP string, mode Mode) Verdict {
	ex := g.begin(w, r, clientIP, mode, nil)
	var v Verdict
	if rt := g.decide(ex); rt != nil {
		v = ex.verdict(rt)
	}
	ex.finish()
	g.recycle(ex)
	return v
}

// verdict is the identity mapping of an allowed request: the route's
// request parameter mapping (http_proxy routes) applied with ex as its
// source, as the integration applies it to the outbound request, to a
// request that holds none of the client's headers (the gateway removes the
// mapped headers from the client's request first). Query and path
// mappings are the integration's, not the decision's: a proxy forwards its
// own path.
func (ex *exchange) verdict(rt *Route) Verdict {
	v := Verdict{Allowed: true}
	pi, ok := rt.integration.(*proxyIntegration)
	if !ok || pi.mapping.Empty() {
		return v
	}
	out := &http.Request{Header: http.Header{}} // no URL: header mappings only
	pi.mapping.Apply(out, ex)
	for _, name := range pi.mapping.Headers() {
		if vals, set := out.Header[name]; set {
			if v.Identity == nil {
				v.Identity = http.Header{}
			}
			v.Identity[name] = vals
		} else if _, sent := ex.r.Header[name]; sent {
			v.Remove = append(v.Remove, name)
		}
	}
	return v
}
