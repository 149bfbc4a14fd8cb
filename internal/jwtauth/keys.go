package jwtauth

// Key sources: OIDC discovery, a JWKS URI, or a static file.
//
// We write the fetcher rather than use keyfunc/v3's: it ignores
// Cache-Control, does no OIDC discovery, does not cap the response body, and
// can park requests behind its refresh rate limiter; an authorizer in the
// request path needs all four the other way round.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/internal/token"
)

// minRSABits: smaller RSA keys are factorable with public effort; Go itself
// refuses below 1024. maxRSABits: crypto/tls's limit for certificate keys;
// a larger key costs each verification milliseconds. Such keys are
// skipped, not fatal.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// Backoff for failed background refreshes.
const (
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
)

// algID indexes the supported algorithms; asymmetric ones first so that a
// key entry can hold one slot per asymmetric algorithm.
type algID uint8

const (
	algRS256 algID = iota
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	numAsymAlgs
)

const (
	algHS256 = numAsymAlgs + iota
	algHS384
	algHS512
	numAlgs
)

// algByName is case-sensitive on purpose (RFC 7515 §4.1.1): "None" or
// "rs256" are not aliases of anything.
func algByName(name string) (algID, bool) {
	switch name {
	case "RS256":
		return algRS256, true
	case "RS384":
		return algRS384, true
	case "RS512":
		return algRS512, true
	case "PS256":
		return algPS256, true
	case "PS384":
		return algPS384, true
	case "PS512":
		return algPS512, true
	case "ES256":
		return algES256, true
	case "ES384":
		return algES384, true
	case "ES512":
		return algES512, true
	case "EdDSA":
		return algEdDSA, true
	case "HS256":
		return algHS256, true
	case "HS384":
		return algHS384, true
	case "HS512":
		return algHS512, true
	}
	return 0, false
}

func (a algID) String() string { return a.method().Alg() }

func (a algID) isHMAC() bool { return a >= algHS256 && a < numAlgs }

// method returns the implementation for the algorithm: golang-jwt's, except
// for RS256/384/512, which verify with a precomputed modulus (rsa.go), and
// ES256/384/512, which skip a round trip through big.Int (ecdsa.go).
func (a algID) method() jwt.SigningMethod {
	switch a {
	case algRS256:
		return rs256
	case algRS384:
		return rs384
	case algRS512:
		return rs512
	case algPS256:
		return jwt.SigningMethodPS256
	case algPS384:
		return jwt.SigningMethodPS384
	case algPS512:
		return jwt.SigningMethodPS512
	case algES256:
		return es256
	case algES384:
		return es384
	case algES512:
		return es512
	case algEdDSA:
		return jwt.SigningMethodEdDSA
	case algHS256:
		return jwt.SigningMethodHS256
	case algHS384:
		return jwt.SigningMethodHS384
	case algHS512:
		return jwt.SigningMethodHS512
	}
	return nil
}

// fits reports whether key may verify alg: the key type must match the
// algorithm family, and an EC key's curve must match the algorithm exactly.
func fits(key crypto.PublicKey, alg algID) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return alg <= algPS512
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return alg == algES256
		case elliptic.P384():
			return alg == algES384
		case elliptic.P521():
			return alg == algES512
		}
	case ed25519.PublicKey:
		return alg == algEdDSA
	}
	return false
}

// sourceKey is one usable public key as found in a source.
type sourceKey struct {
	kid        string // "" when the source gave none
	alg        string // the JWK's alg, "" when absent
	key        crypto.PublicKey
	thumbprint string // set for PEM keys, which are also indexed under it
}

// keyEntry holds, per asymmetric algorithm, either nil, one public key, or a
// jwt.VerificationKeySet, boxed once at build time so lookups never allocate.
type keyEntry struct {
	byAlg [numAsymAlgs]any
}

// keySet is an immutable snapshot of usable keys, swapped atomically.
type keySet struct {
	byKid   map[string]*keyEntry
	noKid   *keyEntry // keys that had no kid in their source
	usable  int
	fetched time.Time // when the issuer served it; zero for key files, which never go stale
}

// count is the number of usable keys; a nil set (nothing loaded yet) has none.
func (ks *keySet) count() int {
	if ks == nil {
		return 0
	}
	return ks.usable
}

// lookup returns the candidates for a token's kid and alg, or nil. A token
// without kid only matches keys that had none.
func (ks *keySet) lookup(kid string, alg algID) any {
	if ks == nil || alg >= numAsymAlgs {
		return nil
	}
	var e *keyEntry
	if kid == "" {
		e = ks.noKid
	} else {
		e = ks.byKid[kid]
	}
	if e == nil {
		return nil
	}
	return e.byAlg[alg]
}

// buildKeySet indexes keys that fit at least one algorithm.
func buildKeySet(keys []sourceKey) *keySet {
	lists := map[string]*[numAsymAlgs][]jwt.VerificationKey{}
	var noKid [numAsymAlgs][]jwt.VerificationKey
	hasNoKid := false
	usable := 0
	for _, k := range keys {
		// One precomputed RSA key serves RS256, RS384 and RS512 under every
		// name it is indexed by; PS* keep the plain key for golang-jwt. A
		// key that cannot be prepared (usablePublicKey has already refused
		// what fails here) is not offered for RS*.
		var rk *rsaKey
		if pub, ok := k.key.(*rsa.PublicKey); ok {
			rk, _ = newRSAKey(pub)
		}
		var algs []algID
		for a := algID(0); a < numAsymAlgs; a++ {
			if a <= algRS512 && rk == nil {
				continue
			}
			if fits(k.key, a) && (k.alg == "" || k.alg == a.String()) {
				algs = append(algs, a)
			}
		}
		if len(algs) == 0 {
			continue
		}
		usable++
		keyFor := func(a algID) jwt.VerificationKey {
			if a <= algRS512 {
				return rk
			}
			return k.key
		}
		add := func(kid string) {
			l := lists[kid]
			if l == nil {
				l = new([numAsymAlgs][]jwt.VerificationKey)
				lists[kid] = l
			}
			for _, a := range algs {
				l[a] = append(l[a], keyFor(a))
			}
		}
		if k.kid == "" {
			hasNoKid = true
			for _, a := range algs {
				noKid[a] = append(noKid[a], keyFor(a))
			}
		} else {
			add(k.kid)
		}
		if k.thumbprint != "" && k.thumbprint != k.kid {
			add(k.thumbprint)
		}
	}
	entry := func(l *[numAsymAlgs][]jwt.VerificationKey) *keyEntry {
		e := &keyEntry{}
		for a, ks := range l {
			switch len(ks) {
			case 0:
			case 1:
				e.byAlg[a] = ks[0]
			default:
				e.byAlg[a] = jwt.VerificationKeySet{Keys: ks}
			}
		}
		return e
	}
	ks := &keySet{byKid: make(map[string]*keyEntry, len(lists)), usable: usable}
	for kid, l := range lists {
		ks.byKid[kid] = entry(l)
	}
	if hasNoKid {
		ks.noKid = entry(&noKid)
	}
	return ks
}

// usablePublicKey filters keys we would never verify with.
func usablePublicKey(key any) (crypto.PublicKey, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if err := checkRSA(k); err != nil {
			return nil, err
		}
		return k, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, errors.New("unsupported EC curve")
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key size")
		}
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", key)
}

// parseJWKS reads a JWK Set. Keys that cannot be used are skipped with a
// log line (one bad key must not take down an issuer's other keys); from a
// file, where the operator can fix it, private material is an error.
func parseJWKS(body []byte, fromFile bool, log *slog.Logger) ([]sourceKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, errors.New("JWKS is not a JSON object with a keys array")
	}
	var out []sourceKey
	for i, raw := range set.Keys {
		var m jwkset.JWKMarshal
		if err := json.Unmarshal(raw, &m); err != nil {
			log.Warn("skipping JWK that is not a JSON object", "index", i)
			continue
		}
		if m.D != "" || m.P != "" || m.Q != "" || m.DP != "" || m.DQ != "" || m.QI != "" || m.K != "" || len(m.OTH) > 0 {
			// A published private or symmetric key is compromised by
			// definition: anyone could forge tokens with it.
			if fromFile {
				return nil, fmt.Errorf("JWK %d (kid %q) contains private or symmetric key material; the file must hold public keys only", i, m.KID)
			}
			log.Warn("skipping JWK that contains private or symmetric key material", "index", i, "kid", m.KID)
			continue
		}
		if m.USE != "" && m.USE != jwkset.UseSig {
			continue
		}
		if len(m.KEYOPS) > 0 && !containsKeyOp(m.KEYOPS, jwkset.KeyOpsVerify) {
			continue
		}
		jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			log.Warn("skipping JWK that failed to parse", "index", i, "kid", m.KID, "error", err)
			continue
		}
		pub, err := usablePublicKey(jwk.Key())
		if err != nil {
			log.Warn("skipping JWK", "index", i, "kid", m.KID, "error", err)
			continue
		}
		meta := jwk.Marshal()
		out = append(out, sourceKey{kid: meta.KID, alg: string(meta.ALG), key: pub})
	}
	return out, nil
}

func containsKeyOp(ops []jwkset.KEYOPS, want jwkset.KEYOPS) bool {
	for _, o := range ops {
		if o == want {
			return true
		}
	}
	return false
}

// parsePEM reads PUBLIC KEY (PKIX), RSA PUBLIC KEY (PKCS#1) and CERTIFICATE
// blocks. Any private key is an error: it does not belong on a gateway.
func parsePEM(data []byte) ([]sourceKey, error) {
	var out []sourceKey
	blocks := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		blocks++
		var key any
		var err error
		switch {
		case strings.Contains(b.Type, "PRIVATE KEY"):
			return nil, fmt.Errorf("PEM block %d is a private key (%s); the file must hold public keys or certificates only", blocks, b.Type)
		case b.Type == "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(b.Bytes)
		case b.Type == "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(b.Bytes)
		case b.Type == "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(b.Bytes)
			if err == nil {
				key = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM block %d has unsupported type %q", blocks, b.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", blocks, b.Type, err)
		}
		pub, err := usablePublicKey(key)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %w", blocks, b.Type, err)
		}
		tp, err := token.Thumbprint(pub)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", blocks, err)
		}
		out = append(out, sourceKey{key: pub, thumbprint: tp})
	}
	if blocks == 0 {
		return nil, errors.New("no PEM blocks found")
	}
	return out, nil
}

// loadKeyFile reads a static JWKS or PEM file.
func loadKeyFile(path string, log *slog.Logger) (*keySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading jwks_file: %w", err)
	}
	var keys []sourceKey
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		keys, err = parseJWKS(trimmed, true, log)
	} else {
		keys, err = parsePEM(data)
	}
	if err != nil {
		return nil, fmt.Errorf("jwks_file %s: %w", path, err)
	}
	ks := buildKeySet(keys)
	if ks.usable == 0 {
		return nil, fmt.Errorf("jwks_file %s: no usable signing key", path)
	}
	return ks, nil
}

// fetchCall is one fetch shared by every caller that wants it.
type fetchCall struct {
	done chan struct{}
	err  error
}

// keySource owns the current keySet and how it is refreshed.
type keySource struct {
	issuer       string
	jwksURI      string
	static       bool
	fetchTimeout time.Duration
	maxBody      int64
	refresh      time.Duration
	minRefresh   time.Duration
	maxRefresh   time.Duration
	missInterval time.Duration
	maxStale     time.Duration
	client       *http.Client
	log          *slog.Logger
	metrics      *authorizerMetrics

	// state is shared with a successor on config reload (Options.Previous),
	// so both see the same keys, one fetch schedule and one rate limit.
	state *fetchState
}

// fetchState is guarded by its mutex. Times are from the real clock: fetch
// scheduling must not follow a test's frozen Now.
type fetchState struct {
	snap atomic.Pointer[keySet]

	mu          sync.Mutex
	lastMiss    time.Time // start of the last fetch caused by an unknown kid
	nextRefresh time.Time // when the background loop fetches next
	failures    int       // consecutive failures, for backoff
	lastErr     error
	inflight    *fetchCall
}

func newKeySource(s Settings, o Options, log *slog.Logger, m *authorizerMetrics) (*keySource, error) {
	k := &keySource{
		issuer:       s.Issuer,
		jwksURI:      s.JWKSURI,
		fetchTimeout: s.FetchTimeout,
		maxBody:      s.MaxBodyBytes,
		refresh:      s.RefreshInterval,
		minRefresh:   s.MinRefreshInterval,
		maxRefresh:   s.MaxRefreshInterval,
		missInterval: s.MissRefetchInterval,
		maxStale:     s.MaxStale,
		client:       o.HTTPClient,
		log:          log,
		metrics:      m,
		state:        &fetchState{},
	}
	if s.JWKSFile != "" {
		ks, err := loadKeyFile(s.JWKSFile, log)
		if err != nil {
			return nil, err
		}
		k.static = true
		k.install(ks)
		return k, nil
	}
	if k.client == nil {
		k.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if p := o.Previous; p != nil && p.keys != nil && !p.keys.static &&
		p.issuer == s.Issuer && p.keys.jwksURI == s.JWKSURI {
		k.state = p.keys.state
		if ks := k.state.snap.Load(); ks != nil {
			k.metrics.setKeys(ks.usable)
		}
	}
	return k, nil
}

// current is the key set to verify with, or nil. Keys the issuer has not
// confirmed for longer than maxStale are not used: serving on the last good
// keys while the issuer is down is bounded, so a key the issuer withdrew
// cannot stay trusted for ever.
func (k *keySource) current() *keySet {
	if k == nil {
		return nil
	}
	ks := k.state.snap.Load()
	if ks != nil && k.maxStale > 0 && !ks.fetched.IsZero() && time.Since(ks.fetched) > k.maxStale {
		return nil
	}
	return ks
}

func (k *keySource) install(ks *keySet) {
	k.state.snap.Store(ks)
	k.metrics.setKeys(ks.usable)
}

func (k *keySource) lastError() error {
	k.state.mu.Lock()
	defer k.state.mu.Unlock()
	return k.state.lastErr
}

// shared starts a fetch, or joins the one in flight. The fetch runs detached
// from any request's context, bounded by its own timeouts, so a caller that
// gives up does not cancel it for the others.
func (k *keySource) shared(force bool) *fetchCall {
	st := k.state
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.inflight != nil {
		return st.inflight
	}
	// Only misses count toward the limit: a background refresh that ran
	// just before an issuer rotated must not hold its new kid back.
	if !force && time.Since(st.lastMiss) < k.missInterval {
		return nil
	}
	c := &fetchCall{done: make(chan struct{})}
	st.inflight = c
	if !force {
		st.lastMiss = time.Now()
	}
	go k.doFetch(c)
	return c
}

func (k *keySource) doFetch(c *fetchCall) {
	ks, next, uri, err := k.fetch(context.Background())
	st := k.state
	st.mu.Lock()
	if err == nil {
		ks.fetched = time.Now()
		k.install(ks)
		st.failures = 0
		st.lastErr = nil
		st.nextRefresh = time.Now().Add(next)
	} else {
		st.failures++
		st.lastErr = err
		backoff := maxBackoff
		if st.failures <= 10 {
			backoff = min(minBackoff<<(st.failures-1), maxBackoff)
		}
		st.nextRefresh = time.Now().Add(backoff)
	}
	st.inflight = nil
	st.mu.Unlock()
	if err == nil {
		k.metrics.fetched(true)
		k.log.Debug("JWKS refreshed", "url", redact(uri), "keys", ks.usable, "next", next)
	} else {
		k.metrics.fetched(false)
		k.log.Warn("JWKS fetch failed; keeping the last good keys", "url", redact(uri), "error", err)
	}
	c.err = err
	close(c.done)
}

// refetchOnMiss is called for an unknown kid or an empty key set. At most one
// fetch starts per missInterval. A request waits for it no longer than one
// fetch timeout (discovery plus JWKS may take two) nor than its own context
// allows; the fetch itself goes on and serves the requests that follow.
func (k *keySource) refetchOnMiss(ctx context.Context) {
	if k.static {
		return
	}
	c := k.shared(false)
	if c == nil {
		return
	}
	span := traceKeyFetch(ctx)
	wait := time.NewTimer(k.fetchTimeout)
	defer wait.Stop()
	result := "ok"
	select {
	case <-c.done:
		if c.err != nil {
			result = "error"
		}
	case <-wait.C:
		result = "timeout"
	case <-ctx.Done():
		result = "canceled"
	}
	endKeyFetch(span, result)
}

// run is the background refresh loop started by Authorizer.Start.
func (k *keySource) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		k.state.mu.Lock()
		wait := time.Until(k.state.nextRefresh)
		k.state.mu.Unlock()
		if wait > 0 {
			// Re-check after waking: a miss-triggered fetch may have moved
			// the schedule meanwhile.
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			continue
		}
		c := k.shared(true)
		select {
		case <-ctx.Done():
			return
		case <-c.done:
		}
	}
}

// fetch resolves the JWKS URI (discovery each time, so an issuer may move
// it) and downloads the key set. It returns the interval until the next
// refresh and the URL used, for logs.
func (k *keySource) fetch(ctx context.Context) (*keySet, time.Duration, string, error) {
	uri := k.jwksURI
	if uri == "" {
		var err error
		uri, err = k.discover(ctx)
		if err != nil {
			return nil, 0, discoveryURL(k.issuer), err
		}
	}
	body, hdr, err := k.get(ctx, uri)
	if err != nil {
		return nil, 0, uri, err
	}
	keys, err := parseJWKS(body, false, k.log)
	if err != nil {
		return nil, 0, uri, err
	}
	ks := buildKeySet(keys)
	if ks.usable == 0 {
		return nil, 0, uri, errors.New("JWKS contains no usable signing key")
	}
	return ks, refreshInterval(hdr.Get("Cache-Control"), k.refresh, k.minRefresh, k.maxRefresh), uri, nil
}

// redact hides a password in a configured URL before it reaches a log.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// discover reads the issuer's OIDC configuration. Its issuer must equal ours
// exactly (OIDC Discovery §4.3): otherwise anyone able to serve that path
// could point us at their keys.
func (k *keySource) discover(ctx context.Context) (string, error) {
	body, _, err := k.get(ctx, discoveryURL(k.issuer))
	if err != nil {
		return "", fmt.Errorf("OIDC discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", errors.New("OIDC discovery: response is not a JSON object")
	}
	if doc.Issuer != k.issuer {
		return "", fmt.Errorf("OIDC discovery: document names issuer %q, expected %q", doc.Issuer, k.issuer)
	}
	if err := checkHTTPURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("OIDC discovery: jwks_uri: %w", err)
	}
	// An https issuer must not be downgraded to plain-http keys.
	if strings.HasPrefix(k.issuer, "https:") && !strings.HasPrefix(doc.JWKSURI, "https:") {
		return "", errors.New("OIDC discovery: jwks_uri must use https for an https issuer")
	}
	return doc.JWKSURI, nil
}

// get performs one bounded request. A body over maxBody fails the fetch:
// a truncated JWKS could silently drop keys.
func (k *keySource) get(ctx context.Context, uri string) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, k.fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	// The client follows redirects, https → http included: keys fetched
	// over https must not end up coming over plain http.
	if strings.HasPrefix(uri, "https:") && resp.Request != nil && resp.Request.URL.Scheme != "https" {
		return nil, nil, errors.New("redirected from https to a non-https URL")
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("unexpected HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, k.maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading response: %w", err)
	}
	if int64(len(body)) > k.maxBody {
		return nil, nil, fmt.Errorf("response body exceeds %d bytes", k.maxBody)
	}
	return body, resp.Header, nil
}

// refreshInterval derives the next refresh from Cache-Control: max-age
// clamped to [lo, hi]; no-store or no-cache mean "as soon as allowed"; none
// means def.
func refreshInterval(cacheControl string, def, lo, hi time.Duration) time.Duration {
	maxAge := time.Duration(-1)
	for _, d := range strings.Split(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store", "no-cache":
			return lo
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
			if err != nil {
				continue
			}
			if n < 0 {
				n = 0
			}
			if n > int64(hi/time.Second) {
				maxAge = hi
			} else {
				maxAge = time.Duration(n) * time.Second
			}
		}
	}
	if maxAge < 0 {
		return def
	}
	return min(max(maxAge, lo), hi)
}
