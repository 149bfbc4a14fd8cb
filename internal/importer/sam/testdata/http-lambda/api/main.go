// Command api is the HTTP API function of the http-lambda template: it
// answers with the user the Lambda authorizer named, and the route.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (map[string]any, error) {
	out := map[string]any{"route": ev.RouteKey, "path": ev.RawPath}
	if a := ev.RequestContext.Authorizer; a != nil && a.Lambda != nil {
		out["user"] = a.Lambda["user"]
	}
	b, _ := json.Marshal(out) // 2.0: JSON without statusCode is the 200 body
	var m map[string]any
	json.Unmarshal(b, &m)
	return m, nil
}

func main() { lambda.Start(handler) }
