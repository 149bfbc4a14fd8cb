// Package issuer is a small OIDC/OAuth 2 token service for development and
// tests: OIDC discovery, a JWKS endpoint, and a token endpoint with the
// password (RFC 6749 §4.3) and client_credentials (§4.4) grants that issues
// RFC 9068 JWT access tokens. Its keys live in a directory, are generated on
// first start and can be rotated while it runs.
//
// It is NOT a production identity provider: there is no login UI, no
// authorization code flow, no refresh tokens, no consent, no rate limiting or
// lockout, and users are a static list. Use it to give the gateway real,
// verifiable tokens on a developer machine or in CI.
package issuer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/portcullis/portcullis/internal/config"
	"golang.org/x/crypto/bcrypt"
)

const (
	// DefaultTokenTTL is the access token lifetime when Settings.TokenTTL is 0.
	DefaultTokenTTL = time.Hour
	// DefaultAlgorithm is the type of new keys when Settings.Algorithm is "".
	DefaultAlgorithm = "RS256"

	// PollInterval is how often Run looks at the key directory.
	PollInterval = 2 * time.Second

	maxTokenRequestBytes = 64 << 10

	// metadataMaxAge is the Cache-Control max-age of discovery and JWKS.
	// Short, because a verifier that cached the JWKS does not know a newly
	// rotated key until it refetches; with 5 minutes a rotation reaches
	// every well-behaved verifier quickly, and retireGrace keeps an old key
	// published for at least as long as a cached copy may lack the change.
	metadataMaxAge = "public, max-age=300"

	basicRealm = `Basic realm="portcullis-issuer"`
)

// Settings configures an Issuer. Issuer, KeysDir and at least one Audience
// are required; Validate reports every problem at once. Settings is a plain
// value: New copies what it needs.
type Settings struct {
	Issuer      string        // the iss claim and the discovery issuer, e.g. "http://127.0.0.1:8099"; its path (if any) prefixes every endpoint
	KeysDir     string        // keys are generated here on first start and kept (0700 dir, 0600 key files)
	Algorithm   string        // RS256 (default), ES256 or EdDSA: the type of NEW keys; existing keys keep theirs
	TokenTTL    time.Duration // default 1h: access token lifetime
	Audience    []string      // allowed audiences; tokens get Audience[0] unless the request asks for another allowed one (audience or resource parameter)
	Users       []User        // password grant
	Clients     []Client      // clients of the token endpoint
	UsersFile   string        // optional YAML file with `users: [...]`, merged with Users
	ClientsFile string        // optional YAML file with `clients: [...]`, merged with Clients
}

func (s Settings) withDefaults() Settings {
	if s.Algorithm == "" {
		s.Algorithm = DefaultAlgorithm
	}
	if s.TokenTTL == 0 {
		s.TokenTTL = DefaultTokenTTL
	}
	return s
}

// Validate reports every problem with s, each as one sentence, joined. It
// reads UsersFile and ClientsFile (their problems are part of the settings)
// but not KeysDir.
func (s Settings) Validate() error {
	return s.problems().Err()
}

// problems is what Validate reports, each at the field a configuration
// writes it at ("audience", "users[1].password_hash", "users_file" for
// anything about a user read from that file), so that FromConfig reports
// it at its place.
func (s Settings) problems() config.Problems {
	ps := s.keyProblems()
	if s.Issuer == "" {
		ps.Addf("issuer", "the issuer URL is required")
	} else if u, err := url.Parse(s.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		ps.Addf("issuer", "the issuer %q must be an absolute http or https URL without query or fragment", s.Issuer)
	}
	if len(s.Audience) == 0 {
		ps.Addf("audience", "at least one audience is required")
	}
	for i, a := range s.Audience {
		if a == "" {
			ps.Addf("audience["+strconv.Itoa(i)+"]", "audience %d is empty", i+1)
		}
	}
	users, clients, loadProblems := s.loadUsersAndClients()
	ps = append(ps, loadProblems...)
	ps = append(ps, validateUsers(users, len(s.Users))...)
	ps = append(ps, validateClients(clients, len(s.Clients))...)
	return ps
}

// keyProblems is what the key directory needs, which is all an offline
// Rotate uses.
func (s Settings) keyProblems() config.Problems {
	var ps config.Problems
	if s.KeysDir == "" {
		ps.Addf("keys_dir", "the keys directory is required")
	}
	switch s.Algorithm {
	case "", "RS256", "ES256", "EdDSA":
	default:
		ps.Addf("algorithm", "algorithm %q is not supported for new keys (supported: RS256, ES256, EdDSA)", s.Algorithm)
	}
	if s.TokenTTL < 0 {
		ps.Addf("token_ttl", "the token lifetime must not be negative")
	}
	return ps
}

// Options carries the dependencies of an Issuer; every field is optional.
type Options struct {
	Logger *slog.Logger     // nil: discard. Never given passwords, secrets, tokens or keys.
	Now    func() time.Time // nil: time.Now. Token times, rotation and retirement use it.
}

// Issuer serves discovery, JWKS and the token endpoint (ServeHTTP) and
// manages the keys in Settings.KeysDir. It is safe for concurrent use.
// Create it with New; call Run to follow changes made to the key directory
// by other processes and to delete retired keys.
type Issuer struct {
	issuer    string
	base      string // issuer without a trailing slash, for endpoint URLs
	audiences []string
	ttl       time.Duration
	log       *slog.Logger
	now       func() time.Time
	keys      *keyManager
	mux       *http.ServeMux

	users   map[string]*User
	clients map[string]*Client
	scopes  []string // union of configured scopes, for discovery

	// Hashes compared against when the user or client does not exist, so a
	// request for an unknown name costs as much as one for a known name.
	// Their cost is the highest of the configured hashes for the same reason.
	dummyUserHash   []byte
	dummyClientHash []byte
	// compare is bcrypt.CompareHashAndPassword; tests observe it.
	compare func(hash, password []byte) error
}

// New validates s, reads the users and clients files and loads the keys in
// KeysDir, generating the first one if the directory has none.
func New(s Settings, o Options) (*Issuer, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("issuer settings: %w", err)
	}
	s = s.withDefaults()
	i := &Issuer{
		issuer:    s.Issuer,
		base:      strings.TrimSuffix(s.Issuer, "/"),
		audiences: slices.Clone(s.Audience),
		ttl:       s.TokenTTL,
		log:       o.Logger,
		now:       o.Now,
		users:     map[string]*User{},
		clients:   map[string]*Client{},
		compare:   bcrypt.CompareHashAndPassword,
	}
	if i.log == nil {
		i.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if i.now == nil {
		i.now = time.Now
	}
	users, clients, ps := s.loadUsersAndClients()
	if len(ps) > 0 {
		return nil, ps.Err() // unreachable after Validate unless a file changed in between
	}
	var userHashes, clientHashes []string
	for _, u := range users {
		if u.Subject == "" {
			u.Subject = u.Username
		}
		u.Scopes, u.Claims = slices.Clone(u.Scopes), maps.Clone(u.Claims)
		i.users[u.Username] = &u
		i.addScopes(u.Scopes)
		userHashes = append(userHashes, u.PasswordHash)
	}
	for _, c := range clients {
		c.Scopes, c.GrantTypes, c.Claims = slices.Clone(c.Scopes), slices.Clone(c.GrantTypes), maps.Clone(c.Claims)
		i.clients[c.ClientID] = &c
		i.addScopes(c.Scopes)
		if c.SecretHash != "" {
			clientHashes = append(clientHashes, c.SecretHash)
		}
	}
	var err error
	if i.dummyUserHash, err = dummyHash(userHashes); err != nil {
		return nil, err
	}
	if i.dummyClientHash, err = dummyHash(clientHashes); err != nil {
		return nil, err
	}

	i.keys, err = openKeys(s.KeysDir, s.Algorithm, s.TokenTTL, i.now(), i.log)
	if err != nil {
		return nil, fmt.Errorf("issuer keys: %w", err)
	}
	if k := i.keys.current().signing; k.alg != s.Algorithm {
		i.log.Info("the signing key is of another algorithm than configured; the configured one applies from the next rotation",
			"kid", k.kid, "alg", k.alg, "configured", s.Algorithm)
	}

	prefix := ""
	if u, err := url.Parse(i.base); err == nil {
		prefix = u.Path
	}
	i.mux = http.NewServeMux()
	i.mux.HandleFunc("GET "+prefix+"/.well-known/openid-configuration", i.serveDiscovery)
	i.mux.HandleFunc("GET "+prefix+"/.well-known/jwks.json", i.serveJWKS)
	i.mux.HandleFunc(prefix+"/oauth2/token", i.serveToken)
	return i, nil
}

func (i *Issuer) addScopes(scopes []string) {
	for _, sc := range scopes {
		if !slices.Contains(i.scopes, sc) {
			i.scopes = append(i.scopes, sc)
		}
	}
	slices.Sort(i.scopes)
}

// dummyHash hashes a random password at the highest cost among hashes.
func dummyHash(hashes []string) ([]byte, error) {
	cost := bcrypt.DefaultCost
	if len(hashes) > 0 {
		cost = bcrypt.MinCost
		for _, h := range hashes {
			if c, err := bcrypt.Cost([]byte(h)); err == nil && c > cost {
				cost = c
			}
		}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, fmt.Errorf("preparing the timing-safe comparison: %w", err)
	}
	return h, nil
}

// ServeHTTP serves GET {path}/.well-known/openid-configuration,
// GET {path}/.well-known/jwks.json and POST {path}/oauth2/token, where
// {path} is the path of Settings.Issuer (usually empty).
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i.mux.ServeHTTP(w, r)
}

// Rotate generates a new key of Settings.Algorithm and signs with it from now
// on. The previous signing key stays published until TokenTTL + 5 minutes
// from now, when every token it signed has expired.
func (i *Issuer) Rotate() (kid string, err error) {
	return i.keys.rotate(i.now())
}

// Rotate does what (*Issuer).Rotate does, on the key directory alone, for
// use while the issuer runs in another process (which picks the change up
// through Run or Reload). Only KeysDir, Algorithm and TokenTTL are used; a
// directory without keys gets its first one.
func Rotate(s Settings, now time.Time) (kid string, err error) {
	if err := s.keyProblems().Err(); err != nil {
		return "", fmt.Errorf("issuer settings: %w", err)
	}
	s = s.withDefaults()
	return rotateDir(s.KeysDir, s.Algorithm, s.TokenTTL, now, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// Reload re-reads the key directory, so that a running issuer signs with a
// key made by an offline Rotate. On error the keys in use are kept.
func (i *Issuer) Reload() error {
	if err := i.keys.reload(); err != nil {
		return fmt.Errorf("reloading issuer keys: %w", err)
	}
	return nil
}

// Run polls the key directory every PollInterval until ctx is done: it
// reloads when the state file changed and deletes keys past retirement.
// Errors are logged and retried at the next poll.
func (i *Issuer) Run(ctx context.Context) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			i.poll()
		}
	}
}

// poll is one round of Run.
func (i *Issuer) poll() {
	if i.keys.changed() {
		if err := i.keys.reload(); err != nil {
			i.log.Error("reloading issuer keys failed; keeping the current keys", "err", err)
			return
		}
	}
	if err := i.keys.prune(i.now()); err != nil {
		i.log.Error("deleting retired issuer keys failed", "err", err)
	}
}

func (i *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	scopes := i.scopes
	if scopes == nil {
		scopes = []string{}
	}
	doc := map[string]any{
		"issuer":                                i.issuer,
		"jwks_uri":                              i.base + "/.well-known/jwks.json",
		"token_endpoint":                        i.base + "/oauth2/token",
		"grant_types_supported":                 []string{GrantPassword, GrantClientCredentials},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"response_types_supported":              []string{"token"},
		"scopes_supported":                      scopes,
		"id_token_signing_alg_values_supported": algorithms(i.keys.current().published(i.now())),
		"subject_types_supported":               []string{"public"},
	}
	w.Header().Set("Cache-Control", metadataMaxAge)
	writeJSON(w, http.StatusOK, doc)
}

func (i *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	keys := i.keys.current().published(i.now())
	jwks := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		jwks = append(jwks, k.jwk)
	}
	w.Header().Set("Cache-Control", metadataMaxAge)
	writeJSON(w, http.StatusOK, map[string]any{"keys": jwks})
}

// tokenError is an RFC 6749 §5.2 error response.
type tokenError struct {
	status int
	code   string
	desc   string
}

func tokenErr(status int, code, format string, args ...any) *tokenError {
	return &tokenError{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	resp, terr := i.token(w, r)
	if terr != nil {
		if terr.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", basicRealm)
		}
		if terr.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		// Descriptions name parameters and usernames at most, never secrets.
		i.log.Info("token request refused", "error", terr.code, "description", terr.desc)
		writeJSON(w, terr.status, map[string]string{"error": terr.code, "error_description": terr.desc})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// grantContext is what the grant-specific part decided.
type grantContext struct {
	client  *Client
	subject string
	allowed []string // scopes that may be granted
	claims  map[string]any
}

func (i *Issuer) token(w http.ResponseWriter, r *http.Request) (map[string]any, *tokenError) {
	if r.Method != http.MethodPost {
		return nil, tokenErr(http.StatusMethodNotAllowed, "invalid_request", "the token endpoint accepts only POST")
	}
	form, terr := readForm(w, r)
	if terr != nil {
		return nil, terr
	}
	grant := form.Get("grant_type")
	if grant == "" {
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "grant_type is required")
	}
	client, terr := i.authenticateClient(r, form)
	if terr != nil {
		return nil, terr
	}
	if grant != GrantPassword && grant != GrantClientCredentials {
		return nil, tokenErr(http.StatusBadRequest, "unsupported_grant_type", "grant type %q is not supported (supported: password, client_credentials)", grant)
	}
	if !slices.Contains(client.grantTypes(), grant) {
		return nil, tokenErr(http.StatusBadRequest, "unauthorized_client", "this client may not use the %s grant", grant)
	}
	aud, terr := i.audience(form)
	if terr != nil {
		return nil, terr
	}

	var g *grantContext
	if grant == GrantPassword {
		g, terr = i.passwordGrant(client, form)
	} else {
		g = &grantContext{client: client, subject: client.ClientID, allowed: client.Scopes, claims: client.Claims}
	}
	if terr != nil {
		return nil, terr
	}
	scope, terr := grantedScope(form, g.allowed)
	if terr != nil {
		return nil, terr
	}

	tok, kid, err := i.sign(g, aud, scope)
	if err != nil {
		i.log.Error("signing an access token failed", "err", err)
		return nil, tokenErr(http.StatusInternalServerError, "server_error", "the token could not be signed")
	}
	i.log.Info("token issued", "grant_type", grant, "client_id", client.ClientID, "sub", g.subject, "scope", scope, "aud", aud, "kid", kid)
	resp := map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int64(i.ttl / time.Second),
	}
	if scope != "" {
		resp["scope"] = scope
	}
	return resp, nil
}

// readForm parses the form-encoded body and refuses repeated parameters
// (RFC 6749 §3.2) other than the RFC 8707 target parameters.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *tokenError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	// RFC 6749 §2.3.1 and §3.2: credentials never travel in the URL, where
	// they end up in access logs.
	if q := r.URL.Query(); q.Has("client_secret") || q.Has("password") {
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "credentials must be sent in the body, not the URL")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequestBytes)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tokenErr(http.StatusRequestEntityTooLarge, "invalid_request", "the request body exceeds %d bytes", maxTokenRequestBytes)
		}
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "the body is not valid form encoding")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "resource" && k != "audience" {
			return nil, tokenErr(http.StatusBadRequest, "invalid_request", "parameter %s is repeated", k)
		}
	}
	return r.PostForm, nil
}

// authenticateClient implements client_secret_basic, client_secret_post and
// none (public clients). Exactly one method may be used. A secret is always
// compared with bcrypt, against a dummy hash for an unknown client.
func (i *Issuer) authenticateClient(r *http.Request, form url.Values) (*Client, *tokenError) {
	var id, secret string
	hasSecret := false
	basicID, basicSecret, basic := r.BasicAuth()
	switch {
	case basic:
		if form.Has("client_secret") {
			return nil, tokenErr(http.StatusBadRequest, "invalid_request", "use either HTTP Basic or client_secret in the body, not both")
		}
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Basic.
		var err1, err2 error
		id, err1 = url.QueryUnescape(basicID)
		secret, err2 = url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return nil, tokenErr(http.StatusUnauthorized, "invalid_client", "the Basic credentials are not form-urlencoded")
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return nil, tokenErr(http.StatusBadRequest, "invalid_request", "client_id in the body differs from the Basic credentials")
		}
		hasSecret = secret != ""
	case r.Header.Get("Authorization") != "":
		return nil, tokenErr(http.StatusUnauthorized, "invalid_client", "the Authorization header is not HTTP Basic")
	default:
		id = form.Get("client_id")
		secret = form.Get("client_secret")
		hasSecret = secret != ""
	}
	if id == "" {
		return nil, tokenErr(http.StatusUnauthorized, "invalid_client", "client authentication is required")
	}
	c, ok := i.clients[id]
	if !ok {
		_ = i.compare(i.dummyClientHash, []byte(secret))
		return nil, tokenErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	if c.Public {
		if hasSecret {
			return nil, tokenErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
		}
		return c, nil
	}
	if !hasSecret {
		return nil, tokenErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	if i.compare([]byte(c.SecretHash), []byte(secret)) != nil {
		return nil, tokenErr(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	return c, nil
}

// passwordGrant checks the user's password; bcrypt runs for unknown users
// too, so timing does not tell which usernames exist.
func (i *Issuer) passwordGrant(c *Client, form url.Values) (*grantContext, *tokenError) {
	username, password := form.Get("username"), form.Get("password")
	if username == "" || !form.Has("password") {
		return nil, tokenErr(http.StatusBadRequest, "invalid_request", "the password grant needs username and password")
	}
	u, ok := i.users[username]
	hash := i.dummyUserHash
	if ok {
		hash = []byte(u.PasswordHash)
	}
	if err := i.compare(hash, []byte(password)); err != nil || !ok {
		return nil, tokenErr(http.StatusBadRequest, "invalid_grant", "the username or password is wrong")
	}
	allowed := u.Scopes
	if len(c.Scopes) > 0 {
		allowed = slices.DeleteFunc(slices.Clone(u.Scopes), func(s string) bool { return !slices.Contains(c.Scopes, s) })
	}
	claims := make(map[string]any, len(c.Claims)+len(u.Claims))
	for k, v := range c.Claims {
		claims[k] = v
	}
	for k, v := range u.Claims { // the user's own claims are the more specific
		claims[k] = v
	}
	return &grantContext{client: c, subject: u.Subject, allowed: allowed, claims: claims}, nil
}

// audience resolves the RFC 8707 resource and the (common, non-standard)
// audience parameters; every requested value must be configured.
func (i *Issuer) audience(form url.Values) ([]string, *tokenError) {
	var aud []string
	for _, v := range append(slices.Clone(form["audience"]), form["resource"]...) {
		if !slices.Contains(i.audiences, v) {
			return nil, tokenErr(http.StatusBadRequest, "invalid_target", "audience %q is not allowed", v)
		}
		if !slices.Contains(aud, v) {
			aud = append(aud, v)
		}
	}
	if len(aud) == 0 {
		aud = []string{i.audiences[0]}
	}
	return aud, nil
}

// grantedScope is the requested scope if allowed, or everything allowed.
func grantedScope(form url.Values, allowed []string) (string, *tokenError) {
	requested := strings.Fields(form.Get("scope"))
	if len(requested) == 0 {
		var out []string
		for _, s := range allowed {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return strings.Join(out, " "), nil
	}
	var out []string
	for _, s := range requested {
		if !slices.Contains(allowed, s) {
			return "", tokenErr(http.StatusBadRequest, "invalid_scope", "scope %q is not allowed", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, " "), nil
}

// sign makes an RFC 9068 access token. token.Mint is not used because it
// cannot set the at+jwt type header and lets extra claims override
// registered ones.
func (i *Issuer) sign(g *grantContext, aud []string, scope string) (string, string, error) {
	k := i.keys.current().signing
	now := i.now()
	claims := jwt.MapClaims{}
	for name, v := range g.claims {
		claims[name] = v
	}
	claims["iss"] = i.issuer
	claims["sub"] = g.subject
	if len(aud) == 1 {
		claims["aud"] = aud[0]
	} else {
		claims["aud"] = aud
	}
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(i.ttl).Unix()
	claims["jti"] = randomID()
	claims["client_id"] = g.client.ClientID
	if scope != "" {
		claims["scope"] = scope
	}
	method := jwt.GetSigningMethod(k.alg)
	if method == nil {
		return "", "", fmt.Errorf("no signing method for %s", k.alg)
	}
	t := jwt.NewWithClaims(method, claims)
	t.Header["typ"] = "at+jwt"
	t.Header["kid"] = k.kid
	s, err := t.SignedString(k.signer)
	if err != nil {
		return "", "", fmt.Errorf("signing with key %s: %w", k.kid, err)
	}
	return s, k.kid, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
