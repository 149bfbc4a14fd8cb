// requestauth is an HTTP API 1.0 REQUEST authorizer: an API key header lets
// the caller read pets, and only pets; context values are a string, a number
// and a boolean, to show how AWS stringifies them.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV1Request) (events.APIGatewayCustomAuthorizerResponse, error) {
	key := ev.Headers["X-Api-Key"]
	if key == "" {
		key = ev.Headers["x-api-key"]
	}
	if key != "let-me-in" {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	// methodArn: arn:aws:execute-api:region:account:api/stage/METHOD/path
	base := ev.MethodArn[:strings.Index(ev.MethodArn, "/")]
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "api-client-" + ev.QueryStringParameters["tenant"],
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{
				{Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{base + "/*/GET/pets/*"}},
				{Action: []string{"execute-api:Invoke"}, Effect: "Deny", Resource: []string{base + "/*/GET/pets/secret"}},
			},
		},
		Context: map[string]any{"plan": "gold", "quota": 100, "beta": true},
	}, nil
}

func main() { lambda.Start(handler) }
