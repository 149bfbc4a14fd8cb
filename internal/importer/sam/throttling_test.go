package sam_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// throttlingText writes c as "default RATE/BURST; KEY RATE/BURST; ...",
// "-" for a limit left out.
func throttlingText(c config.Throttling) string {
	limit := func(l config.Throttle) string {
		r, b := "-", "-"
		if l.Rate != nil {
			r = fmt.Sprint(*l.Rate)
		}
		if l.Burst != nil {
			b = fmt.Sprint(*l.Burst)
		}
		return r + "/" + b
	}
	var parts []string
	if c.Default != nil {
		parts = append(parts, "default "+limit(*c.Default))
	}
	keys := make([]string, 0, len(c.Routes))
	for k := range c.Routes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+" "+limit(c.Routes[k]))
	}
	return strings.Join(parts, "; ")
}

// TestThrottling: a stage's throttling becomes `throttling:` (rate/burst):
// an HTTP API's DefaultRouteSettings and RouteSettings (SAM's HttpApi with
// its events' RouteSettings winning, AWS::ApiGatewayV2::Stage), a REST
// API's MethodSettings (SAM's Api, AWS::ApiGateway::Stage) with "/*" "*"
// the default, "~1" for "/" in resource paths, a wildcard method or
// resource for each route it matches and the specific settings winning;
// intrinsics resolved. Logging, metrics and caching settings, another
// API's or stage's settings, routes the import does not produce, negative
// limits and one limit where Portcullis needs both are noted and never
// written. Before, every such setting was noted as having "no Portcullis
// equivalent" and the throttling was lost.
func TestThrottling(t *testing.T) {
	httpEvents := pythonFn(`
        A: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /pets, Method: get}}
        B: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /pets, Method: post}}`)
	restEvents := pythonFn(`
        A: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /pets, Method: get}}
        B: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /pets, Method: post}}
        C: {Type: Api, Properties: {RestApiId: !Ref Api, Path: '/pets/{id}', Method: get}}`)
	for _, tc := range []struct {
		name, tmpl string
		want       string   // throttlingText
		notes      []string // each in one note
	}{
		{"http api", `
Parameters:
  Rate: {Type: Number, Default: 50}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings:
        ThrottlingBurstLimit: 100
        ThrottlingRateLimit: !Ref Rate
        DetailedMetricsEnabled: true
      RouteSettings:
        GET /pets: {ThrottlingBurstLimit: 5}
        POST /pets: {ThrottlingBurstLimit: 7, ThrottlingRateLimit: 1.5}
        GET /gone: {ThrottlingBurstLimit: 1, ThrottlingRateLimit: 1}` + pythonFn(`
        A: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /pets, Method: get}}
        B: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /pets, Method: post, RouteSettings: {ThrottlingRateLimit: 3}}}`),
			"default 50/100; GET /pets -/5; POST /pets 3/7",
			[]string{"Resources.Api.Properties.DefaultRouteSettings (at api): DetailedMetricsEnabled: AWS's stage logging, metrics and caching settings have no Portcullis equivalent",
				"Resources.Api.Properties.RouteSettings.GET /gone (at throttling): throttling for route GET /gone, which the import does not produce"}},
		{"http api globals, one limit, negative", `
Globals:
  HttpApi:
    DefaultRouteSettings: {ThrottlingBurstLimit: 10}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      RouteSettings:
        GET /pets: {ThrottlingRateLimit: 2}
        POST /pets: {ThrottlingBurstLimit: -1, ThrottlingRateLimit: 5}` + httpEvents,
			"",
			[]string{"(at throttling): the stage's default throttling sets one of ThrottlingRateLimit and ThrottlingBurstLimit: Portcullis's throttling.default needs both",
				"(at throttling): route GET /pets's throttling sets one of ThrottlingRateLimit and ThrottlingBurstLimit, and there is no default",
				"Resources.Api.Properties.RouteSettings.POST /pets.ThrottlingBurstLimit (at throttling.routes[\"POST /pets\"]): ThrottlingBurstLimit -1: Portcullis's burst is a whole number, 0 or more"}},
		{"burst too long to refill", `
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingBurstLimit: 2000000000, ThrottlingRateLimit: 0.001}` + httpEvents,
			"",
			[]string{"(at throttling): the stage's throttling is not carried over: check would refuse it: ", "takes more than"}},
		{"rest api", `
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      MethodSettings:
        - {ResourcePath: '/~1pets~1{id}', HttpMethod: GET, ThrottlingBurstLimit: 1, ThrottlingRateLimit: 1}
        - {ResourcePath: /~1pets, HttpMethod: '*', ThrottlingBurstLimit: 20, LoggingLevel: INFO}
        - {ResourcePath: /*, HttpMethod: '*', ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50, MetricsEnabled: true}
        - {ResourcePath: /~1pets, HttpMethod: POST, ThrottlingRateLimit: 2}
        - {ResourcePath: /~1nothing, HttpMethod: '*', ThrottlingRateLimit: 2}
        - {ResourcePath: /~1nothing, HttpMethod: GET, ThrottlingRateLimit: 2}
        - {ResourcePath: /~1pets, HttpMethod: PUT, CachingEnabled: true}` + restEvents,
			"default 50/100; GET /pets -/20; GET /pets/{id} 1/1; POST /pets 2/20",
			[]string{"Resources.Api.Properties.MethodSettings[1] (at api): LoggingLevel: AWS's stage logging",
				"Resources.Api.Properties.MethodSettings[2] (at api): MetricsEnabled",
				"Resources.Api.Properties.MethodSettings[6] (at api): CachingEnabled",
				"Resources.Api.Properties.MethodSettings[4] (at throttling): method settings for * /nothing match no route the import produces",
				"Resources.Api.Properties.MethodSettings[5] (at throttling): throttling for route GET /nothing, which the import does not produce"}},
		{"two apis", `
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5}
  Other:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingBurstLimit: 1, ThrottlingRateLimit: 1}` + pythonFn(`
        A: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /pets, Method: get}}
        B: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /pets, Method: post}}
        C: {Type: HttpApi, Properties: {ApiId: !Ref Other, Path: /other, Method: get, RouteSettings: {ThrottlingBurstLimit: 3}}}`),
			"default 5/10",
			[]string{"Resources.Other.Properties.DefaultRouteSettings (at throttling): Portcullis applies one API's stage throttling, Api's",
				"Resources.Fn.Properties.Events.C.Properties.RouteSettings (at throttling): Portcullis applies one API's stage throttling, Api's",
				"Resources.Other.Properties (at throttling.default): API Other's routes get Api's default throttling too"}},
		{"cloudformation http api", `
Parameters:
  Burst: {Type: String, Default: "8"}
Resources:` + cfnHTTPPets + `
  DefaultStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: $default
      DefaultRouteSettings: {ThrottlingBurstLimit: 1, ThrottlingRateLimit: 1}
  ProdStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: prod
      DefaultRouteSettings: {ThrottlingBurstLimit: !Ref Burst, ThrottlingRateLimit: 4, LoggingLevel: INFO}
      RouteSettings:
        GET /pets: {ThrottlingRateLimit: 2, DataTraceEnabled: false}` + pythonFn(""),
			"default 4/8; GET /pets 2/-",
			[]string{"Resources.DefaultStage.Properties.DefaultRouteSettings (at api): Portcullis serves one stage of Api: ProdStage's settings apply",
				"Resources.ProdStage.Properties.DefaultRouteSettings (at api): LoggingLevel",
				"Resources.ProdStage.Properties.RouteSettings.GET /pets (at api): DataTraceEnabled"}},
		{"cloudformation rest api", "\nResources:" + cfnRestPets + cfnRestStage(`
      MethodSettings:
        - {ResourcePath: /*, HttpMethod: '*', ThrottlingBurstLimit: 30, ThrottlingRateLimit: 10}
        - {ResourcePath: /~1pets, HttpMethod: GET, ThrottlingBurstLimit: 3}`) + pythonFn(""),
			"default 10/30; GET /pets -/3",
			nil},
		{"cloudformation rest api, the deployment's stage", `
Parameters:
  Rate: {Type: Number, Default: 10}
Resources:` + cfnRestPets + `
  Deployment:
    Type: AWS::ApiGateway::Deployment
    Properties:
      RestApiId: !Ref Api
      StageName: prod
      StageDescription:
        ThrottlingBurstLimit: 30
        ThrottlingRateLimit: !Ref Rate
        MetricsEnabled: true
        MethodSettings:
          - {ResourcePath: /~1pets, HttpMethod: GET, ThrottlingBurstLimit: 3}` + pythonFn(""),
			"default 10/30; GET /pets -/3",
			[]string{"Resources.Deployment.Properties.StageDescription.MetricsEnabled (at api): MetricsEnabled has no Portcullis equivalent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := "Transform: AWS::Serverless-2016-10-31\n" + strings.TrimPrefix(tc.tmpl, "\n")
			res := importTemplate(t, tmpl)
			if got := throttlingText(res.Config.Throttling); got != tc.want {
				t.Errorf("throttling = %q\nwant %q", got, tc.want)
			}
			notes := wantNotes(t, res, tc.notes)
			for _, n := range notes {
				if strings.Contains(n, "Settings") && strings.Contains(n, "no Portcullis equivalent") && !strings.Contains(n, "logging, metrics and caching") {
					t.Errorf("a stage's settings noted as having no equivalent: %s", n)
				}
			}
		})
	}
}

// TestServeThrottling: an HTTP API's stage throttling, imported, is served:
// GET /pets (its RouteSettings' burst of 2, from a parameter, at the
// default's rate) answers twice, then 429 as AWS does; GET /health has a
// bucket of its own, the default's 5.
func TestServeThrottling(t *testing.T) {
	python3OnPath(t)
	cfg, stderr := importFile(t, "testdata/http-throttle/template.yaml")
	wantText(t, cfg, "throttling:\n  default:\n    rate: 0.001\n    burst: 5\n  routes:\n    GET /pets:\n      burst: 2\n")
	wantStderr(t, stderr, "DetailedMetricsEnabled: AWS's stage logging, metrics and caching settings have no Portcullis equivalent")
	base := serve(t, cfg)
	pets := exchange{"GET", "/pets", nil, 200, `{"route": "GET /pets"}`, false}
	health := exchange{"GET", "/health", nil, 200, `{"route": "GET /health"}`, false}
	tooMany := exchange{"GET", "/pets", nil, 429, `{"message":"Too Many Requests"}`, false}
	check(t, base, []exchange{pets, pets, tooMany, tooMany, health, health, health})
}
