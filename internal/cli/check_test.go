package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckCountsInWords: check's OK line counts routes and authorizers
// in English, singular for one.
func TestCheckCountsInWords(t *testing.T) {
	dir := t.TempDir()
	const function = "functions:\n  f: {runtime: http, url: 'http://127.0.0.1:1/'}\n"
	authorizer := func(name string) string {
		return "  " + name + ": {type: lambda, function: f, payload_format_version: '2.0', identity_source: [$request.header.A]}\n"
	}
	route := func(path string) string { return "  - {route: GET " + path + ", integration: {type: mock}}\n" }
	for _, tt := range []struct {
		name, authorizers, routes, want string
	}{
		{"one route, no authorizer", "", route("/a"), "OK (1 route, 0 authorizers)"},
		{"one of each", authorizer("a"), route("/a"), "OK (1 route, 1 authorizer)"},
		{"two routes, one authorizer", authorizer("a"), route("/a") + route("/b"), "OK (2 routes, 1 authorizer)"},
		{"two of each", authorizer("a") + authorizer("b"), route("/a") + route("/b"), "OK (2 routes, 2 authorizers)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml")
			yaml := "listen: 127.0.0.1:0\n" + function + "routes:\n" + tt.routes
			if tt.authorizers != "" {
				yaml += "authorizers:\n" + tt.authorizers
			}
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := runMain(t, "", "check", "-c", path)
			if want := path + ": " + tt.want + "\n"; code != exitOK || out != want {
				t.Errorf("exit %d, stdout %q; want 0 and %q\nstderr: %s", code, out, want, errOut)
			}
		})
	}
}
