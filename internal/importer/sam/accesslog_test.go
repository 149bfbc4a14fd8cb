package sam_test

import (
	"strings"
	"testing"
)

// TestAccessLog: the main API's stage access log format (HttpApi's
// AccessLogSettings, Api's AccessLogSetting, through Fn::Sub too) becomes
// access_log.format; the CloudWatch destination is noted once; a format
// naming a variable only AWS knows is noted, with the reason, and left
// out; another API's settings are noted. Before, every AccessLogSettings
// was noted as having "no Portcullis equivalent", and the format was lost.
func TestAccessLog(t *testing.T) {
	events := pythonFn(`
        A: {Type: %[1]s, Properties: {%[2]s: !Ref MainApi, Path: /a, Method: get}}
        B: {Type: %[1]s, Properties: {%[2]s: !Ref MainApi, Path: /b, Method: get}}
        C: {Type: %[1]s, Properties: {%[2]s: !Ref OtherApi, Path: /c, Method: get}}`)
	for _, tc := range []struct {
		name, tmpl, event, ref string
		want                   string   // access_log.format
		notes                  []string // each in one note
	}{
		{"http api", `
  MainApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      AccessLogSettings:
        DestinationArn: !GetAtt Logs.Arn
        Format: '$context.requestId $context.routeKey ($context.protocol) answered $context.status, $context.responseLength bytes, to $context.identity.sourceIp at $context.requestTime'
  OtherApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      AccessLogSettings: {Format: '$context.requestId'}
  Logs: {Type: AWS::Logs::LogGroup}
`, "HttpApi", "ApiId",
			`$context.requestId $context.routeKey ($context.protocol) answered $context.status, $context.responseLength bytes, to $context.identity.sourceIp at $context.requestTime`,
			[]string{"MainApi.Properties.AccessLogSettings.DestinationArn (at access_log.output): DestinationArn: the access log goes to stderr",
				"OtherApi.Properties.AccessLogSettings (at access_log): Portcullis writes one API's access log, MainApi's"}},
		{"rest api with Fn::Sub", `
  MainApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      AccessLogSetting:
        DestinationArn: arn:aws:logs:us-east-1:123456789012:log-group:api
        Format: !Sub '{"requestId":"$context.requestId","api":"${AWS::StackName}","caller":"$context.identity.caller"}'
  OtherApi:
    Type: AWS::Serverless::Api
    Properties: {StageName: Prod}
`, "Api", "RestApiId",
			`{"requestId":"$context.requestId","api":"local","caller":"$context.identity.caller"}`,
			[]string{"MainApi.Properties.AccessLogSetting.DestinationArn (at access_log.output)"}},
		{"aws-only variable", `
  MainApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      AccessLogSettings: {Format: '$context.requestId $context.xrayTraceId'}
  OtherApi: {Type: AWS::Serverless::HttpApi}
`, "HttpApi", "ApiId", "",
			[]string{"MainApi.Properties.AccessLogSettings.Format (at access_log): $context.xrayTraceId is an AWS variable Portcullis cannot know (it comes from AWS X-Ray"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := "Transform: AWS::Serverless-2016-10-31\nResources:" + tc.tmpl + strings.NewReplacer("%[1]s", tc.event, "%[2]s", tc.ref).Replace(events)
			res := importTemplate(t, tmpl)
			if got := res.Config.AccessLog.Format; got != tc.want {
				t.Errorf("access_log.format = %q\nwant %q", got, tc.want)
			}
			all := strings.Join(wantNotes(t, res, tc.notes), "\n")
			if strings.Contains(all, "no Portcullis equivalent") && strings.Contains(all, "AccessLog") {
				t.Errorf("access log settings noted as having no equivalent:\n%s", all)
			}
		})
	}
}

// TestAccessLogCloudFormation: the access log format of a plain
// CloudFormation API's stage (AWS::ApiGatewayV2::Stage AccessLogSettings,
// AWS::ApiGateway::Stage AccessLogSetting) becomes access_log.format as a
// SAM API's does, intrinsics resolved; the CloudWatch destination is
// noted, and so is another stage's format. Before, both were noted as
// having "no Portcullis equivalent".
func TestAccessLogCloudFormation(t *testing.T) {
	const fn = `
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: app.handler, CodeUri: fn/}
`
	for _, tc := range []struct {
		name, tmpl string
		want       string   // access_log.format
		notes      []string // each in one note
	}{
		{"http api", cfnHTTPPets + `
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: prod
      AccessLogSettings:
        DestinationArn: !GetAtt Logs.Arn
        Format: !Sub '$context.requestId $context.routeKey ${AWS::Region} $context.status'
  Dev:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: $default
      AccessLogSettings: {Format: '$context.requestId'}
  Logs: {Type: AWS::Logs::LogGroup}
`, "$context.requestId $context.routeKey us-east-1 $context.status",
			[]string{"Resources.Stage.Properties.AccessLogSettings.DestinationArn (at access_log.output): DestinationArn: the access log goes to stderr",
				"Resources.Dev.Properties.AccessLogSettings (at api): Portcullis serves one stage of Api: Stage's settings apply"}},
		{"rest api", cfnRestPets + cfnRestStage(`
      AccessLogSetting:
        DestinationArn: arn:aws:logs:us-east-1:123456789012:log-group:api
        Format: '{"requestId":"$context.requestId","path":"$context.resourcePath"}'
`), `{"requestId":"$context.requestId","path":"$context.resourcePath"}`,
			[]string{"Resources.Stage.Properties.AccessLogSetting.DestinationArn (at access_log.output)"}},
		{"rest api, the deployment's stage", cfnRestPets + `
  Deployment:
    Type: AWS::ApiGateway::Deployment
    Properties:
      RestApiId: !Ref Api
      StageName: prod
      StageDescription:
        AccessLogSetting: {Format: '$context.requestId $context.stage'}
`, "$context.requestId $context.stage", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := "Resources:" + tc.tmpl + fn
			res := importTemplate(t, tmpl)
			if len(res.Config.Routes) != 1 {
				t.Errorf("routes: %+v", res.Config.Routes)
			}
			if got := res.Config.AccessLog.Format; got != tc.want {
				t.Errorf("access_log.format = %q\nwant %q", got, tc.want)
			}
			all := strings.Join(wantNotes(t, res, tc.notes), "\n")
			if strings.Contains(all, "AccessLogSetting has no Portcullis equivalent") || strings.Contains(all, "AccessLogSettings has no Portcullis equivalent") {
				t.Errorf("access log settings noted as having no equivalent:\n%s", all)
			}
		})
	}
}
