package server

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/admin"
	"github.com/portcullis/portcullis/internal/testissuer"
)

const adminToken = "0123456789abcdef-admin"

// post sends POST url with an optional bearer token.
func post(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of the series named exactly line (name and labels).
func metric(t *testing.T, adminURL, series string) string {
	t.Helper()
	_, body := get(t, adminURL+"/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestReloadOverHTTPAndOperatorMetrics(t *testing.T) {
	iss := testissuer.New(t)
	cfg := func(body, token string) string {
		return fmt.Sprintf(cfgTemplate, iss.URL, body, "http://127.0.0.1:1/") + "admin_token: " + token + "\n"
	}
	r := start(t, cfg("v1", adminToken))
	eventually(t, "ready", func() bool { code, _ := get(t, r.admin+"/readyz"); return code == 200 })

	_, body := get(t, r.admin+"/metrics")
	if !regexp.MustCompile(`portcullis_build_info\{commit="[^"]+",goversion="go1\.[^"]+",version="[^"]+"\} 1`).MatchString(body) {
		t.Errorf("no portcullis_build_info:\n%s", grepLines(body, "build_info"))
	}
	started := metric(t, r.admin, "portcullis_config_last_reload_success_timestamp_seconds")
	if started == "" || started == "0" {
		t.Errorf("last reload success at start: %q", started)
	}
	if v := metric(t, r.admin, `portcullis_jwt_keys_last_fetch_timestamp_seconds{authorizer="users"}`); v == "" || v == "0" {
		t.Errorf("JWKS fetch time: %q\n%s", v, grepLines(body, "portcullis_jwt"))
	}

	os.WriteFile(r.cfg, []byte(cfg("v2", adminToken)), 0o644)
	for _, c := range []struct{ name, token string }{{"no token", ""}, {"wrong token", adminToken + "x"}, {"prefix of the token", adminToken[:16]}} {
		if code, body := post(t, r.admin+"/reload", c.token); code != 401 {
			t.Errorf("%s: %d %s, want 401", c.name, code, body)
		}
	}
	tok := iss.Mint(t, "k1", nil)
	if _, body := get(t, r.base+"/hello", "Authorization", "Bearer "+tok); body != "v1" {
		t.Fatalf("an unauthorized POST /reload reloaded: %q", body)
	}
	if code, body := get(t, r.admin+"/reload"); code != 405 {
		t.Errorf("GET /reload: %d %s, want 405", code, body)
	}
	if code, body := post(t, r.admin+"/reload", adminToken); code != 200 || !strings.Contains(body, "reloaded") {
		t.Fatalf("POST /reload: %d %s", code, body)
	}
	if _, body := get(t, r.base+"/hello", "Authorization", "Bearer "+tok); body != "v2" {
		t.Errorf("after POST /reload: %q", body)
	}
	if v := metric(t, r.admin, `portcullis_config_reloads_total{result="ok"}`); v != "1" {
		t.Errorf("reloads ok = %q, want 1", v)
	}

	// A broken file: 422 with the problems, counted, the old config serves.
	afterGood := metric(t, r.admin, "portcullis_config_last_reload_success_timestamp_seconds")
	os.WriteFile(r.cfg, []byte("listen: 127.0.0.1:0\nadmin_token: "+adminToken+"\nroutes:\n  - route: nonsense\n"), 0o644)
	code, body := post(t, r.admin+"/reload", adminToken)
	if code != 422 || !strings.Contains(body, "portcullis.yaml:4:12") {
		t.Errorf("POST /reload of a broken file: %d %s", code, body)
	}
	if v := metric(t, r.admin, `portcullis_config_reloads_total{result="error"}`); v != "1" {
		t.Errorf("reloads error = %q, want 1", v)
	}
	if v := metric(t, r.admin, "portcullis_config_last_reload_success_timestamp_seconds"); v != afterGood {
		t.Errorf("a refused reload moved the success time: %s → %s", afterGood, v)
	}
	if _, body := get(t, r.base+"/hello", "Authorization", "Bearer "+tok); body != "v2" {
		t.Errorf("after a refused reload: %q", body)
	}

	// Without admin_token, POST /reload is off, whatever the caller sends.
	os.WriteFile(r.cfg, []byte(fmt.Sprintf(cfgTemplate, iss.URL, "v3", "http://127.0.0.1:1/")), 0o644)
	r.reload <- struct{}{}
	eventually(t, "v3", func() bool { _, b := get(t, r.base+"/hello", "Authorization", "Bearer "+tok); return b == "v3" })
	if code, body := post(t, r.admin+"/reload", adminToken); code != 404 {
		t.Errorf("POST /reload without admin_token configured: %d %s, want 404", code, body)
	}
}

func TestAdminTokenChecks(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nadmin_token: short\nroutes: [{route: GET /a, integration: {type: mock}}]\n", "at least 16"},
		{"listen: 127.0.0.1:0\nadmin_token: " + adminToken + "\nroutes: [{route: GET /a, integration: {type: mock}}]\n", "needs admin_listen"},
	} {
		cfg := filepath.Join(t.TempDir(), "p.yaml")
		os.WriteFile(cfg, []byte(c.yaml), 0o644)
		err := Run(context.Background(), Options{ConfigPath: cfg})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.yaml, err, c.want)
		}
	}
}

// TestWatch edits the file as an editor does (rename over it) and as the
// kubelet updates a ConfigMap volume (swap the ..data symlink).
func TestWatch(t *testing.T) {
	const cfg = "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nroutes:\n  - route: GET /a\n    integration: {type: mock, body: %s}\n"
	t.Run("editor", func(t *testing.T) {
		r := startWith(t, fmt.Sprintf(cfg, "v1"), func(o *Options) { o.Watch = true })
		waitLog(t, r, "watching the configuration for changes")
		tmp := r.cfg + ".swp"
		os.WriteFile(tmp, []byte(fmt.Sprintf(cfg, "v2")), 0o644)
		os.Rename(tmp, r.cfg)
		eventually(t, "v2", func() bool { _, b := get(t, r.base+"/a"); return b == "v2" })
		// Once more: the folder, not the replaced file, is watched.
		os.WriteFile(r.cfg, []byte(fmt.Sprintf(cfg, "v3")), 0o644)
		eventually(t, "v3", func() bool { _, b := get(t, r.base+"/a"); return b == "v3" })
		if v := metric(t, r.admin, `portcullis_config_reloads_total{result="ok"}`); v == "" || v == "0" {
			t.Errorf("reloads ok = %q", v)
		}
	})
	t.Run("configmap", func(t *testing.T) {
		dir := t.TempDir()
		version := func(n int) {
			d := filepath.Join(dir, fmt.Sprintf("..2026_%d", n))
			os.Mkdir(d, 0o755)
			os.WriteFile(filepath.Join(d, "portcullis.yaml"), []byte(fmt.Sprintf(cfg, fmt.Sprintf("v%d", n))), 0o644)
			os.Symlink(filepath.Base(d), filepath.Join(dir, "..data_tmp"))
			if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
		}
		version(1)
		os.Symlink("..data/portcullis.yaml", filepath.Join(dir, "portcullis.yaml"))
		r := startWith(t, "unused: true\n", func(o *Options) { o.Watch = true; o.ConfigPath = filepath.Join(dir, "portcullis.yaml") })
		waitLog(t, r, "watching the configuration for changes")
		if _, b := get(t, r.base+"/a"); b != "v1" {
			t.Fatalf("before: %q", b)
		}
		version(2)
		eventually(t, "v2", func() bool { _, b := get(t, r.base+"/a"); return b == "v2" })
	})
}

func waitLog(t *testing.T, r *running, msg string) {
	t.Helper()
	eventually(t, msg, func() bool { return strings.Contains(r.logs.String(), `"msg":"`+msg+`"`) })
}

func TestAdminOnUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	// A stale socket from a process that died is replaced.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	start(t, "listen: 127.0.0.1:0\nadmin_listen: unix:"+sock+"\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n")
	info, err := os.Stat(sock)
	if err != nil || info.Mode().Type() != fs.ModeSocket || info.Mode().Perm() != 0o660 {
		t.Fatalf("socket: %v %v", info, err)
	}
	client, base, err := admin.Client("unix:"+sock, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("readyz over the socket: %d", resp.StatusCode)
	}
	// A second gateway on the same socket is refused, not let to steal it.
	cfg := filepath.Join(dir, "second.yaml")
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nadmin_listen: unix:"+sock+"\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n"), 0o644)
	if err := Run(context.Background(), Options{ConfigPath: cfg}); err == nil || !strings.Contains(err.Error(), "another process is listening") {
		t.Errorf("second gateway on the socket: %v", err)
	}
	// A regular file there is never removed.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep"), 0o644)
	if _, err := admin.Listen("unix:" + file); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep" {
		t.Error("the regular file was replaced")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
