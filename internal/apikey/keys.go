// Package apikey is AWS API Gateway's API keys and usage plans: a route
// with api_key_required takes a key from the x-api-key header (source
// HEADER) or from a Lambda authorizer's usageIdentifierKey (source
// AUTHORIZER), refuses a missing, unknown or disabled key with 403
// {"message":"Forbidden"} (INVALID_API_KEY), and applies the key's usage
// plan: its throttle (429 Too Many Requests, THROTTLED) and its quota per
// day, week or month (429 Limit Exceeded, QUOTA_EXCEEDED).
//
// Only SHA-256 hashes of key values are stored (see Hash).
package apikey

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/config"
)

// HashPrefix starts every stored hash: the algorithm, so another can be
// added later without guessing.
const HashPrefix = "sha256:"

// Value limits, AWS's: 20 to 128 characters.
const (
	MinValueLength = 20
	MaxValueLength = 128
	// GeneratedLength is the length of a key made by Generate: 40
	// characters of 62 possible each, about 238 bits.
	GeneratedLength = 40
	// MaxKeysFileBytes bounds the keys file.
	MaxKeysFileBytes = 16 << 20
)

// Hash returns the stored form of a key value: "sha256:" and the hex
// SHA-256 digest. A fast hash is right here, unlike for passwords: keys are
// random with over 200 bits of entropy (Generate), so there is nothing to
// guess from the hash, and a slow hash (bcrypt) would cost every request
// milliseconds of CPU. A key chosen by a person is refused if shorter than
// AWS's 20 characters, but its strength is the operator's business.
func Hash(value string) string {
	d := sha256.Sum256([]byte(value))
	return HashPrefix + hex.EncodeToString(d[:])
}

// parseHash returns the digest of a stored hash.
func parseHash(s string) ([32]byte, error) {
	var d [32]byte
	h, ok := strings.CutPrefix(s, HashPrefix)
	if !ok {
		return d, fmt.Errorf("hash must start with %q (the value's SHA-256 in hex; `portcullis apikey create` writes it)", HashPrefix)
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(d) {
		return d, errors.New("hash must be sha256: and 64 hexadecimal digits")
	}
	copy(d[:], b)
	return d, nil
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Generate returns a new random key value: GeneratedLength alphanumeric
// characters (AWS allows only those), drawn without bias.
func Generate() string {
	out := make([]byte, 0, GeneratedLength)
	var buf [64]byte
	for len(out) < GeneratedLength {
		_, _ = rand.Read(buf[:]) // never fails on Go 1.24+
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62: keep the draw uniform
				continue
			}
			out = append(out, alphabet[int(b)%len(alphabet)])
			if len(out) == GeneratedLength {
				break
			}
		}
	}
	return string(out)
}

// FileEntry is one key in a keys file.
type FileEntry struct {
	Name    string `yaml:"name"`
	Hash    string `yaml:"hash"`
	Plan    string `yaml:"plan"`
	Enabled *bool  `yaml:"enabled"`
}

// KeysFile is the keys file: `keys: [{name, hash, plan, enabled}]`.
type KeysFile struct {
	Keys []FileEntry `yaml:"keys"`
}

// Key is one loaded API key. It never holds the value.
type Key struct {
	Name    string
	ID      string // $context.identity.apiKeyId: the first 16 hex digits of the hash
	Plan    string
	Enabled bool
	digest  [32]byte
	// The plan throttle's bucket, "apikey:{ID}", and the quota counters'
	// prefix, "quota:{ID}:": the hash tag {ID} puts a key's bucket and
	// counters in one Redis Cluster slot, so one script can apply both.
	limiter string
	quota   string
}

// readKeysFile reads and checks path; plans are the usage plans defined.
// Every problem is reported, one per line.
func readKeysFile(path string, plans map[string]*plan) ([]*Key, error) {
	data, err := config.ReadLimited(path, MaxKeysFileBytes)
	if err != nil {
		return nil, err
	}
	var kf KeysFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&kf); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var problems []error
	names := map[string]bool{}
	digests := map[[32]byte]string{}
	keys := make([]*Key, 0, len(kf.Keys))
	for i, e := range kf.Keys {
		at := fmt.Sprintf("%s: keys[%d]", path, i)
		if e.Name == "" || len(e.Name) > 1024 {
			problems = append(problems, fmt.Errorf("%s: name is required (at most 1024 characters)", at))
		} else if names[e.Name] {
			problems = append(problems, fmt.Errorf("%s: name %q is used twice", at, e.Name))
		}
		names[e.Name] = true
		d, err := parseHash(e.Hash)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s (%s): %w", at, e.Name, err))
		} else if other, dup := digests[d]; dup {
			problems = append(problems, fmt.Errorf("%s (%s): the same key as %q (AWS: two keys with one value are one key)", at, e.Name, other))
		}
		digests[d] = e.Name
		if _, ok := plans[e.Plan]; !ok {
			problems = append(problems, fmt.Errorf("%s (%s): plan %q is not in usage_plans (defined: %s)", at, e.Name, e.Plan, planNames(plans)))
		}
		if e.Enabled == nil {
			problems = append(problems, fmt.Errorf("%s (%s): enabled is required (true or false)", at, e.Name))
		}
		k := &Key{Name: e.Name, Plan: e.Plan, Enabled: e.Enabled != nil && *e.Enabled, digest: d}
		k.ID = hex.EncodeToString(d[:8])
		k.limiter, k.quota = "apikey:{"+k.ID+"}", "quota:{"+k.ID+"}:"
		keys = append(keys, k)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return keys, nil
}

// matches reports whether value's digest is k's, in constant time.
func (k *Key) matches(d *[32]byte) bool {
	return subtle.ConstantTimeCompare(k.digest[:], d[:]) == 1
}

// Append adds a key to the keys file at path, creating it (mode 0600) if
// missing: only its hash is written. It refuses a name already in the file.
// The file is replaced atomically, so a running gateway never reads half of
// it; comments and the other entries are kept.
func Append(path string, e FileEntry) error {
	var doc yaml.Node
	mode := os.FileMode(0o600)
	data, err := config.ReadLimited(path, MaxKeysFileBytes)
	switch {
	case err == nil:
		if info, err := os.Stat(path); err == nil {
			mode = info.Mode().Perm()
		}
		if len(bytes.TrimSpace(data)) > 0 {
			if err := yaml.Unmarshal(data, &doc); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	case errors.Is(err, os.ErrNotExist):
	default:
		return err
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s: the top level must be a mapping with keys:", path)
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "keys" {
			list = root.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "keys"}, list)
	}
	if list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
		list.Kind, list.Tag, list.Value = yaml.SequenceNode, "", ""
	}
	if list.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s: keys must be a list", path)
	}
	for _, n := range list.Content {
		var old FileEntry
		if n.Decode(&old) == nil && old.Name == e.Name {
			return fmt.Errorf("%s: a key named %q exists already", path, e.Name)
		}
	}
	var entry yaml.Node
	if err := entry.Encode(e); err != nil {
		return err
	}
	list.Content = append(list.Content, &entry)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".apikeys-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
