// Command fail returns errors.New(event.message), like an authorizer
// answering "Unauthorized".
package main

import (
	"errors"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ev struct {
		Message string `json:"message"`
	}) error {
		return errors.New(ev.Message)
	})
}
