// Command authorizer is the benchmark's Lambda TOKEN authorizer, built with
// aws-lambda-go and started with lambda.Start exactly as on AWS. It allows any
// "Bearer <something>" token with a string check (no crypto), so its own work
// is negligible and the benchmark sees the cost of the Runtime API round trip.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	tok, ok := strings.CutPrefix(e.AuthorizationToken, "Bearer ")
	if !ok || tok == "" {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: tok,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   "Allow",
				Resource: []string{e.MethodArn},
			}},
		},
	}, nil
}

func main() { lambda.Start(handle) }
