// Command fail always returns an error (a function error).
package main

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (any, error) {
		return nil, errors.New("database unreachable: password=hunter2")
	})
}
