package openapi

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// TestImportGatewayResponses: x-amazon-apigateway-gateway-responses becomes
// gateway_responses: statusCode as a number or a string, header
// parameters in AWS's forms, the application/json template; a request
// header's value, other parameters and other templates are noted, not
// carried.
func TestImportGatewayResponses(t *testing.T) {
	res, err := Import([]byte(`{
  "openapi": "3.0.1",
  "info": {"title": "t", "version": "1"},
  "paths": {"/x": {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "httpMethod": "GET", "uri": "http://127.0.0.1:9/x"}}}},
  "x-amazon-apigateway-gateway-responses": {
    "MISSING_AUTHENTICATION_TOKEN": {
      "statusCode": 404,
      "responseParameters": {
        "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
        "gatewayresponse.header.x-request-path": "method.request.path.petId",
        "gatewayresponse.header.x-auth": "method.request.header.Authorization",
        "gatewayresponse.querystring.q": "'x'"
      },
      "responseTemplates": {
        "application/json": "{\"message\":$context.error.messageString,\"type\":\"$context.error.responseType\"}",
        "text/html": "<p>$context.error.message</p>"
      }
    },
    "DEFAULT_5XX": {"statusCode": "503"}
  }
}`), Options{Source: "api.json"})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"message":$context.error.messageString,"type":"$context.error.responseType"}`
	want := map[string]config.GatewayResponse{
		"MISSING_AUTHENTICATION_TOKEN": {
			Status:  404,
			Headers: map[string]string{"Access-Control-Allow-Origin": "'*'", "x-request-path": "method.request.path.petId"},
			Body:    &body,
		},
		"DEFAULT_5XX": {Status: 503},
	}
	if !reflect.DeepEqual(res.Config.GatewayResponses, want) {
		t.Errorf("gateway_responses %+v\nwant %+v", res.Config.GatewayResponses, want)
	}
	var notes []string
	for _, n := range res.Notes {
		notes = append(notes, n.String())
	}
	all := strings.Join(notes, "\n")
	for _, w := range []string{
		"method.request.header.Authorization: a Portcullis gateway response never shows the request's headers",
		"gatewayresponse.querystring.q (at gateway_responses.MISSING_AUTHENTICATION_TOKEN.headers): only gatewayresponse.header.NAME",
		"text/html (at gateway_responses.MISSING_AUTHENTICATION_TOKEN.body): Portcullis answers with one template per gateway response; the application/json one is used",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("notes lack %q:\n%s", w, all)
		}
	}
}

// TestRoundTripGatewayResponses: export writes gateway_responses as
// x-amazon-apigateway-gateway-responses (a Content-Type header as the
// template's content type) and importing the export gives them back.
func TestRoundTripGatewayResponses(t *testing.T) {
	f, err := config.Parse("gw.yaml", []byte(`listen: 127.0.0.1:8080
routes:
  - {route: GET /x, integration: {type: http_proxy, uri: "http://127.0.0.1:9/x"}}
gateway_responses:
  UNAUTHORIZED:
    status: 401
    headers: {WWW-Authenticate: "'Bearer realm=\"orders\"'", X-Id: context.requestId, X-Path: method.request.path.id}
    body: '{"message":$context.error.messageString,"requestId":"${context.requestId}"}'
  DEFAULT_4XX:
    headers: {Access-Control-Allow-Origin: "'*'"}
  INTEGRATION_TIMEOUT:
    status: 503
    headers: {Content-Type: "'text/plain'"}
    body: 'try later'
`), keepVars)
	if err != nil {
		t.Fatal(err)
	}
	def, err := Export(&f.Config)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(def), "x-amazon-apigateway-gateway-responses") || !strings.Contains(string(def), "gatewayresponse.header.WWW-Authenticate") {
		t.Fatalf("export lacks the gateway responses:\n%s", def)
	}
	back := roundTrip(t, &f.Config)
	if !reflect.DeepEqual(back.GatewayResponses, f.Config.GatewayResponses) {
		t.Errorf("import(export(c)) gateway_responses\n%+v\nwant\n%+v\n%s", back.GatewayResponses, f.Config.GatewayResponses, def)
	}
}

// TestImportGatewayResponsesSwagger2: REST definitions are often Swagger
// 2.0 (SAM's default); the root extension survives the conversion.
func TestImportGatewayResponsesSwagger2(t *testing.T) {
	res, err := Import([]byte(`swagger: "2.0"
info: {title: t, version: "1"}
paths:
  /x:
    get:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:9/x"}
x-amazon-apigateway-gateway-responses:
  ACCESS_DENIED:
    statusCode: "403"
    responseParameters: {gatewayresponse.header.Access-Control-Allow-Origin: "'*'"}
`), Options{Source: "swagger.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]config.GatewayResponse{"ACCESS_DENIED": {Status: 403, Headers: map[string]string{"Access-Control-Allow-Origin": "'*'"}}}
	if !reflect.DeepEqual(res.Config.GatewayResponses, want) {
		t.Errorf("gateway_responses %+v, want %+v (notes %v)", res.Config.GatewayResponses, want, res.Notes)
	}
}
