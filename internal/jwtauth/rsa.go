package jwtauth

import (
	"bytes"
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"

	"filippo.io/bigmod"
	"github.com/golang-jwt/jwt/v5"
)

// rsaKey is an RSA public key with its Montgomery modulus derived once, when
// the key set is built. crypto/rsa derives it again on every verification
// (bigmod.NewModulus computes R² mod N), which is a third of an RS256 check;
// a gateway verifies with the same few keys millions of times.
// filippo.io/bigmod is the standard library's crypto/internal/fips140/bigmod
// exported by its author, so the arithmetic is the same code crypto/rsa
// runs; only the caching is ours. Verification uses public values only, so
// variable time is fine, as it is in crypto/rsa.
type rsaKey struct {
	pub *rsa.PublicKey
	n   *bigmod.Modulus
}

// checkRSA refuses what crypto/rsa would refuse at verification (an even
// modulus; an exponent that is even, below 3 or wider than 31 bits) and
// what we refuse besides: moduli under minRSABits, which are factorable, and
// over maxRSABits, whose checks cost a hostile JWKS's author nothing and us
// milliseconds each.
func checkRSA(pub *rsa.PublicKey) error {
	if pub.N == nil || pub.N.Bit(0) == 0 {
		return errors.New("RSA modulus is missing or even")
	}
	if pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<31-1 {
		return fmt.Errorf("RSA public exponent %d is not an odd number in [3, 2³¹)", pub.E)
	}
	if bits := pub.N.BitLen(); bits < minRSABits {
		return fmt.Errorf("RSA key of %d bits is shorter than %d", bits, minRSABits)
	} else if bits > maxRSABits {
		return fmt.Errorf("RSA key of %d bits is longer than %d", bits, maxRSABits)
	}
	return nil
}

func newRSAKey(pub *rsa.PublicKey) (*rsaKey, error) {
	if err := checkRSA(pub); err != nil {
		return nil, err
	}
	n, err := bigmod.NewModulus(pub.N.Bytes())
	if err != nil {
		return nil, fmt.Errorf("RSA modulus: %w", err)
	}
	return &rsaKey{pub: pub, n: n}, nil
}

// digestInfo is the DER prefix of EMSA-PKCS1-v1_5's DigestInfo for each hash
// (RFC 8017 §9.2, note 1).
var digestInfo = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// verifyPKCS1v15 is RSASSA-PKCS1-v1_5 verification (RFC 8017 §8.2.2) as
// crypto/rsa does it: the signature must be exactly k bytes and below N, and
// the recovered block must equal the expected encoding byte for byte. The
// block is compared, never parsed, which is what rules out the forgeries
// that lenient padding parsers allowed.
func (k *rsaKey) verifyPKCS1v15(h crypto.Hash, hashed, sig []byte) bool {
	size := k.n.Size()
	prefix := digestInfo[h]
	tLen := len(prefix) + len(hashed)
	if len(sig) != size || prefix == nil || len(hashed) != h.Size() || size < tLen+11 {
		return false
	}
	s, err := bigmod.NewNat().SetBytes(sig, k.n) // refuses s ≥ N
	if err != nil {
		return false
	}
	em := bigmod.NewNat().ExpShortVarTime(s, uint(k.pub.E), k.n).Bytes(k.n)
	// EM = 0x00 || 0x01 || PS (0xff, at least 8 bytes) || 0x00 || DigestInfo || H
	ps := size - tLen - 3
	if em[0] != 0 || em[1] != 1 || em[2+ps] != 0 {
		return false
	}
	for _, b := range em[2 : 2+ps] {
		if b != 0xff {
			return false
		}
	}
	t := em[3+ps:]
	return bytes.Equal(t[:len(prefix)], prefix) && bytes.Equal(t[len(prefix):], hashed)
}

// rsaPKCS1 is RS256, RS384 or RS512 over an *rsaKey. It takes golang-jwt's
// place for these algorithms only; PS* keep golang-jwt's implementation
// over the plain *rsa.PublicKey.
type rsaPKCS1 struct {
	name string
	hash crypto.Hash
}

var (
	rs256 = &rsaPKCS1{"RS256", crypto.SHA256}
	rs384 = &rsaPKCS1{"RS384", crypto.SHA384}
	rs512 = &rsaPKCS1{"RS512", crypto.SHA512}
)

var _ jwt.SigningMethod = (*rsaPKCS1)(nil)

func (m *rsaPKCS1) Alg() string { return m.name }

// Verify answers golang-jwt's sentinel errors, like the methods it replaces.
func (m *rsaPKCS1) Verify(input string, sig []byte, key any) error {
	k, ok := key.(*rsaKey)
	if !ok {
		return jwt.ErrInvalidKeyType
	}
	var sum [sha512.Size]byte
	hashed := digest(&sum, m.hash, input)
	if fips140.Enabled() {
		// The certified module, with its own key policy (e > 2¹⁶, even
		// bit lengths), is what an operator who turned FIPS mode on asked
		// for; the modulus is then derived per check as before.
		if rsa.VerifyPKCS1v15(k.pub, m.hash, hashed, sig) != nil {
			return jwt.ErrSignatureInvalid
		}
		return nil
	}
	if !k.verifyPKCS1v15(m.hash, hashed, sig) {
		return jwt.ErrSignatureInvalid
	}
	return nil
}

// Sign is not offered.
func (m *rsaPKCS1) Sign(string, any) ([]byte, error) { return nil, errNoSign }

// errNoSign: the gateway only verifies.
var errNoSign = errors.New("jwtauth: signing is not supported")

// digest hashes a signing input into sum, which the caller keeps on its
// stack, for the methods that replace golang-jwt's.
func digest(sum *[sha512.Size]byte, h crypto.Hash, input string) []byte {
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(readOnlyBytes(input))
		return append(sum[:0], s[:]...)
	case crypto.SHA384:
		s := sha512.Sum384(readOnlyBytes(input))
		return append(sum[:0], s[:]...)
	case crypto.SHA512:
		s := sha512.Sum512(readOnlyBytes(input))
		return append(sum[:0], s[:]...)
	}
	return nil
}
