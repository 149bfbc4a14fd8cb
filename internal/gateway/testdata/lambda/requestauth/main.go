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

// event is HTTP API's 1.0 REQUEST event; aws-lambda-go's type lacks
// multiValueHeaders.
type event struct {
	events.APIGatewayV2CustomAuthorizerV1Request
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
}

func handler(ctx context.Context, ev event) (events.APIGatewayCustomAuthorizerResponse, error) {
	// HTTP APIs send header names in lower case, in payload 1.0 too.
	if ev.Headers["x-api-key"] != "let-me-in" || ev.MultiValueHeaders["x-api-key"][0] != "let-me-in" {
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
