// junkauth answers with valid JSON that is not an authorizer response.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) ([]int, error) {
	return []int{1, 2, 3}, nil
}

func main() { lambda.Start(handler) }
