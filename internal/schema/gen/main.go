// Command gen writes the configuration's JSON Schemas: go run ./gen
// CONFIG_PACKAGE_DIR OUT_DIR (see internal/schema; `go generate` runs it).
package main

import (
	"fmt"
	"os"

	"github.com/portcullis/portcullis/internal/schema"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gen CONFIG_PACKAGE_DIR OUT_DIR")
		os.Exit(2)
	}
	comments, err := schema.Comments(os.Args[1])
	if err == nil {
		var files map[string][]byte
		files, err = schema.Generate(comments)
		if err == nil {
			err = schema.Write(os.Args[2], files)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
