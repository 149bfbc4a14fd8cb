package cli

import (
	"bytes"
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
		{}, {"frobnicate"}, {"token"}, {"token", "frobnicate"},
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
