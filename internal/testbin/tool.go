package testbin

import (
	"os"
	"os/exec"
	"testing"
)

// RequireEnv names the environment variable that turns a missing tool from a
// skip into a failure. `make test` and CI set it: there every tool the tests
// use has been installed, so a missing one is a broken set-up, not a reason to
// test less.
const RequireEnv = "PORTCULLIS_REQUIRE_TOOLS"

// Tool returns the path of an external program a test needs: the value of
// the environment variable env when env is not "" and set, else name looked
// up in PATH. When it is missing the test is skipped with a loud message
// saying how to install it, or fails when RequireEnv (or CI) is set.
func Tool(t testing.TB, env, name, install string) string {
	t.Helper()
	if env != "" {
		if p := os.Getenv(env); p != "" {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := "MISSING TOOL " + name + ": this test needs it (" + install + "); `make test` installs it"
	if env != "" {
		msg += ", or set " + env
	}
	Missing(t, msg)
	return ""
}

// Missing skips the test loudly with msg (what is missing and how to get
// it), or fails it where RequireEnv or CI is set.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(RequireEnv) != "" || os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED: " + msg)
}
