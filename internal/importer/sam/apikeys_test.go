package sam_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/cli"
)

// TestServeRESTAPIKeys: a REST API whose Auth.ApiKeyRequired covers every
// route but one (the event's ApiKeyRequired: false wins), with the usage
// plan SAM creates for it (PER_API): the routes keep their key requirement
// and the plan its quota and throttle; once the user has made a key as the
// import's note says, a request without it is 403, with it 200 until the
// quota is used up (429), and the open route needs none.
func TestServeRESTAPIKeys(t *testing.T) {
	python3OnPath(t)
	cfg, stderr := importFile(t, "testdata/rest-apikeys/template.yaml")
	wantText(t, cfg, "- route: GET /reports\n    api_key_required: true\n", "api_keys:\n  source: HEADER\n",
		"usage_plans:\n  ReportsApiUsagePlan:\n    throttle:\n      rate: 5\n      burst: 10\n    quota:\n      limit: 2\n      period: DAY\n")
	if text, _ := os.ReadFile(cfg); strings.Contains(string(text), "GET /health\n    api_key_required") {
		t.Errorf("GET /health requires a key, though its event says ApiKeyRequired: false:\n%s", text)
	}
	wantStderr(t, stderr, "portcullis apikey create -c CONFIG --name NAME --plan ReportsApiUsagePlan")
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"apikey", "create", "-c", cfg, "--name", "partner", "--plan", "ReportsApiUsagePlan"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("apikey create: exit %d\n%s", code, errOut.String())
	}
	key := []string{"X-Api-Key", strings.TrimSpace(out.String())}
	base := serve(t, cfg)
	check(t, base, []exchange{
		{"GET", "/reports", nil, 403, `{"message":"Forbidden"}`, false},
		{"GET", "/reports", []string{"X-Api-Key", "not-a-key-0123456789abcdef"}, 403, `{"message":"Forbidden"}`, false},
		{"GET", "/reports", key, 200, `"resource": "/reports"`, true},
		{"GET", "/reports", key, 200, `"resource": "/reports"`, true},
		{"GET", "/reports", key, 429, `{"message":"Limit Exceeded"}`, false},
		{"GET", "/health", nil, 200, `{"apiKeyId": null, "resource": "/health"}`, false},
	})
}

// TestAPIKeyRequiredFailsClosed: ApiKeyRequired written other than as a
// YAML boolean (a String parameter's "true", an unresolved value), on the
// API's Auth or an event's, never leaves a route served without its key:
// "true" in any case requires the key, as CloudFormation reads it, and a
// value that is not false is noted and the route left out.
func TestAPIKeyRequiredFailsClosed(t *testing.T) {
	for _, c := range []struct {
		name, api, event string
		required         bool   // the route is kept and requires a key
		note             string // when the route is left out
	}{
		{name: "event, string parameter", event: "!Ref Need", required: true},
		{name: "api, string parameter", api: "!Ref Need", required: true},
		{name: "event, string false", event: "'false'", required: false},
		{name: "event, unreadable", event: "[true]", note: "ApiKeyRequired"},
		{name: "api, unreadable", api: "{Fn::GetAtt: [Nothing, Arn]}", note: "ApiKeyRequired"},
	} {
		t.Run(c.name, func(t *testing.T) {
			apiAuth, evAuth := "", ""
			if c.api != "" {
				apiAuth = "\n      Auth: {ApiKeyRequired: " + c.api + "}"
			}
			if c.event != "" {
				evAuth = ", Auth: {ApiKeyRequired: " + c.event + "}"
			}
			tmpl := `Transform: AWS::Serverless-2016-10-31
Parameters:
  Need: {Type: String, Default: "TRUE"}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1` + apiAuth + pythonFn(`
        A: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /r, Method: get`+evAuth+`}}`)
			res := importTemplate(t, tmpl)
			routes := res.Config.Routes
			if c.note != "" {
				if len(routes) != 0 && !routes[0].APIKeyRequired {
					t.Errorf("route served without a key: %+v", routes)
				}
				wantNotes(t, res, []string{c.note})
				return
			}
			if len(routes) != 1 || routes[0].APIKeyRequired != c.required {
				t.Errorf("routes %+v; want one with api_key_required %t", routes, c.required)
			}
		})
	}
}

// TestCloudFormationAPIKeyRequiredFailsClosed: an AWS::ApiGateway::Method's
// ApiKeyRequired from a String parameter ("true") requires the key, as the
// SAM one does; it was read as false and the method served open.
func TestCloudFormationAPIKeyRequiredFailsClosed(t *testing.T) {
	tmpl := "Parameters:\n  Need: {Type: String, Default: \"true\"}\nResources:" +
		strings.Replace(cfnRestPets, "      AuthorizationType: NONE\n", "      AuthorizationType: NONE\n      ApiKeyRequired: !Ref Need\n", 1) + cfnRestStage("") + `
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: app.handler, CodeUri: fn/}
`
	res := importTemplate(t, tmpl)
	if r := res.Config.Routes; len(r) != 1 || !r[0].APIKeyRequired {
		t.Errorf("routes %+v; want GET /pets with api_key_required", r)
	}
}
