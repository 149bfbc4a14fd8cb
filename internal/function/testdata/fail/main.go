// Command fail returns errors.New(event.message), like an authorizer
// answering "Unauthorized", after printing event.log if there is one.
package main

import (
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ev struct {
		Message string `json:"message"`
		Log     string `json:"log"`
	}) error {
		if ev.Log != "" {
			fmt.Println(ev.Log)
		}
		return errors.New(ev.Message)
	})
}
