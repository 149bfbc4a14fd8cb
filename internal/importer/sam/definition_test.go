package sam_test

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/importer/sam"
)

// TestDefinitionBodyWithLocalFunctions: an API whose OpenAPI definition
// sends every route to the template's own functions (so the definition adds
// no function of its own) imports with those functions; reading the
// definition first once left the functions map nil, and the import
// panicked writing the functions.
func TestDefinitionBodyWithLocalFunctions(t *testing.T) {
	const tmpl = `Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      DefinitionBody:
        swagger: "2.0"
        info: {title: api, version: "1"}
        paths:
          /hello:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${HelloFunction.Arn}/invocations
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: hello/
`
	res, err := sam.Import([]byte(tmpl), sam.Options{Source: "template.yaml", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Config
	if len(c.Routes) != 1 || c.Routes[0].Route != "GET /hello" || c.Routes[0].Integration.Function != "HelloFunction" {
		t.Errorf("routes: %+v", c.Routes)
	}
	if f := c.Functions["HelloFunction"]; f.Runtime != "python3.12" || f.Handler != "app.handler" || !strings.HasSuffix(f.Code, "hello") {
		t.Errorf("functions: %+v", c.Functions)
	}
}
