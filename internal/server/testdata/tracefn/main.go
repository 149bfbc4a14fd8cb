// Command tracefn is a Lambda function (payload 2.0) for the tracing test:
// it passes the trace on as an instrumented function would, calling
// BACKEND_URL with the traceparent its event carried, and answers with the
// trace headers it was given (event headers and the Runtime API's
// Lambda-Runtime-Trace-Id, which aws-lambda-go puts in the context).
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", os.Getenv("BACKEND_URL"), nil)
	req.Header.Set("traceparent", e.Headers["traceparent"])
	status := 0
	if resp, err := http.DefaultClient.Do(req); err == nil {
		status = resp.StatusCode
		resp.Body.Close()
	}
	runtimeTrace, _ := ctx.Value("x-amzn-trace-id").(string)
	body, _ := json.Marshal(map[string]any{
		"traceparent":     e.Headers["traceparent"],
		"x-amzn-trace-id": e.Headers["x-amzn-trace-id"],
		"runtime_trace":   runtimeTrace,
		"backend_status":  status,
	})
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(body), Headers: map[string]string{"content-type": "application/json"}}, nil
}

func main() { lambda.Start(handle) }
