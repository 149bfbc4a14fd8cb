package jwtauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
)

// ReasonNotCertificateBound: the authorizer requires certificate-bound
// tokens (RFC 8705) and the token's cnf.x5t#S256 is missing or is not the
// thumbprint of the client's TLS certificate, or there is no client
// certificate.
const ReasonNotCertificateBound = "not_certificate_bound"

// CertificateBindingDenial is the denial for ReasonNotCertificateBound.
func CertificateBindingDenial() *Denial {
	return &Denial{Reason: ReasonNotCertificateBound, Description: "The token is not bound to the client certificate."}
}

// CertificateBound reports whether id is bound to cert as RFC 8705 section
// 3.1 says: its cnf claim is an object whose "x5t#S256" member is the
// unpadded base64url SHA-256 of cert's DER. A nil cert, a missing or
// malformed cnf, or any other value is false.
func (id *Identity) CertificateBound(cert *x509.Certificate) bool {
	if cert == nil {
		return false
	}
	cnf, ok := id.Claims.Get("cnf")
	if !ok || len(cnf) == 0 || cnf[0] != '{' {
		return false
	}
	var members map[string]any
	if err := json.Unmarshal([]byte(cnf), &members); err != nil {
		return false
	}
	x5t, ok := members["x5t#S256"].(string)
	if !ok {
		return false
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(x5t)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	want := sha256.Sum256(cert.Raw)
	return subtle.ConstantTimeCompare(got, want[:]) == 1
}
