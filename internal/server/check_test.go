package server

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/tlsconf"
)

// Everything serve refuses at start, check refuses too, with the same
// "file:line:column: key.path: message", and serve says it that way too.
func TestCheckRefusesWhatServeRefuses(t *testing.T) {
	dir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	const routes = "routes:\n  - route: GET /a\n    integration: {type: mock}\n"
	issuer := func(listen, keys string) string {
		return "issuers:\n  dev:\n    listen: " + listen + "\n    keys_dir: " + keys + "\n    audience: [api]\n"
	}
	for _, tt := range []struct {
		name, yaml string
		want       []string // each the start of one error line
		words      string
	}{
		{"listen without a host", "listen: 8080\n" + routes,
			[]string{"p.yaml:1:9: listen: "}, "no host"},
		{"listen port out of range", "listen: 127.0.0.1:99999\n" + routes,
			[]string{"p.yaml:1:9: listen: "}, "65535"},
		{"listen negative port", "listen: 127.0.0.1:-1\n" + routes,
			[]string{"p.yaml:1:9: listen: "}, "65535"},
		{"listen without a port", "listen: \"127.0.0.1:\"\n" + routes,
			[]string{"p.yaml:1:9: listen: "}, "no port"},
		{"listen unknown port name", "listen: 127.0.0.1:htp\n" + routes,
			[]string{"p.yaml:1:9: listen: "}, "port"},
		{"listen IPv6 without brackets", "listen: \"::1:8080\"\n" + routes,
			[]string{"p.yaml:1:9: listen: "}, "[::1]:8080"},
		{"listen bad host name", "listen: \"bad host!:8080\"\n" + routes,
			[]string{"p.yaml:1:9: listen: "}, "host"},
		{"http_redirect_listen on the listen port", "listen: 127.0.0.1:18443\nhttp_redirect_listen: 127.0.0.1:18443\ntls:\n  certificates: [{cert_file: " + aFile + ", key_file: " + aFile + "}]\n" + routes,
			[]string{"p.yaml:2:23: http_redirect_listen: ", "p.yaml:4:30: tls.certificates[0].cert_file: "}, ""},
		{"a certificate file that is not PEM", "listen: 127.0.0.1:0\ntls:\n  certificates: [{cert_file: " + aFile + ", key_file: " + aFile + "}]\n" + routes,
			[]string{"p.yaml:3:30: tls.certificates[0].cert_file: "}, "failed to find any PEM data"},
		{"tls without certificates, redirect without tls", "listen: 127.0.0.1:0\nhttp_redirect_listen: 127.0.0.1:0\n" + routes,
			[]string{"p.yaml:2:23: http_redirect_listen: "}, "needs a tls block"},
		{"admin_listen port out of range", "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:99999\n" + routes,
			[]string{"p.yaml:2:15: admin_listen: "}, "65535"},
		{"admin_listen without a port", "listen: 127.0.0.1:0\nadmin_listen: localhost\n" + routes,
			[]string{"p.yaml:2:15: admin_listen: "}, "port"},
		{"admin_listen on the listen address", "listen: 127.0.0.1:18080\nadmin_listen: 127.0.0.1:18080\n" + routes,
			[]string{"p.yaml:2:15: admin_listen: "}, "listen's (line 1)"},
		{"admin_listen on every interface, same port", "listen: 127.0.0.1:18080\nadmin_listen: :18080\n" + routes,
			[]string{"p.yaml:2:15: admin_listen: "}, "listen's (line 1)"},
		{"localhost and 127.0.0.1, same port", "listen: localhost:18080\nadmin_listen: 127.0.0.1:18080\n" + routes,
			[]string{"p.yaml:2:15: admin_listen: "}, "listen's (line 1)"},
		{"issuer listen port out of range", "listen: 127.0.0.1:0\n" + routes + issuer("127.0.0.1:70000", dir+"/keys"),
			[]string{"p.yaml:7:13: issuers.dev.listen: "}, "65535"},
		{"issuer on the gateway's port", "listen: 127.0.0.1:18080\n" + routes + issuer("127.0.0.1:18080", dir+"/keys"),
			[]string{"p.yaml:7:13: issuers.dev.listen: "}, "listen's (line 1)"},
		{"issuer keys_dir is a file", "listen: 127.0.0.1:0\n" + routes + issuer("127.0.0.1:0", aFile),
			[]string{"p.yaml:8:15: issuers.dev.keys_dir: "}, "not a directory"},
		{"issuer keys_dir under a file", "listen: 127.0.0.1:0\n" + routes + issuer("127.0.0.1:0", aFile+"/keys"),
			[]string{"p.yaml:8:15: issuers.dev.keys_dir: "}, "not a directory"},
		{"negative max_header_bytes", "listen: 127.0.0.1:0\nserver: {max_header_bytes: -1}\n" + routes,
			[]string{"p.yaml:2:28: server.max_header_bytes: "}, "negative"},
		{"negative max_body_bytes", "listen: 127.0.0.1:0\nserver:\n  max_body_bytes: -5\n" + routes,
			[]string{"p.yaml:3:19: server.max_body_bytes: "}, "negative"},
		{"function dir missing", "listen: 127.0.0.1:0\n" + routes + "functions:\n  f: {runtime: process, command: [/bin/true], dir: no-such-dir}\n",
			[]string{"p.yaml:6:52: functions.f.dir: "}, "no-such-dir"},
		{"decision_api listen port out of range", "listen: 127.0.0.1:0\ndecision_api: {listen: 127.0.0.1:99999}\n" + routes,
			[]string{"p.yaml:2:24: decision_api.listen: "}, "65535"},
		{"decision_api grpc_listen without a port", "listen: 127.0.0.1:0\ndecision_api:\n  grpc_listen: localhost\n" + routes,
			[]string{"p.yaml:3:16: decision_api.grpc_listen: "}, "port"},
		{"decision_api on the listen address", "listen: 127.0.0.1:18080\ndecision_api: {listen: 127.0.0.1:18080}\n" + routes,
			[]string{"p.yaml:2:24: decision_api.listen: "}, "listen's (line 1)"},
		{"decision_api grpc_listen on its listen", "listen: 127.0.0.1:0\ndecision_api:\n  listen: 127.0.0.1:19191\n  grpc_listen: :19191\n" + routes,
			[]string{"p.yaml:4:16: decision_api.grpc_listen: "}, "decision_api.listen's (line 3)"},
		{"cors any origin with credentials", "listen: 127.0.0.1:0\n" + routes + "cors:\n  allowOrigins: [\"*\"]\n  allowCredentials: true\n",
			[]string{"p.yaml:6:18: cors.allowOrigins[0]: "}, "allowCredentials"},
		{"cors origin with a path", "listen: 127.0.0.1:0\n" + routes + "cors:\n  allowOrigins:\n    - https://app.example.com/\n",
			[]string{"p.yaml:7:7: cors.allowOrigins[0]: "}, "write https://app.example.com"},
		{"tracing endpoint", "listen: 127.0.0.1:0\n" + routes + "tracing:\n  enabled: true\n  endpoint: collector:4318\n",
			[]string{"p.yaml:7:13: tracing.endpoint: "}, "expected an http or https URL"},
		{"every problem at once", "listen: 8080\nadmin_listen: 127.0.0.1:99999\n" + routes,
			[]string{"p.yaml:1:9: listen: ", "p.yaml:2:15: admin_listen: "}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := config.Load(path)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			_, checked := Check(f)
			// serve must refuse before it listens; if it starts, stop it.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := false
			served := Run(ctx, Options{ConfigPath: path, Started: func(_, _ net.Addr) { started = true; cancel() }})
			if started {
				served = nil
			}
			for what, err := range map[string]error{"check": checked, "serve": served} {
				if err == nil {
					t.Fatalf("%s accepted it", what)
				}
				msg := strings.ReplaceAll(err.Error(), path, "p.yaml")
				lines := strings.Split(msg, "\n")
				if len(lines) != len(tt.want) {
					t.Fatalf("%s: %d problems, want %d:\n%s", what, len(lines), len(tt.want), msg)
				}
				for i, w := range tt.want {
					if !strings.HasPrefix(lines[i], w) || !strings.Contains(lines[i], tt.words) {
						t.Errorf("%s: %q\nwant %q... saying %q", what, lines[i], w, tt.words)
					}
				}
			}
		})
	}
}

// What serve accepts, check accepts: ports 0 (any free port) do not
// collide, named ports and IPv6 literals are addresses.
func TestCheckAcceptsListenAddresses(t *testing.T) {
	dir := t.TempDir()
	for _, listens := range [][2]string{
		{"127.0.0.1:0", "127.0.0.1:0"},
		{"\"[::1]:18080\"", "127.0.0.1:18080"},
		{"127.0.0.1:18080", "127.0.0.2:18080"},
		{"localhost:18080", "127.0.0.1:18081"},
		{"127.0.0.1:http", "\":18443\""},
	} {
		yaml := "listen: " + listens[0] + "\nadmin_listen: " + listens[1] + "\nroutes:\n  - route: GET /a\n    integration: {type: mock}\n" +
			"issuers:\n  dev:\n    listen: 127.0.0.1:0\n    keys_dir: " + dir + "/new/keys\n    audience: [api]\n"
		path := filepath.Join(t.TempDir(), "p.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Check(f); err != nil {
			t.Errorf("%v: %v", listens, err)
		}
	}
	if _, err := os.Stat(dir + "/new"); err == nil {
		t.Error("check created the issuer's key directory")
	}
}

// serve logs check's warnings as it starts, at their file:line: an
// admin_listen on every interface; none for loopback.
func TestServeLogsANetworkAdminListener(t *testing.T) {
	const routes = "routes:\n  - route: GET /a\n    integration: {type: mock}\n"
	for _, tt := range []struct {
		admin string
		warn  bool
	}{{"0.0.0.0:0", true}, {"127.0.0.1:0", false}} {
		t.Run(tt.admin, func(t *testing.T) {
			r := start(t, "listen: 127.0.0.1:0\nadmin_listen: "+tt.admin+"\n"+routes)
			found := false
			for _, rec := range r.logs.Records() {
				msg, _ := rec["msg"].(string)
				if strings.Contains(msg, "admin_listen") && strings.Contains(msg, "is not a loopback address") {
					found = rec["level"] == "WARN" && rec["key"] == "admin_listen" && strings.Contains(msg, "portcullis.yaml:2:15: admin_listen: ")
				}
			}
			if found != tt.warn {
				t.Errorf("warning logged: %v, want %v\n%s", found, tt.warn, r.logs.String())
			}
		})
	}
}

// serve logs a TLS warning once as it starts, at its cert_file and as
// check prints it, and once more on each reload that reads the
// certificate again.
func TestServeLogsTLSWarningsOnce(t *testing.T) {
	p := newTestPKI(t)
	p.issue(t, p.ca, "old", tlsconf.Leaf{CommonName: "old.test", DNSNames: []string{"old.test"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
	r := start(t, fmt.Sprintf("listen: 127.0.0.1:0\ntls:\n  certificates:\n"+
		"    - {cert_file: %[1]s/api.pem, key_file: %[1]s/api-key.pem}\n"+
		"    - {cert_file: %[1]s/old.pem, key_file: %[1]s/old-key.pem}\n"+
		"routes:\n  - route: GET /a\n    integration: {type: mock}\n", p.dir))
	want := "portcullis.yaml:5:19: tls.certificates[1].cert_file: " + p.path("old.pem") + " expired on "
	logged := func() (n int) {
		for _, rec := range r.logs.Records() {
			if msg, _ := rec["msg"].(string); strings.Contains(msg, "expired") {
				if rec["level"] != "WARN" || rec["key"] != "tls.certificates[1].cert_file" || !strings.Contains(msg, want) {
					t.Errorf("warning logged as %v, want a WARN at key tls.certificates[1].cert_file holding %q", rec, want)
				}
				n++
			}
		}
		return n
	}
	if n := logged(); n != 1 {
		t.Fatalf("the expired certificate logged %d times as serve started, want once\n%s", n, r.logs.String())
	}
	r.reload <- struct{}{}
	waitLog(t, r, "configuration reloaded")
	if n := logged(); n != 2 {
		t.Errorf("the expired certificate logged %d times after a reload, want twice\n%s", n, r.logs.String())
	}
}
