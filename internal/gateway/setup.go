package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/cors"
	"github.com/portcullis/portcullis/internal/gwresponse"
	"github.com/portcullis/portcullis/internal/httpheader"
	"github.com/portcullis/portcullis/internal/identity"
	"github.com/portcullis/portcullis/internal/jwtauth"
	"github.com/portcullis/portcullis/internal/mapping"
	"github.com/portcullis/portcullis/internal/proxy"
	"github.com/portcullis/portcullis/internal/route"
	"github.com/portcullis/portcullis/internal/tracing"
)

// Defaults for the `api:` block, used in $context variables and logs.
const (
	DefaultAPIID     = "local"
	DefaultStage     = "$default"
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"

	// DefaultMaxBodyBytes is AWS HTTP API's payload limit.
	DefaultMaxBodyBytes = 10 << 20
	// MaxIntegrationTimeout bounds `timeout:`; AWS stops at 30 s, we allow
	// more for long backends but not unbounded.
	MaxIntegrationTimeout = 5 * time.Minute
)

// Deps are the parts a Gateway shares with the process and with the
// gateway it replaces on reload.
type Deps struct {
	Logger    *slog.Logger
	Metrics   *Metrics          // nil: not measured
	Transport http.RoundTripper // nil: proxy.NewTransport()
	// Previous is the gateway being replaced by a reload: authorizers with
	// the same key source start with its keys instead of fetching again.
	Previous *Gateway
	// BuildGo builds Go functions from source (runtime provided.* or go1.x
	// with a go.mod) before they start; without it (check) only the source
	// folder and the go command are checked.
	BuildGo bool
	// Tracer traces requests; nil: tracing off.
	Tracer *tracing.Tracer
	// AccessLog is where request lines go (the server's access_log
	// output), in the configured format or as the default JSON line, one
	// Write a line, whatever Logger's level. nil: no access log.
	AccessLog io.Writer
}

// Build checks the configuration's meaning and assembles a Gateway. Every
// problem found is returned as *config.Errors with its place in the file.
// Build starts nothing: call Start.
func Build(f *config.File, d Deps) (*Gateway, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Transport == nil {
		d.Transport = proxy.NewTransport()
	}
	c := &f.Config
	g := &Gateway{
		log:         d.Logger,
		metrics:     d.Metrics,
		api:         c.API,
		maxBody:     c.Server.MaxBodyBytes,
		authorizers: map[string]authorizer{},
		functions:   map[string]*fn{},
		tracer:      d.Tracer,
	}
	if g.api.ID == "" {
		g.api.ID = DefaultAPIID
	}
	if g.api.Stage == "" {
		g.api.Stage = DefaultStage
	}
	if g.api.Region == "" {
		g.api.Region = DefaultRegion
	}
	if g.api.AccountID == "" {
		g.api.AccountID = DefaultAccountID
	}
	if g.maxBody <= 0 {
		g.maxBody = DefaultMaxBodyBytes
	}

	var errs config.Errors
	errs.Add(g.buildAccessLog(f, d))
	errs.Add(g.buildFunctions(f, d))
	errs.Add(g.buildCORS(f, d))
	errs.Add(g.buildState(f, d))
	errs.Add(g.buildAPIKeys(f, d))
	g.buildRevocation(f, d)
	if c.Listen == "" {
		errs = append(errs, *f.Errorf("listen", "listen is required (for example 127.0.0.1:8080)"))
	}
	names := make([]string, 0, len(c.Authorizers))
	for name := range c.Authorizers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a, err := g.buildAuthorizer(f, name, c.Authorizers[name], d)
		if err != nil {
			errs.Add(err)
			continue
		}
		g.authorizers[name] = a
	}

	errs.Add(g.buildResponses(f))

	if len(c.Routes) == 0 {
		errs = append(errs, *f.Errorf("routes", "at least one route is required"))
	}
	keys := make([]route.Key, 0, len(c.Routes))
	for i := range c.Routes {
		rt, err := g.buildRoute(f, i, names, d)
		if err != nil {
			errs.Add(err)
			continue
		}
		g.routes = append(g.routes, rt)
		keys = append(keys, rt.key)
	}
	if len(g.routes) == len(c.Routes) {
		errs.Add(g.buildLimits(f, d))
	}
	if len(errs) == 0 {
		table, err := route.NewTable(keys)
		if err != nil {
			errs = append(errs, *f.Errorf("routes", "%v", err))
		}
		g.table = table
	}
	if err := errs.Err(); err != nil {
		g.closeState(d.Previous) // a store opened for g, not one kept from Previous
		return nil, err
	}
	g.unmatched = &Route{label: "none"}
	for _, rt := range g.routes {
		rt.observe(d.Metrics)
		rt.prepareLine()
	}
	g.unmatched.observe(d.Metrics)
	g.unmatched.prepareLine()
	return g, nil
}

// buildCORS sets up the CORS stage (nil when `cors:` is unset).
func (g *Gateway) buildCORS(f *config.File, d Deps) error {
	var m *cors.Metrics
	if d.Metrics != nil {
		m = d.Metrics.CORS
	}
	policy, err := cors.Setup(f, m)
	g.cors = policy
	return err
}

// buildResponses sets up the gateway responses (nil when
// `gateway_responses:` is unset).
func (g *Gateway) buildResponses(f *config.File) error {
	responses, err := gwresponse.Setup(f, gwresponse.Options{IdentityHeaders: identityHeaders(&f.Config)})
	g.responses = responses
	return err
}

func (g *Gateway) buildAuthorizer(f *config.File, name string, a config.Authorizer, d Deps) (authorizer, error) {
	at := "authorizers." + name
	if !config.IsName(name) {
		return nil, f.Errorf(at, "authorizer name %q may hold only letters, digits, '_' and '-'", name)
	}
	switch a.Type {
	case "jwt":
	case "lambda":
		return g.buildLambdaAuthorizer(f, at, name, a, d)
	case "":
		return nil, f.Errorf(at, "type is required (jwt or lambda)")
	default:
		return nil, f.Errorf(at+".type", "unknown authorizer type %q (supported: jwt, lambda)", a.Type)
	}
	for field, set := range map[string]bool{
		"function": a.Function != "", "payload_format_version": a.PayloadFormatVersion != "", "event_type": a.EventType != "",
		"identity_validation_expression": a.IdentityValidationExpression != "", "result_ttl": a.ResultTTL != nil,
		"enable_simple_responses": a.EnableSimpleResponses, "timeout": a.Timeout != 0,
	} {
		if set {
			return nil, f.Errorf(at+"."+field, "%s applies to lambda authorizers, not jwt", field)
		}
	}
	var errs config.Errors
	if a.RequireCertificateBinding && (f.Config.TLS == nil || f.Config.TLS.ClientAuth == nil) {
		errs = append(errs, *f.Errorf(at+".require_certificate_binding", "require_certificate_binding checks tokens against the client's TLS certificate and needs mutual TLS (tls.client_auth)"))
	}
	src := "$request.header.Authorization"
	switch len(a.IdentitySource) {
	case 0:
	case 1:
		src = a.IdentitySource[0]
	default:
		errs = append(errs, *f.Errorf(at+".identity_source", "a jwt authorizer takes exactly one identity source"))
	}
	source, err := identity.Parse(src)
	if err != nil {
		errs = append(errs, *f.Errorf(at+".identity_source", "%v", err))
	}
	if len(a.Issuers) > 0 {
		if err := errs.Err(); err != nil {
			return nil, err
		}
		return g.buildIssuers(f, at, name, a, source, d)
	}
	jwksFile := f.Resolve(a.JWKSFile)
	s := jwtauth.Settings{
		Name:            name,
		Issuer:          a.Issuer,
		Audience:        a.Audience,
		JWKSURI:         a.JWKSURI,
		JWKSFile:        jwksFile,
		Algorithms:      a.Algorithms,
		ClockSkew:       a.ClockSkew.Std(),
		RefreshInterval: a.RefreshInterval.Std(),
		MaxStale:        a.JWKSMaxStale.Std(),
		CacheSize:       a.CacheSize,
	}
	if a.HMACSecret != "" {
		s.HMACSecret = []byte(a.HMACSecret)
	}
	errs = append(errs, f.Place(at, s.Problems())...)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	o := jwtauth.Options{Logger: d.Logger} // it labels its lines with the authorizer
	if d.Metrics != nil {
		o.Metrics = d.Metrics.JWT
	}
	if d.Previous != nil {
		if prev, ok := d.Previous.authorizers[name].(*jwtAuthorizer); ok {
			o.Previous, _ = prev.verifier.(*jwtauth.Authorizer)
		}
	}
	v, err := jwtauth.New(s, o)
	if err != nil {
		if a.JWKSFile != "" {
			at += ".jwks_file" // valid settings fail only when their key file does not load
		}
		return nil, f.Errorf(at, "%v", err)
	}
	return &jwtAuthorizer{label: name, source: source, verifier: v, bindCert: a.RequireCertificateBinding}, nil
}

func (g *Gateway) buildRoute(f *config.File, i int, authorizers []string, d Deps) (*Route, error) {
	c := f.Config.Routes[i]
	at := "routes[" + strconv.Itoa(i) + "]"
	key, err := route.ParseKey(c.Route)
	if err != nil {
		return nil, f.Errorf(at+".route", "%v", err)
	}
	rt := &Route{key: key, label: key.String(), apiKey: c.APIKeyRequired}
	var errs config.Errors
	if c.Authorizer != "" {
		rt.auth = g.authorizers[c.Authorizer]
		if !slices.Contains(authorizers, c.Authorizer) {
			errs = append(errs, *f.Errorf(at+".authorizer", "unknown authorizer %q (defined: %s)", c.Authorizer, list(authorizers)))
		}
	}
	authType := ""
	if a, ok := f.Config.Authorizers[c.Authorizer]; ok {
		authType = a.Type
	}
	if len(c.AuthorizationScopes) > 0 {
		if authType != "jwt" {
			errs = append(errs, *f.Errorf(at+".authorization_scopes", "authorization_scopes need a jwt authorizer on the route (as on AWS)"))
		}
		rt.scopes = c.AuthorizationScopes
	}
	in, err := g.buildIntegration(f, at+".integration", key, c, authType, d)
	if err != nil {
		errs.Add(err)
	}
	rt.integration = in
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return rt, nil
}

func (g *Gateway) buildIntegration(f *config.File, at string, key route.Key, c config.Route, authType string, d Deps) (integration, error) {
	in := c.Integration
	var errs config.Errors
	notFor := func(field string, set bool) {
		if set {
			errs = append(errs, *f.Errorf(at+"."+field, "%s does not apply to a %s integration", field, in.Type))
		}
	}
	switch in.Type {
	case "http_proxy":
		notFor("function", in.Function != "")
		notFor("payload_format_version", in.PayloadFormatVersion != "")
		notFor("status", in.Status != 0)
		notFor("body", in.Body != "")
		notFor("headers", in.Headers != nil)
		if in.URI == "" {
			errs = append(errs, *f.Errorf(at, "uri is required for an http_proxy integration"))
		}
		tmpl, err := route.ParseTemplate(in.URI)
		if err != nil && in.URI != "" {
			errs = append(errs, *f.Errorf(at+".uri", "%v", err))
		}
		if err == nil {
			if err := tmpl.CheckKey(key); err != nil {
				errs = append(errs, *f.Errorf(at+".uri", "%v", err))
			}
		}
		if t := in.Timeout.Std(); t > MaxIntegrationTimeout {
			errs = append(errs, *f.Errorf(at+".timeout", "timeout %v is over the limit of %v", t, MaxIntegrationTimeout))
		}
		m, err := mapping.ParseWith(in.RequestParameters, mapping.Options{GreedyParam: key.GreedyParam()})
		if err != nil {
			errs = append(errs, *f.Errorf(at+".request_parameters", "%v", err))
		}
		for _, name := range m.ContextNames() {
			if err := checkContextName(name, authType); err != nil {
				errs = append(errs, *f.Errorf(at+".request_parameters", "%v", err))
			}
		}
		params := key.ParamNames()
		for _, name := range m.PathParamNames() {
			if !slices.Contains(params, name) {
				errs = append(errs, *f.Errorf(at+".request_parameters", "$request.path.%s: route %q has no path parameter %q (its parameters: %s), so the value would always be empty", name, key.String(), name, list(params)))
			}
		}
		errs = append(errs, checkPassClientHeaders(f, at, in.PassClientHeaders, m.Headers())...)
		if err := errs.Err(); err != nil {
			return nil, err
		}
		return &proxyIntegration{p: proxy.New(proxy.Options{
			URI:               tmpl,
			Mapping:           m,
			Timeout:           in.Timeout.Std(),
			Transport:         d.Transport,
			PassClientHeaders: in.PassClientHeaders,
		}), mapping: m, tracer: d.Tracer, host: tmpl.URL().Host}, nil
	case "lambda_proxy":
		errs = append(errs, checkPassClientHeaders(f, at, in.PassClientHeaders, nil)...)
		notFor("uri", in.URI != "")
		notFor("request_parameters", in.RequestParameters != nil)
		notFor("status", in.Status != 0)
		notFor("body", in.Body != "")
		notFor("headers", in.Headers != nil)
		return g.buildLambdaProxy(f, at, key, in, errs)
	case "mock":
		notFor("function", in.Function != "")
		notFor("payload_format_version", in.PayloadFormatVersion != "")
		notFor("uri", in.URI != "")
		notFor("timeout", in.Timeout != 0)
		notFor("request_parameters", in.RequestParameters != nil)
		notFor("pass_client_headers", in.PassClientHeaders != nil)
		m := &mock{status: in.Status, body: []byte(in.Body), header: http.Header{}}
		if m.status == 0 {
			m.status = http.StatusOK
		}
		if m.status < 100 || m.status > 599 {
			errs = append(errs, *f.Errorf(at+".status", "status %d is not an HTTP status code", in.Status))
		}
		for k, v := range in.Headers {
			if !httpheader.ValidName(k) || !httpheader.ValidValue(v) {
				errs = append(errs, *f.Errorf(at+".headers", "header %q: invalid name or value", k))
				continue
			}
			m.header.Set(k, v)
		}
		if err := errs.Err(); err != nil {
			return nil, err
		}
		// The body's length, in place of a configured one, set once.
		m.header["Content-Length"] = []string{strconv.Itoa(len(m.body))}
		return m, nil
	case "":
		return nil, f.Errorf(at, "integration type is required (http_proxy, lambda_proxy or mock)")
	}
	return nil, f.Errorf(at+".type", "unknown integration type %q (supported: http_proxy, lambda_proxy, mock)", in.Type)
}

// checkPassClientHeaders checks an integration's pass_client_headers: each
// must be one of the headers removed from clients' requests by default
// (any case), never X-Real-IP, and not a header the route maps.
func checkPassClientHeaders(f *config.File, at string, names, mapped []string) config.Errors {
	var errs config.Errors
	removed := proxy.UntrustedClientHeaders()
	for i, name := range names {
		where := at + ".pass_client_headers[" + strconv.Itoa(i) + "]"
		switch {
		case strings.EqualFold(name, proxy.RealIPHeader):
			errs = append(errs, *f.Errorf(where, "X-Real-IP cannot be passed: it is the client's address, set by the gateway (http_proxy) or removed (lambda_proxy), like X-Forwarded-For"))
		case !slices.ContainsFunc(removed, func(r string) bool { return strings.EqualFold(r, name) }):
			errs = append(errs, *f.Errorf(where, "%q is not a header the gateway removes from client requests, so there is nothing to pass (it passes unchanged); removed by default: %s", name, strings.Join(removed, ", ")))
		case slices.ContainsFunc(mapped, func(m string) bool { return strings.EqualFold(m, name) }):
			errs = append(errs, *f.Errorf(where, "%q is mapped by request_parameters, which replaces the client's value: passing it has no effect", name))
		}
	}
	return errs
}

// contextNames are the $context variables a mapping may read; see
// exchange.Context.
var contextNames = []string{
	"accountId", "apiId", "domainName", "httpMethod", "path", "protocol",
	"requestId", "requestTime", "requestTimeEpoch", "routeKey", "stage",
	"identity.sourceIp", "identity.userAgent", "identity.apiKey", "identity.apiKeyId",
	"identity.clientCert.clientCertPem", "identity.clientCert.subjectDN", "identity.clientCert.issuerDN",
	"identity.clientCert.serialNumber", "identity.clientCert.validity.notBefore", "identity.clientCert.validity.notAfter",
}

func checkContextName(name, authType string) error {
	if slices.Contains(contextNames, name) {
		return nil
	}
	if claim, ok := strings.CutPrefix(name, "authorizer.claims."); ok && claim != "" {
		if authType != "jwt" {
			return fmt.Errorf("$context.%s needs a jwt authorizer on the route", name)
		}
		return nil
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok && key != "" && !strings.Contains(key, ".") {
		if authType != "lambda" {
			return fmt.Errorf("$context.%s needs a lambda authorizer on the route (a jwt authorizer's values are $context.authorizer.claims.NAME)", name)
		}
		return nil
	}
	return fmt.Errorf("$context.%s is not a context variable Portcullis provides (known: %s, authorizer.claims.NAME, authorizer.principalId, authorizer.KEY)", name, strings.Join(contextNames, ", "))
}

// identityHeaders are the request headers any authorizer reads an identity
// from (a jwt authorizer's default is Authorization).
func identityHeaders(c *config.Config) []string {
	out := []string{"Authorization"}
	for _, a := range c.Authorizers {
		for _, expr := range a.IdentitySource {
			if src, err := identity.Parse(expr); err == nil && src.Kind == identity.Header {
				out = append(out, src.Name)
			}
		}
	}
	return out
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Start begins background work until ctx is done: key refresh, and the
// processes of functions new to this gateway, which outlive ctx (Close stops
// them) so that a reload keeps unchanged functions warm.
func (g *Gateway) Start(ctx context.Context) {
	g.StartAuthorizers(ctx)
	if g.revocations != nil {
		g.revocations.Start()
	}
	g.StartFunctions(ctx)
}

// StartFunctions starts the processes of functions new to this gateway, as
// Start does; Close stops them. With StartAuthorizers it is what
// `portcullis explain --invoke` needs: Start would also follow the
// revocation list, whose copy in explain's own process is not the running
// gateway's (explain reads the list itself, see revocation.List.Load).
func (g *Gateway) StartFunctions(ctx context.Context) {
	g.startFunctions(context.WithoutCancel(ctx))
}

// StartAuthorizers begins the authorizers' background work (key refresh)
// until ctx is done, and starts no function: what `portcullis explain`
// needs when it invokes nothing.
func (g *Gateway) StartAuthorizers(ctx context.Context) {
	for _, a := range g.authorizers {
		a.start(ctx)
	}
}

// NotReady names the authorizers that do not hold keys yet, and
// "revocations" while the revocation list was never read (every JWT is
// refused until it is); empty means ready.
func (g *Gateway) NotReady() []string {
	var out []string
	for name, a := range g.authorizers {
		if !a.ready() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	if g.revocations != nil && !g.revocations.Loaded() {
		out = append(out, "revocations")
	}
	return out
}

// RouteInfo describes a route for tools such as `portcullis token verify`.
type RouteInfo struct {
	Key            string // the matched route key
	Method, Path   string // the key's parts: "ANY" for any method; both "" for $default
	Authorizer     string // "" for a public route
	AuthorizerType string // "jwt" or "lambda"; "" for a public route
	Source         identity.Source
	Scopes         []string
	Integration    string // http_proxy, lambda_proxy or mock
	Function       string // the function of a lambda_proxy integration
}

// RouteFor reports the route a request with method and path takes.
func (g *Gateway) RouteFor(method, path string) (RouteInfo, bool) {
	var p route.Params
	i := g.table.Match(method, path, &p)
	if i < 0 {
		return RouteInfo{}, false
	}
	return g.routes[i].info(), true
}

// Routes describes every route, in the configuration's order.
func (g *Gateway) Routes() []RouteInfo {
	out := make([]RouteInfo, len(g.routes))
	for i, rt := range g.routes {
		out[i] = rt.info()
	}
	return out
}

func (rt *Route) info() RouteInfo {
	info := RouteInfo{Key: rt.label, Method: rt.key.Method, Path: rt.key.Path, Scopes: rt.scopes, Integration: "mock"}
	switch in := rt.integration.(type) {
	case *proxyIntegration:
		info.Integration = "http_proxy"
	case *lambdaProxyIntegration:
		info.Integration = "lambda_proxy"
		info.Function = in.function
	}
	if rt.auth != nil {
		info.Authorizer = rt.auth.name()
		switch a := rt.auth.(type) {
		case *jwtAuthorizer:
			info.AuthorizerType = "jwt"
			info.Source = a.source
		case *lambdaAuthorizer:
			info.AuthorizerType = "lambda"
		}
	}
	return info
}
