// Command lambda-backend is an orders API written as an AWS Lambda function
// (HTTP API payload 2.0) with aws-lambda-go, unchanged: Portcullis runs it
// behind its JWT authorizer (examples/lambda-backend.yaml), and the caller's
// verified claims arrive in requestContext.authorizer.jwt, as on AWS.
package main

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	var caller map[string]string
	var scopes []string
	if a := ev.RequestContext.Authorizer; a != nil && a.JWT != nil {
		caller, scopes = a.JWT.Claims, a.JWT.Scopes
	}
	switch ev.RequestContext.HTTP.Method {
	case http.MethodGet:
		return reply(http.StatusOK, map[string]any{
			"order":  ev.PathParameters["proxy"],
			"owner":  caller["sub"],
			"tenant": caller["tenant"],
			"scopes": scopes,
			"route":  ev.RouteKey,
		}), nil
	case http.MethodPost:
		var order map[string]any
		if err := json.Unmarshal([]byte(ev.Body), &order); err != nil {
			return reply(http.StatusBadRequest, map[string]string{"error": "the body must be a JSON object"}), nil
		}
		order["created_by"] = caller["sub"]
		resp := reply(http.StatusCreated, order)
		resp.Cookies = []string{"last-order=" + ev.RequestContext.RequestID + "; Path=/; HttpOnly"}
		return resp, nil
	}
	return reply(http.StatusMethodNotAllowed, map[string]string{"error": "GET or POST"}), nil
}

func reply(status int, v any) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(v)
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(body),
	}
}

func main() { lambda.Start(handler) }
