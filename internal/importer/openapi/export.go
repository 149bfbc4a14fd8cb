package openapi

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/route"
)

// Export writes c as an OpenAPI 3.0 definition with API Gateway's
// extensions, the shape an HTTP API import takes: routes as paths (ANY as
// x-amazon-apigateway-any-method, $default as the default route),
// authorizers as security schemes, integrations as
// x-amazon-apigateway-integration (a function as the Lambda ARN of the
// same name in api.region and api.account_id), `cors:` as
// x-amazon-apigateway-cors. What API Gateway has no field
// for (listen addresses, functions and how they run, JWT key settings)
// goes into x-portcullis extensions, which API Gateway ignores, so that
// importing the export gives c back.
func Export(c *config.Config) ([]byte, error) {
	region, account := c.API.Region, c.API.AccountID
	if region == "" {
		region = "us-east-1"
	}
	if account == "" {
		account = "000000000000"
	}
	title := c.API.ID
	if title == "" {
		title = "portcullis"
	}
	doc := map[string]any{
		"openapi": "3.0.1",
		"info":    map[string]any{"title": title, "version": "1.0"},
	}
	x := map[string]any{}
	for key, v := range processSettings(c) {
		if g := generic(v); g != nil {
			x[key] = g
		}
	}
	if len(x) > 0 {
		doc[extPortcullis] = x
	}
	if c.CORS != nil {
		doc["x-amazon-apigateway-cors"] = exportCORS(c.CORS)
	}
	lambdaURI := func(fn string) string {
		return "arn:aws:apigateway:" + region + ":lambda:path/2015-03-31/functions/arn:aws:lambda:" + region + ":" + account + ":function:" + fn + "/invocations"
	}

	schemes := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(c.Authorizers)) {
		s, err := exportAuthorizer(c.Authorizers[name], lambdaURI)
		if err != nil {
			return nil, fmt.Errorf("openapi export: authorizers.%s: %w", name, err)
		}
		schemes[name] = s
	}
	keyScheme := ""
	for _, r := range c.Routes {
		if r.APIKeyRequired && keyScheme == "" {
			// API Gateway's own form of apiKeyRequired, as its exports write it.
			keyScheme = "api_key"
			for schemes[keyScheme] != nil {
				keyScheme += "_"
			}
			schemes[keyScheme] = map[string]any{"type": "apiKey", "name": "x-api-key", "in": "header"}
		}
	}
	if c.APIKeys != nil {
		source := c.APIKeys.Source
		if source == "" {
			source = "HEADER"
		}
		doc["x-amazon-apigateway-api-key-source"] = source
	}
	if len(schemes) > 0 {
		doc["components"] = map[string]any{"securitySchemes": schemes}
	}
	if len(c.GatewayResponses) > 0 {
		gr := map[string]any{}
		for name, g := range c.GatewayResponses {
			gr[name] = importer.ExportGatewayResponse(g)
		}
		doc["x-amazon-apigateway-gateway-responses"] = gr
	}

	paths := map[string]any{}
	for i, r := range c.Routes {
		key, err := route.ParseKey(r.Route)
		if err != nil {
			return nil, fmt.Errorf("openapi export: routes[%d]: %w", i, err)
		}
		op := map[string]any{
			"responses":                       map[string]any{"default": map[string]any{"description": "Default response"}},
			"x-amazon-apigateway-integration": exportIntegration(r.Integration, key.Method, lambdaURI),
		}
		security := map[string]any{}
		if r.Authorizer != "" {
			scopes := []any{}
			for _, s := range r.AuthorizationScopes {
				scopes = append(scopes, s)
			}
			security[r.Authorizer] = scopes
		}
		if r.APIKeyRequired {
			security[keyScheme] = []any{}
		}
		if len(security) > 0 {
			op["security"] = []any{security}
		}
		path, method := key.Path, strings.ToLower(key.Method)
		if key.IsDefault() {
			path, method = "$default", "ANY"
			op["isDefaultRoute"] = true
		}
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		if method == "any" || method == "ANY" {
			item["x-amazon-apigateway-any-method"] = op
		} else {
			item[method] = op
		}
	}
	doc["paths"] = paths
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("openapi export: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("openapi export: %w", err)
	}
	return b.Bytes(), nil
}

func exportAuthorizer(a config.Authorizer, lambdaURI func(string) string) (map[string]any, error) {
	extra := config.Authorizer{}
	var s map[string]any
	switch a.Type {
	case "jwt":
		src := "$request.header.Authorization"
		if len(a.IdentitySource) > 0 {
			src = strings.Join(a.IdentitySource, ", ")
		}
		aud := []any{}
		for _, v := range a.Audience {
			aud = append(aud, v)
		}
		jc := map[string]any{"issuer": a.Issuer, "audience": aud}
		if len(a.Issuers) > 0 {
			jc = restJWTConfiguration(a)
		}
		s = map[string]any{
			"type":  "oauth2",
			"flows": map[string]any{},
			"x-amazon-apigateway-authorizer": map[string]any{
				"type":             "jwt",
				"identitySource":   src,
				"jwtConfiguration": jc,
			},
		}
		extra = config.Authorizer{JWKSURI: a.JWKSURI, JWKSFile: a.JWKSFile, Algorithms: a.Algorithms, ClockSkew: a.ClockSkew,
			HMACSecret: a.HMACSecret, RefreshInterval: a.RefreshInterval, JWKSMaxStale: a.JWKSMaxStale, CacheSize: a.CacheSize,
			RequireCertificateBinding: a.RequireCertificateBinding}
		for _, is := range a.Issuers {
			if is.JWKSURI != "" || is.JWKSFile != "" { // not in AWS's form: the whole list goes in ours
				extra.Issuers = a.Issuers
				break
			}
		}
	case "lambda":
		ttl := DefaultRESTResultTTL
		if a.ResultTTL != nil {
			ttl = a.ResultTTL.Std()
		}
		auth := map[string]any{
			"authorizerUri":                lambdaURI(a.Function),
			"identitySource":               strings.Join(a.IdentitySource, ", "),
			"authorizerResultTtlInSeconds": int(ttl / time.Second),
		}
		header := "Unused"
		if len(a.IdentitySource) == 1 {
			for _, p := range []string{"method.request.header.", "$request.header."} {
				if h, ok := strings.CutPrefix(a.IdentitySource[0], p); ok {
					header = h
				}
			}
		}
		if a.EventType == "TOKEN" {
			auth["type"] = "token"
			if a.IdentityValidationExpression != "" {
				auth["identityValidationExpression"] = a.IdentityValidationExpression
			}
		} else {
			auth["type"] = "request"
			auth["authorizerPayloadFormatVersion"] = a.PayloadFormatVersion
			if a.EnableSimpleResponses {
				auth["enableSimpleResponses"] = true
			}
		}
		s = map[string]any{
			"type": "apiKey", "name": header, "in": "header",
			"x-amazon-apigateway-authtype":   "custom",
			"x-amazon-apigateway-authorizer": auth,
		}
		extra = config.Authorizer{Timeout: a.Timeout, CacheSize: a.CacheSize}
	default:
		return nil, fmt.Errorf("unknown authorizer type %q", a.Type)
	}
	if g := generic(extra); g != nil {
		s[extAuthorizer] = g
	}
	return s, nil
}

func exportIntegration(in config.Integration, method string, lambdaURI func(string) string) map[string]any {
	out := map[string]any{}
	switch in.Type {
	case "lambda_proxy":
		v := in.PayloadFormatVersion
		if v == "" {
			v = "2.0"
		}
		out = map[string]any{"type": "aws_proxy", "httpMethod": "POST", "uri": lambdaURI(in.Function), "payloadFormatVersion": v}
	case "http_proxy":
		out = map[string]any{"type": "http_proxy", "httpMethod": method, "uri": in.URI, "payloadFormatVersion": "1.0"}
		if len(in.RequestParameters) > 0 {
			params := map[string]any{}
			for k, v := range in.RequestParameters {
				params[k] = v
			}
			out["requestParameters"] = params
		}
	case "mock":
		status := in.Status
		if status == 0 {
			status = 200
		}
		ct := "application/json"
		params := map[string]any{}
		for k, v := range in.Headers {
			if strings.EqualFold(k, "content-type") {
				ct = v
			}
			params["method.response.header."+k] = "'" + v + "'"
		}
		resp := map[string]any{"statusCode": fmt.Sprint(status), "responseTemplates": map[string]any{ct: in.Body}}
		if len(params) > 0 {
			resp["responseParameters"] = params
		}
		out = map[string]any{
			"type":                "mock",
			"requestTemplates":    map[string]any{"application/json": fmt.Sprintf(`{"statusCode": %d}`, status)},
			"passthroughBehavior": "when_no_match",
			"responses":           map[string]any{"default": resp},
		}
	}
	if in.Timeout != 0 {
		out["timeoutInMillis"] = int(in.Timeout.Std() / time.Millisecond)
	}
	return out
}

// generic renders a configuration value as plain maps and lists, unset
// fields left out; nil when nothing is set.
// inDefinition are the top-level blocks an OpenAPI definition expresses
// itself (paths, security schemes, API Gateway extensions); every other
// block is a setting of the process serving the API and travels in the
// x-portcullis extension.
var inDefinition = map[string]bool{"routes": true, "authorizers": true, "cors": true, "gateway_responses": true}

// processSettings are c's top-level blocks that are not in inDefinition,
// by their YAML names. It reads the struct, so a block added to
// config.Config travels without a change here.
func processSettings(c *config.Config) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" || inDefinition[name] {
			continue
		}
		out[name] = v.Field(i).Interface()
	}
	return out
}

// setProcessSettings copies from's blocks that processSettings exports
// into c.
func setProcessSettings(c, from *config.Config) {
	dst, src := reflect.ValueOf(c).Elem(), reflect.ValueOf(from).Elem()
	for i := range dst.NumField() {
		name, _, _ := strings.Cut(dst.Type().Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" || inDefinition[name] || name == "functions" {
			continue
		}
		dst.Field(i).Set(src.Field(i))
	}
}

func generic(v any) any {
	n := importer.Node(v)
	if (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) == 0 {
		return nil
	}
	if n.Kind == yaml.ScalarNode && (n.Value == "" || n.Tag == "!!null") {
		return nil
	}
	var out any
	if err := n.Decode(&out); err != nil {
		return nil
	}
	return out
}

// exportCORS is `cors:` as x-amazon-apigateway-cors, whose keys are the
// same lower-camel names.
func exportCORS(c *config.CORS) map[string]any {
	out := map[string]any{}
	for key, list := range map[string][]string{"allowOrigins": c.AllowOrigins, "allowMethods": c.AllowMethods, "allowHeaders": c.AllowHeaders, "exposeHeaders": c.ExposeHeaders} {
		if len(list) > 0 {
			vs := make([]any, len(list))
			for i, v := range list {
				vs[i] = v
			}
			out[key] = vs
		}
	}
	if c.MaxAge != nil {
		out["maxAge"] = *c.MaxAge
	}
	if c.AllowCredentials {
		out["allowCredentials"] = true
	}
	return out
}

// restJWTConfiguration is a REST-shape jwt authorizer's jwtConfiguration,
// in AWS's JwtConfiguration names.
func restJWTConfiguration(a config.Authorizer) map[string]any {
	jc := map[string]any{}
	if len(a.Algorithms) > 0 {
		jc["defaultAlgorithms"] = anyList(a.Algorithms)
	}
	var issuers []any
	for _, is := range a.Issuers {
		e := map[string]any{"issuer": is.Issuer, "audiences": anyList(is.Audience)}
		var claims []any
		for _, c := range is.AdditionalClaims {
			m := map[string]any{"claimName": c.Name, "format": "SINGLE_STRING", "required": c.Required}
			if len(c.Values) > 0 {
				m["expectedValues"] = anyList(c.Values)
			}
			claims = append(claims, m)
		}
		if len(claims) > 0 {
			e["additionalClaims"] = claims
		}
		issuers = append(issuers, e)
	}
	jc["issuers"] = issuers
	return jc
}

func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
