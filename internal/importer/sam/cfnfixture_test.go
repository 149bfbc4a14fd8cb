package sam_test

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/importer/sam"
)

// Plain CloudFormation APIs the stage-settings tests (access log,
// throttling) build on: each serves one route, GET /pets, a Lambda proxy
// integration of Fn, which the test adds.

// cfnHTTPPets is an AWS::ApiGatewayV2 HTTP API, Api, with the route GET
// /pets; a test adds the stages whose settings it checks.
const cfnHTTPPets = `
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {ProtocolType: HTTP, Name: pets}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {ApiId: !Ref Api, IntegrationType: AWS_PROXY, IntegrationUri: !GetAtt Fn.Arn, PayloadFormatVersion: "2.0"}
  PetsRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: GET /pets, Target: !Sub "integrations/${Integration}"}`

// cfnRestPets is an AWS::ApiGateway REST API, Api, with the resource Pets
// and its method PetsGet; a test adds the Deployment (cfnRestStage, or one
// with a StageDescription).
const cfnRestPets = `
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: pets}
  Pets:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: pets}
  PetsGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Pets
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations`

// cfnRestStage is cfnRestPets' Deployment and its stage, Stage (v1), with
// settings (YAML lines indented as Stage's properties) added.
func cfnRestStage(settings string) string {
	return `
  Deployment:
    Type: AWS::ApiGateway::Deployment
    Properties: {RestApiId: !Ref Api}
  Stage:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref Api
      DeploymentId: !Ref Deployment
      StageName: v1` + settings
}

// wantNotes fails t for each of want that no note of res contains, and
// returns the notes as text, one a line.
func wantNotes(t *testing.T, res *importer.Result, want []string) []string {
	t.Helper()
	notes := make([]string, 0, len(res.Notes))
	for _, n := range res.Notes {
		notes = append(notes, n.String())
	}
	all := strings.Join(notes, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no note with %q in:\n%s", w, all)
		}
	}
	return notes
}

// pythonFn is the SAM function Fn (python3.12, app.handler, its code in
// fn/) with events (YAML lines indented as Events' entries; "" for none).
func pythonFn(events string) string {
	return `
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: fn/
      Events:` + events + "\n"
}

// importTemplate imports the SAM template tmpl as template.yaml, its code
// folders under an empty folder, and fails t if the import fails.
func importTemplate(t *testing.T, tmpl string) *importer.Result {
	t.Helper()
	res, err := sam.Import([]byte(tmpl), sam.Options{Source: "template.yaml", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}
