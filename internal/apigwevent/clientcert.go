package apigwevent

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"
)

// ClientCertTimeLayout is the form of validity.notBefore and notAfter: the
// OpenSSL text form AWS shows, "May 28 12:30:02 2019 GMT", the day padded
// with a space ("Aug  5 09:36:04 2021 GMT").
const ClientCertTimeLayout = "Jan _2 15:04:05 2006 GMT"

// ClientCert is a mutual TLS client certificate as API Gateway exposes it:
// the clientCert object of events ($context.identity.clientCert.*).
type ClientCert struct {
	ClientCertPem string             `json:"clientCertPem"`
	SubjectDN     string             `json:"subjectDN"`
	IssuerDN      string             `json:"issuerDN"`
	SerialNumber  string             `json:"serialNumber"`
	Validity      ClientCertValidity `json:"validity"`
}

// ClientCertValidity is clientCert.validity.
type ClientCertValidity struct {
	NotBefore string `json:"notBefore"`
	NotAfter  string `json:"notAfter"`
}

// VerifiedClientCert returns the client's leaf certificate when the TLS
// connection verified a chain for it (mutual TLS), else nil. A certificate
// a client sent that was not verified is never returned.
func VerifiedClientCert(cs *tls.ConnectionState) *x509.Certificate {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return nil
	}
	return cs.VerifiedChains[0][0]
}

// ClientCertOf returns the clientCert object of the connection, or nil
// without a verified client certificate.
func ClientCertOf(cs *tls.ConnectionState) *ClientCert {
	c := VerifiedClientCert(cs)
	if c == nil {
		return nil
	}
	return &ClientCert{
		ClientCertPem: ClientCertPEM(c),
		SubjectDN:     c.Subject.String(),
		IssuerDN:      c.Issuer.String(),
		SerialNumber:  SerialNumber(c),
		Validity: ClientCertValidity{
			NotBefore: FormatCertTime(c.NotBefore),
			NotAfter:  FormatCertTime(c.NotAfter),
		},
	}
}

// ClientCertPEM is the certificate in PEM.
func ClientCertPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// SerialNumber is the serial as AWS shows it: lower-case hex pairs joined
// with ':' ("a1:a1:...").
func SerialNumber(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	if len(b) == 0 {
		return "00"
	}
	h := hex.EncodeToString(b)
	var s strings.Builder
	s.Grow(len(h) + len(b))
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(h[i : i+2])
	}
	return s.String()
}

// FormatCertTime formats t in UTC with ClientCertTimeLayout.
func FormatCertTime(t time.Time) string { return t.UTC().Format(ClientCertTimeLayout) }
