package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha512"

	"github.com/golang-jwt/jwt/v5"
)

// ecdsaRaw is ES256, ES384 or ES512: a JWS signature is R‖S as fixed-size
// big-endian integers (RFC 7518 §3.4). golang-jwt turns them into big.Ints,
// which ecdsa.Verify turns back into ASN.1 for ecdsa.VerifyASN1, about
// twenty allocations per check; this writes the ASN.1 once, on the stack,
// and calls ecdsa.VerifyASN1 itself. The cryptography is crypto/ecdsa's.
type ecdsaRaw struct {
	name    string
	hash    crypto.Hash
	keySize int // bytes of R and of S
}

var (
	es256 = &ecdsaRaw{"ES256", crypto.SHA256, 32}
	es384 = &ecdsaRaw{"ES384", crypto.SHA384, 48}
	es512 = &ecdsaRaw{"ES512", crypto.SHA512, 66}
)

var _ jwt.SigningMethod = (*ecdsaRaw)(nil)

func (m *ecdsaRaw) Alg() string { return m.name }

// Verify answers golang-jwt's sentinel errors, like the methods it replaces.
// The key's curve was matched to the algorithm when the key set was built.
func (m *ecdsaRaw) Verify(input string, sig []byte, key any) error {
	k, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return jwt.ErrInvalidKeyType
	}
	if len(sig) != 2*m.keySize {
		return jwt.ErrECDSAVerification
	}
	var sum [sha512.Size]byte
	hashed := digest(&sum, m.hash, input)
	var buf [3 + 2*(3+67)]byte // SEQUENCE header, two INTEGERs of at most 67 bytes
	der, ok := asn1Signature(buf[:0], sig[:m.keySize], sig[m.keySize:])
	if !ok || !ecdsa.VerifyASN1(k, hashed, der) {
		return jwt.ErrECDSAVerification
	}
	return nil
}

// asn1Signature appends SEQUENCE { INTEGER r, INTEGER s } in DER, as
// crypto/ecdsa encodes it. Zero values are refused, as ecdsa.Verify refuses
// them.
func asn1Signature(dst, r, s []byte) ([]byte, bool) {
	r, s = trimZeros(r), trimZeros(s)
	if len(r) == 0 || len(s) == 0 {
		return nil, false
	}
	body := intLen(r) + intLen(s)
	dst = append(dst, 0x30)
	dst = appendLength(dst, body)
	dst = appendInteger(dst, r)
	dst = appendInteger(dst, s)
	return dst, true
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// intLen is the encoded size of a positive INTEGER with minimal content v.
func intLen(v []byte) int {
	n := len(v)
	if v[0]&0x80 != 0 {
		n++ // a leading zero keeps it positive
	}
	return 1 + lengthLen(n) + n
}

func lengthLen(n int) int {
	if n < 0x80 {
		return 1
	}
	return 2 // every length here is below 256
}

func appendLength(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	return append(dst, 0x81, byte(n))
}

func appendInteger(dst, v []byte) []byte {
	n := len(v)
	pad := v[0]&0x80 != 0
	if pad {
		n++
	}
	dst = append(dst, 0x02)
	dst = appendLength(dst, n)
	if pad {
		dst = append(dst, 0)
	}
	return append(dst, v...)
}

// Sign is not offered.
func (m *ecdsaRaw) Sign(string, any) ([]byte, error) { return nil, errNoSign }
