// Command sleep sleeps event.ms milliseconds, ignoring its deadline, and
// returns its pid.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ev struct {
		MS int `json:"ms"`
	}) (map[string]int, error) {
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		return map[string]int{"pid": os.Getpid(), "slept": ev.MS}, nil
	})
}
