package sam

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/importer/openapi"
)

// Plain CloudFormation APIs, as templates write them without SAM's Auth and
// events: AWS::ApiGateway::RestApi with its Resource, Method, Authorizer,
// Deployment and Stage resources, and AWS::ApiGatewayV2::Api (HTTP) with
// its Route, Integration, Authorizer and Stage resources (or its quick-create
// Target). Each API's resources are written as the OpenAPI definition with
// API Gateway's extensions that API Gateway would export for them, and read
// by the OpenAPI importer, so both forms share one reading of AWS's rules.

var (
	restParts = map[string]bool{
		"AWS::ApiGateway::Resource": true, "AWS::ApiGateway::Method": true, "AWS::ApiGateway::Authorizer": true,
		"AWS::ApiGateway::Deployment": true, "AWS::ApiGateway::Stage": true, "AWS::ApiGateway::GatewayResponse": true,
	}
	httpParts = map[string]bool{
		"AWS::ApiGatewayV2::Route": true, "AWS::ApiGatewayV2::Integration": true, "AWS::ApiGatewayV2::Authorizer": true,
		"AWS::ApiGatewayV2::Stage": true, "AWS::ApiGatewayV2::Deployment": true,
	}
)

// apiPart reports whether typ is one of the resources a plain
// CloudFormation API is made of. Ref to one gives its logical id.
func apiPart(typ string) bool { return restParts[typ] || httpParts[typ] }

// cfnPart is one resource of a plain CloudFormation API.
type cfnPart struct {
	name, typ string
	props     map[string]any
}

func (p cfnPart) src() string { return "Resources." + p.name + ".Properties" }

// refName is the logical id a value refers to: X for {Ref: X} and for
// {Fn::GetAtt: [X, ...]} (X.RootResourceId is X's root resource).
func refName(v any) string {
	m := asMap(v)
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	switch g := m["Fn::GetAtt"].(type) {
	case []any:
		if len(g) > 0 {
			return text(g[0])
		}
	case string:
		r, _, _ := strings.Cut(g, ".")
		return r
	}
	return ""
}

// cfnAPIs carries the template's plain CloudFormation APIs over; names are
// the template's resources, sorted.
func (t *translator) cfnAPIs(names []string) {
	resources := asMap(t.tmpl["Resources"])
	parts := map[string][]cfnPart{} // API logical id → its resources
	var apis []string
	for _, name := range names {
		r := asMap(resources[name])
		typ := text(r["Type"])
		if !apiPart(typ) && typ != "AWS::ApiGateway::RestApi" && typ != "AWS::ApiGatewayV2::Api" {
			continue
		}
		if !t.enabled(r, name) {
			continue
		}
		props := asMap(r["Properties"])
		switch {
		case restParts[typ]:
			id := refName(props["RestApiId"])
			parts[id] = append(parts[id], cfnPart{name, typ, props})
		case httpParts[typ]:
			id := refName(props["ApiId"])
			parts[id] = append(parts[id], cfnPart{name, typ, props})
		default:
			apis = append(apis, name)
		}
	}
	for _, name := range apis {
		r := asMap(resources[name])
		if text(r["Type"]) == "AWS::ApiGatewayV2::Api" {
			t.httpAPI(name, asMap(r["Properties"]), parts[name])
		} else {
			t.restAPI(name, asMap(r["Properties"]), parts[name])
		}
		delete(parts, name)
	}
	for _, id := range slices.Sorted(maps.Keys(parts)) {
		for _, p := range parts[id] {
			t.res.Skip("routes", "Resources."+p.name, "%s belongs to no API of this template; it is not carried over", p.typ)
		}
	}
}

// cfnDoc is an OpenAPI definition being written for a plain API.
type cfnDoc struct {
	paths     map[string]map[string]any // path → method (lower case) or x-amazon-apigateway-any-method → operation
	schemes   map[string]any
	keySource any // a RestApi's ApiKeySourceType
}

func (d *cfnDoc) add(t *translator, path, method string, op map[string]any, src string) {
	key := strings.ToLower(method)
	switch method {
	case "ANY":
		key = "x-amazon-apigateway-any-method"
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
	default:
		t.res.Skip("routes", src, "route %s %s left out: %q is not an HTTP method API Gateway serves", method, path, method)
		return
	}
	if d.paths[path] == nil {
		d.paths[path] = map[string]any{}
	}
	if d.paths[path][key] != nil {
		t.res.Skip("routes", src, "route %s %s left out: another resource already defines it", method, path)
		return
	}
	op[openapi.SourceExtension] = src
	d.paths[path][key] = op
}

// security is an operation's security requirement for an authorization
// type: none, an authorizer (with scopes), or IAM, which the OpenAPI
// importer leaves out rather than serving it open.
func (t *translator) security(op map[string]any, authType string, authorizer, scopes any, src string) {
	switch strings.ToUpper(authType) {
	case "", "NONE":
		op["security"] = []any{}
	case "CUSTOM", "COGNITO_USER_POOLS", "JWT":
		id := refName(authorizer)
		if id == "" {
			// Imported from another stack, or missing: no scheme has this
			// name, so the route is left out rather than served open.
			id = "(an authorizer that is not a resource of this template)"
		}
		s := []any{}
		for _, v := range list(t.e.eval(scopes, src+".AuthorizationScopes")) {
			s = append(s, v)
		}
		op["security"] = []any{map[string]any{id: s}}
	default:
		op["x-amazon-apigateway-auth"] = map[string]any{"type": strings.ToUpper(authType)}
	}
}

// integration writes a CloudFormation Integration property (REST: Type,
// Uri, IntegrationHttpMethod, IntegrationResponses...; HTTP:
// IntegrationType, IntegrationUri, IntegrationMethod...) as
// x-amazon-apigateway-integration; fields it does not map keep their name
// in lower camel case, for the OpenAPI importer to name them.
func (t *translator) integration(in map[string]any, src string, skip ...string) map[string]any {
	out := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(in)) {
		v := t.e.eval(in[k], src+"."+k)
		switch k {
		case "Type", "IntegrationType":
			out["type"] = strings.ToLower(text(v))
		case "Uri", "IntegrationUri":
			out["uri"] = v
		case "IntegrationHttpMethod", "IntegrationMethod":
			out["httpMethod"] = v
		case "IntegrationResponses":
			responses := map[string]any{}
			for _, r := range asList(v) {
				rm := asMap(r)
				key := text(rm["SelectionPattern"])
				if key == "" {
					key = "default"
				}
				responses[key] = map[string]any{
					"statusCode": text(rm["StatusCode"]), "responseTemplates": rm["ResponseTemplates"], "responseParameters": rm["ResponseParameters"],
				}
			}
			out["responses"] = responses
		default:
			if !slices.Contains(skip, k) {
				out[strings.ToLower(k[:1])+k[1:]] = v
			}
		}
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// noteUnknown notes each property of p that known does not name.
func (t *translator) noteUnknown(path, src string, props map[string]any, why string, known ...string) {
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if !slices.Contains(known, k) {
			t.res.Skip(path, src+"."+k, "%s %s", k, why)
		}
	}
}

// restAPI carries an AWS::ApiGateway::RestApi over with its resources.
func (t *translator) restAPI(name string, props map[string]any, parts []cfnPart) {
	src := "Resources." + name + ".Properties"
	t.noteUnknown("api", src, props, "has no Portcullis equivalent", "Name", "Description", "Tags", "Body", "FailOnWarnings", "Parameters", "Mode", "ApiKeySourceType")
	d := &cfnDoc{paths: map[string]map[string]any{}, schemes: map[string]any{}}
	if props["ApiKeySourceType"] != nil {
		t.e.at = "api_keys.source"
		d.keySource = t.e.eval(props["ApiKeySourceType"], src+".ApiKeySourceType")
	}
	resources := map[string]cfnPart{}
	for _, p := range parts {
		if p.typ == "AWS::ApiGateway::Resource" {
			resources[p.name] = p
		}
	}
	var pathOf func(id string, depth int) (string, bool)
	pathOf = func(id string, depth int) (string, bool) {
		if id == name {
			return "", true // the API's root resource
		}
		p, ok := resources[id]
		if !ok || depth > 128 {
			return "", false
		}
		parent, ok := pathOf(refName(p.props["ParentId"]), depth+1)
		return parent + "/" + text(t.e.eval(p.props["PathPart"], p.src()+".PathPart")), ok
	}
	stage := ""
	var stages []cfnPart
	var settings *cfnPart   // the stage whose settings apply
	var deployment *cfnPart // a deployment that makes a stage
	for _, p := range parts {
		t.e.at = "routes"
		get := func(k string) any { return t.e.eval(p.props[k], p.src()+"."+k) }
		switch p.typ {
		case "AWS::ApiGateway::Method":
			path, ok := pathOf(refName(p.props["ResourceId"]), 0)
			if !ok {
				t.res.Skip("routes", p.src()+".ResourceId", "the method's resource is not a resource of %s; it is left out", name)
				continue
			}
			if path == "" {
				path = "/"
			}
			op := map[string]any{}
			t.security(op, text(get("AuthorizationType")), p.props["AuthorizerId"], p.props["AuthorizationScopes"], p.src())
			if _, ok := p.props["ApiKeyRequired"]; ok && t.apiKeyRequired(get("ApiKeyRequired"), p.src()+".ApiKeyRequired", "routes") {
				op["x-amazon-apigateway-api-key-required"] = true
			}
			op["x-amazon-apigateway-integration"] = t.integration(asMap(p.props["Integration"]), p.src()+".Integration")
			t.noteUnknown("routes", p.src(), p.props, "is not carried over (request validation, models)",
				"RestApiId", "ResourceId", "HttpMethod", "AuthorizationType", "AuthorizerId", "AuthorizationScopes",
				"ApiKeyRequired", "Integration", "MethodResponses", "OperationName", "RequestParameters")
			d.add(t, path, strings.ToUpper(text(get("HttpMethod"))), op, p.src())
		case "AWS::ApiGateway::Authorizer":
			d.schemes[p.name] = t.restScheme(p)
		case "AWS::ApiGateway::GatewayResponse":
			t.e.at = "gateway_responses"
			obj := map[string]any{}
			for _, k := range slices.Sorted(maps.Keys(p.props)) {
				if k != "RestApiId" && k != "ResponseType" {
					obj[k] = get(k)
				}
			}
			importer.GatewayResponse(t.res, p.src(), text(get("ResponseType")), obj)
		case "AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment":
			if s := text(get("StageName")); s != "" && (stage == "" || p.typ == "AWS::ApiGateway::Stage") {
				stage = s
				if p.typ == "AWS::ApiGateway::Stage" {
					settings = &p
				}
			}
			known := append([]string{"StageName", "RestApiId", "DeploymentId", "Description", "Tags"}, restStageSettings...)
			if p.typ == "AWS::ApiGateway::Stage" {
				stages = append(stages, p)
			} else if text(get("StageName")) != "" {
				deployment = &p // its StageDescription describes the stage it makes
				known = append(known, "StageDescription")
			}
			t.noteUnknown("api", p.src(), p.props, "has no Portcullis equivalent", known...)
		}
	}
	a := t.cfnDefinition(name, false, props, d, stage, nil)
	t.stageSettings(a, stages, settings, restStageSettings)
	if deployment != nil {
		t.deploymentStage(a, *deployment, settings == nil)
	}
}

// deploymentStage reads the StageDescription of a Deployment p that makes
// a stage (it has a StageName), when no Stage resource's settings apply
// (applies): its MethodSettings and AccessLogSetting as a Stage's, its
// ThrottlingBurstLimit and ThrottlingRateLimit as the stage's default
// throttling; its other settings are noted.
func (t *translator) deploymentStage(a *api, p cfnPart, applies bool) {
	v, ok := p.props["StageDescription"]
	if !ok {
		return
	}
	src := p.src() + ".StageDescription"
	if !applies {
		t.res.Skip("api", src, "Portcullis serves one stage of %s: its Stage resource's settings apply", a.id)
		return
	}
	sd := asMap(v)
	if sd == nil || isIntrinsic(sd) {
		t.e.at = "api"
		sd, _ = t.e.eval(v, src).(map[string]any)
	}
	if sd == nil {
		t.res.Skip("api", src, "StageDescription could not be read")
		return
	}
	t.noteUnknown("api", src, sd, "has no Portcullis equivalent", "AccessLogSetting", "MethodSettings", "ThrottlingBurstLimit", "ThrottlingRateLimit")
	for _, k := range []string{"AccessLogSetting", "MethodSettings"} {
		if sd[k] != nil {
			a.setStageProp(k, sd[k], src+"."+k)
		}
	}
	// The stage-wide limits are the default every method's settings
	// refine, as DefaultRouteSettings are an HTTP API's.
	if sd["ThrottlingBurstLimit"] != nil || sd["ThrottlingRateLimit"] != nil {
		a.setStageProp("DefaultRouteSettings", map[string]any{"ThrottlingBurstLimit": sd["ThrottlingBurstLimit"], "ThrottlingRateLimit": sd["ThrottlingRateLimit"]}, src)
	}
}

// The stage settings of plain CloudFormation APIs read as a SAM API's
// properties of the same names.
var (
	restStageSettings = []string{"MethodSettings", "AccessLogSetting"}
	httpStageSettings = []string{"DefaultRouteSettings", "RouteSettings", "AccessLogSettings"}
)

// stageSettings gives API a the settings (keys) of the stage that applies
// (nil: none) for finishAPIs to read, and notes those of its other stages.
func (t *translator) stageSettings(a *api, stages []cfnPart, applies *cfnPart, keys []string) {
	for _, p := range stages {
		for _, k := range keys {
			v, ok := p.props[k]
			switch {
			case !ok:
			case applies != nil && p.name == applies.name:
				a.setStageProp(k, v, p.src()+"."+k)
			case applies == nil:
				t.res.Skip("api", p.src()+"."+k, "the stage has no StageName; its settings are not carried over")
			default:
				t.res.Skip("api", p.src()+"."+k, "Portcullis serves one stage of %s: %s's settings apply", a.id, applies.name)
			}
		}
	}
}

// restScheme writes an AWS::ApiGateway::Authorizer as the security scheme
// API Gateway exports for it.
func (t *translator) restScheme(p cfnPart) map[string]any {
	t.e.at = "authorizers." + p.name
	get := func(k string) any { return t.e.eval(p.props[k], p.src()+"."+k) }
	typ := strings.ToLower(text(get("Type")))
	ext := map[string]any{"type": typ}
	scheme := map[string]any{"type": "apiKey", "in": "header", "name": "Unused", openapi.SourceExtension: p.src(), "x-amazon-apigateway-authtype": "custom"}
	identity := text(get("IdentitySource"))
	switch typ {
	case "token", "cognito_user_pools":
		if h, ok := strings.CutPrefix(identity, "method.request.header."); ok {
			scheme["name"] = h
		}
	}
	if typ == "cognito_user_pools" {
		ext["providerARNs"] = get("ProviderARNs")
		scheme["x-amazon-apigateway-authtype"] = "cognito_user_pools"
	}
	for cfn, oas := range map[string]string{
		"AuthorizerUri": "authorizerUri", "IdentitySource": "identitySource", "IdentityValidationExpression": "identityValidationExpression",
		"AuthorizerResultTtlInSeconds": "authorizerResultTtlInSeconds", "AuthorizerCredentials": "authorizerCredentials",
	} {
		if p.props[cfn] != nil {
			ext[oas] = get(cfn)
		}
	}
	t.noteUnknown("authorizers", p.src(), p.props, "is not carried over", "Name", "RestApiId", "Type", "ProviderARNs", "AuthType",
		"AuthorizerUri", "IdentitySource", "IdentityValidationExpression", "AuthorizerResultTtlInSeconds", "AuthorizerCredentials")
	scheme["x-amazon-apigateway-authorizer"] = ext
	return scheme
}

// httpAPI carries an AWS::ApiGatewayV2::Api over with its resources.
func (t *translator) httpAPI(name string, props map[string]any, parts []cfnPart) {
	src := "Resources." + name + ".Properties"
	t.e.at = "routes"
	if p := strings.ToUpper(text(t.e.eval(props["ProtocolType"], src+".ProtocolType"))); p != "HTTP" {
		t.res.Skip("routes", src+".ProtocolType", "a %s API is not carried over: Portcullis serves HTTP APIs", p)
		for _, part := range parts {
			t.res.Skip("routes", "Resources."+part.name, "%s of the %s API %s is not carried over", part.typ, p, name)
		}
		return
	}
	t.noteUnknown("api", src, props, "has no Portcullis equivalent", "Name", "Description", "Tags", "Body", "FailOnWarnings",
		"ProtocolType", "Version", "CorsConfiguration", "Target", "RouteKey", "DisableSchemaValidation")
	d := &cfnDoc{paths: map[string]map[string]any{}, schemes: map[string]any{}}
	integrations := map[string]map[string]any{}
	for _, p := range parts {
		if p.typ == "AWS::ApiGatewayV2::Integration" {
			integrations[p.name] = t.integration(p.props, p.src(), "ApiId", "Description")
		}
	}
	route := func(key string, op map[string]any, src string) {
		method, path, ok := strings.Cut(key, " ")
		if key == "$default" {
			method, path, ok = "ANY", "/$default", true
			op["isDefaultRoute"] = true
		}
		if !ok || !strings.HasPrefix(path, "/") {
			t.res.Skip("routes", src, "route key %q is neither $default nor METHOD /path; it is left out", key)
			return
		}
		d.add(t, path, strings.ToUpper(method), op, src)
	}
	if target := t.e.eval(props["Target"], src+".Target"); target != nil {
		// Quick create: one route (RouteKey, default $default) to Target,
		// with payload 2.0, and the $default stage.
		typ := "aws_proxy"
		if s := text(target); strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
			typ = "http_proxy"
		}
		key := text(t.e.eval(props["RouteKey"], src+".RouteKey"))
		if key == "" {
			key = "$default"
		}
		op := map[string]any{"security": []any{}, "x-amazon-apigateway-integration": map[string]any{"type": typ, "uri": target, "payloadFormatVersion": "2.0"}}
		route(key, op, src+".Target")
	}
	stage := ""
	var stages []cfnPart
	var settings *cfnPart // the stage whose settings apply
	for _, p := range parts {
		t.e.at = "routes"
		get := func(k string) any { return t.e.eval(p.props[k], p.src()+"."+k) }
		switch p.typ {
		case "AWS::ApiGatewayV2::Route":
			op := map[string]any{}
			t.security(op, text(get("AuthorizationType")), p.props["AuthorizerId"], p.props["AuthorizationScopes"], p.src())
			id, _ := strings.CutPrefix(text(get("Target")), "integrations/")
			in, ok := integrations[id]
			if !ok {
				t.res.Skip("routes", p.src()+".Target", "route %s left out: its Target names no integration of %s", text(get("RouteKey")), name)
				continue
			}
			op["x-amazon-apigateway-integration"] = in
			t.noteUnknown("routes", p.src(), p.props, "is not carried over", "ApiId", "RouteKey", "Target", "AuthorizationType",
				"AuthorizerId", "AuthorizationScopes", "OperationName")
			route(text(get("RouteKey")), op, p.src())
		case "AWS::ApiGatewayV2::Authorizer":
			d.schemes[p.name] = t.httpScheme(p)
		case "AWS::ApiGatewayV2::Stage":
			if s := text(get("StageName")); s != "$default" {
				stage = s
				settings = &p
			} else if stage == "" {
				settings = &p
			}
			stages = append(stages, p)
			t.noteUnknown("api", p.src(), p.props, "has no Portcullis equivalent", append([]string{"StageName", "ApiId", "AutoDeploy", "DeploymentId", "Description", "Tags"}, httpStageSettings...)...)
		}
	}
	a := t.cfnDefinition(name, true, props, d, stage, props["CorsConfiguration"])
	t.stageSettings(a, stages, settings, httpStageSettings)
}

// httpScheme writes an AWS::ApiGatewayV2::Authorizer as the security
// scheme API Gateway exports for it.
func (t *translator) httpScheme(p cfnPart) map[string]any {
	t.e.at = "authorizers." + p.name
	get := func(k string) any { return t.e.eval(p.props[k], p.src()+"."+k) }
	ext := map[string]any{"type": strings.ToLower(text(get("AuthorizerType")))}
	scheme := map[string]any{"type": "apiKey", "in": "header", "name": "Unused", openapi.SourceExtension: p.src()}
	if p.props["IdentitySource"] != nil {
		ext["identitySource"] = strings.Join(list(get("IdentitySource")), ",")
	}
	if ext["type"] == "jwt" {
		jc := asMap(get("JwtConfiguration"))
		ext["jwtConfiguration"] = map[string]any{"issuer": first(jc, "Issuer", "issuer"), "audience": first(jc, "Audience", "audience")}
		scheme = map[string]any{"type": "oauth2", "flows": map[string]any{}, openapi.SourceExtension: p.src()}
	}
	for cfn, oas := range map[string]string{
		"AuthorizerUri": "authorizerUri", "AuthorizerPayloadFormatVersion": "authorizerPayloadFormatVersion",
		"EnableSimpleResponses": "enableSimpleResponses", "AuthorizerResultTtlInSeconds": "authorizerResultTtlInSeconds",
		"AuthorizerCredentialsArn": "authorizerCredentials",
	} {
		if p.props[cfn] != nil {
			ext[oas] = get(cfn)
		}
	}
	t.noteUnknown("authorizers", p.src(), p.props, "is not carried over", "Name", "ApiId", "AuthorizerType", "IdentitySource",
		"JwtConfiguration", "AuthorizerUri", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses",
		"AuthorizerResultTtlInSeconds", "AuthorizerCredentialsArn")
	scheme["x-amazon-apigateway-authorizer"] = ext
	return scheme
}

// cfnDefinition reads d (and the API's own Body, when it has one) through
// the OpenAPI importer and records the API for finishAPIs.
func (t *translator) cfnDefinition(name string, http bool, props map[string]any, d *cfnDoc, stage string, cors any) *api {
	src := "Resources." + name + ".Properties"
	a := &api{id: name, http: http, props: map[string]any{}, src: src, auth: map[string]authorizer{}}
	if stage != "" {
		a.props["StageName"] = stage
	}
	if cors != nil {
		a.props["CorsConfiguration"] = cors
	}
	t.apis[name] = a
	before := len(t.res.Config.Routes)
	if props["Body"] != nil {
		t.definition(a, map[string]any{"DefinitionBody": props["Body"]}, src)
	}
	if props["BodyS3Location"] != nil {
		t.res.Skip("routes", src+".BodyS3Location", "a definition in S3 cannot be read; import the OpenAPI file itself")
	}
	if len(d.paths) > 0 || len(d.schemes) > 0 {
		paths := map[string]any{}
		for p, ops := range d.paths {
			paths[p] = ops
		}
		doc := map[string]any{
			"openapi": "3.0.1", "info": map[string]any{"title": name, "version": "1"},
			"paths": paths, "components": map[string]any{"securitySchemes": d.schemes},
		}
		if d.keySource != nil {
			doc["x-amazon-apigateway-api-key-source"] = d.keySource
		}
		data, err := json.Marshal(doc)
		if err == nil {
			err = openapi.Into(t.res, data, openapi.Options{
				Source: src, Functions: t.localFns, HTTP: &http,
				Region: t.o.Region, AccountID: t.o.AccountID, Partition: "aws",
			})
		}
		if err != nil {
			t.res.Skip("routes", src, "its resources could not be read as an API: %v", err)
		}
	}
	for _, r := range t.res.Config.Routes[before:] {
		t.keys[r.Route] = true
	}
	a.routes += len(t.res.Config.Routes) - before
	if len(t.res.Config.Routes) == before {
		t.res.Skip("routes", src, "API %s has no routes that could be carried over", name)
	}
	return a
}
