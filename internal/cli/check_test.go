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

// TestCheckPrintsTLSWarnings: what serve logs about its certificates as
// it starts (here a certificate without subject alternative names, which
// clients cannot match to a host name) check prints at the certificate's
// cert_file, with "warning:", in file order with the other warnings, and
// still passes.
func TestCheckPrintsTLSWarnings(t *testing.T) {
	certs := t.TempDir()
	// server.pem names localhost; client.pem (CN=dev-client) names no host.
	if _, errOut, code := runMain(t, "", "cert", "dev", "--out", certs); code != exitOK {
		t.Fatalf("cert dev: exit %d: %s", code, errOut)
	}
	certificate := func(name string) string {
		return "    - cert_file: " + filepath.Join(certs, name+".pem") + "\n      key_file: " + filepath.Join(certs, name+"-key.pem") + "\n"
	}
	const routes = "routes:\n  - route: GET /a\n    integration: {type: mock}\n"
	noSAN := filepath.Join(certs, "client.pem") + " has no subject alternative names: clients will not match it to a host name"
	for _, tt := range []struct {
		name, yaml string
		want       []string // the warnings, in order
	}{
		{"a certificate for a host", "tls:\n  certificates:\n" + certificate("server") + "listen: 127.0.0.1:0\n", nil},
		{"one without subject alternative names", "tls:\n  certificates:\n" + certificate("server") + certificate("client") + "listen: 127.0.0.1:0\n",
			[]string{"p.yaml:5:18: tls.certificates[1].cert_file: warning: " + noSAN}},
		{"with a network admin_listen after it", "tls:\n  certificates:\n" + certificate("client") + "admin_listen: 0.0.0.0:22190\nlisten: 127.0.0.1:0\n",
			[]string{"p.yaml:3:18: tls.certificates[0].cert_file: warning: " + noSAN, "p.yaml:5:15: admin_listen: warning: 0.0.0.0:22190 is not a loopback address"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml+routes), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := runMain(t, "", "check", "-c", path)
			if code != exitOK || !strings.Contains(out, "p.yaml: OK") {
				t.Fatalf("exit %d, want 0 and OK\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			if errOut == "" {
				lines = nil
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("%d warnings, want %d:\n%s", len(lines), len(tt.want), errOut)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], filepath.Dir(path)) || !strings.Contains(lines[i], w) {
					t.Errorf("warning %d: %s\nwant it to hold %q", i+1, lines[i], w)
				}
			}
		})
	}
}

// TestCountsInWords: the counts check, build and import print read "1
// problem", "2 problems", not "problem(s)".
func TestCountsInWords(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	route := func(path string) string {
		return "  - {route: GET " + path + ", authorizer: nobody, integration: {type: mock}}\n"
	}
	one := write("one.yaml", "listen: 127.0.0.1:0\nroutes:\n"+route("/a"))
	two := write("two.yaml", "listen: 127.0.0.1:0\nroutes:\n"+route("/a")+route("/b"))
	good := write("good.yaml", "listen: 127.0.0.1:0\nroutes:\n  - {route: GET /a, integration: {type: mock}}\n")
	api := func(paths ...string) string {
		text := "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n"
		for _, p := range paths {
			text += "  " + p + ":\n    get:\n      x-amazon-apigateway-integration: {type: http_proxy, uri: 'http://127.0.0.1:1/', httpMethod: GET, payloadFormatVersion: '1.0', requestTemplates: {application/json: '{}'}}\n"
		}
		return text
	}
	oneNote, twoNotes := write("one-note.yaml", api("/a")), write("two-notes.yaml", api("/a", "/b"))
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stream string // "out", "err" or the file written
		want   string
	}{
		{"check, 1 problem", []string{"check", "-c", one}, exitFailed, "err", one + ": 1 problem\n"},
		{"check, 2 problems", []string{"check", "-c", two}, exitFailed, "err", two + ": 2 problems\n"},
		{"build, no Go function", []string{"build", "-c", good}, exitOK, "out", good + ": built 0 Go functions\n"},
		{"import, 1 item", []string{"import", oneNote, "-o", filepath.Join(dir, "one-out.yaml")}, exitOK, filepath.Join(dir, "one-out.yaml"),
			"# 1 item needs attention: see the NOT CARRIED OVER and PLACEHOLDER comments.\n"},
		{"import, 2 items", []string{"import", twoNotes, "-o", filepath.Join(dir, "two-out.yaml")}, exitOK, filepath.Join(dir, "two-out.yaml"),
			"# 2 items need attention: see the NOT CARRIED OVER and PLACEHOLDER comments.\n"},
		{"import --strict, 1 item", []string{"import", "--strict", oneNote, "-o", filepath.Join(dir, "x.yaml")}, exitFailed, "err",
			"portcullis import: --strict: 1 item not carried over; nothing written\n"},
		{"import --strict, 2 items", []string{"import", "--strict", twoNotes, "-o", filepath.Join(dir, "x.yaml")}, exitFailed, "err",
			"portcullis import: --strict: 2 items not carried over; nothing written\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runMain(t, "", tt.args...)
			got := map[string]string{"out": out, "err": errOut}[tt.stream]
			if tt.stream != "out" && tt.stream != "err" {
				b, err := os.ReadFile(tt.stream)
				if err != nil {
					t.Fatal(err)
				}
				got = string(b)
			}
			if code != tt.code || !strings.Contains(got, tt.want) {
				t.Errorf("exit %d, want %d; %s lacks %q:\n%s\n(stdout %q, stderr %q)", code, tt.code, tt.stream, tt.want, got, out, errOut)
			}
		})
	}
}
