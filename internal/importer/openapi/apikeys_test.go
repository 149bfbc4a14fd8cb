package openapi

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// TestImportAPIKeys: API Gateway's ways of requiring an API key (the
// api_key security scheme alone or beside an authorizer, and
// x-amazon-apigateway-api-key-required) become api_key_required with an
// api_keys block whose source is x-amazon-apigateway-api-key-source; the
// route is never left out or served without its key.
func TestImportAPIKeys(t *testing.T) {
	const schemes = `
components:
  securitySchemes:
    api_key: {type: apiKey, name: x-api-key, in: header}
    tok:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer: {type: token, authorizerUri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations"}
`
	const mock = `x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}}`
	for _, c := range []struct {
		name, def  string
		authorizer string
		source     string
		note       string // in the notes besides the keys' and plans'
	}{
		{name: "security api_key", source: "HEADER",
			def: "paths:\n  /r:\n    get:\n      security: [{api_key: []}]\n      " + mock + "\n"},
		{name: "api_key beside an authorizer", authorizer: "tok", source: "AUTHORIZER",
			def: "x-amazon-apigateway-api-key-source: AUTHORIZER\npaths:\n  /r:\n    get:\n      security: [{api_key: [], tok: []}]\n      " + mock + "\n"},
		{name: "document-wide security", source: "HEADER",
			def: "security: [{api_key: []}]\npaths:\n  /r:\n    get:\n      " + mock + "\n"},
		{name: "x-amazon-apigateway-api-key-required", source: "HEADER",
			def: "x-amazon-apigateway-api-key-source: header\npaths:\n  /r:\n    get:\n      x-amazon-apigateway-api-key-required: true\n      " + mock + "\n"},
		{name: "unknown key source", source: "HEADER", note: "API key source QUERY",
			def: "x-amazon-apigateway-api-key-source: QUERY\npaths:\n  /r:\n    get:\n      security: [{api_key: []}]\n      " + mock + "\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			def := "openapi: 3.0.1\ninfo: {title: t, version: '1'}\n" + c.def + schemes
			res, err := Import([]byte(def), Options{Source: "api.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Config.Routes) != 1 {
				t.Fatalf("routes: %+v; notes %v", res.Config.Routes, res.Notes)
			}
			r := res.Config.Routes[0]
			if !r.APIKeyRequired || r.Authorizer != c.authorizer {
				t.Errorf("route %+v; want api_key_required with authorizer %q", r, c.authorizer)
			}
			if want := (config.APIKeys{Source: c.source, KeysFile: "api-keys.yaml"}); res.Config.APIKeys == nil || *res.Config.APIKeys != want {
				t.Errorf("api_keys %+v; want %+v", res.Config.APIKeys, want)
			}
			var notes []string
			for _, n := range res.Notes {
				notes = append(notes, n.String())
			}
			all := strings.Join(notes, "\n")
			for _, w := range []string{"portcullis apikey create", "add one under usage_plans", c.note} {
				if !strings.Contains(all, w) {
					t.Errorf("notes lack %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestRoundTripAPIKeys: an exported configuration keeps api_key_required
// in API Gateway's form (the api_key scheme in the route's security, the
// key source at the root), so API Gateway does not serve the route
// without a key, and importing the export gives the routes back.
func TestRoundTripAPIKeys(t *testing.T) {
	ttl := config.Duration(0)
	c := &config.Config{
		APIKeys:    &config.APIKeys{Source: "HEADER", KeysFile: "keys.yaml"},
		UsagePlans: map[string]config.UsagePlan{"gold": {Quota: &config.UsagePlanQuota{Limit: 10, Period: "DAY"}}},
		Functions:  map[string]config.Function{"auth": {Runtime: "invoke", FunctionName: "auth", Region: "us-east-1"}},
		Authorizers: map[string]config.Authorizer{"tok": {Type: "lambda", Function: "auth", EventType: "TOKEN", PayloadFormatVersion: "1.0",
			IdentitySource: config.Strings{"method.request.header.Authorization"}, ResultTTL: &ttl}},
		Routes: []config.Route{
			{Route: "GET /a", APIKeyRequired: true, Integration: config.Integration{Type: "mock"}},
			{Route: "GET /b", APIKeyRequired: true, Authorizer: "tok", Integration: config.Integration{Type: "mock"}},
			{Route: "GET /c", Integration: config.Integration{Type: "mock"}},
		},
	}
	def, err := Export(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"x-amazon-apigateway-api-key-source: HEADER", "api_key:\n      in: header\n      name: x-api-key\n      type: apiKey", "- api_key: []\n", "- api_key: []\n          tok: []\n"} {
		if !strings.Contains(string(def), w) {
			t.Errorf("export lacks %q:\n%s", w, def)
		}
	}
	back := roundTrip(t, c)
	got := map[string]config.Route{}
	for _, r := range back.Routes {
		got[r.Route] = r
	}
	for _, want := range c.Routes {
		if r := got[want.Route]; r.APIKeyRequired != want.APIKeyRequired || r.Authorizer != want.Authorizer {
			t.Errorf("%s came back as %+v; want api_key_required %t, authorizer %q", want.Route, r, want.APIKeyRequired, want.Authorizer)
		}
	}
}
