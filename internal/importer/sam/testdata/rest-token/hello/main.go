// Command hello is a REST (payload 1.0) Lambda function for the rest-token
// template, built as go1.x builds it (the handler is the executable's
// name): it answers with the caller the authorizer let in.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	out := map[string]any{"resource": ev.Resource, "principal": ev.RequestContext.Authorizer["principalId"], "user": ev.RequestContext.Authorizer["user"]}
	if p := ev.PathParameters["proxy"]; p != "" {
		out["proxy"] = p
	}
	body, _ := json.Marshal(out)
	return events.APIGatewayProxyResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(body)}, nil
}

func main() { lambda.Start(handler) }
