// Command sleep answers after two seconds, past the tests' 300 ms timeout.
package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (events.APIGatewayProxyResponse, error) {
		time.Sleep(2 * time.Second)
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: "late"}, nil
	})
}
