// Package node runs AWS Lambda functions written for Node.js, unchanged:
// `runtime: nodejs22.x` (any nodejsNN.x), `handler: file.export`,
// `code: ./folder`. Portcullis's own runtime client (bootstrap.js, embedded
// in the binary, written for Portcullis) runs under node in a
// function.Process and speaks the Runtime API that Process serves. See
// README.md for what the client does as Lambda does, and what it does not.
package node

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/function/registry"
)

// bootstrap is the runtime client, run with `node -e`.
//
//go:embed bootstrap.js
var bootstrap string

// runtimeName matches the runtime names AWS uses for Node.js.
var runtimeName = regexp.MustCompile(`^nodejs[0-9]{1,2}\.x$`)

// Runtime is the registry entry for nodejsNN.x. Stateless.
type Runtime struct{}

// Serves implements registry.Runtime.
func (Runtime) Serves(runtime string) bool { return runtimeName.MatchString(runtime) }

// Names implements registry.Runtime.
func (Runtime) Names() string { return "nodejsNN.x (nodejs20.x, nodejs22.x, ...)" }

// Build implements registry.Runtime: it checks the handler, the code
// folder and the interpreter, and returns a *function.Process.
func (Runtime) Build(b *registry.Block) (function.Function, error) {
	return b.BuildInterpreted(Client())
}

// Client describes the Node.js runtime client to the registry.
func Client() registry.Client {
	return registry.Client{
		Interpreter:  "node",
		Install:      "install Node.js (Debian/Ubuntu: apt-get install nodejs)",
		Args:         []string{"-e", bootstrap},
		CheckHandler: CheckHandler,
	}
}

// CheckHandler checks a handler string (dir/file.export, the export
// possibly nested: index.a.b) and that the file is in code, as given or
// with .js, .mjs or .cjs.
func CheckHandler(handler, code string) error {
	slash := strings.LastIndexByte(handler, '/')
	last := handler[slash+1:]
	dot := strings.IndexByte(last, '.')
	if dot <= 0 || dot == len(last)-1 {
		return fmt.Errorf("handler %q must be FILE.EXPORT, such as index.handler (FILE without .js, .mjs or .cjs)", handler)
	}
	module := handler[:slash+1] + last[:dot]
	for _, part := range strings.Split(module, "/") {
		if part == "" || part == ".." || strings.ContainsAny(part, "\\\x00") {
			return fmt.Errorf("handler %q: the file must be a path of names inside code, such as src/app.handler", handler)
		}
	}
	base := filepath.Join(code, filepath.FromSlash(module))
	for _, ext := range []string{"", ".js", ".mjs", ".cjs"} {
		if fi, err := os.Stat(base + ext); err == nil && !fi.IsDir() {
			return nil
		}
	}
	return fmt.Errorf("handler %q: no %s.js, .mjs or .cjs in %s (the handler is FILE.EXPORT with FILE relative to code; is code right?)", handler, module, code)
}

var _ registry.Runtime = Runtime{}
