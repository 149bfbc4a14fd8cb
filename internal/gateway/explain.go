package gateway

import (
	"net/http"

	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/identity"
	"github.com/portcullis/portcullis/internal/jwtauth"
	"github.com/portcullis/portcullis/internal/lambdaauth"
	"github.com/portcullis/portcullis/internal/lambdaproxy"
)

// Trace records what the gateway decided for one request and why, as it
// decided it, for `portcullis explain` (internal/explain). It is filled by
// the request path itself (ServeTraced), so a request explained and a
// request served cannot differ. ServeHTTP passes no Trace: each place that
// records pays one nil check.
//
// Values are recorded raw, credentials included: the reader decides what
// to show.
type Trace struct {
	// Invoke lets a Lambda authorizer call its function. When false the
	// authorizer stops once its event is built (Lambda.Failure and the
	// response then say nothing about the function's answer).
	Invoke bool

	// BadPath says the path was refused before route selection (400).
	BadPath bool
	// Route is the matched route; nil when none matched (404).
	Route *RouteInfo
	// Params are the route's path parameters, in the order of the path.
	Params []Param

	// JWT is set when a jwt authorizer ran, Lambda when a lambda one did.
	JWT    *JWTTrace
	Lambda *lambdaauth.Trace

	// Revocation is the revocation check of a token a jwt authorizer
	// verified; nil when revocation is off or no token got that far.
	Revocation *RevocationTrace

	// Event is the event a lambda_proxy integration's function would
	// receive; the function is not invoked while tracing.
	Event []byte

	// CORS is what the CORS stage decided; nil when CORS is not configured.
	CORS *CORSTrace

	// Response is the gateway's own answer (a denial, a failure), when it
	// gave one: its gateway response type and whether gateway_responses
	// changed it.
	Response *ResponseTrace

	// Reason is the request's short reason code, as logged ("" when it was
	// served without one).
	Reason string

	// Notes are what other stages report (CORS, gateway responses,
	// throttling, ...), in the order they acted: the one hook a stage needs
	// to appear in explain (see exchange.note).
	Notes []Note
}

// Param is one path parameter and its (decoded) value.
type Param struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Greedy bool   `json:"greedy,omitempty"`
}

// JWTTrace is what a jwt authorizer did.
type JWTTrace struct {
	Source   identity.Source
	Token    string // the token as verified (after "Bearer "); "" when missing
	Found    bool
	Steps    []jwtauth.Step // jwtauth.Authorizer.Explain's, the checks Verify makes
	Identity *jwtauth.Identity
	Scopes   []string // the route's authorization_scopes
}

// RevocationTrace is the revocation check of a verified token. A traced
// request whose gateway never read its revocation list is not checked
// (Checked false) and goes on as if the token were not revoked: the list
// that decides is the serving gateway's, which the tracer (explain) could
// not read, so the refusal every JWT gets from a replica without its copy
// (revocations_unavailable) would say nothing about the running gateway.
type RevocationTrace struct {
	Checked bool // the token was checked against a list read in full
	Revoked bool // it is revoked (Checked only)
}

// CORSTrace is the CORS stage's decision for the request.
type CORSTrace struct {
	Origin    string // the request's Origin; "": none sent, so no CORS headers
	Allowed   bool   // the response gets CORS headers
	Preflight bool   // OPTIONS with Origin and Access-Control-Request-Method
}

// ResponseTrace is one of the gateway's own answers.
type ResponseTrace struct {
	Type string // the AWS gateway response type, e.g. ACCESS_DENIED
	// Status and Body are the built-in answer, before gateway_responses.
	Status int
	Body   string
	// Custom says a configured gateway response (the type's own, or
	// DEFAULT_4XX/DEFAULT_5XX) replaced the built-in answer.
	Custom bool
}

// Note is one stage's account of what it did to the request or response.
type Note struct {
	Stage  string `json:"stage"` // "cors", "gateway_response", ...
	Detail string `json:"detail"`
}

// ServeTraced serves r exactly as ServeHTTP does, recording in t what was
// decided, except that lambda_proxy functions are never invoked (t.Event
// holds their event), Lambda authorizers are invoked only when t.Invoke,
// and a revocation list the gateway never read is not consulted (see
// RevocationTrace) rather than refuse every JWT. Backends are reached through Deps.Transport: give the gateway
// one that records rather than sends.
func (g *Gateway) ServeTraced(w http.ResponseWriter, r *http.Request, t *Trace) {
	g.serveHTTP(w, r, t)
}

// note records a stage's account in the request's trace; nothing when the
// request is not traced.
func (ex *exchange) note(stage, detail string) {
	if t := ex.trace; t != nil {
		t.Notes = append(t.Notes, Note{Stage: stage, Detail: detail})
	}
}

// traceResponse records the gateway's own answer of type t.
func (ex *exchange) traceResponse(t gwresponse.Type, status int, body string) {
	ex.trace.Response = &ResponseTrace{Type: t.String(), Status: status, Body: body, Custom: ex.g.responses.Configured(t, status)}
}

// traceCORS records the CORS stage's decision.
func (ex *exchange) traceCORS() {
	c := &ex.w.cors
	ex.trace.CORS = &CORSTrace{Origin: ex.r.Header.Get("Origin"), Allowed: c.Allowed(), Preflight: c.Preflight()}
}

// traceRoute records the selected route and its parameters.
func (ex *exchange) traceRoute(rt *Route) {
	t := ex.trace
	info := rt.info()
	t.Route = &info
	for i := range ex.params.Len() {
		t.Params = append(t.Params, Param{Name: ex.params.Name(i), Value: ex.params.Value(i), Greedy: ex.params.IsGreedy(i)})
	}
}

// traceLambdaProxy records the event a lambda_proxy function would receive.
func (ex *exchange) traceLambdaProxy(p *lambdaproxy.Integration, req *lambdaproxy.Request) string {
	event, err := p.Event(req)
	if err != nil {
		return lambdaproxy.ReasonEvent
	}
	ex.trace.Event = event
	return ""
}
