// Package cors is AWS HTTP API's CORS (CorsConfiguration) for the gateway:
// it answers browsers' preflights and puts the configured CORS headers on
// every response to an allowed Origin, the gateway's own denials and errors
// included, replacing whatever CORS headers a backend or function sent.
//
// The gateway uses it in two steps: Policy.Check when a request arrives
// (what this request's Origin is allowed), and Response.Stamp when the
// response's headers go out. README.md next to this file has the rules.
package cors

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/httpheader"
)

// MaxAge bounds maxAge as AWS does: -1 to 86400 seconds.
const (
	MinMaxAge = -1
	MaxMaxAge = 86400
)

// Policy is a checked `cors:` block. It is immutable once built and safe
// for concurrent use; every header value it hands out is shared between
// responses and must not be modified (only replaced).
type Policy struct {
	anyOrigin bool                // allowOrigins has `*`
	exact     map[string]struct{} // origins, lower case, without default ports
	patterns  []pattern

	anyMethod bool
	methods   []string
	anyHeader bool
	headers   []string // lower case

	// Header values, built once. A nil slice means "no such header".
	star         []string // {"*"}: Access-Control-Allow-Origin for any origin without credentials
	credentials  []string
	allowMethods []string
	allowHeaders []string
	expose       []string
	maxAge       []string
	vary         []string

	m *policyMetrics // nil: not measured
}

// Setup checks f's `cors:` block and builds its Policy; it returns nil and
// no error when the block is absent. Every problem is returned in a
// *config.Errors with its place in the file. m may be nil.
func Setup(f *config.File, m *Metrics) (*Policy, error) {
	c := f.Config.CORS
	if c == nil {
		return nil, nil
	}
	p := &Policy{exact: map[string]struct{}{}, vary: []string{"Origin"}}
	var errs config.Errors
	for i, o := range c.AllowOrigins {
		at := "cors.allowOrigins[" + strconv.Itoa(i) + "]"
		if o == "*" {
			p.anyOrigin = true
			if c.AllowCredentials {
				errs = append(errs, *f.Errorf(at, "allowOrigins `*` cannot go with allowCredentials: true: browsers refuse `Access-Control-Allow-Origin: *` on a request with credentials; list the origins, or use a pattern such as https://*.example.com"))
			}
			continue
		}
		exact, pat, err := parseOrigin(o)
		switch {
		case err != nil:
			errs = append(errs, *f.Errorf(at, "%v", err))
		case pat != nil:
			p.patterns = append(p.patterns, *pat)
		default:
			p.exact[exact] = struct{}{}
		}
	}
	for i, m := range c.AllowMethods {
		at := "cors.allowMethods[" + strconv.Itoa(i) + "]"
		switch {
		case m == "*":
			p.anyMethod = true
		case !httpheader.ValidName(m): // a method is a token, as a header name is
			errs = append(errs, *f.Errorf(at, "method %q is not an HTTP method name", m))
		default:
			p.methods = append(p.methods, m)
		}
	}
	for i, h := range c.AllowHeaders {
		at := "cors.allowHeaders[" + strconv.Itoa(i) + "]"
		switch {
		case h == "*":
			p.anyHeader = true
		case !httpheader.ValidName(h):
			errs = append(errs, *f.Errorf(at, "header %q is not an HTTP header name", h))
		default:
			p.headers = append(p.headers, strings.ToLower(h))
		}
	}
	for i, h := range c.ExposeHeaders {
		if h != "*" && !httpheader.ValidName(h) {
			errs = append(errs, *f.Errorf("cors.exposeHeaders["+strconv.Itoa(i)+"]", "header %q is not an HTTP header name", h))
		}
	}
	if c.MaxAge != nil && (*c.MaxAge < MinMaxAge || *c.MaxAge > MaxMaxAge) {
		errs = append(errs, *f.Errorf("cors.maxAge", "maxAge %d is outside AWS's range of %d to %d seconds", *c.MaxAge, MinMaxAge, MaxMaxAge))
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}

	if p.anyOrigin {
		p.star = []string{"*"}
	}
	if c.AllowCredentials {
		p.credentials = []string{"true"}
	}
	p.allowMethods = joined(c.AllowMethods)
	p.allowHeaders = joined(c.AllowHeaders)
	p.expose = joined(c.ExposeHeaders)
	if c.MaxAge != nil {
		p.maxAge = []string{strconv.Itoa(*c.MaxAge)}
	}
	p.m = m.forPolicy()
	return p, nil
}

// joined is one header value listing vs, or nil for none.
func joined(vs []string) []string {
	if len(vs) == 0 {
		return nil
	}
	return []string{strings.Join(vs, ",")}
}

// allowOrigin returns the Access-Control-Allow-Origin value for a request
// whose Origin header is origin (the header's one value, as a slice that
// can be handed out), or nil when the origin is not allowed. It does not
// allocate: an allowed origin is echoed with the request's own slice.
func (p *Policy) allowOrigin(origin []string) []string {
	if len(origin) != 1 || origin[0] == "" {
		return nil // several Origin headers: not a browser
	}
	if p.star != nil {
		return p.star
	}
	o := origin[0]
	echo := origin[:1:1] // appending to it copies, never touching the request
	if _, ok := p.exact[o]; ok {
		return echo
	}
	for _, pt := range p.patterns {
		if pt.matches(o) {
			return echo
		}
	}
	return nil
}

// safelistedMethod: browsers never ask a preflight's leave for these in
// Access-Control-Allow-Methods (Fetch's CORS-safelisted methods).
func safelistedMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "POST" }

func (p *Policy) methodAllowed(m string) bool {
	return p.anyMethod || safelistedMethod(m) || slices.Contains(p.methods, m)
}

// headersAllowed reports whether every name in an
// Access-Control-Request-Headers value is allowed.
func (p *Policy) headersAllowed(values []string) bool {
	if p.anyHeader {
		return true
	}
	for _, v := range values {
		for v != "" {
			var name string
			name, v, _ = strings.Cut(v, ",")
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !slices.ContainsFunc(p.headers, func(h string) bool { return strings.EqualFold(h, name) }) {
				return false
			}
		}
	}
	return true
}

// Check decides what CORS does for r: whether its Origin is allowed and
// whether it is a preflight. It reads only r's headers and does not
// allocate. The result goes with the request until Stamp.
func (p *Policy) Check(r *http.Request) Response {
	res := Response{p: p, r: r}
	origin, ok := r.Header["Origin"]
	if !ok {
		return res
	}
	method, preflight := r.Header["Access-Control-Request-Method"]
	preflight = preflight && r.Method == http.MethodOptions
	res.preflight = preflight
	res.origin = p.allowOrigin(origin)
	switch {
	case res.origin == nil:
		p.m.count(preflight, outcomeOrigin)
	case preflight && (len(method) != 1 || !p.methodAllowed(method[0])):
		res.origin = nil
		p.m.count(preflight, outcomeMethod)
	case preflight && !p.headersAllowed(r.Header["Access-Control-Request-Headers"]):
		res.origin = nil
		p.m.count(preflight, outcomeHeaders)
	default:
		p.m.count(preflight, outcomeAllowed)
	}
	return res
}

// Response is CORS's decision for one request, applied to its response by
// Stamp. The zero Response is "CORS not configured": Active is false and
// Stamp must not be called.
type Response struct {
	p         *Policy
	r         *http.Request
	origin    []string // Access-Control-Allow-Origin; nil: no CORS headers
	preflight bool
}

// Active reports whether a Policy made this Response (CORS is configured).
func (c *Response) Active() bool { return c.p != nil }

// Preflight reports whether the request is a CORS preflight: OPTIONS with
// Origin and Access-Control-Request-Method. The gateway answers one itself
// (204 No Content, through Stamp) unless a route takes OPTIONS for its path.
func (c *Response) Preflight() bool { return c.preflight }

// Allowed reports whether the response gets CORS headers.
func (c *Response) Allowed() bool { return c.origin != nil }

// corsHeaders are the response headers that grant a page access; Stamp
// removes whatever a backend or function set for them, so that the
// configuration alone decides.
var corsHeaders = [...]string{
	"Access-Control-Allow-Origin",
	"Access-Control-Allow-Credentials",
	"Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers",
	"Access-Control-Expose-Headers",
	"Access-Control-Max-Age",
	"Access-Control-Allow-Private-Network",
}

// Stamp sets h, a response's headers about to be sent, to what the policy
// says for this request: every CORS header already in h is removed, Vary
// gets Origin, and an allowed Origin gets Access-Control-Allow-Origin,
// -Allow-Credentials and -Expose-Headers, or for a preflight
// -Allow-Methods, -Allow-Headers and -Max-Age in their place. Header names
// in h must be canonical. It allocates only to add Origin to a Vary the
// response already has.
func (c *Response) Stamp(h http.Header) {
	p := c.p
	for _, k := range corsHeaders {
		delete(h, k)
	}
	addVary(h, p.vary)
	if c.origin == nil {
		return
	}
	h["Access-Control-Allow-Origin"] = c.origin
	if p.credentials != nil {
		h["Access-Control-Allow-Credentials"] = p.credentials
	}
	if !c.preflight {
		if p.expose != nil {
			h["Access-Control-Expose-Headers"] = p.expose
		}
		return
	}
	methods := p.allowMethods
	if p.anyMethod {
		// `*` is read literally by browsers on a request with credentials:
		// the method asked for is what `*` means.
		methods = c.r.Header["Access-Control-Request-Method"]
	}
	if methods != nil {
		h["Access-Control-Allow-Methods"] = methods[:len(methods):len(methods)]
	}
	headers := p.allowHeaders
	if p.anyHeader {
		// `*` never covers Authorization, and is literal with credentials:
		// echo what the preflight asks for.
		headers = c.r.Header["Access-Control-Request-Headers"]
	}
	if headers != nil {
		h["Access-Control-Allow-Headers"] = headers[:len(headers):len(headers)]
	}
	if p.maxAge != nil {
		h["Access-Control-Max-Age"] = p.maxAge
	}
}

// addVary adds Origin to h's Vary unless it is there already (or is `*`).
func addVary(h http.Header, origin []string) {
	v := h["Vary"]
	if len(v) == 0 {
		h["Vary"] = origin
		return
	}
	for _, s := range v {
		for s != "" {
			var tok string
			tok, s, _ = strings.Cut(s, ",")
			if tok = strings.TrimSpace(tok); tok == "*" || strings.EqualFold(tok, "Origin") {
				return
			}
		}
	}
	h["Vary"] = append(v[:len(v):len(v)], "Origin")
}
