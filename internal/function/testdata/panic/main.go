// Command panic panics in its handler; aws-lambda-go reports that as an
// error and exits.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() error { panic("boom") })
}
