// Command pets is an HTTP API (payload 2.0) Lambda function for the
// http-jwt template: it answers with what it received, so a test can see
// the route, the verified claims and its environment.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	out := map[string]any{"route": ev.RouteKey, "table": os.Getenv("TABLE_NAME"), "stage": os.Getenv("STAGE")}
	if a := ev.RequestContext.Authorizer; a != nil && a.JWT != nil {
		out["sub"] = a.JWT.Claims["sub"]
	}
	if id := ev.PathParameters["id"]; id != "" {
		out["id"] = id
	}
	body, _ := json.Marshal(out)
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"content-type": "application/json"}, Body: string(body)}, nil
}

func main() { lambda.Start(handler) }
