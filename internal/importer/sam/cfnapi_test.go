package sam_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
)

// TestServeRESTCloudFormation: a REST API written as plain CloudFormation
// resources (a tree of Resources, Methods, a TOKEN Authorizer reading the
// authorizationToken header, Deployment and Stage), the shape of AWS's
// serverless pattern for Lambda token authorizers, with Node.js functions:
// allow/deny/unauthorized/anything else answer 200/403/401/500; the cached
// policy (300 s, REST's default) allowed one method only, so another
// method with the same token is denied, as on AWS; the MOCK preflight
// answers with its static headers; the IAM method is not served.
func TestServeRESTCloudFormation(t *testing.T) {
	testbin.Tool(t, "", "node", "apt-get install nodejs")
	cfg, stderr := importFile(t, "testdata/rest-cfn/template.yaml")
	wantText(t, cfg, "id: PetsApi", "stage: Prod", "identity_source: [method.request.header.authorizationToken]",
		"event_type: TOKEN", "result_ttl: 300s", "runtime: nodejs22.x", "handler: tokenauthorizer.handler")
	wantStderr(t, stderr, "Resources.PetDelete.Properties (at routes): route DELETE /pets/{id} left out: AWS_IAM")
	base := serve(t, cfg)
	token := func(v string) []string { return []string{"authorizationToken", v} }
	check(t, base, []exchange{
		{"GET", "/", nil, 200, `{"resource":"/","id":null,"principal":null,"stage":"Prod"}`, false},
		{"GET", "/pets", token("allow"), 200, `{"resource":"/pets","id":null,"principal":"user","stage":"Prod"}`, false},
		// The policy cached for this token allows GET /pets only.
		{"GET", "/pets/7", token("allow"), 403, `{"Message":"User is not authorized to access this resource"}`, false},
		{"GET", "/pets", token("deny"), 403, explicitDeny, false},
		{"GET", "/pets", token("unauthorized"), 401, unauthorized, false},
		{"GET", "/pets", token("bogus"), 500, authFailed, false},
		{"GET", "/pets", nil, 401, unauthorized, false},
		{"DELETE", "/pets/7", token("allow"), 404, `{"message":"Not Found"}`, false},
	})
	req, _ := http.NewRequest("OPTIONS", base+"/pets", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Methods") != "GET,OPTIONS" {
		t.Errorf("OPTIONS /pets: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestServeHTTPCloudFormation: an HTTP API written as plain CloudFormation
// resources (AWS::ApiGatewayV2::Api, an Integration, Routes with Targets
// written with !Sub and !Join, a JWT Authorizer with scopes, a Lambda
// REQUEST Authorizer with simple responses, the $default route and stage)
// with Python functions; the authorizer's NoEcho key is a placeholder set
// by the test.
func TestServeHTTPCloudFormation(t *testing.T) {
	python3OnPath(t)
	iss := testissuer.New(t)
	cfg, stderr := importFile(t, "testdata/http-cfn/template.yaml",
		"--parameter", "IssuerUrl="+iss.URL, "--parameter", "Audience="+testissuer.Audience)
	wantText(t, cfg, "id: OrdersApi", "type: jwt", "authorization_scopes: [orders/read]",
		"identity_source: [$request.header.x-api-key]", "result_ttl: 0s", "enable_simple_responses: true",
		"route: $default", "timeout: 10s", "API_KEY: ${ApiKeyValue}")
	if data, _ := os.ReadFile(cfg); strings.Contains(string(data), "stage:") {
		t.Errorf("the $default stage was written as a stage name:\n%s", data)
	}
	wantStderr(t, stderr, "parameter ApiKeyValue has no default")
	t.Setenv("ApiKeyValue", "s3cret")
	base := serve(t, cfg)
	reader := "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "orders/read"})
	other := "Bearer " + iss.Mint(t, "k1", map[string]any{"scope": "other"})
	check(t, base, []exchange{
		{"GET", "/orders/42", []string{"Authorization", reader}, 200, `{"client":null,"id":"42","route":"GET /orders/{id}","sub":"alice"}`, false},
		{"GET", "/orders/42", []string{"Authorization", other}, 403, `{"message":"Forbidden"}`, false},
		{"GET", "/orders/42", nil, 401, unauthorized, false},
		{"POST", "/orders", []string{"x-api-key", "s3cret"}, 200, `{"client":"key-holder","id":null,"route":"POST /orders","sub":null}`, false},
		{"POST", "/orders", []string{"x-api-key", "wrong"}, 403, `{"message":"Forbidden"}`, false},
		{"POST", "/orders", nil, 401, unauthorized, false},
		{"PUT", "/anything", nil, 200, `{"client":null,"id":null,"route":"$default","sub":null}`, false},
	})
}

// TestImportCloudFormationAPIShapes: the other shapes of plain
// CloudFormation APIs: an HTTP API made by quick create (Target and
// RouteKey on the API itself), a route whose method API Gateway does not
// serve (noted, where it once vanished without a word), a WebSocket API (not carried over, nor its
// routes), an API resource that belongs to no API of the template, and a
// method whose authorizer is not in the template (left out, never served
// open), and a Cognito authorizer whose user pool id is a placeholder asked
// for at the authorizer; nothing else becomes a placeholder.
func TestImportCloudFormationAPIShapes(t *testing.T) {
	const tmpl = `Resources:
  Quick:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: HTTP
      Target: !GetAtt Fn.Arn
      RouteKey: GET /quick
  OddRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Quick
      RouteKey: FETCH /odd
      Target: !Sub integrations/${QuickIntegration}
  QuickIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Quick
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Fn.Arn
      PayloadFormatVersion: "2.0"
  Chat:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  ChatRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Chat
      RouteKey: $connect
  Stray:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !ImportValue other-api
      HttpMethod: GET
  Rest:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: rest
  Secret:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Rest
      ResourceId: !GetAtt Rest.RootResourceId
      HttpMethod: GET
      AuthorizationType: CUSTOM
      AuthorizerId: !ImportValue shared-authorizer
      Integration:
        Type: AWS_PROXY
        Uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
  Pool:
    Type: AWS::Cognito::UserPool
  CognitoAuth:
    Type: AWS::ApiGateway::Authorizer
    Properties:
      RestApiId: !Ref Rest
      Type: COGNITO_USER_POOLS
      IdentitySource: method.request.header.Authorization
      ProviderARNs: [!GetAtt Pool.Arn]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: index.handler
`
	res := importTemplate(t, tmpl)
	if r := res.Config.Routes; len(r) != 1 || r[0].Route != "GET /quick" || r[0].Integration.Function != "Fn" || r[0].Integration.PayloadFormatVersion != "2.0" || r[0].Authorizer != "" {
		t.Errorf("routes: %+v", r)
	}
	if a := res.Config.Authorizers["CognitoAuth"]; a.Type != "jwt" || a.Issuer != "https://cognito-idp.us-east-1.amazonaws.com/${Pool}" {
		t.Errorf("the Cognito authorizer: %+v", a)
	}
	var notes []string
	for _, n := range res.Notes {
		notes = append(notes, n.String())
		// The user pool's id is asked for where it is used: at the
		// authorizer, where the file's comment then stands.
		if n.Placeholder && (n.Path != "authorizers.CognitoAuth" || !strings.Contains(n.Reason, "Pool")) &&
			!strings.Contains(n.Reason, "CognitoAuth_AUDIENCE") {
			t.Errorf("placeholder note at %s: %s", n.Path, n.Reason)
		}
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{
		"Resources.Chat.Properties.ProtocolType (at routes): a WEBSOCKET API is not carried over",
		"Resources.ChatRoute (at routes): AWS::ApiGatewayV2::Route of the WEBSOCKET API Chat is not carried over",
		`Resources.OddRoute.Properties (at routes): route FETCH /odd left out: "FETCH" is not an HTTP method API Gateway serves`,
		"Resources.Stray (at routes): AWS::ApiGateway::Method belongs to no API of this template",
		"Resources.Secret.Properties (at routes): route GET / left out: unknown security scheme \"(an authorizer that is not a resource of this template)\"",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}
}
