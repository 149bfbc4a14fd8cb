// Package gobuild builds a Go Lambda function from its code folder with go
// build, as `sam build` does for the provided.al2023, provided.al2 and
// go1.x runtimes, so that a function written for AWS runs from source.
//
// The executable goes to the user's cache folder (one folder per code
// folder), never into the code folder: building must not write into the
// project. go build's own cache makes a rebuild of unchanged code quick,
// and go build leaves an up-to-date executable untouched.
package gobuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DefaultHandler is the executable's name when the function names none,
// as for AWS's provided runtimes.
const DefaultHandler = "bootstrap"

// maxOutput bounds the compiler output kept in an error.
const maxOutput = 8 << 10

// Target is one function to build: Code is the absolute code folder (a Go
// main package inside a module), Handler the executable's name.
type Target struct {
	Code    string
	Handler string
}

// Module reports the go.mod that go build would use for the code folder
// code: the nearest one in code or above it; "" when there is none.
func Module(code string) string {
	for dir := code; ; {
		if info, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !info.IsDir() {
			return filepath.Join(dir, "go.mod")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Output is where the executable for t is written.
func (t Target) Output() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("gobuild: no cache folder for built functions (set HOME or XDG_CACHE_HOME): %w", err)
	}
	sum := sha256.Sum256([]byte(t.Code))
	return filepath.Join(cache, "portcullis", "build", hex.EncodeToString(sum[:8]), t.handler()), nil
}

func (t Target) handler() string {
	if t.Handler == "" {
		return DefaultHandler
	}
	return t.Handler
}

// GoTool is the go command used for building: GOROOT's when set, else
// the one in PATH.
func GoTool() (string, error) {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("gobuild: the go command is not in PATH; it is needed to build Go functions from source")
	}
	return p, nil
}

// Build compiles t (go build -trimpath -tags lambda.norpc, CGO disabled, for
// this machine) into t.Output() and returns that path. The error carries
// the compiler's output.
func Build(ctx context.Context, t Target) (string, error) {
	out, err := t.Output()
	if err != nil {
		return "", err
	}
	if Module(t.Code) == "" {
		return "", fmt.Errorf("gobuild: no go.mod in %s or above it", t.Code)
	}
	goTool, err := GoTool()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return "", fmt.Errorf("gobuild: %w", err)
	}
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-tags", "lambda.norpc", "-o", out, ".")
	cmd.Dir = t.Code
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		text := strings.TrimSpace(msg.String())
		if len(text) > maxOutput {
			text = text[:maxOutput] + "..."
		}
		return "", fmt.Errorf("go build in %s: %w\n%s", t.Code, err, text)
	}
	return out, nil
}
