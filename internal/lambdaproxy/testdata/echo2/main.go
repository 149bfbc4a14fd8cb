// Command echo2 is a payload format 2.0 function: it answers 200 with the
// event it received, byte for byte, as the body, and reports a few fields of
// aws-lambda-go's typed event in headers.
package main

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, raw json.RawMessage) (events.APIGatewayV2HTTPResponse, error) {
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers: map[string]string{
			"content-type":    "application/json",
			"x-typed-method":  e.RequestContext.HTTP.Method,
			"x-typed-route":   e.RouteKey,
			"x-typed-base64":  strconv.FormatBool(e.IsBase64Encoded),
			"x-typed-cookies": strconv.Itoa(len(e.Cookies)),
		},
		Body: string(raw),
	}, nil
}

func main() { lambda.Start(handle) }
