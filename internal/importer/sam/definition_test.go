package sam_test

import (
	"os"
	"path/filepath"
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
	res := importTemplate(t, tmpl)
	c := res.Config
	if len(c.Routes) != 1 || c.Routes[0].Route != "GET /hello" || c.Routes[0].Integration.Function != "HelloFunction" {
		t.Errorf("routes: %+v", c.Routes)
	}
	if f := c.Functions["HelloFunction"]; f.Runtime != "python3.12" || f.Handler != "app.handler" || !strings.HasSuffix(f.Code, "hello") {
		t.Errorf("functions: %+v", c.Functions)
	}
}

// TestIncludeRefused: an AWS::Include that cannot be read locally (from S3,
// a missing file, a file that includes itself) leaves the API's definition
// out with a note saying why, rather than failing the import.
func TestIncludeRefused(t *testing.T) {
	dir := t.TempDir()
	loop := "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  Fn::Transform:\n    Name: AWS::Include\n    Parameters: {Location: loop.yaml}\n"
	if err := os.WriteFile(filepath.Join(dir, "loop.yaml"), []byte(loop), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ location, want string }{
		{"s3://bucket/swagger.yaml", "only a local file can be included"},
		{"missing.yaml", "AWS::Include of missing.yaml could not be read"},
		{"loop.yaml", "includes nest more than 8 deep"},
	} {
		tmpl := "Transform: AWS::Serverless-2016-10-31\nResources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: Prod\n" +
			"      DefinitionBody:\n        Fn::Transform:\n          Name: AWS::Include\n          Parameters:\n            Location: " + tc.location + "\n"
		res, err := sam.Import([]byte(tmpl), sam.Options{Source: "template.yaml", Dir: dir})
		if err != nil {
			t.Fatalf("%s: %v", tc.location, err)
		}
		var notes []string
		found := false
		for _, n := range res.Notes {
			notes = append(notes, n.String())
			found = found || strings.Contains(n.Reason, tc.want)
		}
		if !found || len(res.Config.Routes) != 0 {
			t.Errorf("%s: notes lack %q (routes %v):\n%s", tc.location, tc.want, res.Config.Routes, strings.Join(notes, "\n"))
		}
	}
}
