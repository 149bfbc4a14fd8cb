package jwtauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"filippo.io/bigmod"
	"github.com/golang-jwt/jwt/v5"
)

var (
	rsaTestKeysOnce sync.Once
	rsaTestKeys     map[int]*rsa.PrivateKey
)

func rsaTestKey(t testing.TB, bits int) *rsa.PrivateKey {
	rsaTestKeysOnce.Do(func() {
		rsaTestKeys = map[int]*rsa.PrivateKey{}
		for _, b := range []int{2048, 3072} {
			k, err := rsa.GenerateKey(rand.Reader, b)
			if err != nil {
				panic(err)
			}
			rsaTestKeys[b] = k
		}
	})
	return rsaTestKeys[bits]
}

// rawSign applies the private exponent to any encoded block, so a test can
// produce "signatures" whose recovered block has whatever padding it likes.
func rawSign(priv *rsa.PrivateKey, em []byte) []byte {
	m := new(big.Int).SetBytes(em)
	s := new(big.Int).Exp(m, priv.D, priv.N)
	return s.FillBytes(make([]byte, priv.Size()))
}

// encodeEM builds EMSA-PKCS1-v1_5 with adjustable pieces.
func encodeEM(size int, first, bt byte, ps []byte, sep byte, prefix, hashed, tail []byte) []byte {
	em := []byte{first, bt}
	em = append(em, ps...)
	em = append(em, sep)
	em = append(em, prefix...)
	em = append(em, hashed...)
	em = append(em, tail...)
	if len(em) < size {
		return nil
	}
	return em[:size]
}

func ff(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xff
	}
	return b
}

// TestRSAPKCS1MatchesCryptoRSA: for every signature, well formed or crafted,
// the verifier with a precomputed modulus answers what crypto/rsa answers.
func TestRSAPKCS1MatchesCryptoRSA(t *testing.T) {
	for _, bits := range []int{2048, 3072} {
		priv := rsaTestKey(t, bits)
		rk, err := newRSAKey(&priv.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		size := priv.Size()
		for _, m := range []*rsaPKCS1{rs256, rs384, rs512} {
			input := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"
			h := m.hash.New()
			h.Write([]byte(input))
			hashed := h.Sum(nil)
			good, err := rsa.SignPKCS1v15(rand.Reader, priv, m.hash, hashed)
			if err != nil {
				t.Fatal(err)
			}
			prefix := digestInfo[m.hash]
			tLen := len(prefix) + len(hashed)
			psLen := size - tLen - 3
			otherPrefix := digestInfo[crypto.SHA512]
			if m.hash == crypto.SHA512 {
				otherPrefix = digestInfo[crypto.SHA256]
			}
			flipped := func(i int) []byte {
				s := append([]byte(nil), good...)
				s[i] ^= 0x01
				return s
			}
			nBytes := priv.N.FillBytes(make([]byte, size))
			cases := []struct {
				name string
				sig  []byte
				want bool
			}{
				{"valid", good, true},
				{"first byte flipped", flipped(0), false},
				{"middle byte flipped", flipped(size / 2), false},
				{"last byte flipped", flipped(size - 1), false},
				{"truncated", good[:size-1], false},
				{"leading zero added", append([]byte{0}, good...), false},
				{"empty", nil, false},
				{"zero", make([]byte, size), false},
				{"equal to N", nBytes, false},
				{"all ones", ff(size), false},
				{"crafted: exact encoding", rawSign(priv, encodeEM(size, 0, 1, ff(psLen), 0, prefix, hashed, nil)), true},
				{"crafted: block type 2", rawSign(priv, encodeEM(size, 0, 2, ff(psLen), 0, prefix, hashed, nil)), false},
				{"crafted: nonzero first byte", rawSign(priv, encodeEM(size, 1, 1, ff(psLen), 0, prefix, hashed, nil)), false},
				{"crafted: padding byte not ff", rawSign(priv, encodeEM(size, 0, 1, append(ff(psLen-1), 0xfe), 0, prefix, hashed, nil)), false},
				{"crafted: separator not zero", rawSign(priv, encodeEM(size, 0, 1, ff(psLen), 1, prefix, hashed, nil)), false},
				{"crafted: short padding, garbage after hash", rawSign(priv, encodeEM(size, 0, 1, ff(8), 0, prefix, hashed, ff(psLen-8))), false},
				{"crafted: other hash's DigestInfo", rawSign(priv, encodeEM(size, 0, 1, ff(size-len(otherPrefix)-len(hashed)-3), 0, otherPrefix, hashed, nil)), false},
				{"crafted: no DigestInfo", rawSign(priv, encodeEM(size, 0, 1, ff(size-len(hashed)-3), 0, nil, hashed, nil)), false},
				{"crafted: wrong hash", rawSign(priv, encodeEM(size, 0, 1, ff(psLen), 0, prefix, make([]byte, len(hashed)), nil)), false},
			}
			for _, c := range cases {
				std := rsa.VerifyPKCS1v15(&priv.PublicKey, m.hash, hashed, c.sig) == nil
				ours := rk.verifyPKCS1v15(m.hash, hashed, c.sig)
				if std != c.want || ours != c.want {
					t.Errorf("%d bits %s %s: crypto/rsa %v, ours %v, want %v", bits, m.name, c.name, std, ours, c.want)
				}
				if err := m.Verify(input, c.sig, rk); (err == nil) != c.want {
					t.Errorf("%d bits %s %s: Verify = %v", bits, m.name, c.name, err)
				}
			}
		}
	}
}

func TestRSAPKCS1WrongKeyType(t *testing.T) {
	priv := rsaTestKey(t, 2048)
	if err := rs256.Verify("a.b", make([]byte, 256), &priv.PublicKey); !errors.Is(err, jwt.ErrInvalidKeyType) {
		t.Fatalf("plain *rsa.PublicKey: %v, want ErrInvalidKeyType", err)
	}
	if err := rs256.Verify("a.b", make([]byte, 256), []byte("secret")); !errors.Is(err, jwt.ErrInvalidKeyType) {
		t.Fatalf("HMAC secret: %v, want ErrInvalidKeyType", err)
	}
	if _, err := rs256.Sign("a.b", priv); err == nil {
		t.Fatal("Sign succeeded")
	}
}

func TestNewRSAKeyRefuses(t *testing.T) {
	priv := rsaTestKey(t, 2048)
	even := new(big.Int).Add(priv.N, big.NewInt(1))
	cases := []struct {
		name string
		pub  *rsa.PublicKey
	}{
		{"no modulus", &rsa.PublicKey{E: 65537}},
		{"even modulus", &rsa.PublicKey{N: even, E: 65537}},
		{"exponent 1", &rsa.PublicKey{N: priv.N, E: 1}},
		{"even exponent", &rsa.PublicKey{N: priv.N, E: 65536}},
		{"exponent too wide", &rsa.PublicKey{N: priv.N, E: 1 << 31}},
		{"1024 bits", &rsa.PublicKey{N: new(big.Int).SetBit(big.NewInt(1), 1023, 1), E: 65537}},
		{"8200 bits", &rsa.PublicKey{N: new(big.Int).SetBit(big.NewInt(1), 8199, 1), E: 65537}},
	}
	for _, c := range cases {
		if _, err := newRSAKey(c.pub); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
		if _, err := usablePublicKey(c.pub); err == nil {
			t.Errorf("%s: usablePublicKey accepted", c.name)
		}
	}
}

// FuzzRSAPKCS1 mutates a valid signature and compares the verdict with
// crypto/rsa's.
func FuzzRSAPKCS1(f *testing.F) {
	priv := rsaTestKey(f, 2048)
	rk, err := newRSAKey(&priv.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	h := crypto.SHA256.New()
	h.Write([]byte("input"))
	hashed := h.Sum(nil)
	good, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, hashed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, uint16(0), byte(0))
	f.Add(good, uint16(100), byte(1))
	f.Add([]byte{1, 2, 3}, uint16(0), byte(0))
	f.Fuzz(func(t *testing.T, sig []byte, at uint16, x byte) {
		if len(sig) > 0 {
			sig = append([]byte(nil), sig...)
			sig[int(at)%len(sig)] ^= x
		}
		std := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, hashed, sig) == nil
		if ours := rk.verifyPKCS1v15(crypto.SHA256, hashed, sig); ours != std {
			t.Fatalf("crypto/rsa %v, ours %v", std, ours)
		}
	})
}

// TestRSAFIPSOnly: with GODEBUG=fips140=only the check is crypto/rsa's, with
// the certified module's key policy. A key of odd bit length is outside it,
// so a signature that is valid elsewhere must fail there. The test runs
// itself again in that mode.
func TestRSAFIPSOnly(t *testing.T) {
	if path := os.Getenv("JWTAUTH_FIPS_KEY"); path != "" {
		der, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x509.ParsePKCS1PublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := os.ReadFile(path + ".sig")
		if err != nil {
			t.Fatal(err)
		}
		rk, err := newRSAKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if err := rs256.Verify("a.b", sig, rk); !errors.Is(err, jwt.ErrSignatureInvalid) {
			t.Fatalf("fips140=only: %v, want ErrSignatureInvalid", err)
		}
		return
	}
	if testing.Short() {
		t.Skip("generates a 2049-bit key")
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2049)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := newRSAKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte("a.b"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := rs256.Verify("a.b", sig, rk); err != nil {
		t.Fatalf("outside FIPS mode the signature must verify: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	if err := os.WriteFile(path, x509.MarshalPKCS1PublicKey(&priv.PublicKey), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".sig", sig, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestRSAFIPSOnly$", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=only", "JWTAUTH_FIPS_KEY="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fips140=only run: %v\n%s", err, out)
	}
}

// FuzzRSAPKCS1Block chooses the recovered block itself and signs it with
// the private key, so well-formed signatures of ill-formed padding reach
// the comparison; mutating valid signatures (FuzzRSAPKCS1) never does. A
// 1024-bit key, below what keys.go accepts, keeps the private operation
// fast; the verifier is built around it directly.
func FuzzRSAPKCS1Block(f *testing.F) {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	n, err := bigmod.NewModulus(priv.N.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	rk := &rsaKey{pub: &priv.PublicKey, n: n}
	hashed := sha256.Sum256([]byte("input"))
	size, prefix := priv.Size(), digestInfo[crypto.SHA256]
	psLen := size - len(prefix) - len(hashed) - 3
	f.Add(encodeEM(size, 0, 1, ff(psLen), 0, prefix, hashed[:], nil))
	f.Add(encodeEM(size, 0, 1, ff(8), 0, prefix, hashed[:], ff(psLen-8)))
	f.Add(encodeEM(size, 0, 2, ff(psLen), 0, prefix, hashed[:], nil))
	f.Fuzz(func(t *testing.T, em []byte) {
		if len(em) != size || new(big.Int).SetBytes(em).Cmp(priv.N) >= 0 {
			return
		}
		sig := rawSign(priv, em)
		std := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, hashed[:], sig) == nil
		if ours := rk.verifyPKCS1v15(crypto.SHA256, hashed[:], sig); ours != std {
			t.Fatalf("block %x: crypto/rsa %v, ours %v", em, std, ours)
		}
	})
}
