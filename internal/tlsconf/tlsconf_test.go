package tlsconf

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portcullis/portcullis/internal/config"
)

// pki is a CA with a server certificate for two names and files for them.
type pki struct {
	dir    string
	ca     *DevCA
	server *x509.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca, err := NewDevCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{dir: t.TempDir(), ca: ca}
	p.write(t, "ca.pem", CertPEM(ca.Cert))
	p.server = p.issueFiles(t, "api", Leaf{CommonName: "api.test", DNSNames: []string{"api.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	p.issueFiles(t, "other", Leaf{CommonName: "other.test", DNSNames: []string{"other.test"}, KeyType: KeyRSA})
	return p
}

func (p *pki) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issueFiles writes NAME.pem and NAME-key.pem.
func (p *pki) issueFiles(t *testing.T, name string, l Leaf) *x509.Certificate {
	t.Helper()
	cert, key := p.issue(t, p.ca, l)
	kp, err := KeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, name+".pem", CertPEM(cert))
	p.write(t, name+"-key.pem", kp)
	return cert
}

func (p *pki) issue(t *testing.T, ca *DevCA, l Leaf) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	cert, key, err := ca.Issue(l)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func (p *pki) clientCert(t *testing.T, ca *DevCA, l Leaf) tls.Certificate {
	t.Helper()
	cert, key := p.issue(t, ca, l)
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}

func (p *pki) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	return pool
}

func parse(t *testing.T, p *pki, yml string) *config.File {
	t.Helper()
	path := filepath.Join(p.dir, "portcullis.yaml")
	f, err := config.Parse(path, []byte(yml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return f
}

const base = "listen: 127.0.0.1:0\nroutes: [{route: GET /, integration: {type: mock}}]\n"

func TestSetupErrors(t *testing.T) {
	p := newPKI(t)
	p.write(t, "not-pem.pem", []byte("hello"))
	p.write(t, "key-only.pem", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	for _, tc := range []struct {
		name, tls, want string
	}{
		{"no certificates", "tls: {min_version: \"1.2\"}", "portcullis.yaml:3:6: tls: tls needs at least one entry in certificates"},
		{"tls 1.1", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  min_version: \"1.1\"", `portcullis.yaml:5:16: tls.min_version: min_version "1.1": write "1.2" or "1.3"`},
		{"missing key", "tls:\n  certificates:\n    - {cert_file: api.pem}", "portcullis.yaml:5:7: tls.certificates[0]: a certificate needs both cert_file and key_file"},
		{"missing file", "tls:\n  certificates:\n    - {cert_file: nope.pem, key_file: api-key.pem}", "portcullis.yaml:5:19: tls.certificates[0].cert_file: certificate: open "},
		{"key mismatch", "tls:\n  certificates:\n    - {cert_file: api.pem, key_file: other-key.pem}", "tls.certificates[0].cert_file: " + "PORTCULLIS_DIR/api.pem with PORTCULLIS_DIR/other-key.pem: tls: private key type does not match public key type"},
		{"insecure suite", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  cipher_suites: [TLS_ECDHE_RSA_WITH_RC4_128_SHA]", "portcullis.yaml:5:19: tls.cipher_suites[0]: TLS_ECDHE_RSA_WITH_RC4_128_SHA is insecure and not offered"},
		{"1.3 suite", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  cipher_suites: [TLS_AES_128_GCM_SHA256]", "TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite"},
		{"unknown suite", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  cipher_suites: [AES]", `unknown cipher suite "AES"`},
		{"suites with 1.3", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  min_version: \"1.3\"\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]", "portcullis.yaml:6:18: tls.cipher_suites: cipher_suites choose TLS 1.2 suites"},
		{"bad mode", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  client_auth: {truststore: ca.pem, mode: maybe}", `portcullis.yaml:5:43: tls.client_auth.mode: mode "maybe"`},
		{"no truststore", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  client_auth: {mode: require}", "portcullis.yaml:5:16: tls.client_auth: client_auth needs truststore"},
		{"truststore not pem", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  client_auth: {truststore: not-pem.pem}", "not-pem.pem holds no PEM certificate"},
		{"truststore with a key", "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  client_auth: {truststore: key-only.pem}", `PEM block 1 is "PRIVATE KEY", not a CERTIFICATE`},
		{"redirect without tls", "http_redirect_listen: 127.0.0.1:0", "portcullis.yaml:3:23: http_redirect_listen: http_redirect_listen redirects to https and needs a tls block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Setup(parse(t, p, base+tc.tls))
			var errs *config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want *config.Errors", err)
			}
			want := strings.ReplaceAll(tc.want, "PORTCULLIS_DIR", p.dir)
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("got:\n%v\nwant it to contain:\n%s", err, want)
			}
		})
	}
}

// serve runs a TLS echo of the handshake's outcome on loopback: each
// connection gets one line, "ok" and the verified client's CN, and closes.
func serve(t *testing.T, term *Terminator) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", term.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := c.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					return
				}
				cn := "-"
				if cs := tc.ConnectionState(); len(cs.VerifiedChains) > 0 {
					cn = cs.VerifiedChains[0][0].Subject.CommonName
				}
				_, _ = c.Write([]byte("ok " + cn + "\n"))
			}()
		}
	}()
	return ln.Addr().String()
}

// dial handshakes, reads the server's line and returns it, or the error.
func dial(addr string, cfg *tls.Config) (string, error) {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if n == 0 {
		// TLS 1.3: the client's handshake ends before the server has
		// checked the client's certificate; the refusal arrives here.
		return "", err
	}
	return strings.TrimSpace(string(buf[:n])), nil
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	otherCA, err := NewDevCA("other CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	good := p.clientCert(t, p.ca, Leaf{CommonName: "client-1"})
	noEKU := p.clientCert(t, p.ca, Leaf{CommonName: "any-usage", Usage: []x509.ExtKeyUsage{}})
	expired := p.clientCert(t, p.ca, Leaf{CommonName: "expired", NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	notYet := p.clientCert(t, p.ca, Leaf{CommonName: "not-yet", NotBefore: time.Now().Add(24 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour)})
	wrongCA := p.clientCert(t, otherCA, Leaf{CommonName: "stranger"})
	serverUsage := p.clientCert(t, p.ca, Leaf{CommonName: "server-usage", Usage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	rsaClient := p.clientCert(t, p.ca, Leaf{CommonName: "rsa-client", KeyType: KeyRSA})

	for _, mode := range []string{ModeRequire, ModeOptional} {
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			b, err := Setup(parse(t, p, base+"tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  client_auth: {truststore: ca.pem, mode: "+mode+"}\n"))
			if err != nil {
				t.Fatal(err)
			}
			addr := serve(t, NewTerminator(b, nil))
			for _, tc := range []struct {
				name string
				cert *tls.Certificate
				want string // "" means refused
			}{
				{"valid", &good, "ok client-1"},
				{"valid RSA", &rsaClient, "ok rsa-client"},
				{"no extended key usage (any)", &noEKU, "ok any-usage"},
				{"expired", &expired, ""},
				{"not yet valid", &notYet, ""},
				{"wrong CA", &wrongCA, ""},
				{"serverAuth only", &serverUsage, ""},
				{"none", nil, map[string]string{ModeRequire: "", ModeOptional: "ok -"}[mode]},
			} {
				t.Run(mode+"/"+tls.VersionName(version)+"/"+tc.name, func(t *testing.T) {
					cfg := &tls.Config{RootCAs: p.roots(), ServerName: "api.test", MinVersion: version, MaxVersion: version}
					if tc.cert != nil {
						// Sent whatever CAs the server names, as a
						// hostile or misconfigured client would.
						cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return tc.cert, nil }
					}
					got, err := dial(addr, cfg)
					if tc.want == "" {
						if err == nil {
							t.Fatalf("handshake accepted (%q), want it refused", got)
						}
						return
					}
					if err != nil || got != tc.want {
						t.Fatalf("got %q, %v; want %q", got, err, tc.want)
					}
				})
			}
		}
	}
}

func TestProtocolPolicy(t *testing.T) {
	p := newPKI(t)
	b, err := Setup(parse(t, p, base+"tls:\n  certificates:\n    - {cert_file: api.pem, key_file: api-key.pem}\n    - {cert_file: other.pem, key_file: other-key.pem}\n"))
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, NewTerminator(b, nil))
	roots := p.roots()

	t.Run("SNI chooses the certificate; the first is the default", func(t *testing.T) {
		for _, tc := range []struct{ sni, want string }{{"api.test", "api.test"}, {"other.test", "other.test"}, {"", "api.test"}, {"unknown.test", "api.test"}} {
			c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true})
			if err != nil {
				t.Fatalf("%q: %v", tc.sni, err)
			}
			got := c.ConnectionState().PeerCertificates[0].Subject.CommonName
			c.Close()
			if got != tc.want {
				t.Errorf("SNI %q: got %s, want %s", tc.sni, got, tc.want)
			}
		}
		if _, err := dial(addr, &tls.Config{RootCAs: roots, ServerName: "other.test"}); err != nil {
			t.Errorf("other.test does not verify: %v", err)
		}
	})
	t.Run("TLS 1.0 and 1.1 refused", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
			if _, err := dial(addr, &tls.Config{RootCAs: roots, ServerName: "api.test", MinVersion: v, MaxVersion: v}); err == nil {
				t.Errorf("%s accepted", tls.VersionName(v))
			}
		}
	})
	t.Run("TLS 1.2 CBC suites refused, AEAD accepted", func(t *testing.T) {
		cbc := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
		if _, err := dial(addr, &tls.Config{RootCAs: roots, ServerName: "api.test", MaxVersion: tls.VersionTLS12, CipherSuites: cbc}); err == nil {
			t.Error("a CBC suite was negotiated")
		}
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "api.test", MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if s := c.ConnectionState().CipherSuite; s != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 && s != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 && s != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
			t.Errorf("negotiated %s", tls.CipherSuiteName(s))
		}
	})
	t.Run("ALPN offers h2 and http/1.1", func(t *testing.T) {
		for _, proto := range []string{"h2", "http/1.1"} {
			c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "api.test", NextProtos: []string{proto}})
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ConnectionState().NegotiatedProtocol; got != proto {
				t.Errorf("negotiated %q, want %q", got, proto)
			}
			c.Close()
		}
	})
	t.Run("ECDSA and RSA for one name: ECDSA to clients that take it", func(t *testing.T) {
		// docs/benchmarks.md advises this pair (ECDSA first) to spare the
		// CPU of RSA signatures while still serving RSA-only clients.
		p.issueFiles(t, "api-rsa", Leaf{CommonName: "api.test rsa", DNSNames: []string{"api.test"}, KeyType: KeyRSA})
		bb, err := Setup(parse(t, p, base+"tls:\n  certificates:\n    - {cert_file: api.pem, key_file: api-key.pem}\n    - {cert_file: api-rsa.pem, key_file: api-rsa-key.pem}\n"))
		if err != nil {
			t.Fatal(err)
		}
		addrBoth := serve(t, NewTerminator(bb, nil))
		for _, tc := range []struct {
			name string
			cfg  *tls.Config
			want string
		}{
			{"TLS 1.3", &tls.Config{}, "api.test"},
			{"TLS 1.2 ECDSA suites", &tls.Config{MaxVersion: tls.VersionTLS12}, "api.test"},
			{"TLS 1.2 RSA suites only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}, "api.test rsa"},
		} {
			tc.cfg.RootCAs, tc.cfg.ServerName = roots, "api.test"
			c, err := tls.Dial("tcp", addrBoth, tc.cfg)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			got := c.ConnectionState().PeerCertificates[0].Subject.CommonName
			c.Close()
			if got != tc.want {
				t.Errorf("%s: got the certificate %q, want %q", tc.name, got, tc.want)
			}
		}
	})
	t.Run("min_version 1.3", func(t *testing.T) {
		b13, err := Setup(parse(t, p, base+"tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  min_version: \"1.3\"\n"))
		if err != nil {
			t.Fatal(err)
		}
		addr13 := serve(t, NewTerminator(b13, nil))
		if _, err := dial(addr13, &tls.Config{RootCAs: roots, ServerName: "api.test", MaxVersion: tls.VersionTLS12}); err == nil {
			t.Error("TLS 1.2 accepted with min_version 1.3")
		}
		if _, err := dial(addr13, &tls.Config{RootCAs: roots, ServerName: "api.test"}); err != nil {
			t.Error(err)
		}
	})
}

// TestSwap: a new bundle serves new handshakes; a connection made before
// the swap keeps working; resumed sessions are checked against the new
// truststore.
func TestSwap(t *testing.T) {
	p := newPKI(t)
	yml := base + "tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  client_auth: {truststore: ca.pem}\n"
	b1, err := Setup(parse(t, p, yml))
	if err != nil {
		t.Fatal(err)
	}
	term := NewTerminator(b1, nil)
	addr := serve(t, term)
	client := p.clientCert(t, p.ca, Leaf{CommonName: "c"})
	cache := tls.NewLRUClientSessionCache(4)
	cfg := &tls.Config{RootCAs: p.roots(), ServerName: "api.test", Certificates: []tls.Certificate{client}, ClientSessionCache: cache, MaxVersion: tls.VersionTLS12}
	if got, err := dial(addr, cfg); err != nil || got != "ok c" {
		t.Fatalf("before the swap: %q, %v", got, err)
	}
	// Resumption works while the truststore is the same.
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ConnectionState().DidResume {
		t.Error("session not resumed")
	}
	c.Close()

	// A new truststore replaces the old one: a session resumed with a
	// certificate of the old CA is refused.
	newCA, err := NewDevCA("new CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, "ca.pem", CertPEM(newCA.Cert))
	b2, err := Setup(parse(t, p, yml))
	if err != nil {
		t.Fatal(err)
	}
	term.Swap(b2)
	if got, err := dial(addr, cfg); err == nil {
		t.Fatalf("a session resumed with a client certificate of the replaced truststore: %q", got)
	}

	// A new server certificate serves new handshakes.
	newServer := p.issueFiles(t, "api", Leaf{CommonName: "api.test v2", DNSNames: []string{"api.test"}})
	b3, err := Setup(parse(t, p, yml))
	if err != nil {
		t.Fatal(err)
	}
	term.Swap(b3)
	c, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{p.clientCert(t, newCA, Leaf{CommonName: "n"})}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0]; !got.Equal(newServer) {
		t.Errorf("server certificate after swap: %s", got.Subject)
	}
}

func TestExpiryMetric(t *testing.T) {
	p := newPKI(t)
	b, err := Setup(parse(t, p, base+"tls:\n  certificates: [{cert_file: api.pem, key_file: api-key.pem}]\n  client_auth: {truststore: ca.pem}\n"))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	NewTerminator(b, reg)
	if n := testutil.CollectAndCount(reg, "portcullis_tls_certificate_expiry_seconds"); n != 2 {
		t.Fatalf("%d series, want 2 (server, truststore)", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mfs[0].GetMetric() {
		v := m.GetGauge().GetValue()
		// Both expire within the hour the test CA was made for (the
		// server certificate is cut to the CA's validity by nothing but
		// its own NotAfter: DevValidity).
		role := m.GetLabel()[2].GetValue()
		if role == "" || v <= 0 {
			t.Errorf("%v: %v", m.GetLabel(), v)
		}
		if role == "truststore" && v > 3600 {
			t.Errorf("truststore CA expires in %v s, want at most an hour", v)
		}
	}
}

func TestRedirect(t *testing.T) {
	h := RedirectHandler(8443)
	for _, tc := range []struct{ host, uri, want string }{
		{"api.test:8080", "/a/b?x=1", "https://api.test:8443/a/b?x=1"},
		{"api.test", "/", "https://api.test:8443/"},
		{"[::1]:8080", "/p", "https://[::1]:8443/p"},
		{"evil.test/x@", "/", ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", tc.uri, nil)
		req.Host = tc.host
		h.ServeHTTP(rec, req)
		if tc.want == "" {
			if rec.Code != 400 {
				t.Errorf("%s: %d, want 400", tc.host, rec.Code)
			}
			continue
		}
		if rec.Code != 308 || rec.Header().Get("Location") != tc.want {
			t.Errorf("%s%s: %d %v, want 308 %s", tc.host, tc.uri, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
}
