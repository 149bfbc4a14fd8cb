package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Key types for development certificates.
const (
	KeyECDSA = "ecdsa" // P-256
	KeyRSA   = "rsa"   // 2048 bits
)

// DevValidity is how long `portcullis cert dev` certificates are valid.
const DevValidity = 90 * 24 * time.Hour

// DevCA is a certificate authority for development and tests: it issues
// server and client certificates. Not for production: its key sits in a
// file next to the certificates it signs.
type DevCA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewKey returns a new private key of type kind (KeyECDSA or KeyRSA).
func NewKey(kind string) (crypto.Signer, error) {
	switch kind {
	case KeyECDSA, "":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyRSA:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("key type %q: use %s or %s", kind, KeyECDSA, KeyRSA)
}

// NewDevCA returns a self-signed CA named name, valid from now for
// validity.
func NewDevCA(name string, validity time.Duration) (*DevCA, error) {
	key, err := NewKey(KeyECDSA)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Portcullis development"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("dev CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("dev CA: %w", err)
	}
	return &DevCA{Cert: cert, Key: key}, nil
}

// Leaf says what certificate DevCA.Issue makes. Zero times mean from a
// minute ago for DevValidity; an empty Usage means serverAuth when the
// leaf has names, else clientAuth.
type Leaf struct {
	CommonName          string
	DNSNames            []string
	IPAddresses         []net.IP
	Usage               []x509.ExtKeyUsage
	NotBefore, NotAfter time.Time
	KeyType             string // KeyECDSA (default) or KeyRSA
}

// Issue signs a new certificate with a new key.
func (ca *DevCA) Issue(l Leaf) (*x509.Certificate, crypto.Signer, error) {
	key, err := NewKey(l.KeyType)
	if err != nil {
		return nil, nil, err
	}
	if l.NotBefore.IsZero() {
		l.NotBefore = time.Now().Add(-time.Minute)
	}
	if l.NotAfter.IsZero() {
		l.NotAfter = l.NotBefore.Add(DevValidity)
	}
	usage := l.Usage
	if usage == nil {
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		if len(l.DNSNames) > 0 || len(l.IPAddresses) > 0 {
			usage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
	}
	ku := x509.KeyUsageDigitalSignature
	if _, isRSA := key.(*rsa.PrivateKey); isRSA {
		ku |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: []string{"Portcullis development"}},
		NotBefore:    l.NotBefore,
		NotAfter:     l.NotAfter,
		KeyUsage:     ku,
		ExtKeyUsage:  usage,
		DNSNames:     l.DNSNames,
		IPAddresses:  l.IPAddresses,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("issue %q: %w", l.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func newSerial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // never fails on Go 1.24+
	return n.Add(n, big.NewInt(1))
}

// CertPEM returns certs as PEM, in order.
func CertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM returns key as PKCS #8 PEM.
func KeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// DevFiles are the files `portcullis cert dev` writes, by role.
var DevFiles = []struct{ Name, Role string }{
	{"ca.pem", "development CA (the truststore for client_auth, and --cacert for curl)"},
	{"ca-key.pem", "the CA's private key (keep it to issue more certificates; never deploy it)"},
	{"server.pem", "server certificate for localhost, 127.0.0.1 and ::1 (tls.certificates[].cert_file)"},
	{"server-key.pem", "its key (key_file)"},
	{"client.pem", "client certificate, CN=dev-client (curl --cert)"},
	{"client-key.pem", "its key (curl --key)"},
}

// WriteDev writes a development CA, a server certificate for localhost,
// 127.0.0.1 and ::1, and a client certificate into dir (created if
// missing), as named by DevFiles. Existing files are not overwritten.
func WriteDev(dir string) error {
	for _, f := range DevFiles {
		if _, err := os.Stat(filepath.Join(dir, f.Name)); err == nil {
			return fmt.Errorf("%s exists already; choose another --out or remove it", filepath.Join(dir, f.Name))
		}
	}
	ca, err := NewDevCA("Portcullis development CA", DevValidity)
	if err != nil {
		return err
	}
	server, serverKey, err := ca.Issue(Leaf{
		CommonName:  "localhost",
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	})
	if err != nil {
		return err
	}
	client, clientKey, err := ca.Issue(Leaf{CommonName: "dev-client"})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	write := func(name string, data []byte, perm os.FileMode) {
		// O_EXCL: a file that appeared since the check is not replaced.
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			errs = append(errs, err)
			return
		}
		_, err = f.Write(data)
		errs = append(errs, err, f.Close())
	}
	for _, kp := range []struct {
		cert, key string
		c         *x509.Certificate
		k         crypto.Signer
	}{{"ca.pem", "ca-key.pem", ca.Cert, ca.Key}, {"server.pem", "server-key.pem", server, serverKey}, {"client.pem", "client-key.pem", client, clientKey}} {
		keyPEM, err := KeyPEM(kp.k)
		if err != nil {
			return err
		}
		write(kp.cert, CertPEM(kp.c), 0o644)
		write(kp.key, keyPEM, 0o600)
	}
	return errors.Join(errs...)
}
