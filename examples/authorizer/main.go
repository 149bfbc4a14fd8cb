// Command authorizer is a REST TOKEN Lambda authorizer written for AWS with
// aws-lambda-go, unchanged: the same binary runs behind Portcullis (runtime
// process, see examples/lambda.yaml) and in AWS Lambda.
//
// It recognises demonstration tokens only: "Bearer allow-NAME" allows NAME on
// the whole API, "Bearer deny-NAME" denies explicitly, "Bearer fail" makes
// the function fail, anything else is Unauthorized.
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
	// methodArn is arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH;
	// the policy covers every method and path of this API and stage.
	parts := strings.SplitN(ev.MethodArn, "/", 3)
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: name,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: []string{parts[0] + "/" + parts[1] + "/*"},
			}},
		},
		Context: map[string]any{"user": name, "plan": "free", "quota": 1000},
	}, nil
}

func main() { lambda.Start(handler) }
