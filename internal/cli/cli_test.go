package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runMain runs the command line in-process, as cmd/portcullis does.
func runMain(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Main(args, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), code
}

// --help and -h, on any command, print that command's usage on stdout and
// exit 0; they never run the command. A wrong flag is still a usage error.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"serve", "--help"}, {"serve", "-h"}, {"serve", "-help"}, {"serve", "-c", "x.yaml", "--help"},
		{"check", "--help"}, {"check", "-h"},
		{"issuer", "--help"}, {"issuer", "-h"},
		{"issuer", "rotate", "--help"}, {"issuer", "hash-password", "-h"},
		{"token", "--help"}, {"token", "-h"},
		{"token", "mint", "--help"}, {"token", "mint", "-h"},
		{"token", "inspect", "--help"}, {"token", "verify", "-h"}, {"token", "keygen", "--help"},
		{"explain", "--help"}, {"explain", "-h"}, {"explain", "-c", "x.yaml", "--help"},
		{"build", "--help"}, {"import", "--help"}, {"import", "x.yaml", "-h"}, {"export", "openapi", "-h"},
		{"export", "--help"}, {"export", "-h"},
		{"apikey", "--help"}, {"apikey", "create", "--help"},
		{"cert", "--help"}, {"cert", "dev", "-h"},
		{"health", "--help"}, {"completion", "--help"}, {"version", "--help"},
	} {
		name := strings.Join(args, " ")
		t.Run(name, func(t *testing.T) {
			out, errOut, code := runMain(t, "a password\n", args...)
			if code != exitOK {
				t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if !strings.Contains(out, "Usage") || errOut != "" {
				t.Fatalf("want usage on stdout only\nstdout: %s\nstderr: %s", out, errOut)
			}
			// The usage shown is the command's own.
			cmd := "portcullis"
			for _, a := range args {
				if strings.HasPrefix(a, "-") || a == "help" || a == "x.yaml" {
					continue
				}
				cmd += " " + a
			}
			if !strings.Contains(out, cmd) {
				t.Fatalf("usage does not name %q:\n%s", cmd, out)
			}
		})
	}
	for _, args := range [][]string{
		{}, {"frobnicate"}, {"token"}, {"token", "frobnicate"}, {"export"}, {"export", "yaml"}, {"completion"}, {"version", "extra"},
		{"serve", "--bogus"}, {"check", "-c"}, {"token", "mint", "--ttl", "soon"}, {"check", "extra"},
	} {
		t.Run("usage error "+strings.Join(args, " "), func(t *testing.T) {
			out, errOut, code := runMain(t, "", args...)
			if code != exitUsage || out != "" || errOut == "" {
				t.Fatalf("exit %d, want 2 with the problem on stderr\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}

// TestTokenVerifyUsageErrors: a route given without --route, or a flag
// after the token, is told as what it is.
func TestTokenVerifyUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "verify", "-c", "x.yaml", "GET /orders/1", "TOKEN"}, "--route is required, such as --route 'GET /orders/1'"},
		{[]string{"token", "verify", "-c", "x.yaml", "TOKEN", "--route", "GET /orders/1"}, "got 3; flags go before TOKEN"},
	} {
		out, errOut, code := runMain(t, "", c.args...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 with %q", c.args, code, errOut, c.want)
		}
	}
}

func TestMintWarnsWithoutIssuerOrAudience(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, errOut, code := runMain(t, "", "token", "keygen", "--out", dir, "--type", "ec"); code != 0 {
		t.Fatalf("keygen: %s", errOut)
	}
	key := filepath.Join(dir, "private.pem")
	for _, tt := range []struct {
		name  string
		args  []string
		warns []string
	}{
		{"neither", nil, []string{"--iss", "--aud"}},
		{"no audience", []string{"--iss", "https://i"}, []string{"--aud"}},
		{"no issuer", []string{"--aud", "api"}, []string{"--iss"}},
		{"both", []string{"--iss", "https://i", "--aud", "api"}, nil},
		// Cognito's access tokens: no aud, the client id matches instead.
		{"client_id instead of aud", []string{"--iss", "https://i", "--claim", "client_id=api"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runMain(t, "", append([]string{"token", "mint", "--key", key, "--sub", "s"}, tt.args...)...)
			if code != exitOK || strings.Count(out, ".") != 2 {
				t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
			}
			for _, w := range tt.warns {
				if !strings.Contains(errOut, "warning") || !strings.Contains(errOut, "no "+w) {
					t.Errorf("stderr does not warn about %s: %q", w, errOut)
				}
			}
			if tt.warns == nil && errOut != "" {
				t.Errorf("warning for a complete token: %q", errOut)
			}
		})
	}
}

// The paths printed are the files written, however --out is spelled.
func TestKeygenPrintsCleanPaths(t *testing.T) {
	base := t.TempDir()
	for _, out := range []string{"keys/", "./more//keys/", "k"} {
		t.Run(out, func(t *testing.T) {
			dir := filepath.Join(base, out)
			stdout, errOut, code := runMain(t, "", "token", "keygen", "--out", base+"/"+out)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, f := range []string{"private.pem", "public.pem", "jwks.json"} {
				path := filepath.Join(dir, f)
				if !strings.Contains(stdout, path) {
					t.Errorf("stdout %q does not name %s", stdout, path)
				}
				if _, err := os.Stat(path); err != nil {
					t.Error(err)
				}
			}
			if strings.Contains(stdout, "//") || strings.Contains(stdout, "/./") {
				t.Errorf("unclean path in %q", stdout)
			}
		})
	}
}

// TestCheckIssuerFile: check given a file for `portcullis issuer -c`
// checks it as that command reads it, instead of calling each of its keys
// unknown to a gateway; both report a mistake at its line and column.
func TestCheckIssuerFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, hash string
		code       int
		want       string
	}{
		{"valid", "$2a$10$EJPwXhtxGOwQFOSjo2eJY.24zngdoxCjpf6pxVmk40eysLF/VLQvC", exitOK, "OK (a development issuer's file"},
		{"placeholder hash", "$2a$10$...", exitFailed, `.yaml:6:38: users[0].password_hash: user 1 ("alice"): password_hash is not a bcrypt hash`},
		{"typo", "typo", exitFailed, `.yaml:2:1: unknown key "token_tll" (did you mean "token_ttl"?)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".yaml")
			ttl := "token_ttl"
			if c.hash == "typo" {
				ttl = "token_tll"
			}
			os.WriteFile(path, []byte("listen: 127.0.0.1:0\n"+ttl+": 1h\nkeys_dir: keys\naudience: [api]\nusers:\n  - {username: alice, password_hash: \""+c.hash+"\"}\nclients:\n  - {client_id: cli, public: true}\n"), 0o600)
			out, errOut, code := runMain(t, "", "check", "-c", path)
			if code != c.code || !strings.Contains(out+errOut, c.want) || strings.Contains(errOut, `unknown key "keys_dir"`) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, c.code, c.want, out, errOut)
			}
			if _, err := os.Stat(filepath.Join(dir, "keys")); err == nil {
				t.Fatal("check made the keys_dir")
			}
			if c.code == exitFailed {
				if _, errOut, code := runMain(t, "", "issuer", "-c", path); code != exitFailed || !strings.Contains(errOut, c.want) {
					t.Errorf("issuer -c: exit %d, want %d with %q\nstderr: %s", code, exitFailed, c.want, errOut)
				}
			}
		})
	}
	// A gateway's file with a typo stays a gateway's, also when an issuer's
	// loader would find fewer problems in it.
	path := filepath.Join(dir, "gateway.yaml")
	os.WriteFile(path, []byte("listen: 127.0.0.1:0\nroutes:\n  - {rout: GET /a, integration: {type: mock}}\n  - {rout: GET /b, integration: {type: mock}}\n"), 0o600)
	if _, errOut, _ := runMain(t, "", "check", "-c", path); !strings.Contains(errOut, `unknown key "rout" (did you mean "route"?)`) || strings.Contains(errOut, "keys_dir") {
		t.Fatalf("a gateway's typo: %s", errOut)
	}
}
