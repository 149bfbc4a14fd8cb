// Command portcullis is the Portcullis API gateway. See the README.
package main

import (
	"os"

	"github.com/portcullis/portcullis/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
