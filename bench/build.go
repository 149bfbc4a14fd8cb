package main

import (
	"bufio"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/internal/token"
)

// ---------------------------------------------------------------- building

func (e *env) build() error {
	e.portcullis = filepath.Join(e.bin, "portcullis")
	e.backend = filepath.Join(e.bin, "backend")
	e.authorizerBn = filepath.Join(e.bin, "authorizer")
	e.emptyFn = filepath.Join(e.bin, "emptyfn")
	e.barestackBn = filepath.Join(e.bin, "barestack")
	for _, b := range [][2]string{{e.portcullis, "./cmd/portcullis"}, {e.backend, "./bench/backend"}, {e.authorizerBn, "./bench/authorizer"}, {e.emptyFn, "./bench/emptyfn"}, {e.barestackBn, "./bench/barestack"}} {
		logf("go build -o %s %s", b[0], b[1])
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s (run from the repository root): %w", b[1], err)
		}
	}
	return nil
}

// ---------------------------------------------------------------- tokens

type cacheMeta struct {
	Created time.Time      `json:"created"`
	Counts  map[string]int `json:"counts"`
}

var algs = []struct{ alg, kind, kid string }{
	{"RS256", "rsa", "bench-rs256"},
	{"ES256", "ec", "bench-es256"},
	{"EdDSA", "ed25519", "bench-eddsa"},
}

// makeTokens makes (or reuses, when younger than 24 h) the keys and token
// files. Keys come from `portcullis token keygen`; tokens are minted here with
// internal/token (RS256/ES256/EdDSA) and golang-jwt (HS256, scenario 5).
func (e *env) makeTokens() error {
	dir, err := filepath.Abs(*flagCache) // configs in the temp dir name key files by absolute path
	if err != nil {
		return err
	}
	meta := cacheMeta{Counts: map[string]int{}}
	if b, err := os.ReadFile(filepath.Join(dir, "meta.json")); err == nil && json.Unmarshal(b, &meta) == nil && time.Since(meta.Created) < cacheKeep {
		logf("reusing keys and tokens in %s (made %s)", dir, meta.Created.Format(time.RFC3339))
	} else {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		meta = cacheMeta{Created: time.Now().UTC(), Counts: map[string]int{}}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	e.keys = map[string]string{}
	e.tokens3 = map[string]string{}
	for _, a := range algs {
		kd := filepath.Join(dir, "keys-"+a.alg)
		if _, err := os.Stat(filepath.Join(kd, "jwks.json")); err != nil {
			cmd := exec.Command(e.portcullis, "token", "keygen", "--out", kd, "--type", a.kind, "--kid", a.kid)
			cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("portcullis token keygen: %w", err)
			}
		}
		e.keys[a.alg] = kd
		pem, err := os.ReadFile(filepath.Join(kd, "private.pem"))
		if err != nil {
			return err
		}
		key, alg, err := token.LoadSigningKey(pem)
		if err != nil {
			return err
		}
		if alg != a.alg {
			return fmt.Errorf("key %s is %s, want %s", kd, alg, a.alg)
		}
		mintOne := func(i int) (string, error) {
			return token.Mint(key, a.alg, a.kid, token.Claims{
				Issuer: issuer, Subject: fmt.Sprintf("user-%07d", i), Audience: []string{audience},
				Scope: "orders:read", TTL: tokenTTL, Now: meta.Created,
			})
		}
		if a.alg == "RS256" {
			e.token2 = filepath.Join(dir, "token2-RS256.txt")
			if meta.Counts["token2"] < 1 {
				t, err := mintOne(-1)
				if err != nil {
					return err
				}
				if err := os.WriteFile(e.token2, []byte("Bearer "+t+"\n"), 0o600); err != nil {
					return err
				}
				meta.Counts["token2"] = 1
			}
		}
		e.tokens3[a.alg] = filepath.Join(dir, "tokens3-"+a.alg+".txt")
		if meta.Counts["s3-"+a.alg] < *flagTokens3 {
			start := time.Now()
			if err := mintFile(e.tokens3[a.alg], *flagTokens3, mintOne); err != nil {
				return err
			}
			logf("minted %d %s tokens in %v", *flagTokens3, a.alg, time.Since(start).Round(time.Millisecond))
			meta.Counts["s3-"+a.alg] = *flagTokens3
		}
	}
	// Scenario 5: HS256 with hmac_secret, the cheapest to mint (and to verify,
	// so a million requests fit in a bounded run).
	e.tokens5 = filepath.Join(dir, "tokens5-HS256.txt")
	if meta.Counts["s5"] < *flagTokens5 {
		start := time.Now()
		exp := meta.Created.Add(tokenTTL).Unix()
		err := mintFile(e.tokens5, *flagTokens5, func(i int) (string, error) {
			return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"iss": issuer, "aud": audience, "sub": fmt.Sprintf("user-%07d", i), "scope": "orders:read",
				"iat": meta.Created.Unix(), "exp": exp, "jti": strconv.Itoa(i),
			}).SignedString([]byte(hmacKey))
		})
		if err != nil {
			return err
		}
		logf("minted %d HS256 tokens in %v", *flagTokens5, time.Since(start).Round(time.Millisecond))
		meta.Counts["s5"] = *flagTokens5
	}
	// Scenario 4: 1,000 identities for the Lambda authorizer (opaque tokens).
	e.tokens4 = filepath.Join(dir, "tokens4-lambda.txt")
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "Bearer identity-%04d\n", i)
	}
	if err := os.WriteFile(e.tokens4, []byte(sb.String()), 0o600); err != nil {
		return err
	}
	b, _ := json.Marshal(meta)
	return os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o600)
}

// mintFile writes n tokens, one "Bearer TOKEN" per line, minted in parallel.
func mintFile(path string, n int, mint func(int) (string, error)) error {
	out := make([]string, n)
	workers := runtime.NumCPU()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				t, err := mint(i)
				if err != nil {
					mu.Lock()
					firstErr = firstError(firstErr, err)
					mu.Unlock()
					return
				}
				out[i] = t
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, t := range out {
		w.WriteString("Bearer ")
		w.WriteString(t)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func firstError(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

var _ crypto.Signer // token.LoadSigningKey returns one
