// Command emptyfn is an empty Lambda function with aws-lambda-go: the Go
// beside the Python and Node.js runtime clients in scenario 6.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (map[string]any, error) { return map[string]any{}, nil })
}
