package main

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testbin"
)

// copyDir copies the files of src (one level of folders is enough for
// the examples) into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if d.Name() == "__pycache__" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return os.WriteFile(filepath.Join(dst, rel), mustRead(t, path), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// exampleConfig copies an example's YAML and its code folder into a
// temporary folder, with the listeners on free ports; replace maps more
// text to change.
func exampleConfig(t *testing.T, name, code string, replace map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	copyDir(t, filepath.Join("../../examples", code), filepath.Join(dir, code))
	example := string(mustRead(t, filepath.Join("../../examples", name)))
	example = strings.Replace(example, "listen: 127.0.0.1:8080", "listen: 127.0.0.1:0", 1)
	example = strings.Replace(example, "admin_listen: 127.0.0.1:9901", "admin_listen: 127.0.0.1:0", 1)
	for from, to := range replace {
		example = strings.ReplaceAll(example, from, to)
	}
	cfg := filepath.Join(dir, name)
	if err := os.WriteFile(cfg, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestPythonAuthorizerExample follows the README's "A Python Lambda
// authorizer": tokens from the development issuer, 200, 403, 401 and 500.
func TestPythonAuthorizerExample(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import jwt, cryptography").Run(); err != nil {
		testbin.Missing(t, "MISSING: /usr/bin/python3 with PyJWT (Debian: apt-get install python3-jwt python3-cryptography): "+err.Error())
	}
	bin := binary(t)
	issuer := freePort(t)
	cfg := exampleConfig(t, "python-authorizer.yaml", "python-authorizer", map[string]string{"127.0.0.1:8099": issuer})
	if out, errOut, code := run(t, bin, "check", "-c", cfg); code != 0 {
		t.Fatalf("check: %s %s", out, errOut)
	}
	p := startServe(t, bin, cfg)
	go func() {
		for range p.logs {
		}
	}()
	token := func(user string) string {
		resp, err := http.PostForm("http://"+issuer+"/oauth2/token", url.Values{
			"grant_type": {"password"}, "client_id": {"cli"}, "username": {user}, "password": {user + "-password"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		m := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(b.String())
		if m == nil {
			t.Fatalf("token for %s: %s", user, b)
		}
		return m[1]
	}
	alice, bob := token("alice"), token("bob")
	for _, c := range []struct {
		path, token string
		status      int
		body        string
	}{
		{"/pets/1", alice, 200, `{"pet":"rex","note":"the Python authorizer allowed you"}`},
		{"/pets/1", bob, 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
		{"/pets/1", "not-a-token", 401, `{"message":"Unauthorized"}`},
		{"/pets/1", alice[:len(alice)-4] + "AAAA", 401, `{"message":"Unauthorized"}`},
		{"/pets/1", "", 401, `{"message":"Unauthorized"}`},
		{"/broken/1", alice, 500, `{"message":null}`},
	} {
		if code, body := get(t, p.base+c.path, c.token); code != c.status || body != c.body {
			t.Errorf("%s with %.12q: %d %s, want %d %s", c.path, c.token, code, body, c.status, c.body)
		}
	}
}

// TestNodeAuthorizerExample follows the README's "A Node.js Lambda
// authorizer": 200, 403, 401 and 500.
func TestNodeAuthorizerExample(t *testing.T) {
	testbin.Tool(t, "", "node", "apt-get install nodejs")
	bin := binary(t)
	cfg := exampleConfig(t, "node-authorizer.yaml", "node-authorizer", nil)
	if out, errOut, code := run(t, bin, "check", "-c", cfg); code != 0 {
		t.Fatalf("check: %s %s", out, errOut)
	}
	p := startServe(t, bin, cfg)
	go func() {
		for range p.logs {
		}
	}()
	for _, c := range []struct {
		token  string
		status int
		body   string
	}{
		{"allow-alice", 200, `{"pet":"rex","note":"the Node.js authorizer allowed you"}`},
		{"deny-bob", 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
		{"nobody", 401, `{"message":"Unauthorized"}`},
		{"fail", 500, `{"message":null}`},
		{"", 401, `{"message":"Unauthorized"}`},
	} {
		if code, body := get(t, p.base+"/pets/1", c.token); code != c.status || body != c.body {
			t.Errorf("token %q: %d %s, want %d %s", c.token, code, body, c.status, c.body)
		}
	}
}
