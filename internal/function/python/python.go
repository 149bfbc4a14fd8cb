// Package python runs AWS Lambda functions written in Python, unchanged:
// `runtime: python3.12` (any pythonX.Y), `handler: module.function`,
// `code: ./folder`. Portcullis's own runtime client (bootstrap.py, embedded
// in the binary, written for Portcullis) runs under the interpreter in a
// function.Process and speaks the Runtime API that Process serves. See
// README.md for what the client does as Lambda does, and what it does not.
package python

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

// bootstrap is the runtime client, run with `python3 -B -c`.
//
//go:embed bootstrap.py
var bootstrap string

// runtimeName matches the runtime names AWS uses for Python.
var runtimeName = regexp.MustCompile(`^python3\.[0-9]{1,2}$`)

// Runtime is the registry entry for pythonX.Y. Stateless.
type Runtime struct{}

// Serves implements registry.Runtime.
func (Runtime) Serves(runtime string) bool { return runtimeName.MatchString(runtime) }

// Names implements registry.Runtime.
func (Runtime) Names() string { return "pythonX.Y (python3.12, python3.13, ...)" }

// Build implements registry.Runtime: it checks the handler, the code
// folder and the interpreter, and returns a *function.Process.
func (Runtime) Build(b *registry.Block) (function.Function, error) {
	return b.BuildInterpreted(Client())
}

// Client describes the Python runtime client to the registry.
func Client() registry.Client {
	return registry.Client{
		Interpreter:  "python3",
		Install:      "install Python 3 (Debian/Ubuntu: apt-get install python3)",
		Args:         []string{"-B", "-c", bootstrap},
		CheckHandler: CheckHandler,
	}
}

// CheckHandler checks a handler string (module.function, the module
// relative to code with '/' or '.' between packages) and that the module's
// file is in code.
func CheckHandler(handler, code string) error {
	i := strings.LastIndexByte(handler, '.')
	if i <= 0 || i == len(handler)-1 {
		return fmt.Errorf("handler %q must be MODULE.FUNCTION, such as lambda_function.lambda_handler (MODULE is the file name without .py)", handler)
	}
	module := strings.ReplaceAll(handler[:i], ".", "/")
	for _, part := range strings.Split(module, "/") {
		if part == "" || part == ".." || strings.ContainsAny(part, "\\\x00") {
			return fmt.Errorf("handler %q: the module must be a path of names inside code, such as pkg/app.handler", handler)
		}
	}
	base := filepath.Join(code, filepath.FromSlash(module))
	for _, candidate := range []string{base + ".py", filepath.Join(base, "__init__.py")} {
		if fi, err := os.Stat(candidate); err == nil && !fi.IsDir() {
			return nil
		}
	}
	return fmt.Errorf("handler %q: no %s.py in %s (the handler is FILE.FUNCTION with FILE relative to code, without .py; is code right?)", handler, module, code)
}

var _ registry.Runtime = Runtime{}
