package openapi

import (
	"reflect"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// TestImportRESTJWTAuthorizer: the REST JWT authorizer's OpenAPI form
// (jwtConfiguration with defaultAlgorithms and issuers) becomes a jwt
// authorizer with issuers, and exports back to the same form.
func TestImportRESTJWTAuthorizer(t *testing.T) {
	def := []byte(`openapi: 3.0.1
info: {title: orders, version: "1"}
paths:
  /orders/{id}:
    get:
      security: [{multi: [orders/read]}]
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:9000/orders/{id}", payloadFormatVersion: "1.0"}
components:
  securitySchemes:
    multi:
      type: oauth2
      flows: {}
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: method.request.header.Authorization
        jwtConfiguration:
          defaultAlgorithms: [RS256, ES256]
          issuers:
            - issuer: https://login.example.com
              audiences: [orders-api]
              additionalClaims:
                - {claimName: tenant_tier, format: SINGLE_STRING, expectedValues: [gold, platinum], required: true}
            - issuer: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_ABC
              audiences: [client-id]
`)
	res, err := Import(def, Options{Source: "api.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) > 0 {
		t.Errorf("notes: %v", res.Notes)
	}
	a, ok := res.Config.Authorizers["multi"]
	if !ok {
		t.Fatalf("authorizers: %+v", res.Config.Authorizers)
	}
	want := config.Authorizer{Type: "jwt", Algorithms: config.Strings{"RS256", "ES256"}, Issuers: []config.JWTIssuer{
		{Issuer: "https://login.example.com", Audience: config.Strings{"orders-api"},
			AdditionalClaims: []config.ClaimRule{{Name: "tenant_tier", Values: config.Strings{"gold", "platinum"}, Required: true}}},
		{Issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_ABC", Audience: config.Strings{"client-id"}},
	}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("imported\n %+v\nwant\n %+v", a, want)
	}
	if r := res.Config.Routes; len(r) != 1 || r[0].Authorizer != "multi" || strings.Join(r[0].AuthorizationScopes, ",") != "orders/read" {
		t.Errorf("routes: %+v", r)
	}

	back := roundTrip(t, &res.Config)
	if got := back.Authorizers["multi"]; !reflect.DeepEqual(got, want) {
		t.Errorf("round trip\n %+v\nwant\n %+v", got, want)
	}
}
