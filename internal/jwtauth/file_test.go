package jwtauth

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/portcullis/portcullis/internal/token"
)

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileSettings use an issuer that is not a URL: a file never needs one.
func fileSettings(path string) Settings {
	return Settings{Name: "file", Issuer: "issuer-x", Audience: []string{"api"}, JWKSFile: path}
}

func fileClaims() jwt.MapClaims {
	return jwt.MapClaims{"iss": "issuer-x", "aud": "api", "sub": "s", "exp": t0.Add(time.Hour).Unix()}
}

func TestJWKSFile(t *testing.T) {
	k := sharedKeys()
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{
		publicJWK(t, k.rsa.Public(), "r", "", "sig"),
		publicJWK(t, k.ed.Public(), "e", "EdDSA", ""),
	}})
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAuthorizer(t, fileSettings(writeFile(t, append([]byte("\n  "), body...))), Options{})
	if !a.Ready() {
		t.Fatal("not ready")
	}
	wantOK(t, a, mint(t, jwt.SigningMethodPS256, k.rsa, "r", fileClaims(), nil))
	wantOK(t, a, mint(t, jwt.SigningMethodEdDSA, k.ed, "e", fileClaims(), nil))
	wantDenied(t, a, mint(t, jwt.SigningMethodRS256, k.rsa, "x", fileClaims(), nil), ReasonUnknownKid)
	wantDenied(t, a, mint(t, jwt.SigningMethodRS256, k.rsa, "", fileClaims(), nil), ReasonUnknownKid)
}

func TestPEMFile(t *testing.T) {
	k := sharedKeys()
	pkixRSA, _ := x509.MarshalPKIXPublicKey(k.rsa.Public())
	pkixEd, _ := x509.MarshalPKIXPublicKey(k.ed.Public())
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, NotBefore: t0, NotAfter: t0.Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.ec256.Public(), k.ec256)
	if err != nil {
		t.Fatal(err)
	}
	var file []byte
	file = append(file, "# comment lines outside blocks are ignored\n"...)
	file = append(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixRSA})...)
	file = append(file, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa2.PublicKey)})...)
	file = append(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})...)
	file = append(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixEd})...)
	a := newTestAuthorizer(t, fileSettings(writeFile(t, file)), Options{})

	tp := func(pub any) string {
		s, err := token.Thumbprint(pub)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	c := fileClaims()
	for _, tc := range []struct {
		name   string
		token  string
		reason string
	}{
		{"PKIX RSA, no kid", mint(t, jwt.SigningMethodRS256, k.rsa, "", c, nil), ""},
		{"PKCS1 RSA, no kid", mint(t, jwt.SigningMethodPS512, k.rsa2, "", c, nil), ""},
		{"certificate EC, no kid", mint(t, jwt.SigningMethodES256, k.ec256, "", c, nil), ""},
		{"Ed25519, no kid", mint(t, jwt.SigningMethodEdDSA, k.ed, "", c, nil), ""},
		{"thumbprint kid RSA", mint(t, jwt.SigningMethodRS256, k.rsa, tp(k.rsa.Public()), c, nil), ""},
		{"thumbprint kid EC", mint(t, jwt.SigningMethodES256, k.ec256, tp(k.ec256.Public()), c, nil), ""},
		{"wrong key under a thumbprint", mint(t, jwt.SigningMethodRS256, k.rsa2, tp(k.rsa.Public()), c, nil), ReasonBadSignature},
		{"other kid", mint(t, jwt.SigningMethodRS256, k.rsa, "other", c, nil), ReasonUnknownKid},
		{"unknown key, no kid", mint(t, jwt.SigningMethodES384, k.ec384, "", c, nil), ReasonUnknownKid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.reason == "" {
				wantOK(t, a, tc.token)
			} else {
				wantDenied(t, a, tc.token, tc.reason)
			}
		})
	}
}

func TestThumbprintRFC7638(t *testing.T) {
	// RFC 7638 §3.1.
	n := "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	jwk, err := jwkset.NewJWKFromMarshal(jwkset.JWKMarshal{KTY: jwkset.KtyRSA, N: n, E: "AQAB"}, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := token.Thumbprint(jwk.Key().(*rsa.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint = %s, want %s", got, want)
	}
}

func TestKeyFileErrors(t *testing.T) {
	k := sharedKeys()
	rsaDER := x509.MarshalPKCS1PrivateKey(k.rsa)
	ecDER, _ := x509.MarshalECPrivateKey(k.ec256)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k.ed)
	pub, _ := x509.MarshalPKIXPublicKey(k.rsa.Public())
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallDER, _ := x509.MarshalPKIXPublicKey(small.Public())
	privJWK, _ := jwkset.NewJWKFromKey(k.ec256, jwkset.JWKOptions{Marshal: jwkset.JWKMarshalOptions{Private: true}})
	privJWKS, _ := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{privJWK.Marshal()}})
	_ = ecdsa.PublicKey{}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"RSA private key", append(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: rsaDER})...), "private key"},
		{"EC private key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), "private key"},
		{"PKCS8 private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), "private key"},
		{"private JWK", privJWKS, "private"},
		{"no PEM blocks", []byte("hello"), "no PEM blocks"},
		{"empty", nil, "no PEM blocks"},
		{"bad PEM body", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}), "PEM block 1"},
		{"unknown block", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte("junk")}), "unsupported type"},
		{"small RSA", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER}), "shorter than 2048"},
		{"empty JWKS", []byte(`{"keys":[]}`), "no usable signing key"},
		{"JWKS of enc keys", mustJSON(t, jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{publicJWK(t, k.rsa.Public(), "a", "", "enc")}}), "no usable signing key"},
		{"bad JSON", []byte(`{"keys":`), "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(fileSettings(writeFile(t, tt.data)), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "BEGIN") || (len(privJWK.Marshal().D) > 0 && strings.Contains(err.Error(), privJWK.Marshal().D)) {
				t.Fatal("error contains key material")
			}
		})
	}
	if _, err := New(fileSettings(filepath.Join(t.TempDir(), "missing")), Options{}); err == nil {
		t.Fatal("missing file accepted")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
