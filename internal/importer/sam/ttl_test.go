package sam_test

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/importer/openapi"
	"github.com/portcullis/portcullis/internal/importer/sam"
)

// TestLambdaAuthorizerResultTTL: how long a Lambda authorizer's answers are
// cached when the definition does not say, in every form import reads. The
// reference (aws-gateway-features.md, authorizerResultTtlInSeconds: "REST
// default 300"; aws-authorizer-semantics.md: "REST authorizer results are
// cached by default for 300 s") gives 300 s for REST APIs only. For HTTP
// APIs SAM documents no default for ReauthorizeEvery and writes no
// authorizerResultTtlInSeconds without it (while its REST identities say
// "Default: 300"), and API Gateway caches an HTTP API authorizer's answers
// only when a TTL is set, so it is 0 there, which is also what lets an
// HTTP API authorizer have no identity source at all.
func TestLambdaAuthorizerResultTTL(t *testing.T) {
	const head = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Auth:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: nodejs20.x, Handler: index.handler}\n"
	const fn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:auth/invocations"
	for _, tc := range []struct {
		name, source string
		openAPI      bool
		want         time.Duration
	}{
		{"SAM HttpApi without ReauthorizeEvery", head + `  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          A: {FunctionArn: !GetAtt Auth.Arn, AuthorizerPayloadFormatVersion: "2.0", Identity: {Headers: [Authorization]}}
`, false, 0},
		{"SAM HttpApi without Identity", head + `  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          A: {FunctionArn: !GetAtt Auth.Arn, AuthorizerPayloadFormatVersion: "2.0", EnableSimpleResponses: true}
`, false, 0},
		{"SAM HttpApi with ReauthorizeEvery", head + `  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          A: {FunctionArn: !GetAtt Auth.Arn, AuthorizerPayloadFormatVersion: "2.0", Identity: {Headers: [Authorization], ReauthorizeEvery: 120}}
`, false, 120 * time.Second},
		{"SAM Api TOKEN", head + `  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        Authorizers:
          A: {FunctionArn: !GetAtt Auth.Arn}
`, false, 300 * time.Second},
		{"SAM Api REQUEST", head + `  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        Authorizers:
          A: {FunctionArn: !GetAtt Auth.Arn, FunctionPayloadType: REQUEST, Identity: {Headers: [Authorization]}}
`, false, 300 * time.Second},
		{"CloudFormation HTTP API", head + `  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: HTTP}
  A:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties: {ApiId: !Ref Api, AuthorizerType: REQUEST, AuthorizerUri: "` + fn + `", AuthorizerPayloadFormatVersion: "2.0", IdentitySource: [$request.header.Authorization]}
`, false, 0},
		{"CloudFormation REST API", head + `  Api:
    Type: AWS::ApiGateway::RestApi
  A:
    Type: AWS::ApiGateway::Authorizer
    Properties: {RestApiId: !Ref Api, Type: TOKEN, AuthorizerUri: "` + fn + `", IdentitySource: method.request.header.Authorization}
`, false, 300 * time.Second},
		{"OpenAPI HTTP API", `openapi: 3.0.1
info: {title: t, version: "1"}
paths: {}
components:
  securitySchemes:
    A:
      type: apiKey
      name: Unused
      in: header
      x-amazon-apigateway-authorizer: {type: request, authorizerUri: "` + fn + `", authorizerPayloadFormatVersion: "2.0", identitySource: "$request.header.Authorization"}
`, true, 0},
		{"Swagger REST API", `swagger: "2.0"
info: {title: t, version: "1"}
paths: {}
securityDefinitions:
  A:
    type: apiKey
    name: Authorization
    in: header
    x-amazon-apigateway-authtype: custom
    x-amazon-apigateway-authorizer: {type: token, authorizerUri: "` + fn + `"}
`, true, 300 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res *importer.Result
			var err error
			if tc.openAPI {
				res, err = openapi.Import([]byte(tc.source), openapi.Options{Source: "openapi.yaml"})
			} else {
				res, err = sam.Import([]byte(tc.source), sam.Options{Source: "template.yaml", Dir: t.TempDir()})
			}
			if err != nil {
				t.Fatal(err)
			}
			a, ok := res.Config.Authorizers["A"]
			if !ok || a.Type != "lambda" || a.ResultTTL == nil {
				t.Fatalf("authorizer A: %+v (all: %+v)", a, res.Config.Authorizers)
			}
			if got := a.ResultTTL.Std(); got != tc.want {
				t.Errorf("result_ttl %v, want %v", got, tc.want)
			}
		})
	}
}
