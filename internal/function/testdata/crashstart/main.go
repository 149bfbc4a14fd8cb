// Command crashstart exits before it ever reaches the Runtime API.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	fmt.Fprintln(os.Stderr, "crashstart: cannot start")
	os.Exit(1)
	lambda.Start(func() error { return nil })
}
