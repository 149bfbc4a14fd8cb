package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/jwtauth"
	"github.com/portcullis/portcullis/internal/lambdaauth"
	"github.com/portcullis/portcullis/internal/revocation"
)

// Report is one explained request. Every credential in it is masked. Its
// JSON form (`--json`) is for machines; WriteText is for people.
type Report struct {
	Request    RequestPart      `json:"request"`
	Route      RoutePart        `json:"route"`
	Authorizer *AuthorizerPart  `json:"authorizer,omitempty"` // nil: no route, or a public route
	Identity   []IdentitySource `json:"identity,omitempty"`
	JWT        *JWTPart         `json:"jwt,omitempty"`
	Lambda     *LambdaPart      `json:"lambda,omitempty"`
	// Revocation is the revocation check of the verified token; nil when
	// revocation is off or the token was refused before it.
	Revocation *RevocationPart `json:"revocation,omitempty"`
	Outcome    Outcome         `json:"outcome"`
	Decision   string          `json:"decision"`         // one line: ALLOW, DENY 403 {...}, ...
	Reason     string          `json:"reason,omitempty"` // the gateway's reason code, as logged
	// CORS and GatewayResponse are the hooks for those stages: what the
	// response carries and what the stages reported (Notes).
	CORS            CORSPart       `json:"cors"`
	GatewayResponse *GatewayPart   `json:"gateway_response,omitempty"` // nil: the integration answered
	Backend         *BackendPart   `json:"backend,omitempty"`          // nil: the request did not reach it
	Notes           []gateway.Note `json:"notes,omitempty"`
	Response        ResponsePart   `json:"response"`
}

// RequestPart is the request as sent to the gateway.
type RequestPart struct {
	Method  string       `json:"method"`
	Target  string       `json:"target"`
	Host    string       `json:"host"`
	Headers []HeaderLine `json:"headers,omitempty"`
}

// HeaderLine is one header, its values joined, credentials masked.
type HeaderLine struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// RoutePart is route selection.
type RoutePart struct {
	Matched bool   `json:"matched"`
	Key     string `json:"key,omitempty"`
	// Why names the kind of match and AWS's order of precedence.
	Why string `json:"why"`
	// AlsoMatching are the other route keys that match the request, which
	// the selected one beats.
	AlsoMatching []string        `json:"also_matching,omitempty"`
	Params       []gateway.Param `json:"params,omitempty"`
	Integration  string          `json:"integration,omitempty"`
}

// AuthorizerPart names the route's authorizer.
type AuthorizerPart struct {
	Name string `json:"name"`
	Type string `json:"type"` // jwt or lambda
}

// IdentitySource is one configured identity source and what it found.
type IdentitySource struct {
	Source string `json:"source"`
	Found  bool   `json:"found"`
	Value  string `json:"value,omitempty"` // masked when it is a credential
}

// JWTPart is a jwt authorizer's verification, check by check.
type JWTPart struct {
	Steps          []Check  `json:"steps"`
	RouteScopes    []string `json:"route_scopes,omitempty"`
	TokenScopes    []string `json:"token_scopes,omitempty"`
	ScopesOK       bool     `json:"scopes_ok"`
	Principal      string   `json:"principal,omitempty"`
	VerifiedClaims bool     `json:"verified"`
}

// Check is one check and its result.
type Check struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// RevocationPart is the revocation check of a verified token, against the
// list the running gateway uses: read from Redis, or not read at all (the
// list in process lives in the serving process; Redis unreachable), and
// then Checked is false and Detail says why.
type RevocationPart struct {
	Checked bool   `json:"checked"`
	Revoked bool   `json:"revoked"`
	Detail  string `json:"detail"`
}

// LambdaPart is a Lambda authorizer's work.
type LambdaPart struct {
	Event        string          `json:"event"`   // TOKEN or REQUEST
	Payload      string          `json:"payload"` // 1.0 or 2.0
	Simple       bool            `json:"simple_responses"`
	Validation   string          `json:"identity_validation_expression,omitempty"`
	ValidationOK bool            `json:"validation_ok,omitempty"`
	MethodARN    string          `json:"method_arn,omitempty"`
	EventJSON    json.RawMessage `json:"event_json,omitempty"`
	Invoked      bool            `json:"invoked"`
	Answer       json.RawMessage `json:"answer,omitempty"`
	// FunctionError is the function's error message; Failure why its call
	// or answer did not count.
	FunctionError string      `json:"function_error,omitempty"`
	Failure       string      `json:"failure,omitempty"`
	Principal     string      `json:"principal,omitempty"`
	Statements    []Statement `json:"statements,omitempty"`
	// Verdict is the evaluation of the answer for this request's ARN.
	Verdict string     `json:"verdict,omitempty"`
	Cache   *CachePart `json:"cache,omitempty"`
}

// Statement is one policy statement evaluated against the request's ARN.
type Statement struct {
	Number    int      `json:"number"` // 1-based, in the answer's order
	Effect    string   `json:"effect"`
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
	Counts    bool     `json:"counts"`   // an action covers execute-api:Invoke
	Matching  []string `json:"matching"` // resources matching the ARN
}

// CachePart is what the authorizer's cache would hold, and what that entry
// would answer for the configuration's other routes.
type CachePart struct {
	TTLSeconds int     `json:"ttl_seconds"` // 0: not cached
	Key        string  `json:"key,omitempty"`
	Stores     string  `json:"stores"`
	Routes     []Reuse `json:"routes,omitempty"`
	// OtherAuthorizers counts the routes with another authorizer (or
	// none): this cache entry never answers for them.
	OtherAuthorizers int `json:"routes_with_other_authorizers"`
}

// Reuse is what a cached answer decides for one route of the
// configuration, for a request with the same identity.
type Reuse struct {
	Route  string `json:"route"`
	Method string `json:"method"`
	Path   string `json:"path"` // the path tried: parameters stand as {name}, a value the policy does not name
	ARN    string `json:"arn"`
	Allow  bool   `json:"allow"`
	Status int    `json:"status,omitempty"`
	Body   string `json:"body,omitempty"`
}

// CORSPart is the CORS headers the response carries.
type CORSPart struct {
	Applied bool         `json:"applied"`
	Headers []HeaderLine `json:"headers,omitempty"`
	Detail  string       `json:"detail"`
}

// GatewayPart is the gateway's own answer (a denial, 404, 500, ...) and the
// gateway response that shaped it.
type GatewayPart struct {
	Type   string `json:"type"`   // AWS's gateway response type, e.g. ACCESS_DENIED
	Custom bool   `json:"custom"` // gateway_responses changed the built-in answer
	// BuiltIn is the built-in answer, "STATUS BODY"; Status and Body what
	// the client gets.
	BuiltIn string `json:"built_in"`
	Status  int    `json:"status"`
	Body    string `json:"body"`
	Detail  string `json:"detail"`
}

// BackendPart is what the integration would receive.
type BackendPart struct {
	Integration string          `json:"integration"`
	Method      string          `json:"method,omitempty"`
	URL         string          `json:"url,omitempty"`
	Headers     []HeaderLine    `json:"headers,omitempty"`
	Function    string          `json:"function,omitempty"`
	Event       json.RawMessage `json:"event,omitempty"`
	Detail      string          `json:"detail,omitempty"`
}

// ResponsePart is the response the client would get.
type ResponsePart struct {
	Status  int          `json:"status"`
	Headers []HeaderLine `json:"headers,omitempty"`
	Body    string       `json:"body"`
}

// maxBodyShown bounds the bodies a report carries.
const maxBodyShown = 4096

func readBody(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxBodyShown+1))
	if len(b) > maxBodyShown {
		return string(b[:maxBodyShown]) + "…"
	}
	return string(b)
}

// build turns what the gateway recorded into a Report; unread is why the
// revocation list could not be read ("" when it was).
func build(g *gateway.Gateway, req *http.Request, t *gateway.Trace, resp *http.Response, sent *http.Request, sec *secrets, unread string) *Report {
	rep := &Report{}
	// Credentials first: everything after is concealed with them.
	if t.JWT != nil && t.JWT.Found {
		sec.add(t.JWT.Token)
	}
	if l := t.Lambda; l != nil {
		for _, s := range l.Sources {
			if isRequestSource(s.Expr) {
				sec.add(s.Value)
			}
		}
		sec.add(l.UsageIdentifierKey()) // an API key, in the answer shown
	}

	rep.Request = RequestPart{Method: req.Method, Target: sec.conceal(req.URL.RequestURI()), Host: req.Host, Headers: sec.concealHeader(req.Header)}
	rep.Route = explainRoute(g, req, t)
	rep.Reason = t.Reason
	rep.Notes = t.Notes

	status := resp.StatusCode
	body := readBody(resp.Body)
	rep.Response = ResponsePart{Status: status, Headers: sec.concealHeader(resp.Header), Body: sec.conceal(body)}

	if rt := t.Route; rt != nil && rt.Authorizer != "" {
		rep.Authorizer = &AuthorizerPart{Name: rt.Authorizer, Type: rt.AuthorizerType}
	}
	if j := t.JWT; j != nil {
		rep.Identity = []IdentitySource{{Source: j.Source.Expr, Found: j.Found}}
		if j.Found {
			rep.Identity[0].Value = mask(j.Token)
		}
		rep.JWT = explainJWT(j, sec)
	}
	if l := t.Lambda; l != nil {
		for _, s := range l.Sources {
			is := IdentitySource{Source: s.Expr, Found: s.Found, Value: s.Value}
			if s.Found && isRequestSource(s.Expr) {
				is.Value = mask(s.Value)
			}
			rep.Identity = append(rep.Identity, is)
		}
		rep.Lambda = explainLambda(g, t, l, sec)
	}

	switch {
	case t.Route == nil && !t.BadPath && t.Reason == "":
		// No route, yet no denial: a stage answered by itself (CORS
		// answers a preflight no OPTIONS route takes).
		rep.Outcome = Allowed
		rep.Decision = "ANSWERED by the gateway itself: " + statusLine(status, body)
		rep.Route.Why = "no route takes " + req.Method + " " + req.URL.Path + "; the gateway answered it itself"
		if t.CORS != nil && t.CORS.Preflight {
			rep.Route.Why += ": a CORS preflight, which no route takes for this path, is answered by CORS before any authorizer"
		}
	case t.Reason == lambdaauth.ReasonNotInvoked:
		rep.Outcome = Undecided
		rep.Decision = "UNDECIDED: the Lambda authorizer was not invoked (--invoke runs it)"
	case t.Reason != "":
		rep.Outcome = Denied
		rep.Decision = "DENY " + statusLine(status, body)
	default:
		rep.Outcome = Allowed
		rep.Decision = "ALLOW"
	}
	if rep.Outcome == Undecided {
		rep.Response = ResponsePart{} // the gateway's 500 would mean nothing here
	}
	if r := t.Response; r != nil && rep.Outcome != Undecided {
		gp := &GatewayPart{Type: r.Type, Custom: r.Custom, BuiltIn: sec.conceal(statusLine(r.Status, r.Body)), Status: status, Body: sec.conceal(body)}
		if r.Custom {
			gp.Detail = r.Type + ": the configured gateway response (the type's own entry, else DEFAULT_4XX/DEFAULT_5XX) replaced the built-in " + gp.BuiltIn
		} else {
			gp.Detail = r.Type + ": the built-in answer (gateway_responses has no entry for it, nor DEFAULT_4XX/DEFAULT_5XX)"
		}
		rep.GatewayResponse = gp
	}
	rep.CORS = explainCORS(t.CORS, resp.Header, sec)
	if rep.Outcome == Allowed && t.Route != nil {
		rep.Backend = explainBackend(t, sent, status, body, sec)
	}
	if t.Revocation != nil {
		explainRevocation(rep, g, t, unread, sec)
	}
	return rep
}

// explainRevocation says how the revocation check went. A token that was
// not checked leaves an allowed request undecided: the running gateway
// allows it unless its list revokes the token (the response and the backend
// shown are what it gets if not). A denial stands either way.
func explainRevocation(rep *Report, g *gateway.Gateway, t *gateway.Trace, unread string, sec *secrets) {
	r := t.Revocation
	p := &RevocationPart{Checked: r.Checked, Revoked: r.Revoked}
	rep.Revocation = p
	if !r.Checked {
		if unread == "" {
			unread = "the list was not read"
		}
		p.Detail = "not checked: " + unread
		if rep.Outcome == Allowed {
			rep.Outcome = Undecided
			rep.Decision = "UNDECIDED: ALLOW unless the token is revoked (the revocation list was not read)"
		}
		return
	}
	entries := g.Revocations().Entries()
	if !r.Revoked {
		p.Detail = fmt.Sprintf("not revoked: the list read from Redis (%d %s) revokes neither its jti nor its subject", len(entries), config.Plural(len(entries), "entry", "entries"))
		return
	}
	p.Detail = "revoked: the list read from Redis " + sec.conceal(revokedBy(entries, t.JWT.Identity))
}

// revokedBy names the entry of entries that revokes the token of id.
func revokedBy(entries []revocation.Entry, id *jwtauth.Identity) string {
	var jti, sub string
	if id != nil {
		jti, _ = id.Claims.Get("jti")
		sub = id.Subject
	}
	for _, e := range entries {
		switch {
		case jti != "" && e.JTI == jti:
			return fmt.Sprintf("revokes its jti %q", jti)
		case sub != "" && e.Sub == sub:
			return fmt.Sprintf("revokes the tokens of its subject %q issued before %s (or without iat)", sub, e.Before.Format(time.RFC3339))
		}
	}
	return "revokes it"
}

func statusLine(status int, body string) string {
	return strconv.Itoa(status) + " " + strings.TrimSpace(body)
}

// isRequestSource says an identity source reads the request (a header, the
// query string, a cookie), so its value is a credential; $context and stage
// variables are not.
func isRequestSource(expr string) bool {
	return strings.HasPrefix(expr, "$request.") || strings.HasPrefix(expr, "method.request.")
}

func explainJWT(j *gateway.JWTTrace, sec *secrets) *JWTPart {
	p := &JWTPart{RouteScopes: j.Scopes}
	for _, s := range j.Steps {
		p.Steps = append(p.Steps, Check{Check: s.Check, OK: s.OK, Detail: sec.conceal(s.Detail)})
	}
	if id := j.Identity; id != nil {
		p.VerifiedClaims = true
		p.Principal = id.Subject
		p.TokenScopes = id.Scopes
		p.ScopesOK = id.HasAnyScope(j.Scopes)
	}
	return p
}

func explainLambda(g *gateway.Gateway, t *gateway.Trace, l *lambdaauth.Trace, sec *secrets) *LambdaPart {
	p := &LambdaPart{
		Event: l.Event, Payload: l.Payload, Simple: l.Simple,
		Validation: l.Validation, ValidationOK: l.ValidationOK,
		MethodARN:     l.MethodARN,
		EventJSON:     sec.concealJSON(l.EventJSON),
		Invoked:       l.Invoked,
		Answer:        sec.concealJSON(l.Answer),
		FunctionError: sec.conceal(l.FunctionError),
		Failure:       sec.conceal(l.Failure),
		Principal:     l.PrincipalID,
	}
	for i, s := range l.Statements {
		st := Statement{Number: i + 1, Effect: s.Effect, Actions: s.Actions, Resources: s.Resources, Counts: s.Invoke}
		if s.Invoke {
			st.Matching = s.Matching(l.MethodARN)
		}
		p.Statements = append(p.Statements, st)
	}
	if d, ok := l.Evaluate(l.MethodARN); ok {
		p.Verdict = verdict(d, l.IsPolicy())
	}
	if l.MethodARN != "" {
		p.Cache = explainCache(g, t, l)
	}
	return p
}

// verdict says in words how an answer decided an ARN.
func verdict(d lambdaauth.Decision, policy bool) string {
	switch {
	case !policy && d.Allow:
		return "allow: the simple response says isAuthorized true"
	case !policy:
		return "deny: the simple response says isAuthorized false"
	case d.Allow:
		return "allow: an Allow statement matches the ARN and no Deny does"
	case d.Reason == lambdaauth.ReasonExplicitDeny:
		return "deny: a Deny statement matches the ARN (an explicit Deny wins over any Allow)"
	case d.Reason == lambdaauth.ReasonNoAllow:
		return "deny: no Allow statement matches the ARN (implicit deny)"
	}
	return "deny: " + d.Reason
}

// explainCache says what the cache would keep and what that entry would
// answer for every route with the same authorizer.
func explainCache(g *gateway.Gateway, t *gateway.Trace, l *lambdaauth.Trace) *CachePart {
	c := &CachePart{TTLSeconds: int(l.CacheTTL.Seconds()), Key: l.CacheKey}
	switch {
	case l.CacheTTL == 0:
		c.Stores = "nothing: result_ttl is 0, the function is invoked for every request"
		return c
	case !l.Answered():
		c.Stores = "nothing: failures and Unauthorized are never cached (and an answer that was not read cannot be)"
		return c
	case l.IsPolicy():
		c.Stores = "the policy and context, re-evaluated against each request's ARN for " + strconv.Itoa(c.TTLSeconds) + "s, for every route with this authorizer and the same identity"
	default:
		c.Stores = "the simple response, which decides every request with the same identity alike for " + strconv.Itoa(c.TTLSeconds) + "s, whatever its route"
	}
	c.Routes, c.OtherAuthorizers = reuses(g, t.Route.Authorizer, l)
	return c
}

// anyMethods are the methods an ANY route answers.
var anyMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// reuses decides, with the cached answer, one request per method of every
// route that has the same authorizer. A path parameter stands as {name}: a
// value the policy does not name, which is what most other requests are.
func reuses(g *gateway.Gateway, authorizer string, l *lambdaauth.Trace) ([]Reuse, int) {
	var out []Reuse
	others := 0
	for _, rt := range g.Routes() {
		if rt.Authorizer != authorizer {
			others++
			continue
		}
		if rt.Path == "" {
			out = append(out, Reuse{Route: rt.Key, Path: "(any path no other route takes)", Allow: false,
				Body: "not tried: the policy decides per path"})
			continue
		}
		path := strings.ReplaceAll(rt.Path, "+}", "}")
		methods := []string{rt.Method}
		if rt.Method == "ANY" {
			methods = anyMethods
		}
		for _, m := range methods {
			arn := l.ARN(m, path)
			d, _ := l.Evaluate(arn)
			out = append(out, Reuse{Route: rt.Key, Method: m, Path: path, ARN: arn, Allow: d.Allow, Status: d.Status, Body: d.Body})
		}
	}
	return out, others
}

func explainCORS(c *gateway.CORSTrace, h http.Header, sec *secrets) CORSPart {
	var lines []HeaderLine
	for _, hl := range sec.concealHeader(h) {
		if strings.HasPrefix(strings.ToLower(hl.Name), "access-control-") || strings.EqualFold(hl.Name, "Vary") {
			lines = append(lines, hl)
		}
	}
	p := CORSPart{Headers: lines}
	p.Applied = slices.ContainsFunc(lines, func(l HeaderLine) bool { return strings.HasPrefix(strings.ToLower(l.Name), "access-control-") })
	switch {
	case c == nil:
		p.Detail = "CORS is not configured: no CORS headers (a backend's own pass through)"
	case c.Origin == "":
		p.Detail = "no Origin header: no CORS headers (-H 'Origin: https://...' to see what a browser gets)"
	case !c.Allowed && c.Preflight:
		p.Detail = "preflight from " + c.Origin + " refused (origin, requested method or headers not allowed): no CORS headers, the browser will not send the request"
	case !c.Allowed:
		p.Detail = "origin " + c.Origin + " is not allowed: no CORS headers, a browser hides the response from the page"
	case c.Preflight:
		p.Detail = "preflight from " + c.Origin + " allowed: the CORS headers below (answered by the gateway before any authorizer unless a route takes OPTIONS for this path)"
	default:
		p.Detail = "origin " + c.Origin + " allowed: the response, the gateway's own answers included, carries the CORS headers below"
	}
	return p
}

func explainBackend(t *gateway.Trace, sent *http.Request, status int, body string, sec *secrets) *BackendPart {
	rt := t.Route
	b := &BackendPart{Integration: rt.Integration}
	switch rt.Integration {
	case "http_proxy":
		if sent == nil {
			b.Detail = "the request did not reach the backend"
			return b
		}
		b.Method, b.URL = sent.Method, sec.conceal(sent.URL.String())
		b.Headers = sec.concealHeader(sent.Header)
		b.Detail = "not sent: this is what the backend would receive"
	case "lambda_proxy":
		b.Function = rt.Function
		b.Event = sec.concealJSON(t.Event)
		b.Detail = "not invoked: this is the event the function would receive"
	default:
		b.Detail = "the mock integration answers " + statusLine(status, body)
	}
	return b
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
