package jwtauth

// Key sources: OIDC discovery, a JWKS URI, or a static file (keys.go), and
// how the current key set is kept fresh.
//
// We write the fetcher rather than use keyfunc/v3's: it ignores
// Cache-Control, does no OIDC discovery, does not cap the response body, and
// can park requests behind its refresh rate limiter; an authorizer in the
// request path needs all four the other way round.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff for failed background refreshes while the last good keys serve.
// Without keys the retry interval is Settings.NoKeysRetryInterval instead.
const (
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
)

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
	noKeysRetry  time.Duration
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
		noKeysRetry:  s.NoKeysRetryInterval,
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
	prev := k.state.snap.Load()
	hadKeys := k.current().count() > 0
	failures, prevErr := st.failures, st.lastErr
	if err == nil {
		ks.fetched = time.Now()
		k.install(ks)
		st.failures = 0
		st.lastErr = nil
		st.nextRefresh = time.Now().Add(next)
	} else {
		st.failures++
		failures = st.failures
		st.lastErr = err
		st.nextRefresh = time.Now().Add(k.retryDelay(st.failures, hadKeys))
	}
	st.inflight = nil
	st.mu.Unlock()
	switch {
	case err == nil:
		k.metrics.fetched(true)
		if hadKeys {
			k.log.Debug("JWKS refreshed", "url", redact(uri), "keys", ks.usable, "next", next)
		} else {
			k.log.Info("JWKS fetched; the authorizer has keys and verifies tokens from now on", "url", redact(uri), "keys", ks.usable, "failed_before", failures)
		}
	case hadKeys:
		k.metrics.fetched(false)
		k.log.Warn("JWKS fetch failed; keeping the last good keys", "url", redact(uri), "error", err, "failures", failures)
	default:
		k.metrics.fetched(false)
		// Retries come every few seconds now: log the first ones, a change
		// of error, and then about once a minute.
		if failures <= 3 || failures%30 == 0 || prevErr == nil || prevErr.Error() != err.Error() {
			what := "JWKS fetch failed; no keys yet, so every token is denied until keys arrive"
			if prev != nil {
				what = "JWKS fetch failed; the last good keys are older than jwks_max_stale, so every token is denied until keys arrive"
			}
			k.log.Warn(what, "url", redact(uri), "error", err, "failures", failures)
		}
	}
	c.err = err
	close(c.done)
}

// retryDelay is how long the background loop waits after the failures-th
// consecutive failed fetch. Holding keys, it backs off (minBackoff doubling
// to maxBackoff): the last good keys serve meanwhile. Without keys every
// token is denied and /readyz says 503, so it tries again soon, however
// long the outage has lasted: noKeysRetry, jittered by ±50% so that
// gateways started together do not fetch in step.
func (k *keySource) retryDelay(failures int, haveKeys bool) time.Duration {
	if !haveKeys {
		return k.noKeysRetry/2 + rand.N(k.noKeysRetry)
	}
	if failures > 10 {
		return maxBackoff
	}
	return min(minBackoff<<(failures-1), maxBackoff)
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
