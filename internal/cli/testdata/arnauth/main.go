// arnauth is a REST TOKEN Lambda authorizer that makes the mistake AWS users
// make most often: its Allow names the exact methodArn of the request that
// called it, so the cached policy denies the same caller's next request to
// another path. "Bearer exact-NAME" allows only that ARN (with an S3
// statement the evaluation ignores), "Bearer nodelete-NAME" allows the whole
// stage but denies DELETE explicitly, "Bearer nobody" is Unauthorized and
// "Bearer fail" makes the function fail. An Allow names the API key
// "usage-key-of-NAME" as its usageIdentifierKey.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(_ context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	token := strings.TrimPrefix(ev.AuthorizationToken, "Bearer ")
	stage := strings.Join(strings.SplitN(ev.MethodArn, "/", 3)[:2], "/") // arn:...:api/stage
	var st []events.IAMPolicyStatement
	name := ""
	switch {
	case strings.HasPrefix(token, "exact-"):
		name = strings.TrimPrefix(token, "exact-")
		st = []events.IAMPolicyStatement{
			{Action: []string{"s3:GetObject"}, Effect: "Allow", Resource: []string{"*"}},
			{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{ev.MethodArn}},
		}
	case strings.HasPrefix(token, "nodelete-"):
		name = strings.TrimPrefix(token, "nodelete-")
		st = []events.IAMPolicyStatement{
			{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{stage + "/*"}},
			{Action: []string{"execute-api:*"}, Effect: "Deny", Resource: []string{stage + "/DELETE/*"}},
		}
	case token == "fail":
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("the authorizer failed for " + ev.AuthorizationToken)
	default:
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID:        name,
		PolicyDocument:     events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: st},
		Context:            map[string]any{"user": name, "echo": ev.AuthorizationToken},
		UsageIdentifierKey: "usage-key-of-" + name,
	}, nil
}

func main() { lambda.Start(handler) }
