package issuer

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/token"
)

const (
	stateFileName = "keys.json"
	lockFileName  = "keys.lock"

	// retireGrace is added to the token lifetime before a rotated-out key
	// disappears from the JWKS. It covers clock differences and verifiers
	// whose JWKS copy is up to jwksMaxAge old (they never need the old key
	// longer than its tokens live, but a verifier that fetched just before
	// retirement must not lose a key that still has live tokens).
	retireGrace = 5 * time.Minute

	// staleLockAge is how old a lock file may be before it is taken to be
	// left over from a crashed process. Holding the lock never takes longer
	// than generating one key and writing two small files.
	staleLockAge = 30 * time.Second
	lockWait     = 10 * time.Second
)

// keyState is the content of keys.json: the only record of which keys exist
// and which one signs. The PEM files hold nothing but key material.
type keyState struct {
	Signing string        `json:"signing"`
	Keys    []keyStateKey `json:"keys"`
}

type keyStateKey struct {
	KID         string    `json:"kid"`
	Alg         string    `json:"alg"`
	Created     time.Time `json:"created"`
	RetireAfter time.Time `json:"retire_after,omitzero"` // zero: not retiring
}

// signingKey is one loaded key. It is immutable once built.
type signingKey struct {
	kid         string
	alg         string
	created     time.Time
	retireAfter time.Time
	signer      crypto.Signer
	jwk         map[string]any
}

// retired reports whether the key is past its retirement at now. The key
// that signs is never retired, whatever the state file says.
func (k *signingKey) retired(now time.Time, signing *signingKey) bool {
	return k != signing && !k.retireAfter.IsZero() && !now.Before(k.retireAfter)
}

// keySet is an immutable snapshot of the key directory, swapped atomically
// so that request handlers never take a lock.
type keySet struct {
	signing *signingKey
	keys    []*signingKey // in state-file order (oldest first)
}

// published is every key a verifier may still need at now.
func (s *keySet) published(now time.Time) []*signingKey {
	out := make([]*signingKey, 0, len(s.keys))
	for _, k := range s.keys {
		if !k.retired(now, s.signing) {
			out = append(out, k)
		}
	}
	return out
}

// keyManager owns one key directory for a running issuer.
type keyManager struct {
	dir string
	alg string        // algorithm of new keys
	ttl time.Duration // token lifetime, for retire_after on rotation
	log *slog.Logger

	set atomic.Pointer[keySet]

	mu       sync.Mutex  // serialises reloads and the bookkeeping below
	loadedFI fs.FileInfo // state file as of the last load; nil before the first
}

// openKeys prepares dir (creating it and a first key if it holds no state)
// and loads every key it lists.
func openKeys(dir, alg string, ttl time.Duration, now time.Time, log *slog.Logger) (*keyManager, error) {
	if err := ensureDir(dir, log); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, stateFileName)); errors.Is(err, fs.ErrNotExist) {
		// Under the lock, so that two processes starting on an empty
		// directory agree on one first key.
		err := withLock(dir, func() error {
			st, err := readState(dir)
			if err != nil {
				return err
			}
			if st.Signing != "" {
				return nil // someone else was first
			}
			k, err := createKey(dir, alg, now)
			if err != nil {
				return err
			}
			st = keyState{Signing: k.KID, Keys: []keyStateKey{k}}
			if err := writeState(dir, st); err != nil {
				return err
			}
			log.Info("generated the first signing key", "kid", k.KID, "alg", k.Alg, "dir", dir)
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("key directory %s: %w", dir, err)
	}
	m := &keyManager{dir: dir, alg: alg, ttl: ttl, log: log}
	if err := m.reload(); err != nil {
		return nil, err
	}
	return m, nil
}

// CheckKeysDir reports, without writing anything, what would stop an
// issuer from opening its key directory: a path that is not a directory, a
// missing directory that cannot be made (a file in the way, no permission
// to write the nearest existing parent), a directory without keys where
// the first one cannot be written, or keys that do not load.
func CheckKeysDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		// Made on first start: find the nearest part of the path that
		// exists; it must be a directory we may write in.
		for parent := filepath.Dir(dir); ; parent = filepath.Dir(parent) {
			pfi, perr := os.Stat(parent)
			switch {
			case perr == nil && !pfi.IsDir():
				return fmt.Errorf("%s cannot be made: %s is not a directory", dir, parent)
			case perr == nil:
				return writableDir(parent, fmt.Sprintf("%s cannot be made in %s", dir, parent))
			case parent == filepath.Dir(parent):
				return fmt.Errorf("key directory %s: %w", dir, err)
			}
		}
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, stateFileName)); errors.Is(err, fs.ErrNotExist) {
		return writableDir(dir, fmt.Sprintf("the first key cannot be written to %s", dir))
	}
	st, err := readState(dir)
	if err != nil {
		return err
	}
	_, err = loadKeySet(dir, st, slog.New(slog.DiscardHandler))
	return err
}

// writableDir reports, with what, a directory this process may not create
// files in.
func writableDir(dir, what string) error {
	const wOK, xOK = 2, 1 // access(2)
	if err := syscall.Access(dir, wOK|xOK); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// ensureDir creates dir private to its owner. An existing directory is not
// re-moded (it may be shared deliberately) but a loose one is reported.
func ensureDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating key directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("key directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("key directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("key directory is accessible to other users; it should be mode 0700", "dir", dir, "mode", fi.Mode().Perm().String())
	}
	return nil
}

// current is the snapshot request handlers use.
func (m *keyManager) current() *keySet { return m.set.Load() }

// reload re-reads the state file and every key it lists. On any error the
// previous snapshot stays in use.
func (m *keyManager) reload() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// Stat before reading: if the file changes in between, the recorded
	// stat is the older one and the next poll notices the change.
	fi, err := os.Stat(filepath.Join(m.dir, stateFileName))
	if err != nil {
		return fmt.Errorf("reading key state: %w", err)
	}
	st, err := readState(m.dir)
	if err != nil {
		return err
	}
	set, err := loadKeySet(m.dir, st, m.log)
	if err != nil {
		return err
	}
	old := m.set.Swap(set)
	m.loadedFI = fi
	if old != nil && old.signing.kid != set.signing.kid {
		m.log.Info("signing key changed", "kid", set.signing.kid, "alg", set.signing.alg)
	}
	return nil
}

// changed reports whether the state file differs from the one last loaded.
// A rename replaces the file, so SameFile catches every atomic write even
// when size and modification time happen to match.
func (m *keyManager) changed() bool {
	fi, err := os.Stat(filepath.Join(m.dir, stateFileName))
	if err != nil {
		return false // reload would fail the same way; keep the current keys
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.loadedFI
	return old == nil || !os.SameFile(old, fi) || !old.ModTime().Equal(fi.ModTime()) || old.Size() != fi.Size()
}

// rotate makes a new signing key in the directory and loads it.
func (m *keyManager) rotate(now time.Time) (string, error) {
	kid, err := rotateDir(m.dir, m.alg, m.ttl, now, m.log)
	if err != nil {
		return "", err
	}
	if err := m.reload(); err != nil {
		return "", fmt.Errorf("loading the new key %s: %w", kid, err)
	}
	return kid, nil
}

// prune removes keys retired at now from the directory, then reloads. It
// does nothing (and takes no lock) when no loaded key is retired.
func (m *keyManager) prune(now time.Time) error {
	set := m.current()
	if len(set.published(now)) == len(set.keys) {
		return nil
	}
	if err := withLock(m.dir, func() error { return pruneState(m.dir, now, m.log) }); err != nil {
		return err
	}
	return m.reload()
}

// rotateDir generates a key of alg, makes it the signing key and schedules
// the previous signing key's retirement after the tokens it signed expire.
func rotateDir(dir, alg string, ttl time.Duration, now time.Time, log *slog.Logger) (string, error) {
	if err := ensureDir(dir, log); err != nil {
		return "", err
	}
	var kid string
	err := withLock(dir, func() error {
		st, err := readState(dir)
		if err != nil {
			return err
		}
		k, err := createKey(dir, alg, now)
		if err != nil {
			return err
		}
		for i := range st.Keys {
			if st.Keys[i].KID == st.Signing && st.Keys[i].RetireAfter.IsZero() {
				st.Keys[i].RetireAfter = now.Add(ttl + retireGrace).UTC()
			}
		}
		st.Keys = append(st.Keys, k)
		st.Signing = k.KID
		if err := writeState(dir, st); err != nil {
			return err
		}
		kid = k.KID
		log.Info("rotated the signing key", "kid", k.KID, "alg", k.Alg, "dir", dir)
		return pruneState(dir, now, log)
	})
	return kid, err
}

// pruneState drops retired keys from the state file and deletes their
// files. The caller holds the lock. The state is written first: a key file
// without a state entry is harmless, the reverse would break loading.
func pruneState(dir string, now time.Time, log *slog.Logger) error {
	st, err := readState(dir)
	if err != nil {
		return err
	}
	var keep []keyStateKey
	var gone []string
	for _, k := range st.Keys {
		if k.KID != st.Signing && !k.RetireAfter.IsZero() && !now.Before(k.RetireAfter) {
			gone = append(gone, k.KID)
			continue
		}
		keep = append(keep, k)
	}
	if len(gone) == 0 {
		return nil
	}
	st.Keys = keep
	if err := writeState(dir, st); err != nil {
		return err
	}
	for _, kid := range gone {
		if err := os.Remove(keyPath(dir, kid)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting retired key %s: %w", kid, err)
		}
		log.Info("deleted a retired key", "kid", kid)
	}
	return nil
}

// createKey generates a key and writes it as <kid>.pem. It does not touch
// the state file.
func createKey(dir, alg string, now time.Time) (keyStateKey, error) {
	signer, err := token.GenerateKey(alg)
	if err != nil {
		return keyStateKey{}, fmt.Errorf("generating a %s key: %w", alg, err)
	}
	kid, err := token.Thumbprint(signer.Public())
	if err != nil {
		return keyStateKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return keyStateKey{}, fmt.Errorf("encoding the new key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeFileAtomic(keyPath(dir, kid), data, 0o600); err != nil {
		return keyStateKey{}, fmt.Errorf("writing the new key: %w", err)
	}
	return keyStateKey{KID: kid, Alg: alg, Created: now.UTC()}, nil
}

// loadKeySet reads every key the state lists and checks that each file holds
// the key its kid names, so a swapped or corrupted file is caught at load
// rather than as unverifiable tokens.
func loadKeySet(dir string, st keyState, log *slog.Logger) (*keySet, error) {
	set := &keySet{}
	seen := map[string]bool{}
	for _, sk := range st.Keys {
		if seen[sk.KID] {
			return nil, fmt.Errorf("key state lists kid %s twice", sk.KID)
		}
		seen[sk.KID] = true
		path := keyPath(dir, sk.KID)
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", sk.KID, err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			log.Warn("private key file is accessible to other users; it should be mode 0600", "path", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", sk.KID, err)
		}
		signer, alg, err := token.LoadSigningKey(data)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", sk.KID, err)
		}
		if alg != sk.Alg {
			return nil, fmt.Errorf("key %s: the file holds a %s key but the state says %s", sk.KID, alg, sk.Alg)
		}
		tp, err := token.Thumbprint(signer.Public())
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", sk.KID, err)
		}
		if tp != sk.KID {
			return nil, fmt.Errorf("key %s: the file holds a different key (thumbprint %s)", sk.KID, tp)
		}
		jwk, err := token.PublicJWK(signer.Public(), sk.KID)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", sk.KID, err)
		}
		k := &signingKey{kid: sk.KID, alg: alg, created: sk.Created, retireAfter: sk.RetireAfter, signer: signer, jwk: jwk}
		set.keys = append(set.keys, k)
		if sk.KID == st.Signing {
			set.signing = k
		}
	}
	if set.signing == nil {
		return nil, fmt.Errorf("key state names signing key %q, which it does not list", st.Signing)
	}
	return set, nil
}

// readState returns the empty state when the file does not exist yet.
func readState(dir string) (keyState, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return keyState{}, nil
	}
	if err != nil {
		return keyState{}, fmt.Errorf("reading key state: %w", err)
	}
	var st keyState
	if err := json.Unmarshal(data, &st); err != nil {
		return keyState{}, fmt.Errorf("parsing %s: %w", filepath.Join(dir, stateFileName), err)
	}
	for _, k := range st.Keys {
		if !validKID(k.KID) {
			return keyState{}, fmt.Errorf("%s lists an invalid kid %q", filepath.Join(dir, stateFileName), k.KID)
		}
	}
	return st, nil
}

func writeState(dir string, st keyState) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding key state: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, stateFileName), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing key state: %w", err)
	}
	return nil
}

// writeFileAtomic writes through a temporary file in the same directory and
// renames it into place, so readers (a polling issuer) never see a partial
// file and a crash leaves the old one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return nil
}

// withLock runs fn while holding the directory's lock file, which keeps an
// offline rotate and a running issuer from overwriting each other's state.
// A lock file is portable where flock is not; one older than staleLockAge is
// assumed to be left by a crashed process and taken over.
func withLock(dir string, fn func() error) error {
	path := filepath.Join(dir, lockFileName)
	deadline := time.Now().Add(lockWait)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_ = f.Close()
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("locking the key directory: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLockAge {
			_ = os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the key directory is locked by another process; remove %s if none is running", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer func() { _ = os.Remove(path) }()
	return fn()
}

func keyPath(dir, kid string) string { return filepath.Join(dir, kid+".pem") }

// validKID keeps kids from the state file usable as file names: a thumbprint
// is base64url, so anything else (a path separator, "..") is refused.
func validKID(kid string) bool {
	if kid == "" || len(kid) > 128 {
		return false
	}
	for _, c := range []byte(kid) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// algorithms lists the distinct algorithms of keys, for discovery.
func algorithms(keys []*signingKey) []string {
	var out []string
	for _, k := range keys {
		if !slices.Contains(out, k.alg) {
			out = append(out, k.alg)
		}
	}
	return out
}
