package apigwevent

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestClientCertFormats(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		// AWS's examples: "May 28 12:30:02 2019 GMT", "Aug  5 09:36:04 2021 GMT".
		{time.Date(2019, 5, 28, 12, 30, 2, 0, time.UTC), "May 28 12:30:02 2019 GMT"},
		{time.Date(2021, 8, 5, 9, 36, 4, 0, time.UTC), "Aug  5 09:36:04 2021 GMT"},
		{time.Date(2021, 8, 5, 11, 36, 4, 0, time.FixedZone("CEST", 2*3600)), "Aug  5 09:36:04 2021 GMT"},
	} {
		if got := FormatCertTime(tc.t); got != tc.want {
			t.Errorf("FormatCertTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
	for _, tc := range []struct {
		serial *big.Int
		want   string
	}{
		{new(big.Int).SetBytes([]byte{0xa1, 0xa1, 0x0f, 0x00}), "a1:a1:0f:00"},
		{big.NewInt(1), "01"},
		{big.NewInt(0), "00"},
	} {
		if got := SerialNumber(&x509.Certificate{SerialNumber: tc.serial}); got != tc.want {
			t.Errorf("SerialNumber(%x) = %q, want %q", tc.serial, got, tc.want)
		}
	}
}

func TestClientCertOnlyWhenVerified(t *testing.T) {
	leaf := &x509.Certificate{
		Raw:          []byte{0x30, 0x03, 0x02, 0x01, 0x01},
		SerialNumber: big.NewInt(0x1f),
		Subject:      pkix.Name{CommonName: "client", Organization: []string{"Example"}},
		Issuer:       pkix.Name{CommonName: "CA"},
		NotBefore:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	if ClientCertOf(nil) != nil || ClientCertOf(&tls.ConnectionState{}) != nil {
		t.Error("a clientCert without a connection or a certificate")
	}
	// Sent but not verified (a server that does not ask for a chain):
	// nothing.
	if ClientCertOf(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}) != nil {
		t.Error("a clientCert for an unverified certificate")
	}
	cc := ClientCertOf(&tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf}}})
	if cc == nil {
		t.Fatal("no clientCert for a verified certificate")
	}
	want := ClientCert{
		ClientCertPem: "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
		SubjectDN:     "CN=client,O=Example",
		IssuerDN:      "CN=CA",
		SerialNumber:  "1f",
		Validity:      ClientCertValidity{NotBefore: "Jan  2 03:04:05 2026 GMT", NotAfter: "Jan  2 03:04:05 2027 GMT"},
	}
	if *cc != want {
		t.Errorf("got  %+v\nwant %+v", *cc, want)
	}
	if !strings.HasSuffix(cc.ClientCertPem, "\n") {
		t.Error("PEM without its final newline")
	}
}
