// Package gateway is the request path: it selects the route, runs the route's
// authorizer, and hands allowed requests to the integration, answering every
// failure the way AWS API Gateway does.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/portcullis/portcullis/internal/accesslog"
	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/apigwevent"
	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/cors"
	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/identity"
	"github.com/portcullis/portcullis/internal/jwtauth"
	"github.com/portcullis/portcullis/internal/lambdaauth"
	"github.com/portcullis/portcullis/internal/lambdaproxy"
	"github.com/portcullis/portcullis/internal/mapping"
	"github.com/portcullis/portcullis/internal/proxy"
	"github.com/portcullis/portcullis/internal/revocation"
	"github.com/portcullis/portcullis/internal/route"
	"github.com/portcullis/portcullis/internal/state"
	"github.com/portcullis/portcullis/internal/throttle"
	"github.com/portcullis/portcullis/internal/tracing"
)

// Gateway serves one configuration. It is immutable once built; a reload
// builds a new one.
type Gateway struct {
	log         *slog.Logger
	metrics     *Metrics
	api         config.API
	maxBody     int64
	table       *route.Table
	routes      []*Route
	unmatched   *Route // stands in for "no route" in metrics
	authorizers map[string]authorizer
	functions   map[string]*fn
	tracer      *tracing.Tracer       // nil: tracing off
	responses   *gwresponse.Responses // nil: every answer the built-in one
	cors        *cors.Policy          // nil: CORS not configured
	state       *state.Store          // rate limits, quotas, revocations
	apiKeys     *apikey.Stage         // nil: api_keys not configured
	counters    *state.Counters       // quota counts, kept by a reload that keeps state
	revocations *revocation.List      // nil: revocation off
	pool        sync.Pool
	// access writes the access log in a configured format; nil: the
	// default JSON line goes to accessDefault (nil: no access log).
	access        *accesslog.Logger
	accessDefault io.Writer
}

var _ http.Handler = (*Gateway)(nil)

// Route is one configured route, ready to serve.
type Route struct {
	key         route.Key
	label       string // the route key, the only route label in metrics and logs
	auth        authorizer
	scopes      []string
	apiKey      bool // api_key_required
	integration integration
	limits      *throttle.Route // throttling and rate_limits; nil: none
	m           [numModes]routeMetrics
	line        routeLine // its part of the default access log line
}

// integration sends an allowed request to where the route says.
type integration interface {
	serve(w http.ResponseWriter, r *http.Request, ex *exchange)
	// bodyTimeout bounds the time the integration may spend reading the
	// client's body; 0 means it never reads the body.
	bodyTimeout() time.Duration
}

// authorizer decides whether a request may reach its route's integration.
// It writes a denial itself and returns false; anything that goes wrong
// inside it is a denial, never a pass.
type authorizer interface {
	authorize(ex *exchange, rt *Route) bool
	name() string
	ready() bool
	start(ctx context.Context)
}

// jwtAuthorizer is a `type: jwt` authorizer with its identity source.
type jwtAuthorizer struct {
	label    string
	source   identity.Source
	verifier tokenVerifier
	bindCert bool // require_certificate_binding: RFC 8705 cnf.x5t#S256
}

var _ authorizer = (*jwtAuthorizer)(nil)

func (a *jwtAuthorizer) name() string              { return a.label }
func (a *jwtAuthorizer) ready() bool               { return a.verifier.Ready() }
func (a *jwtAuthorizer) start(ctx context.Context) { a.verifier.Start(ctx) }

// RequestIDResponseHeader is the response header AWS HTTP API uses for the
// request id.
const RequestIDResponseHeader = "Apigw-Requestid"

// exchange is one request's state. Pooled: nothing may keep it after
// ServeHTTP returns. An exchange whose response was aborted is not pooled
// (see ServeHTTP).
type exchange struct {
	g           *Gateway
	r           *http.Request
	w           statusWriter
	start       time.Time
	id          string
	clientIP    string
	route       *Route
	params      route.Params
	paramMap    map[string]string    // params as a map, built on first use (pathParams)
	ident       *jwtauth.Identity    // set by a jwt authorizer
	lambda      *lambdaauth.Decision // set by a lambda authorizer
	reason      string               // why the request was denied or failed; "" when it was not
	cut         bool                 // the response was cut short after its headers were sent (reason says why)
	abort       bool                 // the client's connection must be cut: panic(http.ErrAbortHandler) after finish
	query       url.Values
	backendErr  error
	call        proxy.Call      // for http_proxy routes; pooled with the exchange
	span        trace.Span      // the request's span; nil when tracing is off
	mode        Mode            // how the request came: served (the zero value) or decided for a proxy
	timing      timing          // measured only for a configured access log format
	respType    gwresponse.Type // the type of the gateway's own answer; 0: it gave none
	apiKey      *apikey.Key     // set by checkAPIKey
	apiKeyValue string          // the key of an api_key_required route: $context.identity.apiKey, never logged
	trace       *Trace          // what explain records; nil when serving
	line        []byte          // the default access log line's buffer, kept by recycle
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.serveHTTP(w, r, nil)
}

// serveHTTP serves r, recording in t (nil: nothing) what was decided.
func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request, t *Trace) {
	ex := g.begin(w, r, clientIP(r.RemoteAddr), ModeGateway, t)
	if hasBody(r) {
		// Until an integration takes the body, any answer closes the
		// connection: net/http would otherwise read what is left of the
		// body, with no time limit, to keep the connection alive.
		w.Header().Set("Connection", "close")
	}

	g.serve(ex)
	if t != nil {
		t.Reason = ex.reason
	}
	if ex.w.status == 0 && ex.w.cors.Active() {
		ex.w.cors.Stamp(w.Header()) // nothing was written: net/http sends these headers with its 200
	}

	ex.finish()
	if ex.abort {
		// The response was cut short after its headers went out. Ending
		// the handler this way makes net/http close the connection
		// without finishing the response (and without logging), so the
		// client sees it truncated, not complete. The exchange is left to
		// the garbage collector rather than pooled: whatever the aborted
		// exchange left behind may still refer to it.
		panic(http.ErrAbortHandler)
	}
	g.recycle(ex)
}

// begin takes an exchange from the pool for a request that came in mode
// from clientIP, gives it its request id (also in w's headers) and starts
// its span. The request path ends it with finish, then recycle.
func (g *Gateway) begin(w http.ResponseWriter, r *http.Request, clientIP string, mode Mode, t *Trace) *exchange {
	ex, _ := g.pool.Get().(*exchange)
	if ex == nil {
		ex = &exchange{g: g}
	}
	ex.r = r
	ex.trace = t
	ex.mode = mode
	ex.w = statusWriter{ResponseWriter: w}
	ex.start = time.Now()
	ex.id = newRequestID()
	ex.w.requestID = ex.id
	ex.clientIP = clientIP
	w.Header()[RequestIDResponseHeader] = []string{ex.id} // canonical: Set would canonicalize it again
	ex.traceStart()
	return ex
}

// recycle clears ex and returns it to the pool, with its line buffer
// unless an unusually long line grew it.
func (g *Gateway) recycle(ex *exchange) {
	line := ex.line[:0]
	if cap(line) > maxLineCap {
		line = nil
	}
	*ex = exchange{g: g, line: line}
	g.pool.Put(ex)
}

func (g *Gateway) serve(ex *exchange) {
	rt := g.decide(ex)
	if rt == nil {
		return
	}
	r := ex.r
	if hasBody(r) {
		if d := rt.integration.bodyTimeout(); d > 0 {
			ex.limitBodyTime(d)
			// A chunked request keeps Connection: close. net/http reads a
			// request with both Content-Length and Transfer-Encoding by the
			// latter and drops the former, so such requests cannot be told
			// apart; RFC 9112 6.1 asks to close the connection after them,
			// so that bytes after the chunked body are never read as
			// another request (CL.TE smuggling through a front proxy).
			if len(r.TransferEncoding) == 0 {
				ex.w.Header().Del("Connection")
			}
		}
		r.Body = http.MaxBytesReader(&ex.w, r.Body, g.maxBody)
	}
	ex.timedIntegrate(rt)
}

// decide is the decision path, the one way every request is decided,
// whether the gateway serves it or a proxy asks for the decision alone:
// route selection, then the route's stages (CORS, throttling), its
// authorizer and its limits, in that order. It returns the route when the
// request may go on; otherwise it has written the denial to ex.w (status,
// body and headers such as WWW-Authenticate) and returns nil. The identity
// mapping that follows an allowed decision is the route's request
// parameter mapping, applied by the integration to the outbound request
// with ex as its source.
func (g *Gateway) decide(ex *exchange) *Route {
	r := ex.r
	if g.cors != nil && ex.mode == ModeGateway {
		// CORS is the serving proxy's own business: a decision asked
		// through the decision API is about the request, and a preflight
		// answered here would read as "allowed" to a forward-auth proxy.
		ex.w.cors = g.cors.Check(r)
		if ex.trace != nil {
			ex.traceCORS()
		}
	}
	if !cleanPath(r) {
		ex.rejectBadPath()
		return nil
	}
	i := ex.match()
	if i >= 0 && hasLooseSlashes(r.URL.Path) && g.slashesChangeRoute(r, i) {
		ex.rejectBadPath()
		return nil
	}
	if i < 0 {
		ex.route = g.unmatched
		if ex.w.cors.Preflight() {
			// No route takes OPTIONS for this path: CORS answers the
			// preflight, before any authorizer (Stamp sets its headers).
			ex.w.WriteHeader(http.StatusNoContent)
			return nil
		}
		ex.reject(gwresponse.MissingAuthenticationToken, http.StatusNotFound, answer.NotFound, "no_route")
		return nil
	}
	rt := g.routes[i]
	ex.route = rt
	if ex.trace != nil {
		ex.traceRoute(rt)
	}
	if r.ContentLength > g.maxBody {
		ex.reject(gwresponse.RequestTooLarge, http.StatusRequestEntityTooLarge, answer.TooLarge, "body_too_large")
		return nil
	}
	if rt.limits != nil && !ex.throttle(rt.limits) {
		return nil
	}
	if rt.auth != nil && !ex.timedAuthorize(rt) {
		return nil
	}
	if rt.apiKey && !ex.checkAPIKey() {
		return nil
	}
	if rt.limits != nil && !ex.limit(rt.limits) {
		return nil
	}
	return rt
}

func hasBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

// limitBodyTime gives the client d to send the rest of its body. Without
// it a client sending one byte a second holds the request (and the
// integration's goroutines) for as long as it likes: the server has no
// ReadTimeout, which would also cut long-running requests. The deadline is
// lifted once the body is read, so it never cancels a request whose body
// arrived in time (net/http's background read would see it fire).
func (ex *exchange) limitBodyTime(d time.Duration) {
	rc := http.NewResponseController(ex.w.ResponseWriter)
	if rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return // not a net/http connection (tests, benchmarks)
	}
	ex.r.Body = &deadlineBody{ReadCloser: ex.r.Body, rc: rc}
}

// deadlineBody lifts the connection's read deadline once the body is read.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// authorize verifies the bearer token and the route's scopes. Every path
// that is not a verified identity with a required scope denies.
func (a *jwtAuthorizer) authorize(ex *exchange, rt *Route) bool {
	v, ok := a.source.Value(ex.r)
	t := ex.trace
	if t != nil {
		t.JWT = &JWTTrace{Source: a.source, Found: ok, Scopes: rt.scopes}
	}
	if !ok {
		ex.w.Header().Set("WWW-Authenticate", answer.Challenge)
		ex.reject(gwresponse.Unauthorized, http.StatusUnauthorized, answer.Unauthorized, "missing_identity")
		ex.decision(false)
		return false
	}
	var id *jwtauth.Identity
	var err error
	if t != nil {
		// The same verification, reporting each check (and bypassing the
		// verified-token cache).
		t.JWT.Token = identity.BearerToken(v)
		id, t.JWT.Steps, err = a.verifier.Explain(ex.r.Context(), t.JWT.Token)
		t.JWT.Identity = id
	} else {
		id, err = a.verifier.Verify(ex.r.Context(), identity.BearerToken(v))
	}
	if err != nil || id == nil {
		reason := "error"
		var d *jwtauth.Denial
		if errors.As(err, &d) {
			reason = d.Reason
		}
		t := gwresponse.Unauthorized
		if reason == jwtauth.ReasonKeysUnavailable {
			t = gwresponse.AuthorizerFailure // the authorizer could not judge the token
		}
		ex.w.Header().Set("WWW-Authenticate", answer.InvalidToken(err))
		ex.reject(t, http.StatusUnauthorized, answer.Unauthorized, reason)
		ex.decision(false)
		return false
	}
	if a.bindCert && !id.CertificateBound(apigwevent.VerifiedClientCert(ex.r.TLS)) {
		ex.w.Header().Set("WWW-Authenticate", answer.InvalidToken(jwtauth.CertificateBindingDenial()))
		ex.reject(gwresponse.Unauthorized, http.StatusUnauthorized, answer.Unauthorized, jwtauth.ReasonNotCertificateBound)
		ex.decision(false)
		return false
	}
	ex.ident = id
	if rl := ex.g.revocations; rl != nil && ex.revocationChecked(rl) && ex.revoked(rl) {
		if rl.Loaded() {
			ex.w.Header().Set("WWW-Authenticate", answer.RevokedToken)
			ex.reject(gwresponse.Unauthorized, http.StatusUnauthorized, answer.Unauthorized, "revoked")
		} else { // the list was never read: no copy to judge by
			ex.w.Header().Set("WWW-Authenticate", answer.Challenge)
			ex.reject(gwresponse.AuthorizerFailure, http.StatusUnauthorized, answer.Unauthorized, "revocations_unavailable")
		}
		ex.decision(false)
		return false
	}
	if !id.HasAnyScope(rt.scopes) {
		ex.w.Header().Set("WWW-Authenticate", answer.InsufficientScope)
		ex.reject(gwresponse.AccessDenied, http.StatusForbidden, answer.Forbidden, "insufficient_scope")
		ex.decision(false)
		return false
	}
	ex.decision(true)
	return true
}

// decision counts the decision of the route's authorizer (denied: for
// ex.reason).
func (ex *exchange) decision(allow bool) {
	ex.route.m[ex.mode].countDecision(allow, ex.reason)
}

// reject writes one of the gateway's own answers and notes why: t is the
// AWS gateway response type that covers it, status and body (AWS's JSON)
// the answer Portcullis gives unless gateway_responses changes it. Every
// answer the gateway gives by itself goes through here (or through Fail,
// for an integration's).
func (ex *exchange) reject(t gwresponse.Type, status int, body, reason string) {
	ex.reason = reason
	ex.respond(&ex.w, ex.r, t, status, body)
}

// respond writes the gateway's own answer of type t to w and counts it.
func (ex *exchange) respond(w http.ResponseWriter, r *http.Request, t gwresponse.Type, status int, body string) {
	if m := ex.g.metrics; m != nil {
		m.Responses.Count(t)
	}
	ex.respType = t
	if et := t.ErrorTypeHeader(); et != nil {
		w.Header()["X-Amzn-Errortype"] = et
	}
	if ex.trace != nil {
		ex.traceResponse(t, status, body)
	}
	if ex.g.responses == nil {
		answer.JSON(w, r, status, body)
		return
	}
	// $context.error.message is the built-in answer's message even when a
	// gateway response replaces the body, as on AWS.
	if rec, ok := w.(answer.Recorder); ok {
		rec.RecordAnswer(body)
	}
	ex.g.responses.Write(w, r, ex, t, status, body)
}

var _ answer.Failer = (*exchange)(nil)

// Fail implements answer.Failer: an integration's failure answers (its
// reason is the integration's to give) are gateway responses too.
func (ex *exchange) Fail(w http.ResponseWriter, r *http.Request, f answer.Failure, status int, body string) {
	ex.respond(w, r, gwresponse.FromFailure(f), status, body)
}

// finish logs the request and counts it.
func (ex *exchange) finish() {
	now := time.Now()
	elapsed := now.Sub(ex.start)
	status := ex.w.status
	if status == 0 {
		status = http.StatusOK
	}
	rt := ex.route
	if rt == nil {
		rt = ex.g.unmatched
	}
	m := &rt.m[ex.mode]
	m.count(status, elapsed)
	if ex.cut {
		m.countCut(ex.reason)
	}
	ex.traceEnd(rt, status)

	// The access log is not a debug log: it is written whatever the level
	// of the process log (--log-level warn keeps it).
	switch {
	case ex.g.access != nil:
		ex.timing.status, ex.timing.elapsed = status, elapsed
		ex.logAccess(ex.g.access.Log(ex))
	case ex.g.accessDefault != nil:
		if ex.line == nil {
			ex.line = make([]byte, 0, lineCap)
		}
		ex.line = ex.appendLine(ex.line[:0], rt, now, status, elapsed)
		_, err := ex.g.accessDefault.Write(ex.line)
		ex.logAccess(err)
	}
}

func clientIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// newRequestID returns 16 URL-safe characters, the length of AWS's ids.
func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails on Go 1.24+
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// statusWriter records the status and size of a response, and makes sure
// that whatever an integration put in the response headers (a backend's,
// a function's, a mock's), the request id header that goes out is the
// gateway's, exactly once: the id the client sees is the one in the log.
// With CORS configured, the CORS headers that go out are likewise the
// gateway's, on every final response.
type statusWriter struct {
	http.ResponseWriter
	requestID string
	status    int
	bytes     int64
	cors      cors.Response // zero: CORS not configured
	answer    string        // the body of the gateway's own answer, if it gave one
}

// RecordAnswer implements answer.Recorder.
func (w *statusWriter) RecordAnswer(body string) { w.answer = body }

func (w *statusWriter) WriteHeader(code int) {
	w.stampRequestID() // also on 1xx, which go out with the headers as they are
	if w.status == 0 && code >= 200 {
		w.status = code
		if w.cors.Active() {
			w.cors.Stamp(w.ResponseWriter.Header())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.stampRequestID()
		w.status = http.StatusOK
		if w.cors.Active() {
			w.cors.Stamp(w.ResponseWriter.Header())
		}
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// stampRequestID sets the request id header to the gateway's id alone. It
// is already so unless an integration changed it (ServeHTTP sets it first),
// so the usual cost is one map lookup. Header names in the map are
// canonical: backends' and functions' headers are canonicalized on the way
// in, mock headers with Set.
func (w *statusWriter) stampRequestID() {
	h := w.ResponseWriter.Header()
	if v := h[RequestIDResponseHeader]; len(v) == 1 && v[0] == w.requestID {
		return
	}
	h[RequestIDResponseHeader] = []string{w.requestID}
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// proxyIntegration adapts proxy.Proxy to integration.
type proxyIntegration struct {
	p       *proxy.Proxy
	mapping *mapping.Mapping // the route's request parameters, which the decision API applies too
	tracer  *tracing.Tracer  // nil: tracing off
	host    string           // the backend's host:port, for traces
}

func (pi *proxyIntegration) bodyTimeout() time.Duration { return pi.p.Timeout() }

func (pi *proxyIntegration) serve(w http.ResponseWriter, r *http.Request, ex *exchange) {
	ex.call = proxy.Call{Params: &ex.params, Source: ex, Failer: ex, RequestID: ex.id, ClientIP: ex.clientIP}
	if pi.tracer != nil {
		ex.call.Trace = pi.tracer
	}
	pi.p.Serve(w, r, &ex.call)
	ex.backendErr = ex.call.Err
	if ex.call.Cut != "" {
		ex.reason, ex.cut, ex.abort = ex.call.Cut, true, ex.call.Abort
		return
	}
	if ex.backendErr != nil && ex.reason == "" {
		// The words lambda_proxy logs for the same cases.
		switch ex.w.status {
		case http.StatusBadRequest:
			ex.reason = lambdaproxy.ReasonBodyRead // the client's body, not the backend
		case http.StatusRequestEntityTooLarge:
			ex.reason = lambdaproxy.ReasonBodyTooLarge
		case http.StatusGatewayTimeout:
			ex.reason = lambdaproxy.ReasonTimeout
		case answer.ClientClosed:
			ex.reason = lambdaproxy.ReasonCanceled // the client left, not the backend's fault
		default:
			ex.reason = "backend_error"
		}
	}
}

// mock answers with a fixed response.
type mock struct {
	status int
	body   []byte
	header http.Header // canonical names, Content-Length included; its values go out in every response and are never changed
}

func (m *mock) bodyTimeout() time.Duration { return 0 }

func (m *mock) serve(w http.ResponseWriter, r *http.Request, _ *exchange) {
	h := w.Header()
	for k, v := range m.header {
		h[k] = v
	}
	w.WriteHeader(m.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(m.body)
	}
}

var _ mapping.Source = (*exchange)(nil)

// RequestHeader implements mapping.Source: repeated values comma-joined, as AWS.
func (ex *exchange) RequestHeader(name string) string {
	return strings.Join(ex.r.Header.Values(name), ",")
}

// RequestQuery implements mapping.Source.
func (ex *exchange) RequestQuery(name string) string {
	if ex.query == nil {
		ex.query = ex.r.URL.Query()
	}
	return strings.Join(ex.query[name], ",")
}

// RequestPath implements mapping.Source.
func (ex *exchange) RequestPath() string { return ex.r.URL.Path }

// PathParam implements mapping.Source.
func (ex *exchange) PathParam(name string) string {
	v, _ := ex.params.Get(name)
	return v
}

// Context implements mapping.Source: the $context variables AWS HTTP API
// defines that make sense here (see contextNames).
func (ex *exchange) Context(name string) string {
	g := ex.g
	switch name {
	case "requestId":
		return ex.id
	case "accountId":
		return g.api.AccountID
	case "apiId":
		return g.api.ID
	case "stage":
		return g.api.Stage
	case "domainName":
		return ex.r.Host
	case "httpMethod":
		return ex.r.Method
	case "path":
		return ex.r.URL.Path
	case "protocol":
		return ex.r.Proto
	case "routeKey":
		return ex.route.label
	case "requestTime":
		return ex.start.UTC().Format("02/Jan/2006:15:04:05 -0700")
	case "requestTimeEpoch":
		return strconv.FormatInt(ex.start.UnixMilli(), 10)
	case "identity.sourceIp":
		return ex.clientIP
	case "identity.userAgent":
		return ex.r.UserAgent()
	case "identity.apiKey":
		return ex.apiKeyValue
	case "identity.apiKeyId":
		if ex.apiKey != nil && ex.apiKeyValue != "" {
			return ex.apiKey.ID
		}
		return ""
	}
	if field, ok := strings.CutPrefix(name, "identity.clientCert."); ok {
		return clientCertField(ex.r, field)
	}
	if claim, ok := strings.CutPrefix(name, "authorizer.claims."); ok && ex.ident != nil {
		if ex.ident.JSONClaims.Len() > 0 { // a REST-shape authorizer: JSON text, as AWS
			v, _ := ex.ident.JSONClaims.Get(claim)
			return v
		}
		v, _ := ex.ident.Claims.Get(claim)
		return v
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok && ex.lambda != nil {
		return lambdaContext(ex.lambda, key)
	}
	return ""
}
