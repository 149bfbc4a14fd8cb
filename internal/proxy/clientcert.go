package proxy

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"strings"
)

// ClientCertHeader carries the mutual TLS client certificate to an
// http_proxy backend, in Envoy's X-Forwarded-Client-Cert form:
// Hash=SHA-256 of the DER in hex;Subject="DN". It is set only by the
// gateway, only for a verified certificate; a client's own value is always
// removed.
const ClientCertHeader = "X-Forwarded-Client-Cert"

// forwardedClientCert is the ClientCertHeader value for c.
func forwardedClientCert(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	subject := c.Subject.String()
	var b strings.Builder
	b.Grow(len("Hash=;Subject=\"\"") + 2*len(sum) + len(subject) + 8)
	b.WriteString("Hash=")
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteString(`;Subject="`)
	for i := 0; i < len(subject); i++ {
		switch ch := subject[i]; {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch < 0x20 || ch == 0x7f:
			// not valid in a header value; a DN's control characters are
			// escaped by pkix already, this is belt and braces
			b.WriteByte('?')
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
	return b.String()
}
