package jwtauth

// Keys: what a usable key is, parsing JWKS and PEM, and the immutable key
// set that verification looks keys up in. Fetching them: fetch.go.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/internal/token"
)

// minRSABits: smaller RSA keys are factorable with public effort; Go itself
// refuses below 1024. maxRSABits: crypto/tls's limit for certificate keys;
// a larger key costs each verification milliseconds. Such keys are
// skipped, not fatal.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// algID indexes the supported algorithms; asymmetric ones first so that a
// key entry can hold one slot per asymmetric algorithm.
type algID uint8

const (
	algRS256 algID = iota
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	numAsymAlgs
)

const (
	algHS256 = numAsymAlgs + iota
	algHS384
	algHS512
	numAlgs
)

// algByName is case-sensitive on purpose (RFC 7515 §4.1.1): "None" or
// "rs256" are not aliases of anything.
func algByName(name string) (algID, bool) {
	switch name {
	case "RS256":
		return algRS256, true
	case "RS384":
		return algRS384, true
	case "RS512":
		return algRS512, true
	case "PS256":
		return algPS256, true
	case "PS384":
		return algPS384, true
	case "PS512":
		return algPS512, true
	case "ES256":
		return algES256, true
	case "ES384":
		return algES384, true
	case "ES512":
		return algES512, true
	case "EdDSA":
		return algEdDSA, true
	case "HS256":
		return algHS256, true
	case "HS384":
		return algHS384, true
	case "HS512":
		return algHS512, true
	}
	return 0, false
}

func (a algID) String() string { return a.method().Alg() }

func (a algID) isHMAC() bool { return a >= algHS256 && a < numAlgs }

// method returns the implementation for the algorithm: golang-jwt's, except
// for RS256/384/512, which verify with a precomputed modulus (rsa.go), and
// ES256/384/512, which skip a round trip through big.Int (ecdsa.go).
func (a algID) method() jwt.SigningMethod {
	switch a {
	case algRS256:
		return rs256
	case algRS384:
		return rs384
	case algRS512:
		return rs512
	case algPS256:
		return jwt.SigningMethodPS256
	case algPS384:
		return jwt.SigningMethodPS384
	case algPS512:
		return jwt.SigningMethodPS512
	case algES256:
		return es256
	case algES384:
		return es384
	case algES512:
		return es512
	case algEdDSA:
		return jwt.SigningMethodEdDSA
	case algHS256:
		return jwt.SigningMethodHS256
	case algHS384:
		return jwt.SigningMethodHS384
	case algHS512:
		return jwt.SigningMethodHS512
	}
	return nil
}

// fits reports whether key may verify alg: the key type must match the
// algorithm family, and an EC key's curve must match the algorithm exactly.
func fits(key crypto.PublicKey, alg algID) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return alg <= algPS512
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return alg == algES256
		case elliptic.P384():
			return alg == algES384
		case elliptic.P521():
			return alg == algES512
		}
	case ed25519.PublicKey:
		return alg == algEdDSA
	}
	return false
}

// sourceKey is one usable public key as found in a source.
type sourceKey struct {
	kid        string // "" when the source gave none
	alg        string // the JWK's alg, "" when absent
	key        crypto.PublicKey
	thumbprint string // set for PEM keys, which are also indexed under it
}

// keyEntry holds, per asymmetric algorithm, either nil, one public key, or a
// jwt.VerificationKeySet, boxed once at build time so lookups never allocate.
type keyEntry struct {
	byAlg [numAsymAlgs]any
}

// keySet is an immutable snapshot of usable keys, swapped atomically.
type keySet struct {
	byKid   map[string]*keyEntry
	noKid   *keyEntry // keys that had no kid in their source
	usable  int
	fetched time.Time // when the issuer served it; zero for key files, which never go stale
}

// count is the number of usable keys; a nil set (nothing loaded yet) has none.
func (ks *keySet) count() int {
	if ks == nil {
		return 0
	}
	return ks.usable
}

// lookup returns the candidates for a token's kid and alg, or nil. A token
// without kid only matches keys that had none.
func (ks *keySet) lookup(kid string, alg algID) any {
	if ks == nil || alg >= numAsymAlgs {
		return nil
	}
	var e *keyEntry
	if kid == "" {
		e = ks.noKid
	} else {
		e = ks.byKid[kid]
	}
	if e == nil {
		return nil
	}
	return e.byAlg[alg]
}

// whyNoKey says, for people (token verify, explain), why lookup found no
// key for h: the kids held, never any key material.
func (ks *keySet) whyNoKey(h tokenHeader) string {
	if ks == nil {
		return ""
	}
	kids := slices.Sorted(maps.Keys(ks.byKid))
	if len(kids) > 10 {
		kids = append(kids[:10], "...")
	}
	held := strings.Join(kids, ", ")
	switch {
	case h.kid == "" && ks.noKid == nil:
		return fmt.Sprintf("The token has no kid, and every key held has one (%s): mint it with --kid, or trust a PEM public key, which needs none.", held)
	case h.kid == "":
		return fmt.Sprintf("No key without a kid fits %s.", h.alg)
	case ks.byKid[h.kid] == nil:
		return fmt.Sprintf("No key held has kid %q (kids held: %s).", h.kid, held)
	}
	return fmt.Sprintf("The key with kid %q does not fit %s.", h.kid, h.alg)
}

// buildKeySet indexes keys that fit at least one algorithm.
func buildKeySet(keys []sourceKey) *keySet {
	lists := map[string]*[numAsymAlgs][]jwt.VerificationKey{}
	var noKid [numAsymAlgs][]jwt.VerificationKey
	hasNoKid := false
	usable := 0
	for _, k := range keys {
		// One precomputed RSA key serves RS256, RS384 and RS512 under every
		// name it is indexed by; PS* keep the plain key for golang-jwt. A
		// key that cannot be prepared (usablePublicKey has already refused
		// what fails here) is not offered for RS*.
		var rk *rsaKey
		if pub, ok := k.key.(*rsa.PublicKey); ok {
			rk, _ = newRSAKey(pub)
		}
		var algs []algID
		for a := algID(0); a < numAsymAlgs; a++ {
			if a <= algRS512 && rk == nil {
				continue
			}
			if fits(k.key, a) && (k.alg == "" || k.alg == a.String()) {
				algs = append(algs, a)
			}
		}
		if len(algs) == 0 {
			continue
		}
		usable++
		keyFor := func(a algID) jwt.VerificationKey {
			if a <= algRS512 {
				return rk
			}
			return k.key
		}
		add := func(kid string) {
			l := lists[kid]
			if l == nil {
				l = new([numAsymAlgs][]jwt.VerificationKey)
				lists[kid] = l
			}
			for _, a := range algs {
				l[a] = append(l[a], keyFor(a))
			}
		}
		if k.kid == "" {
			hasNoKid = true
			for _, a := range algs {
				noKid[a] = append(noKid[a], keyFor(a))
			}
		} else {
			add(k.kid)
		}
		if k.thumbprint != "" && k.thumbprint != k.kid {
			add(k.thumbprint)
		}
	}
	entry := func(l *[numAsymAlgs][]jwt.VerificationKey) *keyEntry {
		e := &keyEntry{}
		for a, ks := range l {
			switch len(ks) {
			case 0:
			case 1:
				e.byAlg[a] = ks[0]
			default:
				e.byAlg[a] = jwt.VerificationKeySet{Keys: ks}
			}
		}
		return e
	}
	ks := &keySet{byKid: make(map[string]*keyEntry, len(lists)), usable: usable}
	for kid, l := range lists {
		ks.byKid[kid] = entry(l)
	}
	if hasNoKid {
		ks.noKid = entry(&noKid)
	}
	return ks
}

// usablePublicKey filters keys we would never verify with.
func usablePublicKey(key any) (crypto.PublicKey, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if err := checkRSA(k); err != nil {
			return nil, err
		}
		return k, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, errors.New("unsupported EC curve")
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key size")
		}
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", key)
}

// parseJWKS reads a JWK Set. Keys that cannot be used are skipped with a
// log line (one bad key must not take down an issuer's other keys); from a
// file, where the operator can fix it, private material is an error.
func parseJWKS(body []byte, fromFile bool, log *slog.Logger) ([]sourceKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, errors.New("JWKS is not a JSON object with a keys array")
	}
	var out []sourceKey
	for i, raw := range set.Keys {
		var m jwkset.JWKMarshal
		if err := json.Unmarshal(raw, &m); err != nil {
			log.Warn("skipping JWK that is not a JSON object", "index", i)
			continue
		}
		if m.D != "" || m.P != "" || m.Q != "" || m.DP != "" || m.DQ != "" || m.QI != "" || m.K != "" || len(m.OTH) > 0 {
			// A published private or symmetric key is compromised by
			// definition: anyone could forge tokens with it.
			if fromFile {
				return nil, fmt.Errorf("JWK %d (kid %q) contains private or symmetric key material; the file must hold public keys only", i, m.KID)
			}
			log.Warn("skipping JWK that contains private or symmetric key material", "index", i, "kid", m.KID)
			continue
		}
		if m.USE != "" && m.USE != jwkset.UseSig {
			continue
		}
		if len(m.KEYOPS) > 0 && !containsKeyOp(m.KEYOPS, jwkset.KeyOpsVerify) {
			continue
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			log.Warn("skipping JWK that failed to parse", "index", i, "kid", m.KID, "error", err)
			continue
		}
		pub, err := usablePublicKey(jwk.Key())
		if err != nil {
			log.Warn("skipping JWK", "index", i, "kid", m.KID, "error", err)
			continue
		}
		meta := jwk.Marshal()
		out = append(out, sourceKey{kid: meta.KID, alg: string(meta.ALG), key: pub})
	}
	return out, nil
}

func containsKeyOp(ops []jwkset.KEYOPS, want jwkset.KEYOPS) bool {
	for _, o := range ops {
		if o == want {
			return true
		}
	}
	return false
}

// parsePEM reads PUBLIC KEY (PKIX), RSA PUBLIC KEY (PKCS#1) and CERTIFICATE
// blocks. Any private key is an error: it does not belong on a gateway.
func parsePEM(data []byte) ([]sourceKey, error) {
	var out []sourceKey
	blocks := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		blocks++
		var key any
		var err error
		switch {
		case strings.Contains(b.Type, "PRIVATE KEY"):
			return nil, fmt.Errorf("PEM block %d is a private key (%s); the file must hold public keys or certificates only", blocks, b.Type)
		case b.Type == "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(b.Bytes)
		case b.Type == "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case b.Type == "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(b.Bytes)
			if err == nil {
				key = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM block %d has unsupported type %q", blocks, b.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", blocks, b.Type, err)
		}
		pub, err := usablePublicKey(key)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", blocks, b.Type, err)
		}
		tp, err := token.Thumbprint(pub)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", blocks, err)
		}
		out = append(out, sourceKey{key: pub, thumbprint: tp})
	}
	if blocks == 0 {
		return nil, errors.New("no PEM blocks found")
	}
	return out, nil
}

// loadKeyFile reads a static JWKS or PEM file.
func loadKeyFile(path string, log *slog.Logger) (*keySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading jwks_file: %w", err)
	}
	var keys []sourceKey
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		keys, err = parseJWKS(trimmed, true, log)
	} else {
		keys, err = parsePEM(data)
	}
	if err != nil {
		return nil, fmt.Errorf("jwks_file %s: %w", path, err)
	}
	ks := buildKeySet(keys)
	if ks.usable == 0 {
		return nil, fmt.Errorf("jwks_file %s: no usable signing key", path)
	}
	return ks, nil
}
