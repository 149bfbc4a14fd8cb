package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apigwevent"
	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/tlsconf"
)

// testPKI is a development CA with server certificates for api.test and
// other.test, and client certificates, written to dir.
type testPKI struct {
	dir string
	ca  *tlsconf.DevCA
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, err := tlsconf.NewDevCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: t.TempDir(), ca: ca}
	p.file(t, "ca.pem", tlsconf.CertPEM(ca.Cert))
	p.issue(t, p.ca, "api", tlsconf.Leaf{CommonName: "api.test", DNSNames: []string{"api.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	p.issue(t, p.ca, "other", tlsconf.Leaf{CommonName: "other.test", DNSNames: []string{"other.test"}, KeyType: tlsconf.KeyRSA})
	return p
}

func (p *testPKI) file(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue writes NAME.pem and NAME-key.pem and returns the pair.
func (p *testPKI) issue(t *testing.T, ca *tlsconf.DevCA, name string, l tlsconf.Leaf) tls.Certificate {
	t.Helper()
	cert, key, err := ca.Issue(l)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tlsconf.KeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	p.file(t, name+".pem", tlsconf.CertPEM(cert))
	p.file(t, name+"-key.pem", kp)
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: crypto.PrivateKey(key), Leaf: cert}
}

func (p *testPKI) path(name string) string { return filepath.Join(p.dir, name) }

// client is an HTTPS client trusting the test CA, presenting cert (none
// when nil), speaking HTTP/2 when h2 is set, reaching api.test at
// 127.0.0.1:port.
func (p *testPKI) client(cert *tls.Certificate, h2 bool, port string) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	cfg := &tls.Config{RootCAs: roots, ServerName: "api.test"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, "127.0.0.1:"+port)
		}}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// recorder is a backend (http_proxy) and a function (runtime: http) that
// records what reached it.
type recorder struct {
	mu      sync.Mutex
	headers []http.Header
	events  []map[string]any
}

func (rc *recorder) backend(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.headers = append(rc.headers, r.Header.Clone())
	rc.mu.Unlock()
	_, _ = io.WriteString(w, "backend")
}

func (rc *recorder) function(w http.ResponseWriter, r *http.Request) {
	var ev map[string]any
	_ = json.NewDecoder(r.Body).Decode(&ev)
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.mu.Unlock()
	if ev["type"] == "REQUEST" { // an authorizer event
		if ev["version"] == "2.0" {
			_, _ = io.WriteString(w, `{"isAuthorized": true}`)
			return
		}
		_, _ = io.WriteString(w, `{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}`)
		return
	}
	_, _ = io.WriteString(w, `{"statusCode": 200, "body": "function"}`)
}

func (rc *recorder) last() (http.Header, []map[string]any) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var h http.Header
	if len(rc.headers) > 0 {
		h = rc.headers[len(rc.headers)-1]
	}
	ev := rc.events
	rc.events = nil
	return h, ev
}

const tlsConfig = `listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
http_redirect_listen: 127.0.0.1:0
tls:
  certificates:
    - {cert_file: %[1]s/api.pem, key_file: %[1]s/api-key.pem}
    - {cert_file: %[1]s/other.pem, key_file: %[1]s/other-key.pem}
  client_auth: {truststore: %[1]s/ca.pem, mode: %[2]s}
authorizers:
  users: {type: jwt, issuer: %[3]q, audience: [test-api]}
  bound: {type: jwt, issuer: %[3]q, audience: [test-api], require_certificate_binding: true}
  fn1: {type: lambda, function: fn, payload_format_version: "1.0", identity_source: [$request.header.X-Key], result_ttl: 0s}
  fn2: {type: lambda, function: fn, payload_format_version: "2.0", identity_source: [$request.header.X-Key], result_ttl: 0s, enable_simple_responses: true}
functions:
  fn: {runtime: http, url: %[5]q}
routes:
  - route: GET /hello
    authorizer: users
    integration:
      type: http_proxy
      uri: %[4]q
      request_parameters:
        overwrite:header.X-Subject: $context.identity.clientCert.subjectDN
        overwrite:header.X-Issuer: $context.identity.clientCert.issuerDN
        overwrite:header.X-Serial: $context.identity.clientCert.serialNumber
        overwrite:header.X-Not-After: $context.identity.clientCert.validity.notAfter
  - route: GET /bound
    authorizer: bound
    integration: {type: mock, body: bound}
  - route: GET /fn1
    authorizer: fn1
    integration: {type: lambda_proxy, function: fn, payload_format_version: "1.0"}
  - route: GET /fn2
    authorizer: fn2
    integration: {type: lambda_proxy, function: fn, payload_format_version: "2.0"}
`

type tlsRun struct {
	*running
	p        *testPKI
	iss      *testissuer.Issuer
	rec      *recorder
	https    string // https://api.test:PORT
	port     string
	redirect string
	client   tls.Certificate
}

func startTLS(t *testing.T, mode string) *tlsRun {
	t.Helper()
	p := newTestPKI(t)
	iss := testissuer.New(t)
	rec := &recorder{}
	backend := httptest.NewServer(http.HandlerFunc(rec.backend))
	t.Cleanup(backend.Close)
	fn := httptest.NewServer(http.HandlerFunc(rec.function))
	t.Cleanup(fn.Close)
	tr := &tlsRun{p: p, iss: iss, rec: rec}
	tr.client = p.issue(t, p.ca, "client", tlsconf.Leaf{CommonName: "client-1"})
	tr.running = startWith(t, fmt.Sprintf(tlsConfig, p.dir, mode, iss.URL, backend.URL+"/echo", fn.URL), func(o *Options) {
		o.RedirectStarted = func(a net.Addr) { tr.redirect = "http://" + a.String() }
	})
	_, tr.port, _ = net.SplitHostPort(strings.TrimPrefix(tr.base, "http://"))
	tr.https = "https://api.test:" + tr.port
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(tr.logs.String())
		}
	})
	return tr
}

// do sends GET url (https://api.test:PORT/...) to the gateway on loopback.
func (tr *tlsRun) do(t *testing.T, c *http.Client, path string, header ...string) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", tr.https+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), nil
}

func TestTLSMutualAndHTTP2(t *testing.T) {
	tr := startTLS(t, tlsconf.ModeRequire)
	tok := tr.iss.Mint(t, "k1", nil)
	sum := sha256.Sum256(tr.client.Leaf.Raw)

	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1", true: "HTTP/2"}[h2], func(t *testing.T) {
			c := tr.p.client(&tr.client, h2, tr.port)
			resp, body, err := tr.do(t, c, "/hello", "Authorization", "Bearer "+tok,
				"X-Forwarded-Client-Cert", "Hash=forged", "X-Forwarded-Proto", "http", "X_Forwarded_Client_Cert", "forged")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || body != "backend" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
				t.Errorf("HTTP/%d, want %d", resp.ProtoMajor, want)
			}
			h, _ := tr.rec.last()
			for name, want := range map[string]string{
				"X-Forwarded-Proto":       "https",
				"X-Forwarded-Client-Cert": `Hash=` + hex.EncodeToString(sum[:]) + `;Subject="CN=client-1,O=Portcullis development"`,
				"X-Subject":               "CN=client-1,O=Portcullis development",
				"X-Issuer":                "CN=test CA,O=Portcullis development",
				"X-Serial":                apigwevent.SerialNumber(tr.client.Leaf),
				"X-Not-After":             tr.client.Leaf.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"),
			} {
				if got := h.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("backend's %s = %q, want %q", name, got, want)
				}
			}
			if v := h.Get("X_Forwarded_Client_Cert"); v != "" {
				t.Errorf("the client's X_Forwarded_Client_Cert reached the backend: %q", v)
			}
			// No token: the JWT route denies over HTTP/2 as over HTTP/1.1.
			if resp, _, err := tr.do(t, c, "/hello"); err != nil || resp.StatusCode != 401 {
				t.Errorf("no token: %v %v", resp, err)
			}
		})
	}

	t.Run("refused in the handshake", func(t *testing.T) {
		otherCA, err := tlsconf.NewDevCA("other CA", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		expired := tr.p.issue(t, tr.p.ca, "expired", tlsconf.Leaf{CommonName: "expired", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})
		stranger := tr.p.issue(t, otherCA, "stranger", tlsconf.Leaf{CommonName: "stranger"})
		serverOnly := tr.p.issue(t, tr.p.ca, "server-only", tlsconf.Leaf{CommonName: "server-only", Usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		for name, cert := range map[string]*tls.Certificate{"none": nil, "expired": &expired, "wrong CA": &stranger, "no clientAuth usage": &serverOnly} {
			c := tr.p.client(nil, false, tr.port)
			if cert != nil {
				c.Transport.(*http.Transport).TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
			}
			if resp, _, err := tr.do(t, c, "/hello", "Authorization", "Bearer "+tok); err == nil {
				t.Errorf("%s: answered %d, want the handshake refused", name, resp.StatusCode)
			}
		}
	})

	t.Run("curl", func(t *testing.T) {
		curl := testbin.Tool(t, "", "curl", "apt-get install curl")
		run := func(args ...string) (string, error) {
			args = append([]string{"-sS", "--max-time", "60", "--resolve", "api.test:" + tr.port + ":127.0.0.1", "--cacert", tr.p.path("ca.pem"),
				"-w", " %{http_code} %{http_version}", "-H", "Authorization: Bearer " + tok}, args...)
			out, err := exec.Command(curl, args...).CombinedOutput()
			return string(out), err
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--cert", tr.p.path("client.pem"), "--key", tr.p.path("client-key.pem"), "--http2"}, "backend 200 2"},
			{[]string{"--cert", tr.p.path("client.pem"), "--key", tr.p.path("client-key.pem"), "--http1.1"}, "backend 200 1.1"},
			{[]string{"--cert", tr.p.path("client.pem"), "--key", tr.p.path("client-key.pem"), "--tls-max", "1.2"}, "backend 200 2"},
		} {
			out, err := run(append(tc.args, tr.https+"/hello")...)
			if err != nil || out != tc.want {
				t.Errorf("curl %v: %q %v, want %q", tc.args, out, err, tc.want)
			}
		}
		for _, args := range [][]string{
			{},
			{"--cert", tr.p.path("expired.pem"), "--key", tr.p.path("expired-key.pem")},
			{"--cert", tr.p.path("stranger.pem"), "--key", tr.p.path("stranger-key.pem")},
			{"--cert", tr.p.path("server-only.pem"), "--key", tr.p.path("server-only-key.pem")},
			{"--cert", tr.p.path("client.pem"), "--key", tr.p.path("client-key.pem"), "--tlsv1.1", "--tls-max", "1.1"},
		} {
			if out, err := run(append(args, tr.https+"/hello")...); err == nil {
				t.Errorf("curl %v succeeded: %q", args, out)
			}
		}
	})

	t.Run("SNI", func(t *testing.T) {
		for sni, want := range map[string]string{"api.test": "api.test", "other.test": "other.test", "": "api.test"} {
			conn, err := tls.Dial("tcp", "127.0.0.1:"+tr.port, &tls.Config{ServerName: sni, InsecureSkipVerify: true, Certificates: []tls.Certificate{tr.client}})
			if err != nil {
				t.Fatal(err)
			}
			if got := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; got != want {
				t.Errorf("SNI %q: certificate %s, want %s", sni, got, want)
			}
			conn.Close()
		}
	})

	t.Run("certificate-bound tokens", func(t *testing.T) {
		other := tr.p.issue(t, tr.p.ca, "other-client", tlsconf.Leaf{CommonName: "other-client"})
		thumb := func(c tls.Certificate) string {
			s := sha256.Sum256(c.Leaf.Raw)
			return base64.RawURLEncoding.EncodeToString(s[:])
		}
		c := tr.p.client(&tr.client, true, tr.port)
		for _, tc := range []struct {
			name   string
			claims map[string]any
			want   int
		}{
			{"bound to this certificate", map[string]any{"cnf": map[string]any{"x5t#S256": thumb(tr.client)}}, 200},
			{"no cnf", nil, 401},
			{"bound to another certificate", map[string]any{"cnf": map[string]any{"x5t#S256": thumb(other)}}, 401},
			{"cnf not an object", map[string]any{"cnf": thumb(tr.client)}, 401},
			{"padded thumbprint", map[string]any{"cnf": map[string]any{"x5t#S256": thumb(tr.client) + "="}}, 401},
		} {
			resp, body, err := tr.do(t, c, "/bound", "Authorization", "Bearer "+tr.iss.Mint(t, "k1", tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.want {
				t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
			}
			if tc.want == 401 && !strings.Contains(resp.Header.Get("Www-Authenticate"), "not bound to the client certificate") {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.Header.Get("Www-Authenticate"))
			}
		}
	})

	t.Run("Lambda events carry clientCert", func(t *testing.T) {
		c := tr.p.client(&tr.client, false, tr.port)
		want := map[string]any{
			"clientCertPem": string(tlsconf.CertPEM(tr.client.Leaf)),
			"subjectDN":     "CN=client-1,O=Portcullis development",
			"issuerDN":      "CN=test CA,O=Portcullis development",
			"serialNumber":  apigwevent.SerialNumber(tr.client.Leaf),
			"validity": map[string]any{
				"notBefore": tr.client.Leaf.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT"),
				"notAfter":  tr.client.Leaf.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"),
			},
		}
		for _, tc := range []struct{ path, at string }{{"/fn1", "identity"}, {"/fn2", "authentication"}} {
			resp, body, err := tr.do(t, c, tc.path, "X-Key", "k", "X-Forwarded-Client-Cert", "forged", "X-Forwarded-Proto", "http")
			if err != nil || resp.StatusCode != 200 || body != "function" {
				t.Fatalf("%s: %v %q %v", tc.path, resp, body, err)
			}
			_, events := tr.rec.last()
			if len(events) != 2 {
				t.Fatalf("%s: %d events, want authorizer and proxy", tc.path, len(events))
			}
			for i, ev := range events {
				rc, _ := ev["requestContext"].(map[string]any)
				holder, _ := rc[tc.at].(map[string]any)
				got, _ := json.Marshal(holder["clientCert"])
				exp, _ := json.Marshal(want)
				if !bytes.Equal(got, exp) {
					t.Errorf("%s event %d: requestContext.%s.clientCert =\n%s\nwant\n%s", tc.path, i, tc.at, got, exp)
				}
				if hs, _ := ev["headers"].(map[string]any); i == 1 && (hs["x-forwarded-client-cert"] != nil || hs["x-forwarded-proto"] != nil) {
					t.Errorf("%s: the client's X-Forwarded-Client-Cert or X-Forwarded-Proto reached the function: %v", tc.path, hs)
				}
			}
		}
	})

	t.Run("http_redirect_listen", func(t *testing.T) {
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(tr.redirect + "/hello?x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := "https://127.0.0.1:" + tr.port + "/hello?x=1"; resp.StatusCode != 308 || resp.Header.Get("Location") != want {
			t.Errorf("%d %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
	})

	t.Run("expiry metric", func(t *testing.T) {
		_, metrics := get(t, tr.admin+"/metrics")
		for _, want := range []string{`portcullis_tls_certificate_expiry_seconds{file="` + tr.p.path("api.pem") + `",role="server",`, `role="truststore"`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func TestTLSOptionalClientCert(t *testing.T) {
	tr := startTLS(t, tlsconf.ModeOptional)
	tok := tr.iss.Mint(t, "k1", nil)
	c := tr.p.client(nil, true, tr.port)
	resp, body, err := tr.do(t, c, "/hello", "Authorization", "Bearer "+tok, "X-Forwarded-Client-Cert", "forged")
	if err != nil || resp.StatusCode != 200 || body != "backend" {
		t.Fatalf("without a certificate: %v %q %v", resp, body, err)
	}
	h, _ := tr.rec.last()
	for _, name := range []string{"X-Forwarded-Client-Cert", "X-Subject"} {
		if v := h.Values(name); v != nil {
			t.Errorf("backend got %s %q without a client certificate", name, v)
		}
	}
	if resp, _, err := tr.do(t, c, "/fn2", "X-Key", "k"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/fn2: %v %v", resp, err)
	}
	_, events := tr.rec.last()
	for i, ev := range events {
		if rc, _ := ev["requestContext"].(map[string]any); rc["authentication"] != nil {
			t.Errorf("2.0 event %d without a client certificate has authentication: %v", i, rc["authentication"])
		}
	}
	// A bound-token route denies without a certificate.
	bound := tr.iss.Mint(t, "k1", map[string]any{"cnf": map[string]any{"x5t#S256": "AAAA"}})
	if resp, _, err := tr.do(t, c, "/bound", "Authorization", "Bearer "+bound); err != nil || resp.StatusCode != 401 {
		t.Errorf("/bound without a certificate: %v %v", resp, err)
	}
	// With one, the certificate is verified and used.
	c = tr.p.client(&tr.client, true, tr.port)
	if resp, _, err := tr.do(t, c, "/hello", "Authorization", "Bearer "+tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("with a certificate: %v %v", resp, err)
	}
	if h, _ := tr.rec.last(); h.Get("X-Subject") != "CN=client-1,O=Portcullis development" {
		t.Errorf("X-Subject %q", h.Get("X-Subject"))
	}
}

// TestTLSReload: SIGHUP reads the certificates again; a connection made
// before goes on; a broken certificate file is refused and the previous
// one keeps serving.
func TestTLSReload(t *testing.T) {
	tr := startTLS(t, tlsconf.ModeRequire)
	tok := tr.iss.Mint(t, "k1", nil)
	kept := tr.p.client(&tr.client, false, tr.port) // one kept-alive connection
	served := func(c *http.Client) *x509.Certificate {
		t.Helper()
		resp, body, err := tr.do(t, c, "/hello", "Authorization", "Bearer "+tok)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %q %v", resp, body, err)
		}
		return resp.TLS.PeerCertificates[0]
	}
	if got := served(kept).Subject.CommonName; got != "api.test" {
		t.Fatalf("first certificate %s", got)
	}

	tr.p.issue(t, tr.p.ca, "api", tlsconf.Leaf{CommonName: "api.test v2", DNSNames: []string{"api.test"}})
	tr.reload <- struct{}{}
	eventually(t, "the new certificate served", func() bool {
		return served(tr.p.client(&tr.client, false, tr.port)).Subject.CommonName == "api.test v2"
	})
	// The connection opened before the reload still serves, with the
	// certificate it negotiated.
	if got := served(kept).Subject.CommonName; got != "api.test" {
		t.Errorf("kept-alive connection: certificate %s", got)
	}

	tr.p.file(t, "api.pem", []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"))
	tr.reload <- struct{}{}
	eventually(t, "reload refused", func() bool { return strings.Contains(tr.logs.String(), "reload refused") })
	if !strings.Contains(tr.logs.String(), "tls.certificates[0].cert_file") {
		t.Errorf("the refusal does not name the certificate:\n%s", tr.logs)
	}
	if got := served(tr.p.client(&tr.client, false, tr.port)).Subject.CommonName; got != "api.test v2" {
		t.Errorf("after a broken reload: certificate %s, want api.test v2", got)
	}
}
