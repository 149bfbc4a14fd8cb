// sleepauth takes longer than any sensible timeout.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	time.Sleep(30 * time.Second)
	return events.APIGatewayCustomAuthorizerResponse{}, nil
}

func main() { lambda.Start(handler) }
