package issuer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"

	"github.com/portcullis/portcullis/internal/config"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/bcrypt"
)

// Grant types the token endpoint implements.
const (
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
)

// User may obtain tokens with the password grant (RFC 6749 §4.3) through a
// client that allows it. Only a bcrypt hash of the password is ever held; a
// users file with a plain `password` field is refused. The zero Subject means
// the username.
type User struct {
	Username     string         `yaml:"username"`
	PasswordHash string         `yaml:"password_hash"` // bcrypt, see HashPassword
	Subject      string         `yaml:"sub"`           // default: Username
	Scopes       []string       `yaml:"scopes"`        // scopes this user may be granted
	Claims       map[string]any `yaml:"claims"`        // extra claims; registered names are refused
}

// Client is an OAuth 2 client of the token endpoint. A confidential client
// authenticates with a secret whose bcrypt hash is SecretHash; a Public one
// has no secret and may only use the password grant. GrantTypes empty means
// password and client_credentials (password only for a public client).
type Client struct {
	ClientID   string         `yaml:"client_id"`
	SecretHash string         `yaml:"client_secret_hash"` // bcrypt; empty only when Public
	Public     bool           `yaml:"public"`
	Scopes     []string       `yaml:"scopes"`      // client_credentials: its scopes; password: limits the user's when non-empty
	GrantTypes []string       `yaml:"grant_types"` // password, client_credentials
	Claims     map[string]any `yaml:"claims"`      // extra claims; registered names are refused
}

// grantTypes resolves the default.
func (c *Client) grantTypes() []string {
	if len(c.GrantTypes) > 0 {
		return c.GrantTypes
	}
	if c.Public {
		return []string{GrantPassword}
	}
	return []string{GrantPassword, GrantClientCredentials}
}

// HashPassword returns the bcrypt hash to put in password_hash or
// client_secret_hash.
func HashPassword(plain string) (string, error) {
	if plain == "" {
		return "", errors.New("the password is empty")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(plain), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return string(h), nil
}

// registeredClaim reports whether the issuer sets (or deliberately omits) the
// claim; configured extra claims may not override these, or a user could be
// made to look like another or a token could outlive its lifetime.
func registeredClaim(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "typ":
		return true
	}
	return false
}

// fileUser and fileClient accept the plain-text fields only to refuse them
// with a helpful message instead of a bare "unknown field".
type fileUser struct {
	User     `yaml:",inline"`
	Password *string `yaml:"password"`
}

type fileClient struct {
	Client `yaml:",inline"`
	Secret *string `yaml:"client_secret"`
}

func loadUsersFile(path string) ([]User, error) {
	var doc struct {
		Users []fileUser `yaml:"users"`
	}
	if err := decodeYAMLFile(path, &doc); err != nil {
		return nil, err
	}
	users := make([]User, 0, len(doc.Users))
	var errs []error
	for i, u := range doc.Users {
		if u.Password != nil {
			errs = append(errs, fmt.Errorf("%s: user %d (%q) has a plain `password`; store only its bcrypt hash as `password_hash` (make one with `portcullis issuer hash-password`)", path, i+1, u.Username))
			continue
		}
		users = append(users, u.User)
	}
	return users, errors.Join(errs...)
}

func loadClientsFile(path string) ([]Client, error) {
	var doc struct {
		Clients []fileClient `yaml:"clients"`
	}
	if err := decodeYAMLFile(path, &doc); err != nil {
		return nil, err
	}
	clients := make([]Client, 0, len(doc.Clients))
	var errs []error
	for i, c := range doc.Clients {
		if c.Secret != nil {
			errs = append(errs, fmt.Errorf("%s: client %d (%q) has a plain `client_secret`; store only its bcrypt hash as `client_secret_hash` (make one with `portcullis issuer hash-password`)", path, i+1, c.ClientID))
			continue
		}
		clients = append(clients, c.Client)
	}
	return clients, errors.Join(errs...)
}

// decodeYAMLFile refuses unknown fields so that a misspelt key (say
// `scope:`) is an error rather than a silently missing permission.
func decodeYAMLFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	return nil
}

// loadUsersAndClients merges the inline lists with the files; a file's
// problems are at users_file or clients_file.
func (s Settings) loadUsersAndClients() ([]User, []Client, config.Problems) {
	users := slices.Clone(s.Users)
	clients := slices.Clone(s.Clients)
	var ps config.Problems
	if s.UsersFile != "" {
		u, err := loadUsersFile(s.UsersFile)
		if err != nil {
			ps.Addf("users_file", "users file: %w", err)
		}
		users = append(users, u...)
	}
	if s.ClientsFile != "" {
		c, err := loadClientsFile(s.ClientsFile)
		if err != nil {
			ps.Addf("clients_file", "clients file: %w", err)
		}
		clients = append(clients, c...)
	}
	return users, clients, ps
}

// entryField names, for the problems of entry i of a list whose first
// inline entries are written under list and the rest read from the file
// at fileKey, the field key of that entry ("users[1].scopes"), or fileKey
// for an entry of the file.
func entryField(list, fileKey string, i, inline int) func(key string) string {
	if i >= inline {
		return func(string) string { return fileKey }
	}
	entry := list + "[" + strconv.Itoa(i) + "]"
	return func(key string) string { return entry + "." + key }
}

// validateUsers checks users, of which the first inline are the settings'
// own and the rest come from UsersFile.
func validateUsers(users []User, inline int) config.Problems {
	var ps config.Problems
	seen := map[string]bool{}
	for i, u := range users {
		at := entryField("users", "users_file", i, inline)
		name := fmt.Sprintf("user %d (%q)", i+1, u.Username)
		if u.Username == "" {
			ps.Addf(at("username"), "user %d has no username", i+1)
		} else if seen[u.Username] {
			ps.Addf(at("username"), "%s is defined more than once", name)
		}
		seen[u.Username] = true
		if u.PasswordHash == "" {
			ps.Addf(at("password_hash"), "%s has no password_hash (make one with `portcullis issuer hash-password`)", name)
		} else if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			ps.Addf(at("password_hash"), "%s: password_hash is not a bcrypt hash (make one with `portcullis issuer hash-password`)", name)
		}
		ps = append(ps, validateScopes(name, at, u.Scopes)...)
		ps = append(ps, validateClaims(name, at, u.Claims)...)
	}
	return ps
}

// validateClients checks clients, of which the first inline are the
// settings' own and the rest come from ClientsFile.
func validateClients(clients []Client, inline int) config.Problems {
	var ps config.Problems
	seen := map[string]bool{}
	for i, c := range clients {
		at := entryField("clients", "clients_file", i, inline)
		name := fmt.Sprintf("client %d (%q)", i+1, c.ClientID)
		if c.ClientID == "" {
			ps.Addf(at("client_id"), "client %d has no client_id", i+1)
		} else if seen[c.ClientID] {
			ps.Addf(at("client_id"), "%s is defined more than once", name)
		}
		seen[c.ClientID] = true
		switch {
		case c.Public && c.SecretHash != "":
			ps.Addf(at("client_secret_hash"), "%s is public and so must not have a client_secret_hash", name)
		case !c.Public && c.SecretHash == "":
			ps.Addf(at("client_secret_hash"), "%s needs a client_secret_hash, or `public: true` for a client without a secret", name)
		case c.SecretHash != "":
			if _, err := bcrypt.Cost([]byte(c.SecretHash)); err != nil {
				ps.Addf(at("client_secret_hash"), "%s: client_secret_hash is not a bcrypt hash (make one with `portcullis issuer hash-password`)", name)
			}
		}
		for _, g := range c.GrantTypes {
			switch g {
			case GrantPassword:
			case GrantClientCredentials:
				if c.Public {
					ps.Addf(at("grant_types"), "%s is public and so cannot use the client_credentials grant: it has no credentials", name)
				}
			default:
				ps.Addf(at("grant_types"), "%s: grant type %q is not supported (supported: password, client_credentials)", name, g)
			}
		}
		ps = append(ps, validateScopes(name, at, c.Scopes)...)
		ps = append(ps, validateClaims(name, at, c.Claims)...)
	}
	return ps
}

// validateScopes applies the scope-token syntax of RFC 6749 §3.3, so that a
// configured scope can be requested at all. at names the owner's fields.
func validateScopes(owner string, at func(string) string, scopes []string) config.Problems {
	var ps config.Problems
	for _, sc := range scopes {
		if !validScope(sc) {
			ps.Addf(at("scopes"), "%s: scope %q is not a valid scope token (printable ASCII without space, \" or \\)", owner, sc)
		}
	}
	return ps
}

func validScope(sc string) bool {
	if sc == "" {
		return false
	}
	for _, c := range []byte(sc) {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validateClaims refuses the claims the issuer sets and claims JSON cannot
// encode. at names the owner's fields.
func validateClaims(owner string, at func(string) string, claims map[string]any) config.Problems {
	var ps config.Problems
	for _, name := range slices.Sorted(maps.Keys(claims)) {
		if registeredClaim(name) {
			ps.Addf(at("claims."+name), "%s: claim %q is set by the issuer and cannot be configured", owner, name)
		}
	}
	// YAML allows maps with non-string keys, which JSON cannot encode; find
	// that now rather than on the first token request.
	if _, err := json.Marshal(claims); err != nil {
		ps.Addf(at("claims"), "%s: claims cannot be encoded as JSON (nested maps need string keys): %w", owner, err)
	}
	return ps
}
