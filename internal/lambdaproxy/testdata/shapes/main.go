// Command shapes answers with the response shape named by the request's
// ?shape= query parameter (payload format 1.0 or 2.0 events). It is a raw
// lambda.Handler, so it can also answer with bytes that are not JSON.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
)

// Binary is the body of the "base64" shape.
var binary = []byte{0x89, 'P', 'N', 'G', 0x00, 0xff, 0xfe, '\n'}

var shapes = map[string]any{
	// 1.0: headers and multiValueHeaders; X-Both is in both (the
	// multi-value one wins, case-insensitively).
	"multi": map[string]any{
		"statusCode": 200,
		"headers": map[string]any{
			"Content-Type": "text/plain; charset=utf-8",
			"X-One":        "single",
			"x-both":       "from-headers",
		},
		"multiValueHeaders": map[string]any{
			"X-Both":     []string{"m1", "m2"},
			"Set-Cookie": []string{"a=1; Path=/", "b=2"},
		},
		"body":            "hello",
		"isBase64Encoded": false,
	},
	"base64": map[string]any{
		"statusCode":      200,
		"headers":         map[string]string{"Content-Type": "image/png"},
		"body":            base64.StdEncoding.EncodeToString(binary),
		"isBase64Encoded": true,
	},
	"badbase64": map[string]any{
		"statusCode":      200,
		"body":            "not base64!",
		"isBase64Encoded": true,
	},
	// 2.0: cookies become Set-Cookie lines, next to one from headers.
	"cookies": map[string]any{
		"statusCode": 200,
		"headers":    map[string]string{"content-type": "text/plain", "set-cookie": "h=0"},
		"cookies":    []string{"s=1; Path=/; Secure", "t=2; HttpOnly"},
		"body":       "ok",
	},
	"bareobject": map[string]any{"hello": "world", "n": 1},
	"barestring": "just a string",
	"barenumber": 42,
	// 201 with headers, some of which must not reach the client.
	"created": map[string]any{
		"statusCode": 201,
		"headers": map[string]any{
			"Location":          "/pets/1",
			"X-Count":           5,
			"X-Flag":            true,
			"X-Split":           "a\r\nInjected: 1",
			"X-Nul":             "a\x00b",
			"Connection":        "close",
			"Transfer-Encoding": "chunked",
			"Content-Length":    "999",
			"Bad Name":          "x",
		},
		"body": `{"id":1}`,
	},
	"badstatus":     map[string]any{"statusCode": true, "body": "x"},
	"status99":      map[string]any{"statusCode": 99, "body": "x"},
	"status600":     map[string]any{"statusCode": 600, "body": "x"},
	"nostatus":      map[string]any{"body": "no status"},
	"bodyobject":    map[string]any{"statusCode": 200, "body": map[string]any{"a": 1}},
	"nocontent":     map[string]any{"statusCode": 204},
	"nocontenttype": map[string]any{"statusCode": 200, "body": "<p>hi</p>"},
	"big":           map[string]any{"statusCode": 200, "body": strings.Repeat("x", 5000)},
}

type handler struct{}

func (handler) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var e struct {
		QS map[string]string `json:"queryStringParameters"`
	}
	_ = json.Unmarshal(payload, &e)
	name := e.QS["shape"]
	if name == "junk" {
		return []byte("this is not JSON {"), nil
	}
	return json.Marshal(shapes[name])
}

func main() { lambda.StartHandler(handler{}) }
