// Package tlsconf is the listener's TLS: it checks the `tls:` block, reads
// the certificates, keys and client truststore it names into a Bundle, and
// serves the current Bundle to every new handshake through a Terminator, so
// that a reload (SIGHUP) swaps them atomically while established
// connections go on with what they negotiated.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
)

// MaxPEMFile bounds each certificate, key and truststore file.
const MaxPEMFile = 1 << 20

// MaxTruststoreCerts bounds the CAs of a truststore.
const MaxTruststoreCerts = 1000

// Client authentication modes (client_auth.mode).
const (
	ModeRequire  = "require"
	ModeOptional = "optional"
)

// DefaultCipherSuites is the TLS 1.2 allow-list when cipher_suites is not
// set: ECDHE key exchange with AEAD ciphers only (no CBC, no SHA-1 MAC, no
// RSA key exchange). TLS 1.3 suites are not configurable (all are AEAD).
func DefaultCipherSuites() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// Bundle is one loaded `tls:` block: certificates with their keys, the
// protocol policy and the client truststore. It is immutable once built;
// a reload builds a new one.
type Bundle struct {
	certs      []loadedCert
	truststore *x509.CertPool // nil: no mutual TLS
	trusted    []trustedCA
	trustFile  string
	clientAuth tls.ClientAuthType
	minVersion uint16
	suites     []uint16
	config     *tls.Config // handed to each handshake by Terminator
	warnings   config.Errors
}

type loadedCert struct {
	file string
	cert tls.Certificate // Leaf is set
}

type trustedCA struct {
	cert *x509.Certificate
}

// Warnings are problems that do not stop the bundle from serving (an
// expired certificate, one without subject alternative names), each at its
// certificate's cert_file in the configuration: serve logs them, check
// prints them.
func (b *Bundle) Warnings() config.Errors { return b.warnings }

// MutualTLS reports whether clients are asked for a certificate.
func (b *Bundle) MutualTLS() bool { return b.truststore != nil }

// Setup checks the `tls:` block of f and http_redirect_listen, and reads the
// files the block names (relative paths follow the configuration file's
// folder). It returns nil and no error when f has no `tls:` block. Every
// problem comes back at once as *config.Errors with its place in the file.
func Setup(f *config.File) (*Bundle, error) {
	c := f.Config.TLS
	if c == nil {
		if f.Config.HTTPRedirectListen != "" {
			return nil, &config.Errors{*f.Errorf("http_redirect_listen", "http_redirect_listen redirects to https and needs a tls block")}
		}
		return nil, nil
	}
	var errs config.Errors
	b := &Bundle{minVersion: tls.VersionTLS12, clientAuth: tls.NoClientCert}
	resolve := f.Resolve

	switch c.MinVersion {
	case "", "1.2":
	case "1.3":
		b.minVersion = tls.VersionTLS13
	default:
		errs = append(errs, *f.Errorf("tls.min_version", "min_version %q: write \"1.2\" or \"1.3\" (TLS 1.0 and 1.1 are not offered)", c.MinVersion))
	}
	b.suites = DefaultCipherSuites()
	if len(c.CipherSuites) > 0 {
		if b.minVersion == tls.VersionTLS13 {
			errs = append(errs, *f.Errorf("tls.cipher_suites", "cipher_suites choose TLS 1.2 suites; with min_version \"1.3\" they have no effect (TLS 1.3 suites are fixed)"))
		}
		b.suites = nil
		for i, name := range c.CipherSuites {
			id, err := cipherSuite(name)
			if err != nil {
				errs = append(errs, *f.Errorf("tls.cipher_suites["+strconv.Itoa(i)+"]", "%v", err))
				continue
			}
			b.suites = append(b.suites, id)
		}
	}

	if len(c.Certificates) == 0 {
		errs = append(errs, *f.Errorf("tls", "tls needs at least one entry in certificates (cert_file and key_file)"))
	}
	for i, cc := range c.Certificates {
		at := "tls.certificates[" + strconv.Itoa(i) + "]"
		if cc.CertFile == "" || cc.KeyFile == "" {
			errs = append(errs, *f.Errorf(at, "a certificate needs both cert_file and key_file"))
			continue
		}
		lc, warn, err := loadCertificate(resolve(cc.CertFile), resolve(cc.KeyFile))
		if err != nil {
			errs = append(errs, *f.Errorf(at+".cert_file", "%v", err))
			continue
		}
		if warn != "" {
			b.warnings = append(b.warnings, *f.Errorf(at+".cert_file", "%s", warn))
		}
		b.certs = append(b.certs, lc)
	}

	if ca := c.ClientAuth; ca != nil {
		switch ca.Mode {
		case "", ModeRequire:
			b.clientAuth = tls.RequireAndVerifyClientCert
		case ModeOptional:
			b.clientAuth = tls.VerifyClientCertIfGiven
		default:
			errs = append(errs, *f.Errorf("tls.client_auth.mode", "mode %q: write require (no valid certificate, no connection) or optional (a certificate, if sent, must be valid)", ca.Mode))
		}
		if ca.Truststore == "" {
			errs = append(errs, *f.Errorf("tls.client_auth", "client_auth needs truststore: the PEM bundle of the CAs that issue client certificates"))
		} else {
			b.trustFile = resolve(ca.Truststore)
			pool, cas, err := loadTruststore(b.trustFile)
			if err != nil {
				errs = append(errs, *f.Errorf("tls.client_auth.truststore", "%v", err))
			}
			b.truststore, b.trusted = pool, cas
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	b.config = b.handshakeConfig()
	return b, nil
}

// cipherSuite returns the id of a TLS 1.2 suite named as IANA names it.
func cipherSuite(name string) (uint16, error) {
	for _, s := range tls.CipherSuites() {
		if s.Name == name {
			if !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
				return 0, fmt.Errorf("%s is a TLS 1.3 suite, which is not configurable; list TLS 1.2 suites only", name)
			}
			return s.ID, nil
		}
	}
	for _, s := range tls.InsecureCipherSuites() {
		if s.Name == name {
			return 0, fmt.Errorf("%s is insecure and not offered", name)
		}
	}
	var known []string
	for _, s := range tls.CipherSuites() {
		if slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			known = append(known, s.Name)
		}
	}
	return 0, fmt.Errorf("unknown cipher suite %q (TLS 1.2 suites by IANA name: %s)", name, strings.Join(known, ", "))
}

// loadCertificate reads a PEM certificate chain and its private key. The
// key must match the leaf. warn says what a client may dislike about the
// certificate (expired, no subject alternative names).
func loadCertificate(certFile, keyFile string) (loadedCert, string, error) {
	certPEM, err := config.ReadLimited(certFile, MaxPEMFile)
	if err != nil {
		return loadedCert{}, "", fmt.Errorf("certificate: %w", err)
	}
	keyPEM, err := config.ReadLimited(keyFile, MaxPEMFile)
	if err != nil {
		return loadedCert{}, "", fmt.Errorf("key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The standard library's words never quote key material.
		return loadedCert{}, "", fmt.Errorf("%s with %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return loadedCert{}, "", fmt.Errorf("%s: %w", certFile, err)
		}
	}
	var warn string
	switch leaf := cert.Leaf; {
	case time.Now().After(leaf.NotAfter):
		warn = fmt.Sprintf("%s expired on %s: clients will refuse it", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	case len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0:
		warn = fmt.Sprintf("%s has no subject alternative names: clients will not match it to a host name", certFile)
	}
	return loadedCert{file: certFile, cert: cert}, warn, nil
}

// loadTruststore reads a PEM bundle of CA certificates. Anything in it that
// is not a certificate is an error: a truststore is trusted whole or not at
// all (AWS keeps going with warnings; a gateway should not guess).
func loadTruststore(file string) (*x509.CertPool, []trustedCA, error) {
	data, err := config.ReadLimited(file, MaxPEMFile)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	var cas []trustedCA
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, nil, fmt.Errorf("%s: PEM block %d is %q, not a CERTIFICATE", file, n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: certificate %d: %w", file, n, err)
		}
		if len(cas) == MaxTruststoreCerts {
			return nil, nil, fmt.Errorf("%s holds more than %d certificates", file, MaxTruststoreCerts)
		}
		pool.AddCert(cert)
		cas = append(cas, trustedCA{cert: cert})
	}
	if len(cas) == 0 {
		return nil, nil, errors.New(file + " holds no PEM certificate")
	}
	if strings.TrimSpace(string(data)) != "" {
		return nil, nil, fmt.Errorf("%s: text after the last certificate is not PEM", file)
	}
	return pool, cas, nil
}

// handshakeConfig is the configuration one handshake uses; Terminator
// returns it from GetConfigForClient.
func (b *Bundle) handshakeConfig() *tls.Config {
	certs := make([]tls.Certificate, len(b.certs))
	for i, c := range b.certs {
		certs[i] = c.cert
	}
	cfg := &tls.Config{
		// Go chooses among Certificates by SNI (the leaf's names) and by
		// what the client supports, falling back to the first.
		Certificates: certs,
		MinVersion:   b.minVersion,
		CipherSuites: b.suites,
		NextProtos:   []string{"h2", "http/1.1"},
		ClientAuth:   b.clientAuth,
		// A resumed session's client chain is verified again against
		// ClientCAs by crypto/tls (Go 1.21 on), so a truststore swapped in
		// by a reload also applies to sessions begun before it (TestSwap).
		ClientCAs: b.truststore,
	}
	return cfg
}
