// Command auth is an HTTP API Lambda authorizer (payload 2.0, simple
// responses) for the http-lambda template: the x-api-token header
// "letmein" is authorized as alice.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
	if ev.Headers["x-api-token"] == "letmein" {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{"user": "alice"}}, nil
	}
	return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
}

func main() { lambda.Start(handler) }
