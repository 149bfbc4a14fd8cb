// Command echo1 is a payload format 1.0 function: it answers 200 with the
// event it received, byte for byte, as the body. It also decodes the event
// into aws-lambda-go's type, as a typed handler would, and reports a few
// typed fields in headers, so tests see what a Go handler sees.
package main

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, raw json.RawMessage) (events.APIGatewayProxyResponse, error) {
	var e events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{
		StatusCode: 200,
		Headers: map[string]string{
			"Content-Type":   "application/json",
			"X-Typed-Method": e.HTTPMethod,
			"X-Typed-Path":   e.Path,
			"X-Typed-Base64": strconv.FormatBool(e.IsBase64Encoded),
			"X-Typed-Source": e.RequestContext.Identity.SourceIP,
		},
		Body: string(raw),
	}, nil
}

func main() { lambda.Start(handle) }
