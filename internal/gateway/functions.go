package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"sort"
	"time"

	"github.com/portcullis/portcullis/internal/apigwevent"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/function/node"
	"github.com/portcullis/portcullis/internal/function/python"
	"github.com/portcullis/portcullis/internal/function/registry"
	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/lambdaauth"
	"github.com/portcullis/portcullis/internal/lambdaproxy"
	"github.com/portcullis/portcullis/internal/proxy"
	"github.com/portcullis/portcullis/internal/route"
)

// DefaultResultTTL is how long a Lambda authorizer's answer is cached when
// result_ttl is not set, as on AWS.
const DefaultResultTTL = 300 * time.Second

// fn is one configured function and what this gateway does with it.
type fn struct {
	name    string
	conf    config.Function
	f       function.Function
	process *function.Process // nil unless runtime: process
	started bool              // reused from the previous gateway: already running
	dir     string            // the config file's folder, which relative paths follow
}

// buildFunctions creates every configured function. A function whose
// configuration is unchanged since the previous gateway is reused as it is,
// so a reload does not restart its processes.
func (g *Gateway) buildFunctions(f *config.File, d Deps) error {
	var errs config.Errors
	runtimes := functionRuntimes()
	names := make([]string, 0, len(f.Config.Functions))
	for name := range f.Config.Functions {
		names = append(names, name)
	}
	sort.Strings(names)
	var fresh []string // not reused from the previous gateway
	for _, name := range names {
		c := f.Config.Functions[name]
		at := "functions." + name
		if !config.IsName(name) {
			errs = append(errs, *f.Errorf(at, "function name %q may hold only letters, digits, '_' and '-'", name))
			continue
		}
		if d.Previous != nil {
			if prev := d.Previous.functions[name]; prev != nil && reflect.DeepEqual(prev.conf, c) && prev.dir == filepath.Dir(f.Path) {
				g.functions[name] = &fn{name: name, conf: c, f: prev.f, process: prev.process, started: true, dir: prev.dir}
				continue
			}
		}
		fresh = append(fresh, name)
	}
	if d.BuildGo {
		_, err := registry.BuildGoSources(f, fresh)
		errs.Add(err)
	}
	for _, name := range fresh {
		built, err := g.buildFunction(runtimes, f, "functions."+name, name, f.Config.Functions[name], d)
		if err != nil {
			errs.Add(err)
			continue
		}
		g.functions[name] = built
	}
	return errs.Err()
}

// BuildGoFunctions builds every Go function of f from source, as serve does
// before starting them (`portcullis build`), and returns how many
// executables it built.
func BuildGoFunctions(f *config.File) (int, error) {
	return registry.BuildGoSources(f, sortedKeys(f.Config.Functions))
}

func (g *Gateway) buildFunction(runtimes *registry.Registry, f *config.File, at, name string, c config.Function, d Deps) (*fn, error) {
	out := &fn{name: name, conf: c, dir: filepath.Dir(f.Path)}
	var m *function.Metrics
	if d.Metrics != nil {
		m = d.Metrics.Functions
	}
	built, err := runtimes.Build(&registry.Block{
		File: f, At: at, Name: name, Conf: c, Dir: out.dir,
		Region: g.api.Region, AccountID: g.api.AccountID,
		Logger: g.log, Metrics: m, GoBuilt: d.BuildGo,
	})
	if err != nil {
		return nil, err
	}
	out.f = built
	out.process, _ = built.(*function.Process)
	return out, nil
}

// functionRuntimes are the runtimes `functions:` entries may name.
func functionRuntimes() *registry.Registry {
	return registry.New(registry.Process{}, python.Runtime{}, node.Runtime{}, registry.Invoke{}, registry.HTTP{})
}

// startFunctions starts the processes of functions new to this gateway.
func (g *Gateway) startFunctions(ctx context.Context) {
	for _, f := range g.functions {
		if f.process == nil || f.started {
			continue
		}
		f.started = true
		if err := f.process.Start(ctx); err != nil {
			g.log.Error("function did not start; invocations fail until it does", "function", f.name, "error", err.Error())
		}
	}
}

// Close stops the functions of g that next does not reuse (next may be nil:
// stop them all), and its revocation list's watch unless next keeps the
// list. Call it once requests can no longer reach g.
func (g *Gateway) Close(next *Gateway) {
	g.closeRevocation(next)
	g.closeState(next)
	for name, f := range g.functions {
		if f.process == nil {
			continue
		}
		if next != nil {
			if n := next.functions[name]; n != nil && n.process == f.process {
				continue
			}
		}
		if err := f.process.Close(); err != nil {
			g.log.Warn("stopping function", "function", name, "error", err.Error())
		}
	}
}

// lambdaAuthorizer is a `type: lambda` authorizer.
type lambdaAuthorizer struct {
	label string
	a     *lambdaauth.Authorizer
}

var _ authorizer = (*lambdaAuthorizer)(nil)

func (l *lambdaAuthorizer) name() string          { return l.label }
func (l *lambdaAuthorizer) ready() bool           { return true }
func (l *lambdaAuthorizer) start(context.Context) {}

func (l *lambdaAuthorizer) authorize(ex *exchange, rt *Route) bool {
	params := ex.pathParams()
	resource := rt.key.Path
	if rt.key.IsDefault() {
		resource = "$default"
	}
	req := &lambdaauth.Request{
		HTTP: ex.r, RouteKey: rt.label, Resource: resource, PathParams: params,
		RequestID: ex.id, SourceIP: ex.clientIP, Time: ex.start,
	}
	if t := ex.trace; t != nil {
		t.Lambda = &lambdaauth.Trace{Invoke: t.Invoke}
		req.Trace = t.Lambda
	}
	d := l.a.Authorize(ex.r.Context(), req)
	if !d.Allow {
		if d.Status < 400 || d.Status > 599 { // a denial is always an error answer
			d.Status, d.Body = http.StatusInternalServerError, `{"message":null}`
		}
		for k, vs := range d.Header {
			ex.w.Header()[k] = vs
		}
		t := gwresponse.AuthorizerConfigurationError // 500: the function failed or answered badly
		switch d.Status {
		case http.StatusUnauthorized:
			t = gwresponse.Unauthorized
		case http.StatusForbidden:
			t = gwresponse.AccessDenied
		}
		ex.reject(t, d.Status, d.Body, d.Reason)
		ex.decision(false)
		return false
	}
	ex.lambda = &d
	ex.decision(true)
	return true
}

// buildLambdaAuthorizer checks a `type: lambda` authorizer.
func (g *Gateway) buildLambdaAuthorizer(f *config.File, at, name string, a config.Authorizer, d Deps) (authorizer, error) {
	var errs config.Errors
	for field, set := range map[string]bool{
		"issuer": a.Issuer != "", "audience": len(a.Audience) > 0, "jwks_uri": a.JWKSURI != "",
		"jwks_file": a.JWKSFile != "", "algorithms": len(a.Algorithms) > 0, "hmac_secret": a.HMACSecret != "",
		"clock_skew": a.ClockSkew != 0, "refresh_interval": a.RefreshInterval != 0, "jwks_max_stale": a.JWKSMaxStale != 0,
		"require_certificate_binding": a.RequireCertificateBinding,
	} {
		if set {
			errs = append(errs, *f.Errorf(at+"."+field, "%s applies to jwt authorizers, not lambda", field))
		}
	}
	fn, ferr := g.functionRef(f, at, a.Function, "a lambda authorizer")
	if ferr != nil {
		errs = append(errs, *ferr)
	}
	ttl := DefaultResultTTL
	if a.ResultTTL != nil {
		ttl = a.ResultTTL.Std()
	}
	s := lambdaauth.Settings{
		Name:                         name,
		PayloadFormatVersion:         a.PayloadFormatVersion,
		EventType:                    a.EventType,
		IdentitySources:              a.IdentitySource,
		IdentityValidationExpression: a.IdentityValidationExpression,
		ResultTTL:                    ttl,
		EnableSimpleResponses:        a.EnableSimpleResponses,
		Timeout:                      a.Timeout.Std(),
		CacheSize:                    a.CacheSize,
		Parts:                        g.eventParts(),
	}
	errs = append(errs, f.Place(at, s.Problems())...)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	o := lambdaauth.Options{Logger: g.log} // it labels its lines with the authorizer
	if d.Metrics != nil {
		o.Metrics = d.Metrics.Lambda
	}
	la, err := lambdaauth.New(s, g.tracer.Function(fn.name, fn.f), o)
	if err != nil {
		return nil, f.Errorf(at, "%v", err)
	}
	return &lambdaAuthorizer{label: name, a: la}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lambdaContext answers $context.authorizer.* for a Lambda authorizer's
// decision, stringified as AWS does.
func lambdaContext(d *lambdaauth.Decision, name string) string {
	if name == "principalId" {
		return d.PrincipalID
	}
	return d.ContextStrings[name]
}

// lambdaProxyIntegration is the `lambda_proxy` integration: the route's
// backend is a function.
type lambdaProxyIntegration struct {
	p        *lambdaproxy.Integration
	timeout  time.Duration
	strip    *proxy.HeaderFilter // client headers kept out of the event
	function string              // its name, for traces
}

func (l *lambdaProxyIntegration) bodyTimeout() time.Duration { return l.timeout }

// buildLambdaProxy checks a lambda_proxy integration; errs holds problems
// found already.
func (g *Gateway) buildLambdaProxy(f *config.File, at string, key route.Key, in config.Integration, errs config.Errors) (integration, error) {
	version := in.PayloadFormatVersion
	if version == "" {
		version = "2.0" // HTTP API's default
	}
	fn, ferr := g.functionRef(f, at, in.Function, "a lambda_proxy integration")
	if ferr != nil {
		errs = append(errs, *ferr)
	}
	if t := in.Timeout.Std(); t > MaxIntegrationTimeout {
		errs = append(errs, *f.Errorf(at+".timeout", "timeout %v is over the limit of %v", t, MaxIntegrationTimeout))
	}
	s := lambdaproxy.Settings{
		PayloadFormatVersion: version,
		Timeout:              in.Timeout.Std(),
		Parts:                g.eventParts(),
	}
	errs = append(errs, f.Place(at, s.Problems())...)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	p, err := lambdaproxy.New(s, fn.f, lambdaproxy.Options{Logger: g.log})
	if err != nil {
		return nil, f.Errorf(at, "%v", err)
	}
	timeout := in.Timeout.Std()
	if timeout <= 0 {
		timeout = lambdaproxy.DefaultTimeout
	}
	return &lambdaProxyIntegration{p: p, timeout: timeout, strip: proxy.ClientHeaderFilter(in.PassClientHeaders), function: fn.name}, nil
}

func (l *lambdaProxyIntegration) serve(w http.ResponseWriter, r *http.Request, ex *exchange) {
	rt := ex.route
	if l.strip.Matches(r.Header) {
		// Functions (and the frameworks adapting events to HTTP) trust
		// these as http_proxy backends do. The event is built from a copy:
		// a handler leaves the server's request as it is.
		r = r.WithContext(r.Context())
		r.Header = r.Header.Clone()
		l.strip.Remove(r.Header)
	}
	req := &lambdaproxy.Request{
		HTTP:       r,
		RouteKey:   rt.label,
		Resource:   rt.key.Path,
		PathParams: ex.pathParams(),
		RequestID:  ex.id,
		SourceIP:   ex.clientIP,
		Time:       ex.start,
		Failer:     ex,
	}
	if rt.key.IsDefault() {
		req.Resource = "$default"
	}
	switch {
	case ex.ident != nil:
		req.Authorizer.JWT = true
		if c := ex.ident.JSONClaims; c.Len() > 0 { // REST shape: typed values, which replace JWTClaims
			req.Authorizer.JWTClaimsJSON = make(map[string]json.RawMessage, c.Len())
			for n, v := range c.All() {
				req.Authorizer.JWTClaimsJSON[n] = json.RawMessage(v)
			}
		} else {
			req.Authorizer.JWTClaims = ex.ident.Claims.Map()
		}
		if len(rt.scopes) > 0 { // AWS sends scopes only on routes that require them
			req.Authorizer.JWTScopes = ex.ident.Scopes
		}
	case ex.lambda != nil:
		req.Authorizer.Lambda = true
		req.Authorizer.PrincipalID = ex.lambda.PrincipalID
		req.Authorizer.LambdaContext = ex.lambda.Context
		req.Authorizer.ContextStrings = ex.lambda.ContextStrings
	}
	if ex.trace != nil {
		// Explain never invokes a backend: it records the event.
		if reason := ex.traceLambdaProxy(l.p, req); reason != "" {
			ex.reason = reason
		}
		return
	}
	if reason := l.p.Serve(w, req); reason != "" {
		ex.reason = reason
	}
}

// pathParams is the route's path parameters as a map, for events; built
// once per request (an authorizer and an integration may both need it).
func (ex *exchange) pathParams() map[string]string {
	if ex.paramMap == nil {
		ex.paramMap = make(map[string]string, ex.params.Len())
		for i := range ex.params.Len() {
			ex.paramMap[ex.params.Name(i)] = ex.params.Value(i)
		}
	}
	return ex.paramMap
}

// functionRef resolves a reference to a function from at. A function that is
// configured but failed to build is an error here too (its own problems are
// reported under functions:), so nothing is ever built around a nil function.
func (g *Gateway) functionRef(f *config.File, at, name, user string) (*fn, *config.Error) {
	if name == "" {
		return nil, f.Errorf(at, "function is required for %s", user)
	}
	if fn := g.functions[name]; fn != nil {
		return fn, nil
	}
	if _, defined := f.Config.Functions[name]; defined {
		return nil, f.Errorf(at+".function", "function %q could not be set up", name)
	}
	return nil, f.Errorf(at+".function", "unknown function %q (defined: %s)", name, list(sortedKeys(f.Config.Functions)))
}

// eventParts are the api block's values as AWS events and ARNs use them.
func (g *Gateway) eventParts() apigwevent.Parts {
	return apigwevent.Parts{Region: g.api.Region, AccountID: g.api.AccountID, APIID: g.api.ID, Stage: g.api.Stage}
}
