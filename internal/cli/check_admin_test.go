package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckWarnsOfANetworkAdminListener: an admin_listen other than
// loopback or a Unix socket passes check (a network policy may guard it)
// with a warning at its line that says what anyone reaching it can read,
// and what admin_token does and does not guard.
func TestCheckWarnsOfANetworkAdminListener(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "api-keys.yaml")
	if err := os.WriteFile(keys, []byte("keys: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const routes = "routes:\n  - route: GET /a\n    integration: {type: mock}\n"
	for _, tt := range []struct {
		name, admin, extra string
		want, absent       []string // nil want: no warning
	}{
		{"every IPv4 interface", "0.0.0.0:22190", "", []string{
			"p.yaml:2:15: admin_listen: warning: 0.0.0.0:22190 is not a loopback address",
			"/healthz, /readyz and /metrics answer anyone who reaches it",
			"POST /reload and /revocations are off without admin_token",
			"127.0.0.1", "unix:PATH", "NetworkPolicy",
		}, []string{"/apikeys"}},
		{"every interface, no host", ":22190", "", []string{"p.yaml:2:15: admin_listen: warning: :22190 is not a loopback address"}, nil},
		{"every IPv6 interface", "\"[::]:22190\"", "", []string{"admin_listen: warning: [::]:22190 is not a loopback address"}, nil},
		{"a public address", "192.0.2.10:22190", "", []string{"admin_listen: warning: 192.0.2.10:22190 is not a loopback address"}, nil},
		{"with api keys: GET /apikeys names them", "0.0.0.0:22190", "api_keys: {keys_file: api-keys.yaml}\n", []string{
			"GET /apikeys (each API key's name, id, plan and usage)",
		}, nil},
		{"with admin_token: the token does not guard the rest", "0.0.0.0:22190", "admin_token: 0123456789abcdef0123\n", []string{
			"/healthz, /readyz and /metrics answer anyone who reaches it",
			"POST /reload, /revocations and GET /apikeys take admin_token, which crosses the network in clear text",
		}, []string{"are off without admin_token"}},
		{"with api keys and admin_token: GET /apikeys takes the token", "0.0.0.0:22190", "admin_token: 0123456789abcdef0123\napi_keys: {keys_file: api-keys.yaml}\n", []string{
			"GET /apikeys take admin_token",
		}, []string{"and so does GET /apikeys"}},
		{"IPv4 loopback", "127.0.0.1:22190", "", nil, nil},
		{"IPv6 loopback", "\"[::1]:22190\"", "", nil, nil},
		{"localhost", "localhost:22190", "", nil, nil},
		{"a Unix socket", "unix:" + filepath.Join(dir, "admin.sock"), "", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "p.yaml")
			yaml := "listen: 127.0.0.1:22191\nadmin_listen: " + tt.admin + "\n" + tt.extra + routes
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := runMain(t, "", "check", "-c", path)
			if code != exitOK || !strings.Contains(out, "p.yaml: OK") {
				t.Fatalf("exit %d, want 0 and OK\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			if tt.want == nil && errOut != "" {
				t.Errorf("a warning for %s:\n%s", tt.admin, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, filepath.Dir(path)) || !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(errOut, a) {
					t.Errorf("stderr has %q:\n%s", a, errOut)
				}
			}
		})
	}
}
