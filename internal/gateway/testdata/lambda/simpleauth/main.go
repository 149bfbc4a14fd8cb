// simpleauth is an HTTP API 2.0 authorizer with simple responses.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	ok := ev.Headers["authorization"] == "secret"
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{
		IsAuthorized: ok,
		Context:      map[string]any{"user": "u1", "route": ev.RouteKey, "path": ev.RawPath},
	}, nil
}

func main() { lambda.Start(handler) }
