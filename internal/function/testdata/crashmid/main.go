// Command crashmid returns its pid, or exits with status 2 in the middle of
// the invocation when the event is {"crash": true}.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ev struct {
		Crash bool `json:"crash"`
	}) (map[string]int, error) {
		if ev.Crash {
			os.Exit(2)
		}
		return map[string]int{"pid": os.Getpid()}, nil
	})
}
