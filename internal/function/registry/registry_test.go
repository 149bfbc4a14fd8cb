package registry_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/function/fntest"
	"github.com/portcullis/portcullis/internal/function/registry"
)

// TestBuild: the registry picks the runtime by name and each runtime
// checks its own block, with positions.
func TestBuild(t *testing.T) {
	t.Parallel()
	dir := fntest.WriteCode(t, map[string]string{"app/bootstrap": "#!/bin/sh\n", "app/main": "#!/bin/sh\n"})
	for _, name := range []string{"app/bootstrap", "app/main"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	reg := registry.New(registry.Process{}, registry.Invoke{}, registry.HTTP{})
	for _, tc := range []struct{ name, block, want string }{
		{"provided with code", `{runtime: provided.al2023, code: ./app}`, ""},
		{"go1.x with handler", `{runtime: go1.x, code: ./app, handler: main}`, ""},
		{"process", `{runtime: process, command: [./app/main]}`, ""},
		{"provided without bootstrap", `{runtime: provided.al2, code: .}`, "functions.f.code: command " + dir + "/bootstrap: no such file or directory"},
		{"process without command", `{runtime: process}`, "functions.f: command is required for runtime process"},
		{"code for process", `{runtime: process, command: [./app/main], code: ./app}`, "functions.f.code: code does not apply to runtime process"},
		{"url for process", `{runtime: process, command: [./app/main], url: "http://x"}`, "functions.f.url: url does not apply to runtime process"},
		{"env for http", `{runtime: http, url: "http://127.0.0.1:1/", env: {A: b}}`, "functions.f.env: env does not apply to runtime http"},
		{"invoke without name", `{runtime: invoke}`, "functions.f: function_name is required for runtime invoke"},
		{"unknown", `{runtime: ruby3.3}`, `portcullis.yaml:2:16: functions.f.runtime: unknown runtime "ruby3.3" (supported: process (or provided.al2023, provided.al2, go1.x), invoke, http)`},
		{"missing", `{command: [x]}`, "functions.f: runtime is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fn, err := fntest.Build(t, runtimeOf(reg), dir, tc.block)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := fn.(*function.Process); !ok {
					t.Errorf("built %T", fn)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

// runtimeOf makes a registry usable where a Runtime is expected.
func runtimeOf(r *registry.Registry) registry.Runtime { return registryRuntime{r} }

type registryRuntime struct{ r *registry.Registry }

func (registryRuntime) Serves(string) bool { return true }
func (registryRuntime) Names() string      { return "any" }
func (rr registryRuntime) Build(b *registry.Block) (function.Function, error) {
	return rr.r.Build(b)
}
