package sam_test

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/importer/sam"
)

// TestNotePositions: a note names the template's file and line where what
// it is about stands: a resource, a property, a list item, the key of a
// value written as a short-form intrinsic, a Globals value the function
// takes, an embedded definition's property; in a JSON template too. The
// written configuration's comment carries the same position.
func TestNotePositions(t *testing.T) {
	const yamlTemplate = `Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Environment:
      Variables:
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Environment:
        Variables:
          KEY: !GetAtt Table.Arn
      Events:
        Nightly:
          Type: Schedule
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        openapi: 3.0.1
        info: {title: t, version: '1'}
        paths:
          /a:
            get:
              x-amazon-apigateway-integration:
                $ref: '#/components/x-amazon-apigateway-integrations/gone'
  ARestApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      MethodSettings:
        - ResourcePath: /*
          HttpMethod: '*'
          ThrottlingBurstLimit: 5
        - ResourcePath: /a
          ThrottlingBurstLimit: 5
`
	const jsonTemplate = `{
  "Resources": {
    "Bucket": {
      "Type": "AWS::S3::Bucket"
    }
  }
}`
	for _, c := range []struct {
		name, file, template string
		want                 []string // Note.String of each note the test looks for
		comment              string   // a comment in the written configuration
	}{
		{"YAML", "template.yaml", yamlTemplate, []string{
			"not carried over: template.yaml:8: Resources.Table: AWS::DynamoDB::Table is not created",
			"placeholder: template.yaml:6: Resources.Fn.Properties.Environment.Variables.TABLE.Ref (at functions.Fn.env.TABLE)",
			"placeholder: template.yaml:17: Resources.Fn.Properties.Environment.Variables.KEY.Fn::GetAtt (at functions.Fn.env.KEY)",
			"not carried over: template.yaml:19: Resources.Fn.Properties.Events.Nightly (at routes): a Schedule event",
			"not carried over: template.yaml:23: Resources.Api.Properties.Definition paths./a.get (at routes): integration $ref",
			"not carried over: template.yaml:40: Resources.ARestApi.Properties.MethodSettings[1] (at throttling): method settings need both ResourcePath and HttpMethod",
		}, "# PLACEHOLDER (template.yaml:6: Resources.Fn.Properties.Environment.Variables.TABLE.Ref): AWS::DynamoDB::Table Table is an AWS resource"},
		{"JSON", "template.json", jsonTemplate, []string{
			"not carried over: template.json:3: Resources.Bucket: AWS::S3::Bucket is not created",
		}, "# NOT CARRIED OVER (template.json:3: Resources.Bucket): AWS::S3::Bucket is not created"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := sam.Import([]byte(c.template), sam.Options{Source: c.file, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			wantNotes(t, res, c.want)
			text, err := importer.Render(res, "")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(text), c.comment) {
				t.Errorf("the configuration lacks %q:\n%s", c.comment, text)
			}
		})
	}
}
