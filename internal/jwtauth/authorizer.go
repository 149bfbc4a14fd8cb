// Package jwtauth implements one JWT authorizer with the semantics of AWS API
// Gateway's HTTP API JWT authorizer: it holds one issuer's keys and decides
// whether a bearer token is valid. See README.md for every check in order.
package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/golang-jwt/jwt/v5"
	"github.com/portcullis/portcullis/internal/config"
)

// maxTokenBytes is the largest token accepted, checked before any parsing so
// that an attacker cannot make us decode megabytes of base64 and JSON.
const maxTokenBytes = 16384

// minHMACSecretBytes follows RFC 7518 §3.2: an HS256 key must be at least as
// long as the hash output; a shorter one is open to offline brute force.
const minHMACSecretBytes = 32

// Defaults for the tunables of Settings.
const (
	DefaultFetchTimeout        = 1500 * time.Millisecond
	DefaultMaxBodyBytes        = 150000
	DefaultRefreshInterval     = time.Hour
	DefaultMinRefreshInterval  = 30 * time.Second
	DefaultMaxRefreshInterval  = 2 * time.Hour // AWS caches keys up to two hours
	DefaultMissRefetchInterval = 30 * time.Second
	DefaultMaxStale            = 48 * time.Hour
	DefaultNoKeysRetryInterval = 2 * time.Second
	DefaultCacheSize           = 100000
	maxAudiences               = 50
)

// Settings configures one authorizer. The zero value is not valid: Issuer and
// Audience are required. Settings is a plain value; New copies what it needs,
// so the caller may reuse or modify it afterwards.
type Settings struct {
	Name       string        // authorizer name, for metrics and logs
	Issuer     string        // required, compared exactly with the iss claim
	Audience   []string      // required, 1..50 entries
	JWKSURI    string        // optional; default is OIDC discovery from Issuer
	JWKSFile   string        // optional: static JWKS JSON, or PEM public keys / certificates; never any network. Exclusive with JWKSURI.
	Algorithms []string      // optional allow-list; default RS256..512, PS256..512, ES256..512, EdDSA, plus HS256..512 only when HMACSecret is set
	HMACSecret []byte        // enables HS*; without it any HS* token is rejected and HS* in Algorithms is a config error
	ClockSkew  time.Duration // default 0

	// REST API JWT authorizer shape (see Issuers): claim rules checked
	// after the registered claims, and claims kept as JSON text too
	// (Identity.JSONClaims), as REST APIs pass them.
	ClaimRules []ClaimRule
	JSONClaims bool

	// Tunables; zero means the default in brackets.
	FetchTimeout        time.Duration // [1500ms] per discovery or JWKS request, as AWS
	MaxBodyBytes        int64         // [150000] per response, as AWS; over → the fetch fails (never truncate)
	RefreshInterval     time.Duration // [1h] when the JWKS response has no Cache-Control max-age
	MinRefreshInterval  time.Duration // [30s] lower bound for max-age
	MaxRefreshInterval  time.Duration // [2h, as AWS] upper bound for max-age
	MissRefetchInterval time.Duration // [30s] at most one refetch on unknown kid per this interval
	MaxStale            time.Duration // [48h] how long the last good keys serve while the issuer cannot be reached; then every token is denied
	NoKeysRetryInterval time.Duration // [2s] retry after a failed fetch while there are no usable keys, ±50% jitter (holding keys, failures back off 1s doubling to 5min)
	CacheSize           int           // [100000] verified-token cache entries; -1 disables the cache
}

// withDefaults fills the zero tunables. Validate and New both work on the
// result so that a bound such as Min > Max is judged on effective values.
func (s Settings) withDefaults() Settings {
	if s.FetchTimeout == 0 {
		s.FetchTimeout = DefaultFetchTimeout
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.RefreshInterval == 0 {
		s.RefreshInterval = DefaultRefreshInterval
	}
	if s.MinRefreshInterval == 0 {
		s.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if s.MaxRefreshInterval == 0 {
		s.MaxRefreshInterval = DefaultMaxRefreshInterval
	}
	if s.MissRefetchInterval == 0 {
		s.MissRefetchInterval = DefaultMissRefetchInterval
	}
	if s.MaxStale == 0 {
		s.MaxStale = DefaultMaxStale
	}
	if s.NoKeysRetryInterval == 0 {
		s.NoKeysRetryInterval = DefaultNoKeysRetryInterval
	}
	if s.CacheSize == 0 {
		s.CacheSize = DefaultCacheSize
	}
	return s
}

// effectiveAlgorithms resolves the allow-list. Unknown names are reported by
// Validate; here they are simply not allowed.
func (s Settings) effectiveAlgorithms() (allowed [numAlgs]bool) {
	if len(s.Algorithms) == 0 {
		for a := algID(0); a < numAsymAlgs; a++ {
			allowed[a] = true
		}
		if len(s.HMACSecret) > 0 {
			allowed[algHS256], allowed[algHS384], allowed[algHS512] = true, true, true
		}
		return allowed
	}
	for _, name := range s.Algorithms {
		if a, ok := algByName(name); ok {
			allowed[a] = true
		}
	}
	return allowed
}

// Validate reports every problem with s, each as one sentence, joined.
func (s Settings) Validate() error { return s.Problems().Err() }

// Problems is what Validate reports, each at the field of a jwt
// authorizer's configuration block it is about ("audience[1]", "jwks_uri",
// "additional_claims[0].name"; "" for settings a configuration does not
// write), so that the gateway reports it at its place.
func (s Settings) Problems() config.Problems {
	var ps config.Problems
	d := s.withDefaults()

	if s.Issuer == "" {
		ps.Addf("issuer", "issuer is required")
	}
	if len(s.Audience) == 0 {
		ps.Addf("audience", "at least one audience is required")
	}
	if len(s.Audience) > maxAudiences {
		ps.Addf("audience", "at most %d audiences are allowed, got %d", maxAudiences, len(s.Audience))
	}
	for i, aud := range s.Audience {
		if aud == "" {
			ps.Addf("audience["+strconv.Itoa(i)+"]", "audience %d is empty", i+1)
		}
	}
	if s.JWKSURI != "" && s.JWKSFile != "" {
		ps.Addf("jwks_file", "jwks_uri and jwks_file are mutually exclusive")
	}
	if s.JWKSURI != "" {
		if err := checkHTTPURL(s.JWKSURI); err != nil {
			ps.Addf("jwks_uri", "jwks_uri: %w", err)
		}
	}

	hasAsym := false
	for i, name := range s.Algorithms {
		at := "algorithms[" + strconv.Itoa(i) + "]"
		a, ok := algByName(name)
		switch {
		case !ok:
			ps.Addf(at, "algorithm %q is not supported (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512)", name)
		case a.isHMAC():
			if len(s.HMACSecret) == 0 {
				ps.Addf(at, "algorithm %s requires an HMAC secret", name)
			}
		default:
			hasAsym = true
		}
	}
	if len(s.Algorithms) == 0 {
		hasAsym = true
	}
	if len(s.HMACSecret) > 0 && len(s.HMACSecret) < minHMACSecretBytes {
		ps.Addf("hmac_secret", "the HMAC secret must be at least %d bytes long", minHMACSecretBytes)
	}
	// Discovery derives a URL from the issuer, so only then must it be one.
	if hasAsym && s.JWKSURI == "" && s.JWKSFile == "" && s.Issuer != "" {
		if err := checkHTTPURL(s.Issuer); err != nil {
			ps.Addf("issuer", "issuer must be an http(s) URL for OIDC discovery when neither jwks_uri nor jwks_file is set: %w", err)
		}
	}

	if s.ClockSkew < 0 {
		ps.Addf("clock_skew", "clock skew must not be negative")
	}
	if s.FetchTimeout < 0 {
		ps.Addf("", "fetch timeout must not be negative")
	}
	if s.MaxBodyBytes < 0 {
		ps.Addf("", "max body bytes must not be negative")
	}
	if s.RefreshInterval < 0 || s.MinRefreshInterval < 0 || s.MaxRefreshInterval < 0 || s.MissRefetchInterval < 0 || s.NoKeysRetryInterval < 0 {
		field := "" // only refresh_interval is configured
		if s.RefreshInterval < 0 {
			field = "refresh_interval"
		}
		ps.Addf(field, "refresh intervals must not be negative")
	}
	if s.MaxStale < 0 {
		ps.Addf("jwks_max_stale", "jwks_max_stale must not be negative")
	} else if longest := max(d.MaxRefreshInterval, d.RefreshInterval); d.MaxStale <= longest {
		// RefreshInterval applies when the JWKS has no max-age, and is not clamped.
		field := "jwks_max_stale"
		if s.MaxStale == 0 && s.RefreshInterval == longest {
			field = "refresh_interval" // over the default staleness
		}
		ps.Addf(field, "jwks_max_stale (%s) must be longer than the longest refresh interval (%s), or keys would go stale before their refresh", d.MaxStale, longest)
	}
	if d.MinRefreshInterval > d.MaxRefreshInterval {
		ps.Addf("", "the minimum refresh interval (%s) exceeds the maximum (%s)", d.MinRefreshInterval, d.MaxRefreshInterval)
	}
	if s.CacheSize < -1 {
		ps.Addf("cache_size", "cache size must be -1 (disabled), 0 (default) or positive")
	}
	return append(ps, claimRuleProblems(s.ClaimRules)...)
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("must be an absolute http or https URL")
	}
	return nil
}

// Options carries the dependencies of an Authorizer; every field is optional.
type Options struct {
	// HTTPClient fetches discovery documents and JWKS. Nil means a private
	// client built on a clone of http.DefaultTransport, so it honours the
	// standard HTTP(S)_PROXY/NO_PROXY environment like any Go program.
	HTTPClient *http.Client
	Logger     *slog.Logger     // nil: discard
	Metrics    *Metrics         // nil: none
	Now        func() time.Time // nil: time.Now; used for claim times and the token cache, not for fetch scheduling
	// Previous is the authorizer this one replaces on a configuration reload.
	// When Issuer, JWKSURI and JWKSFile are identical, the new authorizer
	// starts with its keys and fetch schedule, so a reload never causes a miss.
	Previous *Authorizer
}

// Authorizer verifies bearer tokens of one issuer. It is safe for concurrent
// use. Create it with New, then call Start to keep its keys fresh.
type Authorizer struct {
	name      string
	issuer    string
	audiences []string
	skew      time.Duration
	now       func() time.Time
	log       *slog.Logger
	metrics   *authorizerMetrics

	allowed  [numAlgs]bool
	rules    []ClaimRule
	asJSON   bool // also keep claims as JSON text
	hmacKey  any  // []byte boxed once, so the HS path returns it without allocating
	needKeys bool
	keys     *keySource // nil when only HS* is allowed
	cache    *tokenCache
	started  sync.Once

	// signatureChecks counts cold-path signature verifications; tests use it
	// to prove that cache hits skip the cryptography.
	signatureChecks atomic.Int64
}

// New validates s and builds an authorizer. A JWKSFile is read and parsed
// here; network key sources are fetched by Start or by the first Verify.
func New(s Settings, o Options) (*Authorizer, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("jwt authorizer %q: %w", s.Name, err)
	}
	s = s.withDefaults()

	a := &Authorizer{
		name:      s.Name,
		issuer:    s.Issuer,
		audiences: append([]string(nil), s.Audience...),
		skew:      s.ClockSkew,
		now:       o.Now,
		log:       o.Logger,
		metrics:   o.Metrics.forAuthorizer(s.Name),
		allowed:   s.effectiveAlgorithms(),
		rules:     cloneRules(s.ClaimRules),
		asJSON:    s.JSONClaims,
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a.log = a.log.With("authorizer", s.Name)
	if len(s.HMACSecret) > 0 {
		a.hmacKey = append([]byte(nil), s.HMACSecret...)
	}

	for id := algID(0); id < numAlgs; id++ {
		if a.allowed[id] && !id.isHMAC() {
			a.needKeys = true
		}
	}

	if a.needKeys {
		ks, err := newKeySource(s, o, a.log, a.metrics)
		if err != nil {
			return nil, fmt.Errorf("jwt authorizer %q: %w", s.Name, err)
		}
		a.keys = ks
	}
	if s.CacheSize > 0 {
		a.cache = newTokenCache(s.CacheSize, o.Now)
	}
	return a, nil
}

// Start keeps the keys fresh in the background until ctx is done. It returns
// immediately; calling it again, or for a JWKSFile or HMAC-only authorizer,
// does nothing.
func (a *Authorizer) Start(ctx context.Context) {
	if a.keys == nil || a.keys.static {
		return
	}
	a.started.Do(func() { go a.keys.run(ctx) })
}

// Ready reports whether the authorizer can accept any token: it holds at
// least one usable key, or it only accepts HS* tokens.
func (a *Authorizer) Ready() bool {
	if !a.needKeys {
		return true
	}
	return a.keys.current().count() > 0
}

// Name returns Settings.Name.
func (a *Authorizer) Name() string { return a.name }

// Verify checks a bare token (the gateway has already removed any "Bearer "
// prefix). It returns the caller's identity, or a *Denial; never (nil, nil).
func (a *Authorizer) Verify(ctx context.Context, token string) (*Identity, error) {
	id, d := a.verify(ctx, token, nil)
	if d != nil {
		return nil, d
	}
	return id, nil
}

// Step is one stage of a verification as Explain reports it.
type Step struct {
	Check  string // "token", "header", "key", "signature", "claims"
	OK     bool
	Detail string
}

// Explain verifies token exactly as Verify does, except that it bypasses the
// verified-token cache, and reports each check it made. It is for people
// (`portcullis token verify`), not for the request path.
func (a *Authorizer) Explain(ctx context.Context, token string) (*Identity, []Step, error) {
	tr := &tracer{}
	id, d := a.verify(ctx, token, tr)
	if d != nil {
		return nil, tr.steps, d
	}
	return id, tr.steps, nil
}

// tracer collects Steps; a nil *tracer records nothing and costs nothing.
type tracer struct{ steps []Step }

func (t *tracer) add(check string, d *Denial, format string, args ...any) {
	if t == nil {
		return
	}
	s := Step{Check: check, OK: d == nil, Detail: fmt.Sprintf(format, args...)}
	if d != nil {
		s.Detail = d.Reason + ": " + d.Description
	}
	t.steps = append(t.steps, s)
}

func (a *Authorizer) verify(ctx context.Context, token string, tr *tracer) (*Identity, *Denial) {
	if len(token) > maxTokenBytes {
		d := deny(ReasonTokenTooLarge, nil)
		tr.add("token", d, "")
		return nil, d
	}
	now := a.now()

	// The cache is asked before the form is checked: only tokens that
	// passed every check below are stored, and the key is SHA-256 of the
	// whole token, so a hit is these very bytes, already found well
	// formed; a malformed token never hits, and is refused below as before
	// (and counted as neither hit nor miss). This spares each cached
	// request a pass over the token.
	var cacheKey [32]byte
	if a.cache != nil && tr == nil {
		cacheKey = hashToken(token)
		if id, hit := a.cache.lookup(cacheKey, now, a.keys); hit {
			a.metrics.cacheHit()
			traceCache(ctx, "hit")
			return id, nil
		}
	}
	headerLen, sigDot, ok := splitCompact(token)
	if !ok {
		d := deny(ReasonMalformed, errors.New("not three base64url parts"))
		tr.add("token", d, "")
		return nil, d
	}
	if tr != nil { // boxing the arguments would allocate on the hot path
		tr.add("token", nil, "%d bytes, three base64url parts", len(token))
	}
	if a.cache != nil && tr == nil {
		a.metrics.cacheMiss()
		traceCache(ctx, "miss")
	}

	hdr, d := a.checkHeader(token[:headerLen])
	if d != nil {
		tr.add("header", d, "")
		return nil, d
	}
	if tr != nil {
		tr.add("header", nil, "alg %s allowed, kid %q, no jku/x5u/jwk/x5c/crit", hdr.alg, hdr.kid)
	}
	key, d := a.selectKey(ctx, hdr)
	if d != nil {
		tr.add("key", d, "")
		if tr != nil && d.Reason == ReasonUnknownKid {
			tr.steps[len(tr.steps)-1].Detail += " " + a.keys.current().whyNoKey(hdr)
		}
		return nil, d
	}
	if tr != nil {
		tr.add("key", nil, "%s", describeKey(hdr, key))
	}

	a.signatureChecks.Add(1)
	// The payload is decoded and scanned once, here. What golang-jwt's
	// parser refused before the signature check (undecodable payload or
	// signature, a payload that is not a JSON object or null) is still
	// refused before it, with the same answer; what our stricter JSON rules
	// add (repeats, depth, trailing data) comes after it, as before.
	payload, d := decodeSegment(token[headerLen+1 : sigDot])
	var sc jsonScan
	if d == nil && (!sc.scan(payload) || (sc.top != '{' && sc.top != 'n')) {
		d = deny(ReasonMalformed, jwt.ErrTokenMalformed)
	}
	var sig []byte
	if d == nil {
		sig, d = decodeSegment(token[sigDot+1:])
	}
	if d == nil {
		d = verifySignature(hdr.alg.method(), token[:sigDot], sig, key)
	}
	if d != nil {
		tr.add("signature", d, "")
		return nil, d
	}
	if tr != nil {
		tr.add("signature", nil, "valid %s signature", hdr.alg)
	}
	// Go's rules would take the last of repeated members and ignore
	// anything after the first value; refuse what other parsers could read
	// differently. The signature is valid, so this is the issuer's doing,
	// but the backend must see the claims we checked.
	if sc.semErr == nil && sc.trailing(payload) {
		sc.semErr = errTrailingData
	}
	if sc.semErr != nil {
		d := denyJSON("claims", sc.semErr)
		tr.add("claims", d, "")
		return nil, d
	}

	// The payload is never written again: the claims are substrings of it.
	src := unsafe.String(unsafe.SliceData(payload), len(payload))
	e, d := a.checkClaims(src, &sc, now, hdr.kid)
	if d != nil {
		tr.add("claims", d, "")
		return nil, d
	}
	e.alg = hdr.alg
	id := &e.id
	if tr != nil {
		tr.add("claims", nil, "iss %q, aud accepted, expires %s (in %s)%s",
			a.issuer, id.Expires.UTC().Format(time.RFC3339), id.Expires.Sub(now).Round(time.Second), skewNote(a.skew))
	}
	if len(a.rules) > 0 {
		why, d := a.checkRules(src, &sc, tr != nil)
		if tr != nil {
			if d != nil {
				tr.steps = append(tr.steps, Step{Check: "claim rules", Detail: d.detail()})
			} else {
				tr.add("claim rules", nil, "%s", why)
			}
		}
		if d != nil {
			return nil, d
		}
	}
	if a.cache != nil && tr == nil {
		a.cache.store(cacheKey, e, now)
	}
	return id, nil
}

func skewNote(skew time.Duration) string {
	if skew == 0 {
		return ""
	}
	return ", clock skew " + skew.String()
}

// describeKey names a key without printing any of its material.
func describeKey(h tokenHeader, key any) string {
	what := "the configured HMAC secret"
	switch k := key.(type) {
	case *rsa.PublicKey:
		what = fmt.Sprintf("RSA %d-bit public key", k.N.BitLen())
	case *rsaKey:
		what = fmt.Sprintf("RSA %d-bit public key", k.pub.N.BitLen())
	case *ecdsa.PublicKey:
		what = "EC " + k.Curve.Params().Name + " public key"
	case ed25519.PublicKey:
		what = "Ed25519 public key"
	case jwt.VerificationKeySet:
		what = fmt.Sprintf("%d candidate keys", len(k.Keys))
	}
	if h.alg.isHMAC() {
		return what
	}
	if h.kid == "" {
		return what + " (token has no kid; a key without kid from the key file)"
	}
	return fmt.Sprintf("%s with kid %q", what, h.kid)
}

// verifySignature checks sig over input with method, the package's fixed
// implementation of the approved alg (algID.method: never golang-jwt's
// process-global registry, which anyone can write to), trying each
// candidate of a key set. Failures carry only golang-jwt's sentinel errors,
// as its parser reported them: its messages can quote decoded token bytes.
func verifySignature(method jwt.SigningMethod, input string, sig []byte, key any) *Denial {
	var err error
	if set, ok := key.(jwt.VerificationKeySet); ok {
		if len(set.Keys) == 0 {
			return deny(ReasonMalformed, jwt.ErrTokenUnverifiable)
		}
		for _, k := range set.Keys {
			if err = method.Verify(input, sig, k); err == nil {
				break
			}
		}
	} else {
		err = method.Verify(input, sig, key)
	}
	if err != nil {
		return deny(ReasonBadSignature, jwt.ErrTokenSignatureInvalid)
	}
	return nil
}

// strictB64 decodes every segment: canonical base64url only, so that one
// signature has one token string and one cache key.
var strictB64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes the payload or the signature segment into a new
// slice (the signature escapes into golang-jwt; the payload outlives the
// call in the Identity's strings).
func decodeSegment(seg string) ([]byte, *Denial) {
	out := make([]byte, strictB64.DecodedLen(len(seg)))
	n, err := strictB64.Decode(out, readOnlyBytes(seg))
	if err != nil {
		return nil, deny(ReasonMalformed, jwt.ErrTokenMalformed)
	}
	return out[:n], nil
}

// readOnlyBytes views s as bytes without copying, for functions that only
// read their input (the base64 decoder): the segments are up to 16 KiB.
func readOnlyBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// splitCompact checks the JWS compact form: exactly three dot-separated
// parts of base64url characters, the first two non-empty. Go's base64 decoder
// skips CR and LF, so without this check "a\nb" would verify like "ab" and
// one signature would have many cache keys. It runs on every request the
// cache does not answer (a hit is a token that already passed it): the dots
// are found with strings.IndexByte and the alphabet is checked by table.
func splitCompact(token string) (headerLen, sigDot int, ok bool) {
	first := strings.IndexByte(token, '.')
	if first <= 0 {
		return 0, 0, false
	}
	n := strings.IndexByte(token[first+1:], '.')
	if n <= 0 {
		return 0, 0, false
	}
	second := first + 1 + n
	// A third dot is outside the alphabet of the last part.
	if !isBase64URL(token[:first]) || !isBase64URL(token[first+1:second]) || !isBase64URL(token[second+1:]) {
		return 0, 0, false
	}
	return first, second, true
}

// notBase64URL is 1 for every byte outside the unpadded base64url alphabet.
var notBase64URL = func() (t [256]uint8) {
	for c := range t {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			t[c] = 1
		}
	}
	return t
}()

// isBase64URL reports whether s has only base64url characters. It does not
// stop early: tokens are short and a branch-free loop is faster.
func isBase64URL(s string) bool {
	var bad uint8
	for i := 0; i < len(s); i++ {
		bad |= notBase64URL[s[i]]
	}
	return bad == 0
}

// tokenHeader is what the checks need from the JOSE header.
type tokenHeader struct {
	alg algID
	kid string
}

// headerBufSize holds the decoded header of ordinary tokens on the stack.
const headerBufSize = 512

// checkHeader performs step 3 on our own decoding of the header, before
// anything else is decoded, so the payload of a token with an unacceptable
// header is never decoded and each failure gets a precise reason.
func (a *Authorizer) checkHeader(seg string) (tokenHeader, *Denial) {
	var buf [headerBufSize]byte
	raw := buf[:]
	if n := strictB64.DecodedLen(len(seg)); n > len(raw) {
		raw = make([]byte, n)
	}
	n, err := strictB64.Decode(raw, readOnlyBytes(seg))
	if err != nil {
		return tokenHeader{}, deny(ReasonMalformed, errors.New("header is not base64url"))
	}
	raw = raw[:n]
	// Names are matched exactly, as in the map golang-jwt used to read the
	// header into; no two of them are equal ignoring case (jsonScan), so a
	// case-insensitive reader finds the same members.
	var sc jsonScan
	if !sc.scan(raw) || sc.top != '{' || sc.trailing(raw) {
		return tokenHeader{}, deny(ReasonMalformed, errors.New("header is not a JSON object"))
	}
	// Before anything is read from it: {"alg":"none","alg":"RS256"} must
	// not mean RS256 to us and none to someone else.
	if sc.semErr != nil {
		return tokenHeader{}, denyJSON("header", sc.semErr)
	}
	rawAlg, _ := sc.value(raw, "alg")
	algName, ok := jsonString(string(rawAlg))
	if !ok {
		return tokenHeader{}, deny(ReasonMalformed, errors.New("header alg is missing or not a string"))
	}
	alg, known := algByName(algName)
	if !known || !a.allowed[alg] {
		return tokenHeader{}, deny(ReasonAlgNotAllowed, nil)
	}
	// Keys come from configuration only; a token must not choose its own.
	for _, name := range [...]string{"jku", "x5u", "jwk", "x5c"} {
		if _, present := sc.value(raw, name); present {
			return tokenHeader{}, deny(ReasonForbiddenHeader, fmt.Errorf("header parameter %s is not accepted", name))
		}
	}
	// RFC 7515 §4.1.11: extensions we do not implement must be rejected.
	if _, present := sc.value(raw, "crit"); present {
		return tokenHeader{}, deny(ReasonForbiddenHeader, errors.New("header parameter crit is not accepted"))
	}
	h := tokenHeader{alg: alg}
	// Only a JSON string: "kid": null must not pass for "no kid" and match
	// the kid-less keys of a PEM file.
	if rawKid, present := sc.value(raw, "kid"); present {
		if h.kid, ok = jsonString(string(rawKid)); !ok {
			return tokenHeader{}, deny(ReasonMalformed, errors.New("header kid is not a string"))
		}
	}
	return h, nil
}

// selectKey performs step 4.
func (a *Authorizer) selectKey(ctx context.Context, h tokenHeader) (any, *Denial) {
	if h.alg.isHMAC() {
		// Only the configured secret, never a public key's bytes: this is
		// what defeats HS/RS key confusion.
		return a.hmacKey, nil
	}
	if k := a.keys.current().lookup(h.kid, h.alg); k != nil {
		return k, nil
	}
	a.keys.refetchOnMiss(ctx)
	ks := a.keys.current()
	if k := ks.lookup(h.kid, h.alg); k != nil {
		return k, nil
	}
	if ks.count() == 0 {
		return nil, deny(ReasonKeysUnavailable, a.keys.lastError())
	}
	return nil, deny(ReasonUnknownKid, nil)
}

// denyJSON is the malformed denial for a header or payload that jsonScan
// refused; the description says why, in a fixed sentence.
func denyJSON(part string, err error) *Denial {
	d := deny(ReasonMalformed, fmt.Errorf("%s: %w", part, err))
	switch {
	case errors.Is(err, errRepeatedMember):
		d.Description = "The token is malformed: a JSON member name is repeated in its " + part + " (names are compared ignoring case)."
	case errors.Is(err, errTooDeep):
		d.Description = "The token is malformed: its " + part + " JSON is nested too deeply."
	}
	return d
}
