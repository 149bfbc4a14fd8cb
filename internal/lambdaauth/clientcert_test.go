package lambdaauth

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http/httptest"
	"testing"
)

// TestClientCertIdentitySource: $context.identity.clientCert.* may be an
// identity source (and so part of the cache key); it is empty, so the
// request is denied without invoking, when there is no verified client
// certificate.
func TestClientCertIdentitySource(t *testing.T) {
	leaf := &x509.Certificate{SerialNumber: big.NewInt(0xab01), Subject: pkix.Name{CommonName: "c1"}}
	for _, tc := range []struct {
		expr  string
		state *tls.ConnectionState
		want  string
	}{
		{"$context.identity.clientCert.serialNumber", &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf}}}, "ab:01"},
		{"$context.identity.clientCert.subjectDN", &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{leaf}}}, "CN=c1"},
		{"$context.identity.clientCert.subjectDN", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}, ""},
		{"$context.identity.clientCert.subjectDN", nil, ""},
	} {
		src, err := parseSource(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.TLS = tc.state
		a := &Authorizer{sources: []source{src}}
		values, ok := a.identityValues(&Request{HTTP: r})
		if tc.want == "" {
			if ok {
				t.Errorf("%s without a verified certificate: %q, want missing", tc.expr, values)
			}
			continue
		}
		if !ok || values[0] != tc.want {
			t.Errorf("%s: %q %v, want %q", tc.expr, values, ok, tc.want)
		}
	}
	if _, err := parseSource("$context.identity.clientCert.nope"); err == nil {
		t.Error("an unknown clientCert field was accepted")
	}
}
