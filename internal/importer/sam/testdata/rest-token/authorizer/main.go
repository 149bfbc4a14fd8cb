// Command authorizer is a REST TOKEN authorizer for the rest-token
// template: "Bearer allow-NAME" allows NAME on the whole API, "Bearer
// deny-NAME" denies explicitly, "Bearer fail" fails, anything else is
// Unauthorized.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	token := strings.TrimPrefix(ev.AuthorizationToken, "Bearer ")
	effect, name := "", ""
	switch {
	case strings.HasPrefix(token, "allow-"):
		effect, name = "Allow", strings.TrimPrefix(token, "allow-")
	case strings.HasPrefix(token, "deny-"):
		effect, name = "Deny", strings.TrimPrefix(token, "deny-")
	case token == "fail":
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("the authorizer failed")
	default:
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	arn := strings.SplitN(ev.MethodArn, "/", 2)[0]
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: name,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   "2012-10-17",
			Statement: []events.IAMPolicyStatement{{Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{arn + "/*"}}},
		},
		Context: map[string]any{"user": name},
	}, nil
}

func main() { lambda.Start(handler) }
