// Package token mints signed JWTs and makes key pairs for local development
// and tests. The key decides the algorithm; nothing here verifies.
package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// LoadSigningKey reads a PEM private key (PKCS#8, PKCS#1 RSA or SEC 1 EC) and
// returns it with the algorithm its type implies: RS256, ES256/384/512 by
// curve, or EdDSA.
func LoadSigningKey(data []byte) (crypto.Signer, string, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, "", errors.New("no PEM private key found")
		}
		var key any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			continue // parameters, certificates, public keys
		}
		if err != nil {
			return nil, "", fmt.Errorf("parsing %s: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, "", fmt.Errorf("unsupported private key type %T", key)
		}
		alg, err := DefaultAlgorithm(signer.Public())
		return signer, alg, err
	}
}

// DefaultAlgorithm is the JWS algorithm a public key implies.
func DefaultAlgorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", fmt.Errorf("unsupported EC curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("unsupported key type %T", pub)
}

// compatible reports whether alg can be used with the key (an RSA key may
// also sign RS384/512 and PS*; EC and Ed25519 keys have one algorithm each).
func compatible(pub crypto.PublicKey, alg string) bool {
	def, err := DefaultAlgorithm(pub)
	if err != nil {
		return false
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
		return false
	}
	return alg == def
}

// Claims for Mint. Zero fields are left out, except that exp and iat are
// always set.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string       // one entry is written as a string, several as an array
	Scope    string         // space-separated
	TTL      time.Duration  // 0 means 1h; negative mints an expired token
	Extra    map[string]any // more claims; they may override the above
	Now      time.Time      // zero: time.Now()
}

// Mint signs claims with key. alg "" uses the key's default algorithm; kid ""
// leaves the header's kid out.
func Mint(key crypto.Signer, alg, kid string, c Claims) (string, error) {
	if alg == "" {
		var err error
		if alg, err = DefaultAlgorithm(key.Public()); err != nil {
			return "", err
		}
	}
	if !compatible(key.Public(), alg) {
		return "", fmt.Errorf("algorithm %s does not fit a %T key", alg, key.Public())
	}
	method := jwt.GetSigningMethod(alg)
	if method == nil {
		return "", fmt.Errorf("unknown algorithm %q", alg)
	}
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	if c.TTL == 0 {
		c.TTL = time.Hour // a negative TTL is kept: expired tokens are useful in tests
	}
	mc := jwt.MapClaims{
		"iat": now.Unix(),
		"exp": now.Add(c.TTL).Unix(),
		"jti": randomID(),
	}
	if c.Issuer != "" {
		mc["iss"] = c.Issuer
	}
	if c.Subject != "" {
		mc["sub"] = c.Subject
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		mc["aud"] = c.Audience[0]
	default:
		mc["aud"] = c.Audience
	}
	if c.Scope != "" {
		mc["scope"] = c.Scope
	}
	for k, v := range c.Extra {
		mc[k] = v
	}
	t := jwt.NewWithClaims(method, mc)
	if kid != "" {
		t.Header["kid"] = kid
	}
	return t.SignedString(key)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// GenerateKey makes a private key of the given type: rsa (2048-bit), ec
// (P-256), or ed25519.
func GenerateKey(kind string) (crypto.Signer, error) {
	switch kind {
	case "rsa", "RS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ec", "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ed25519", "EdDSA":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("unknown key type %q (rsa, ec, ed25519)", kind)
}

// WriteKeyPair writes private.pem (mode 0600), public.pem and jwks.json, whose
// one key has kid and the algorithm the key implies.
func WriteKeyPair(dir, kid string, key crypto.Signer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	jwk, err := PublicJWK(key.Public(), kid)
	if err != nil {
		return err
	}
	jwks, err := json.MarshalIndent(map[string]any{"keys": []any{jwk}}, "", "  ")
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"private.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), 0o600},
		{"public.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644},
		{"jwks.json", append(jwks, '\n'), 0o644},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists; refusing to overwrite a key", path)
		}
		if err := os.WriteFile(path, f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// PublicJWK is the public key as a JWK map with use "sig" and the key's
// default algorithm.
func PublicJWK(pub crypto.PublicKey, kid string) (map[string]any, error) {
	alg, err := DefaultAlgorithm(pub)
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]any{"use": "sig", "alg": alg}
	if kid != "" {
		m["kid"] = kid
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		raw, err := k.Bytes() // uncompressed point: 0x04 || X || Y
		if err != nil {
			return nil, err
		}
		m["kty"], m["crv"] = "EC", k.Curve.Params().Name
		m["x"], m["y"] = b64(raw[1:1+size]), b64(raw[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64(k)
	}
	return m, nil
}

// Thumbprint is the key's RFC 7638 JWK thumbprint (base64url SHA-256 of the
// required members in lexicographic order), used as a stable kid.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	var doc string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		doc = `{"e":"` + b64(big.NewInt(int64(k.E)).Bytes()) + `","kty":"RSA","n":"` + b64(k.N.Bytes()) + `"}`
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		x, y := make([]byte, size), make([]byte, size)
		k.X.FillBytes(x)
		k.Y.FillBytes(y)
		doc = `{"crv":"` + k.Curve.Params().Name + `","kty":"EC","x":"` + b64(x) + `","y":"` + b64(y) + `"}`
	case ed25519.PublicKey:
		doc = `{"crv":"Ed25519","kty":"OKP","x":"` + b64(k) + `"}`
	default:
		return "", fmt.Errorf("no thumbprint for key type %T", pub)
	}
	sum := sha256.Sum256([]byte(doc))
	return b64(sum[:]), nil
}
