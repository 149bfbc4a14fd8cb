package jwtauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestECDSARawMatchesGolangJWT: for every signature, well formed or not, the
// stack-encoding method answers what golang-jwt's own method answers.
func TestECDSARawMatchesGolangJWT(t *testing.T) {
	for _, c := range []struct {
		ours  *ecdsaRaw
		jwt   *jwt.SigningMethodECDSA
		curve elliptic.Curve
	}{
		{es256, jwt.SigningMethodES256, elliptic.P256()},
		{es384, jwt.SigningMethodES384, elliptic.P384()},
		{es512, jwt.SigningMethodES512, elliptic.P521()},
	} {
		priv, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		other, _ := ecdsa.GenerateKey(c.curve, rand.Reader)
		const input = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0"
		good, err := c.jwt.Sign(input, priv)
		if err != nil {
			t.Fatal(err)
		}
		size := c.ours.keySize
		n := c.curve.Params().N
		fixed := func(v *big.Int) []byte { return v.FillBytes(make([]byte, size)) }
		withS := func(r []byte, s *big.Int) []byte { return append(append([]byte(nil), r...), fixed(s)...) }
		flip := func(i int) []byte {
			s := bytes.Clone(good)
			s[i] ^= 0x80
			return s
		}
		zeros := make([]byte, 2*size)
		cases := map[string][]byte{
			"valid":            good,
			"R flipped":        flip(0),
			"S flipped":        flip(2*size - 1),
			"truncated":        good[:2*size-1],
			"extended":         append(bytes.Clone(good), 0),
			"empty":            nil,
			"zeros":            zeros,
			"R zero":           append(make([]byte, size), good[size:]...),
			"S zero":           append(bytes.Clone(good[:size]), make([]byte, size)...),
			"S equal to N":     withS(good[:size], n),
			"S above N":        withS(good[:size], new(big.Int).Add(n, big.NewInt(5))),
			"S = N - S":        withS(good[:size], new(big.Int).Sub(n, new(big.Int).SetBytes(good[size:]))),
			"R, S small":       withS(fixed(big.NewInt(1)), big.NewInt(1)),
			"R high bit set":   withS(bytes.Repeat([]byte{0xff}, size), big.NewInt(7)),
			"signature swap":   append(bytes.Clone(good[size:]), good[:size]...),
			"other key's view": good,
		}
		for name, sig := range cases {
			key := &priv.PublicKey
			if name == "other key's view" {
				key = &other.PublicKey
			}
			want := c.jwt.Verify(input, sig, key) == nil
			got := c.ours.Verify(input, sig, key)
			if (got == nil) != want {
				t.Errorf("%s %s: ours %v, golang-jwt valid=%v", c.ours.name, name, got, want)
			}
			if got != nil && !errors.Is(got, jwt.ErrECDSAVerification) {
				t.Errorf("%s %s: error %v, want ErrECDSAVerification", c.ours.name, name, got)
			}
		}
		if err := c.ours.Verify(input, good, priv); !errors.Is(err, jwt.ErrInvalidKeyType) {
			t.Errorf("%s with a private key: %v, want ErrInvalidKeyType", c.ours.name, err)
		}
	}
}

// TestASN1Signature compares the encoding with encoding/asn1's for values
// around every length boundary.
func TestASN1Signature(t *testing.T) {
	values := [][]byte{
		{1}, {0x7f}, {0x80}, {0, 0, 0x80}, {0xff, 0xff},
		bytes.Repeat([]byte{0x7f}, 66), bytes.Repeat([]byte{0xff}, 66),
		append([]byte{0}, bytes.Repeat([]byte{0x80}, 65)...),
		bytes.Repeat([]byte{0x11}, 32), bytes.Repeat([]byte{0x91}, 48),
	}
	for _, r := range values {
		for _, s := range values {
			got, ok := asn1Signature(nil, r, s)
			want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
			if err != nil {
				t.Fatal(err)
			}
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("r %x s %x:\n got %x\nwant %x", r, s, got, want)
			}
		}
	}
	if _, ok := asn1Signature(nil, []byte{0, 0}, []byte{1}); ok {
		t.Fatal("zero r encoded")
	}
}

// FuzzECDSARaw mutates a valid ES256 signature and compares the verdict
// with golang-jwt's.
func FuzzECDSARaw(f *testing.F) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	good, err := jwt.SigningMethodES256.Sign("input", priv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, uint16(0), byte(0))
	f.Add(good, uint16(33), byte(0x80))
	f.Add(make([]byte, 64), uint16(0), byte(1))
	f.Fuzz(func(t *testing.T, sig []byte, at uint16, x byte) {
		if len(sig) > 0 {
			sig = bytes.Clone(sig)
			sig[int(at)%len(sig)] ^= x
		}
		want := jwt.SigningMethodES256.Verify("input", sig, &priv.PublicKey) == nil
		if got := es256.Verify("input", sig, &priv.PublicKey) == nil; got != want {
			t.Fatalf("ours %v, golang-jwt %v", got, want)
		}
	})
}
