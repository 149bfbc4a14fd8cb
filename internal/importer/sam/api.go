package sam

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/importer/openapi"
)

// api is one SAM API (explicit or implicit) as its routes need it.
type api struct {
	id      string
	http    bool
	props   map[string]any // with Globals merged
	src     string
	auth    map[string]authorizer
	dflt    string // DefaultAuthorizer
	routes  int
	apiKeys bool // Auth.ApiKeyRequired: every route needs a key
	// stageSrc is where a property taken from a plain CloudFormation
	// API's stage (its Stage resource, or a Deployment's
	// StageDescription) was written.
	stageSrc map[string]string
	events   []eventSettings // the HttpApi events' RouteSettings
}

// setStageProp gives the API property k, value v, taken from a plain
// CloudFormation API's stage at src.
func (a *api) setStageProp(k string, v any, src string) {
	if a.stageSrc == nil {
		a.stageSrc = map[string]string{}
	}
	a.props[k] = v
	a.stageSrc[k] = src
}

// propSrc is where the API's property k was written.
func (a *api) propSrc(k string) string {
	if s, ok := a.stageSrc[k]; ok {
		return s
	}
	return a.src + "." + k
}

// authorizer is an API's authorizer as routes see it.
type authorizer struct {
	name   string // in the configuration; "" when skip is set
	jwt    bool
	scopes []string // the authorizer's default AuthorizationScopes
	skip   string   // why routes that use it are left out
}

// event is one HttpApi or Api event of a function.
type event struct {
	fn, name, src string
	http          bool
	props         map[string]any
}

// implicit names of the APIs SAM creates for events without an API id.
const (
	implicitHTTP = "ServerlessHttpApi"
	implicitREST = "ServerlessRestApi"
)

// apiFor returns the API called id, setting it up on first use (props nil:
// an implicit API, configured by Globals alone).
func (t *translator) apiFor(id string, http bool, props map[string]any) *api {
	if a := t.apis[id]; a != nil {
		return a
	}
	kind := "Api"
	if http {
		kind = "HttpApi"
	}
	a := &api{id: id, http: http, props: t.merged(kind, props), src: "Resources." + id + ".Properties", auth: map[string]authorizer{}}
	if props == nil {
		a.src = "Globals." + kind + " (implicit API " + id + ")"
	}
	t.apis[id] = a
	t.authorizers(a)
	t.definition(a, a.props, a.src)
	return a
}

func (t *translator) authorizers(a *api) {
	auth := asMap(a.props["Auth"])
	src := a.src + ".Auth"
	t.e.at = "authorizers"
	a.dflt = text(t.e.eval(auth["DefaultAuthorizer"], src+".DefaultAuthorizer"))
	if v, ok := auth["ApiKeyRequired"]; ok {
		a.apiKeys = t.apiKeyRequired(t.e.eval(v, src+".ApiKeyRequired"), src+".ApiKeyRequired", "authorizers")
	}
	defs := asMap(auth["Authorizers"])
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		a.auth[name] = t.authorizer(a, name, asMap(defs[name]), src+".Authorizers."+name)
	}
	if v, ok := auth["UsagePlan"]; ok {
		t.usagePlan(a, asMap(t.e.eval(v, src+".UsagePlan")), src+".UsagePlan")
	}
	for _, k := range slices.Sorted(maps.Keys(auth)) {
		switch k {
		case "Authorizers", "DefaultAuthorizer", "ApiKeyRequired", "EnableIamAuthorizer", "AddDefaultAuthorizerToCorsPreflight", "UsagePlan":
		default:
			t.res.Skip("authorizers", src+"."+k, "%s has no Portcullis equivalent", k)
		}
	}
}

// apiKeyRequired reads an ApiKeyRequired value v (resolved): a boolean, or
// "true" or "false" in any case as CloudFormation takes a String
// parameter's. Anything else is noted at path and read as true, so that a
// route is never served without the key its template may require.
func (t *translator) apiKeyRequired(v any, src, path string) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		switch {
		case strings.EqualFold(x, "true"):
			return true
		case strings.EqualFold(x, "false"):
			return false
		}
	}
	t.res.Skip(path, src, "ApiKeyRequired %v is neither true nor false: the routes it covers require an API key (rather than be served open)", v)
	return true
}

// usagePlan carries a REST API's Auth.UsagePlan over: the plan SAM creates
// for the API alone (PER_API, named API_IDUsagePlan as SAM names it), or
// the one all APIs of the template share (SHARED, ServerlessUsagePlan);
// NONE creates none.
func (t *translator) usagePlan(a *api, p map[string]any, src string) {
	name := ""
	switch strings.ToUpper(text(p["CreateUsagePlan"])) {
	case "NONE":
		return
	case "PER_API":
		name = a.id + "UsagePlan"
	case "SHARED":
		name = "ServerlessUsagePlan"
	default:
		t.res.Skip("usage_plans", src+".CreateUsagePlan", "CreateUsagePlan %q: SAM knows PER_API, SHARED and NONE", text(p["CreateUsagePlan"]))
		return
	}
	if n := text(p["UsagePlanName"]); n != "" {
		name = n
	}
	importer.UsagePlan(t.res, src, importer.EnvName(name), p)
}

// authorizer carries one SAM authorizer over.
func (t *translator) authorizer(a *api, name string, p map[string]any, src string) authorizer {
	cname := importer.EnvName(name)
	if prev, ok := t.res.Config.Authorizers[cname]; ok && prev.Type != "" {
		cname = importer.EnvName(a.id + "_" + name)
	}
	at := "authorizers." + cname
	t.e.at = at
	get := func(k string) any { return t.e.eval(p[k], src+"."+k) }
	var out config.Authorizer
	var scopes []string
	identity := asMap(get("Identity"))
	switch {
	case p["JwtConfiguration"] != nil:
		jc := asMap(get("JwtConfiguration"))
		out = config.Authorizer{Type: "jwt", Issuer: text(first(jc, "issuer", "Issuer"))}
		for _, v := range list(first(jc, "audience", "Audience")) {
			out.Audience = append(out.Audience, v)
		}
		if s := text(get("IdentitySource")); s != "" && s != "$request.header.Authorization" {
			out.IdentitySource = config.Strings{s}
		}
		scopes = list(get("AuthorizationScopes"))
	case p["UserPoolArn"] != nil:
		arns := list(get("UserPoolArn"))
		if len(arns) == 0 {
			return authorizer{skip: "Cognito authorizer " + name + " names no user pool"}
		}
		out = config.Authorizer{Type: "jwt", Issuer: openapi.CognitoIssuer(arns[0])}
		out.Audience = config.Strings{t.cognitoAudience(p["UserPoolArn"], name, src)}
		if h := text(identity["Header"]); h != "" && !strings.EqualFold(h, "Authorization") {
			out.IdentitySource = config.Strings{"$request.header." + h}
		}
		scopes = list(get("AuthorizationScopes"))
	case p["FunctionArn"] != nil:
		fn, why := t.functionByARN(text(get("FunctionArn")))
		if why != "" {
			t.res.Skip("authorizers", src, "authorizer %s: %s; the routes that use it are left out", name, why)
			return authorizer{skip: "its authorizer " + name + " could not be carried over"}
		}
		out = config.Authorizer{Type: "lambda", Function: fn}
		var ttl time.Duration
		if a.http {
			out.PayloadFormatVersion = version(get("AuthorizerPayloadFormatVersion"))
			if out.PayloadFormatVersion == "1.0" {
				out.EventType = "REQUEST"
			}
			out.EnableSimpleResponses = get("EnableSimpleResponses") == true
			out.IdentitySource = identitySources(identity, "$request.header.", "$request.querystring.", "$stageVariables.", "$context.")
		} else {
			ttl = 300 * time.Second
			out.PayloadFormatVersion = "1.0"
			if strings.EqualFold(text(get("FunctionPayloadType")), "REQUEST") {
				out.EventType = "REQUEST"
				out.IdentitySource = identitySources(identity, "method.request.header.", "method.request.querystring.", "stageVariables.", "context.")
			} else {
				out.EventType = "TOKEN"
				h := text(identity["Header"])
				if h == "" {
					h = "Authorization"
				}
				out.IdentitySource = config.Strings{"method.request.header." + h}
				out.IdentityValidationExpression = text(identity["ValidationExpression"])
			}
		}
		if n, ok := importer.Number(identity["ReauthorizeEvery"]); ok {
			ttl = time.Duration(n) * time.Second
		}
		d := config.Duration(ttl)
		out.ResultTTL = &d
		if p["FunctionInvokeRole"] != nil {
			t.res.Skip(at, src+".FunctionInvokeRole", "an IAM role to invoke the function is not needed locally")
		}
	default:
		t.res.Skip("authorizers", src, "authorizer %s is of a kind Portcullis does not know; the routes that use it are left out", name)
		return authorizer{skip: "its authorizer " + name + " is not carried over"}
	}
	t.res.Config.Authorizers[cname] = out
	return authorizer{name: cname, jwt: out.Type == "jwt", scopes: scopes}
}

// cognitoAudience is the app client a Cognito authorizer's tokens are for:
// the template's user pool client of that pool (a placeholder for its id),
// or a placeholder of its own.
func (t *translator) cognitoAudience(poolArn any, name, src string) string {
	pool := ""
	if m := asMap(poolArn); m != nil {
		if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			pool = text(ga[0])
		}
	}
	for _, id := range slices.Sorted(maps.Keys(t.e.resources)) {
		r := t.e.resources[id]
		if text(r["Type"]) != "AWS::Cognito::UserPoolClient" || pool == "" {
			continue
		}
		if ref := asMap(asMap(r["Properties"])["UserPoolId"]); text(ref["Ref"]) == pool {
			return t.e.placeholder(id, src, "Cognito app client "+id+" is not created locally; its client id (the tokens' aud or client_id)")
		}
	}
	return t.e.placeholder(name+"_AUDIENCE", src, "Cognito authorizer "+name+" names no app client; the app client id its tokens carry")
}

// functionByARN resolves a Lambda ARN to a configuration function: a
// template function, or an invoke function for one outside the template.
func (t *translator) functionByARN(arn string) (name, why string) {
	fn, region, qualifier, ok := openapi.ParseFunctionARN(arn)
	if !ok {
		return "", fmt.Sprintf("%q is not a Lambda function ARN", arn)
	}
	if local, ok := t.localFns[fn]; ok && qualifier == "" {
		return local, ""
	}
	name = importer.EnvName(fn)
	if qualifier != "" {
		name += "_" + importer.EnvName(qualifier)
	}
	if _, exists := t.res.Config.Functions[name]; !exists {
		t.res.Config.Functions[name] = config.Function{Runtime: "invoke", FunctionName: fn, Region: region, Qualifier: qualifier}
	}
	return name, ""
}

func identitySources(identity map[string]any, header, query, stage, ctx string) config.Strings {
	var out config.Strings
	for _, p := range []struct{ key, prefix string }{{"Headers", header}, {"QueryStrings", query}, {"StageVariables", stage}, {"Context", ctx}} {
		for _, v := range list(identity[p.key]) {
			out = append(out, p.prefix+v)
		}
	}
	return out
}

func first(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

// list is a value as a list of strings (one string counts as a list).
func list(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			out = append(out, text(e))
		}
		return out
	}
	return nil
}

// version writes a payload format version as a string: 2.0 and "2.0" alike.
func version(v any) string {
	switch n := v.(type) {
	case float64:
		return fmt.Sprintf("%.1f", n)
	case int:
		return fmt.Sprintf("%d.0", n)
	}
	return text(v)
}

// eventRoute turns one HttpApi or Api event into a route of its API.
func (t *translator) eventRoute(ev event) {
	t.e.at = "routes"
	get := func(k string) any { return t.e.eval(ev.props[k], ev.src+".Properties."+k) }
	var a *api
	idKey, implicit := "RestApiId", implicitREST
	if ev.http {
		idKey, implicit = "ApiId", implicitHTTP
	}
	if ref := asMap(ev.props[idKey]); ref != nil && text(ref["Ref"]) != "" {
		a = t.apis[text(ref["Ref"])]
	} else if ev.props[idKey] == nil {
		a = t.apiFor(implicit, ev.http, nil)
	}
	if a == nil {
		t.res.Skip("routes", ev.src, "its %s names no API of this template", idKey)
		return
	}
	path, method := text(get("Path")), strings.ToUpper(text(get("Method")))
	key := method + " " + path
	if ev.http && path == "" && method == "" {
		key = "$default"
	}
	r := config.Route{Route: key}
	skip := func(format string, args ...any) {
		t.res.Add(importer.Note{Path: "routes", Source: ev.src, Reason: "route " + key + " left out: " + fmt.Sprintf(format, args...)})
	}
	if t.keys[key] {
		skip("another event already defines it (Portcullis serves one API)")
		return
	}
	auth := asMap(get("Auth"))
	r.APIKeyRequired = a.apiKeys
	if v, ok := auth["ApiKeyRequired"]; ok {
		// The event's setting wins over the API's.
		r.APIKeyRequired = t.apiKeyRequired(v, ev.src+".Properties.Auth.ApiKeyRequired", fmt.Sprintf("routes[%d]", len(t.res.Config.Routes)))
	}
	if r.APIKeyRequired && a.http {
		skip("it requires an API key, which HTTP APIs do not have (left out rather than served open)")
		return
	}
	name := text(auth["Authorizer"])
	if name == "" {
		name = a.dflt
	}
	switch name {
	case "", "NONE":
	case "AWS_IAM":
		skip("IAM authorization has no Portcullis equivalent (left out rather than served open)")
		return
	default:
		az, ok := a.auth[name]
		switch {
		case !ok:
			skip("authorizer %s is not defined on API %s", name, a.id)
			return
		case az.skip != "":
			skip("%s", az.skip)
			return
		}
		r.Authorizer = az.name
		scopes := az.scopes
		if s := list(auth["AuthorizationScopes"]); s != nil {
			scopes = s
		}
		if len(scopes) > 0 && az.jwt {
			r.AuthorizationScopes = scopes
		}
	}
	in := config.Integration{Type: "lambda_proxy", Function: ev.fn, PayloadFormatVersion: "1.0"}
	if ev.http {
		in.PayloadFormatVersion = "2.0"
		if v := version(get("PayloadFormatVersion")); v != "" {
			in.PayloadFormatVersion = v
		}
	}
	if ms, ok := importer.Number(get("TimeoutInMillis")); ok {
		in.Timeout = config.Duration(time.Duration(ms) * time.Millisecond)
	}
	r.Integration = in
	for _, k := range slices.Sorted(maps.Keys(ev.props)) {
		switch k {
		case "Path", "Method", "ApiId", "RestApiId", "Auth", "PayloadFormatVersion", "TimeoutInMillis":
		case "RouteSettings":
			if !ev.http {
				t.res.Skip(fmt.Sprintf("routes[%d]", len(t.res.Config.Routes)), ev.src+".Properties."+k, "RouteSettings belong to HttpApi events")
				continue
			}
			// The event's win over its API's, as SAM merges them.
			a.events = append(a.events, eventSettings{route: key, src: ev.src + ".Properties." + k, settings: ev.props[k]})
		default:
			t.res.Skip(fmt.Sprintf("routes[%d]", len(t.res.Config.Routes)), ev.src+".Properties."+k, "%s is not carried over", k)
		}
	}
	t.keys[key] = true
	a.routes++
	t.res.Config.Routes = append(t.res.Config.Routes, r)
}

// finishAPIs writes the api block (from the API with the most routes),
// CORS, and a note for each API setting that is not carried over.
func (t *translator) finishAPIs() {
	var main *api
	for _, id := range slices.Sorted(maps.Keys(t.apis)) {
		if a := t.apis[id]; main == nil || a.routes > main.routes {
			main = a
		}
	}
	if main == nil {
		return
	}
	c := &t.res.Config
	c.API = config.API{ID: main.id, Region: t.o.Region, AccountID: t.o.AccountID}
	t.e.at = "api.stage"
	if s := text(t.e.eval(main.props["StageName"], main.src+".StageName")); s != "" {
		c.API.Stage = s
	} else if !main.http {
		c.API.Stage = "Prod" // the implicit REST API's stage
	}
	for _, id := range slices.Sorted(maps.Keys(t.apis)) {
		a := t.apis[id]
		if a != main && a.routes > 0 {
			t.res.Skip("api", a.src, "API %s's routes are served beside %s's: Portcullis serves one API, with %s's id and stage in events and ARNs", a.id, main.id, main.id)
		}
		t.cors(a, a == main)
		t.gatewayResponses(a)
		for _, k := range slices.Sorted(maps.Keys(a.props)) {
			switch k {
			case "Auth", "CorsConfiguration", "Cors", "StageName", "DefinitionBody", "DefinitionUri", "Name", "Description", "Tags", "OpenApiVersion", "FailOnWarnings", "GatewayResponses":
			case "AccessLogSettings", "AccessLogSetting": // HttpApi's, Api's
				t.accessLog(a, k, a == main)
			case "DefaultRouteSettings", "RouteSettings", "MethodSettings": // HttpApi's, Api's
				if a != main {
					t.res.Skip("throttling", a.propSrc(k), "Portcullis applies one API's stage throttling, %s's", main.id)
				}
			case "ApiKeySourceType":
				if a == main {
					t.e.at = "api_keys.source"
					if s, ok := importer.APIKeySource(t.res, a.src+"."+k, t.e.eval(a.props[k], a.src+"."+k)); ok {
						importer.RequireAPIKeys(t.res, s)
					}
				}
			default:
				t.res.Skip("api", a.src+"."+k, "%s has no Portcullis equivalent", k)
			}
		}
		for _, ev := range a.events {
			if a != main {
				t.res.Skip("throttling", ev.src, "Portcullis applies one API's stage throttling, %s's", main.id)
			}
		}
	}
	t.throttling(main)
	if t.res.Config.Throttling.Default == nil {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(t.apis)) {
		if a := t.apis[id]; a != main && a.routes > 0 {
			t.res.Skip("throttling.default", a.src, "API %s's routes get %s's default throttling too: throttling.default applies to every route Portcullis serves", a.id, main.id)
		}
	}
}

// accessLog carries the main API's access log settings (property k) over
// into `access_log:`; another API's are noted, as Portcullis serves one.
func (t *translator) accessLog(a *api, k string, main bool) {
	t.e.at = "access_log"
	src := a.propSrc(k)
	settings, ok := a.props[k].(map[string]any)
	if !ok {
		settings, ok = t.e.eval(a.props[k], src).(map[string]any)
	} else if f, has := settings["Format"]; has {
		// Only the format is read: DestinationArn, a log group in AWS, is
		// noted whatever it refers to.
		settings = maps.Clone(settings)
		settings["Format"] = t.e.eval(f, src+".Format")
	}
	switch {
	case !ok:
		t.res.Skip("access_log", src, "%s could not be read", k)
	case !main:
		t.res.Skip("access_log", src, "Portcullis writes one API's access log, %s's", t.res.Config.API.ID)
	default:
		importer.AccessLog(t.res, src, settings)
	}
}

// gatewayResponses carries a REST API's GatewayResponses over:
// {TYPE: {StatusCode, ResponseParameters: {Headers: {Name: "'value'"},
// Paths, QueryStrings}, ResponseTemplates}}, as SAM writes them into the
// definition's x-amazon-apigateway-gateway-responses.
func (t *translator) gatewayResponses(a *api) {
	v, ok := a.props["GatewayResponses"]
	if !ok {
		return
	}
	src := a.src + ".GatewayResponses"
	t.e.at = "gateway_responses"
	all := asMap(t.e.eval(v, src))
	for _, typ := range slices.Sorted(maps.Keys(all)) {
		g := asMap(all[typ])
		at := src + "." + typ
		obj := map[string]any{}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			switch k {
			case "ResponseParameters":
				params := map[string]any{}
				rp := asMap(g[k])
				for _, kind := range slices.Sorted(maps.Keys(rp)) {
					if kind != "Headers" {
						t.res.Skip("gateway_responses."+typ, at+"."+k+"."+kind, "only Headers have a Portcullis equivalent")
						continue
					}
					headers := asMap(rp[kind])
					for _, name := range slices.Sorted(maps.Keys(headers)) {
						params[importer.HeaderParameter+name] = headers[name]
					}
				}
				obj[k] = params
			default:
				obj[k] = g[k]
			}
		}
		importer.GatewayResponse(t.res, at, typ, obj)
	}
}

// cors carries an HttpApi's CorsConfiguration (true, an origin, or an
// object) over into `cors:`, over what its definition's
// x-amazon-apigateway-cors set (the property wins, as in SAM). An Api's
// (REST) Cors (an origin or an object of quoted, comma-separated header
// values) is noted with the `cors:` block it would be: on AWS it only adds
// OPTIONS methods answering preflights, and the functions set the CORS
// headers of actual responses, which `cors:` would replace. Only the main
// API's CORS applies: Portcullis serves one API.
func (t *translator) cors(a *api, main bool) {
	t.e.at = "cors"
	if v, ok := a.props["CorsConfiguration"]; ok {
		src := a.src + ".CorsConfiguration"
		c := map[string]any{}
		switch x := t.e.eval(v, src).(type) {
		case bool:
			if !x {
				return
			}
			c["allowOrigins"] = []any{"*"}
		case string:
			c["allowOrigins"] = []any{x}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				c[strings.ToLower(k[:1])+k[1:]] = x[k]
			}
		}
		if !main {
			importer.CORSNote(t.res, src, "Portcullis serves one API's CORS configuration, "+t.res.Config.API.ID+"'s", c)
			return
		}
		importer.CORS(t.res, src, c)
	}
	if v, ok := a.props["Cors"]; ok {
		src := a.src + ".Cors"
		unquote := func(s string) string { return strings.Trim(strings.TrimSpace(s), "'") }
		split := func(s string) []any {
			var out []any
			for _, p := range strings.Split(unquote(s), ",") {
				if p = unquote(p); p != "" { // "'a', 'b'" as well as "'a,b'"
					out = append(out, p)
				}
			}
			return out
		}
		c := map[string]any{}
		switch x := t.e.eval(v, src).(type) {
		case string:
			c["allowOrigins"] = []any{unquote(x)}
		case map[string]any:
			for k, val := range x {
				switch k {
				case "AllowOrigin":
					c["allowOrigins"] = split(text(val))
				case "AllowMethods":
					c["allowMethods"] = split(text(val))
				case "AllowHeaders":
					c["allowHeaders"] = split(text(val))
				case "MaxAge":
					if n, ok := importer.Number(unquote(text(val))); ok {
						c["maxAge"] = int(n)
					}
				case "AllowCredentials":
					c["allowCredentials"] = val == true
				}
			}
		}
		importer.CORSNote(t.res, src, "a REST API's Cors only answers preflights (SAM adds OPTIONS methods) and leaves the CORS headers of actual responses to the functions; "+
			"Portcullis's cors: answers preflights and sets the headers on every response, replacing the functions' own: add it if that is what you want", c)
	}
}
