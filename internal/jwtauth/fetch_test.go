package jwtauth

// Fetching keys: discovery, refresh, retries, rate limits, staleness and
// what the fetcher logs, against a real issuer on loopback (testIssuer).

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/portcullis/portcullis/internal/testlog"
)

func TestUnknownKidStorm(t *testing.T) {
	ti := newTestIssuer(t)
	ti.set(func(ti *testIssuer) { ti.delay = 100 * time.Millisecond })
	a := newTestAuthorizer(t, ti.settings(), Options{}) // default 30 s limit
	valid := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	forged := make([]string, 200)
	for i := range forged {
		forged[i] = mint(t, jwt.SigningMethodRS256, ti.keys.rsa, fmt.Sprintf("random-%d-%d", i, time.Now().UnixNano()), ti.claims(), nil)
	}
	for round := 0; round < 2; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, len(forged)+1)
		for _, tok := range forged {
			wg.Go(func() {
				_, err := a.Verify(context.Background(), tok)
				if d, ok := err.(*Denial); !ok || d.Reason != ReasonUnknownKid {
					errs <- fmt.Errorf("forged token: %v", err)
				}
			})
		}
		wg.Go(func() {
			if _, err := a.Verify(context.Background(), valid); err != nil {
				errs <- fmt.Errorf("valid token: %v", err)
			}
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	if got := ti.jwksHits.Load(); got != 1 {
		t.Fatalf("JWKS fetched %d times, want exactly 1", got)
	}
	if got := ti.discoveryHits.Load(); got != 1 {
		t.Fatalf("discovery fetched %d times, want exactly 1", got)
	}
}

func TestKeyRotation(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.MissRefetchInterval = time.Hour // passes only when missIntervalPassed says so
	a := newTestAuthorizer(t, s, Options{})
	wantOK(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil))
	newTok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa2, "rsa-2", ti.claims(), nil)
	// Within the limit, the new kid is not fetched.
	wantDenied(t, a, newTok, ReasonUnknownKid)
	ti.set(func(ti *testIssuer) {
		ti.jwks = append(ti.jwks, publicJWK(t, ti.keys.rsa2.Public(), "rsa-2", "RS256", "sig"))
	})
	missIntervalPassed(a)
	wantOK(t, a, newTok)
	if got := ti.jwksHits.Load(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", got)
	}
}

func TestEndpointDownKeepsKeys(t *testing.T) {
	ti := newTestIssuer(t)
	reg := newRegistry()
	s := ti.settings()
	s.MissRefetchInterval = 10 * time.Millisecond
	a := newTestAuthorizer(t, s, Options{Metrics: NewMetrics(reg)})
	wantOK(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil))
	ti.set(func(ti *testIssuer) { ti.status = 503 })
	time.Sleep(20 * time.Millisecond)
	wantDenied(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "gone", ti.claims(), nil), ReasonUnknownKid)
	wantOK(t, a, mint(t, jwt.SigningMethodES256, ti.keys.ec256, "ec256", ti.claims(), nil))
	wantOK(t, a, mint(t, jwt.SigningMethodEdDSA, ti.keys.ed, "ed", ti.claims(), nil))
	if !a.Ready() {
		t.Fatal("not ready after a failed refresh")
	}
	if ti.jwksHits.Load() != 2 {
		t.Fatalf("JWKS hits = %d, want 2", ti.jwksHits.Load())
	}
	ok := metricValue(t, reg, "portcullis_jwt_key_fetches_total", map[string]string{"result": "ok"})
	bad := metricValue(t, reg, "portcullis_jwt_key_fetches_total", map[string]string{"result": "error"})
	if ok != 1 || bad != 1 {
		t.Fatalf("fetch metrics ok=%v error=%v, want 1 and 1", ok, bad)
	}
}

// TestSlowEndpoint: a request that finds no key waits for the fetch it
// starts no longer than one fetch timeout, even when discovery and JWKS
// together take longer, and no longer than its own context allows; the
// fetch itself is bounded by the fetch timeout too. The JWKS endpoint
// answers only when the test lets it, so what ends each wait is the limit
// under test; which one it was is told by the fetch's state when the
// request returns, not by a stopwatch.
func TestSlowEndpoint(t *testing.T) {
	// inflight reports whether a's fetch is still running.
	inflight := func(a *Authorizer) bool {
		a.keys.state.mu.Lock()
		defer a.keys.state.mu.Unlock()
		return a.keys.state.inflight != nil
	}
	hold := func(t *testing.T, ti *testIssuer) {
		held := make(chan struct{})
		ti.set(func(ti *testIssuer) { ti.jwksHeld = held })
		t.Cleanup(func() { close(held) })
	}
	tok := func(ti *testIssuer) string {
		return mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	}

	t.Run("fetch timeout ends the fetch", func(t *testing.T) {
		ti := newTestIssuer(t)
		hold(t, ti)
		s := ti.settings()
		s.JWKSURI = ti.JWKSURI()
		s.FetchTimeout = 400 * time.Millisecond
		a := newTestAuthorizer(t, s, Options{})
		wantDenied(t, a, tok(ti), ReasonKeysUnavailable)
		// The endpoint never answers: only the fetch timeout ends the fetch.
		waitFor(t, "the fetch to give up", func() bool { return !inflight(a) })
		if err := a.keys.lastError(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("fetch ended with %v, want its timeout", err)
		}
	})
	t.Run("discovery and JWKS take longer than one fetch timeout", func(t *testing.T) {
		// Discovery takes half a fetch timeout, then the JWKS request waits
		// (up to a whole one): the fetch outlasts the request's wait by
		// half a fetch timeout, a margin no load closes.
		ti := newTestIssuer(t)
		hold(t, ti)
		ti.set(func(ti *testIssuer) { ti.discoveryDelay = time.Second })
		s := ti.settings()
		s.FetchTimeout = 2 * time.Second
		a := newTestAuthorizer(t, s, Options{})
		wantDenied(t, a, tok(ti), ReasonKeysUnavailable)
		if !inflight(a) {
			t.Fatal("the request waited for the whole fetch, not one fetch timeout")
		}
	})
	t.Run("request context bounds the wait", func(t *testing.T) {
		ti := newTestIssuer(t)
		hold(t, ti)
		arrived := make(chan struct{}, 1)
		ti.set(func(ti *testIssuer) { ti.jwksArrived = arrived })
		s := ti.settings()
		s.JWKSURI = ti.JWKSURI()
		s.FetchTimeout = time.Hour // only the request's context can end its wait
		a := newTestAuthorizer(t, s, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-arrived: // the fetch is waiting for the endpoint
				cancel()
			case <-ctx.Done():
			}
		}()
		verified := make(chan error, 1)
		go func() {
			_, err := a.Verify(ctx, tok(ti))
			verified <- err
		}()
		select {
		case err := <-verified:
			if err == nil {
				t.Fatal("accepted without keys")
			}
		case <-time.After(hangGuard):
			t.Fatalf("Verify still waiting %v after its context was cancelled", hangGuard)
		}
		if !inflight(a) {
			t.Fatal("the fetch ended with the request: it must go on for the requests that follow")
		}
	})
}

func TestMaxBodyBytes(t *testing.T) {
	ti := newTestIssuer(t)
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: ti.jwks})
	if err != nil {
		t.Fatal(err)
	}
	ti.set(func(ti *testIssuer) { ti.body = body })
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	for _, tc := range []struct {
		limit int64
		ok    bool
	}{{int64(len(body)), true}, {int64(len(body)) - 1, false}} {
		s := ti.settings()
		s.JWKSURI = ti.JWKSURI()
		s.MaxBodyBytes = tc.limit
		a := newTestAuthorizer(t, s, Options{})
		if tc.ok {
			wantOK(t, a, tok)
		} else {
			d := wantDenied(t, a, tok, ReasonKeysUnavailable)
			if !strings.Contains(d.Error(), "exceeds") {
				t.Fatalf("denial does not say why: %v", d)
			}
		}
	}
}

// TestDefaultMaxBodyBytesIsAWSs: with the default settings a key set of
// exactly AWS's 150,000 bytes is read and one byte more is refused.
func TestDefaultMaxBodyBytesIsAWSs(t *testing.T) {
	ti := newTestIssuer(t)
	body, err := json.Marshal(jwkset.JWKSMarshal{Keys: ti.jwks})
	if err != nil {
		t.Fatal(err)
	}
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	for _, size := range []int{150000, 150001} {
		padded := append(bytes.Repeat([]byte(" "), size-len(body)), body...) // leading whitespace: still the same JSON
		ti.set(func(ti *testIssuer) { ti.body = padded })
		s := ti.settings()
		s.JWKSURI = ti.JWKSURI()
		a := newTestAuthorizer(t, s, Options{})
		if size <= 150000 {
			wantOK(t, a, tok)
		} else if d := wantDenied(t, a, tok, ReasonKeysUnavailable); !strings.Contains(d.Error(), "exceeds") {
			t.Fatalf("%d bytes: denial does not say why: %v", size, d)
		}
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	ti := newTestIssuer(t)
	ti.set(func(ti *testIssuer) { ti.discoveryIssuer = "https://evil.example" })
	a := newTestAuthorizer(t, ti.settings(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	waitFor(t, "the first fetch to fail", func() bool { return a.keys.lastError() != nil })
	if err := a.keys.lastError(); !strings.Contains(err.Error(), "names issuer") {
		t.Fatalf("fetch failed with %v, want the discovery issuer mismatch", err)
	}
	if a.Ready() {
		t.Fatal("ready with a mismatched discovery issuer")
	}
	wantDenied(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil), ReasonKeysUnavailable)
	if n := ti.jwksHits.Load(); n != 0 {
		t.Fatalf("fetched the JWKS of a mismatched issuer %d times", n)
	}
}

func TestDiscoveryIssuerTrailingSlash(t *testing.T) {
	ti := newTestIssuer(t)
	ti.set(func(ti *testIssuer) { ti.discoveryIssuer = ti.srv.URL + "/" })
	s := ti.settings()
	s.Issuer = ti.Issuer() + "/"
	a := newTestAuthorizer(t, s, Options{})
	c := ti.claims()
	c["iss"] = s.Issuer
	wantOK(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", c, nil))
	// The iss claim is compared exactly: no slash normalisation.
	wantDenied(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil), ReasonBadIssuer)
}

// TestStartRefreshesAndHonoursCacheControl: the background loop refreshes
// on the schedule the JWKS response's Cache-Control sets, clamped to
// [MinRefreshInterval, MaxRefreshInterval]; a second Start does nothing; the
// loop stops with the context of the Start that started it. Counts and the
// schedule the loop set are asserted, not how many fetches fit in some time.
func TestStartRefreshesAndHonoursCacheControl(t *testing.T) {
	ti := newTestIssuer(t)
	ti.set(func(ti *testIssuer) { ti.cacheControl = "public, max-age=3600" })
	s := ti.settings()
	s.MinRefreshInterval = 40 * time.Millisecond
	s.MaxRefreshInterval = 80 * time.Millisecond
	a := newTestAuthorizer(t, s, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	other, cancelOther := context.WithCancel(context.Background())
	defer cancelOther()
	a.Start(ctx)
	a.Start(other) // does nothing: the loop runs, and ends, with ctx
	// max-age 3600 is clamped to 80 ms: the loop keeps fetching (unclamped,
	// the second fetch would come in an hour).
	waitFor(t, "three background fetches", func() bool { return ti.jwksHits.Load() >= 3 })
	st := a.keys.state
	st.mu.Lock()
	interval := st.nextRefresh.Sub(st.snap.Load().fetched)
	st.mu.Unlock()
	if interval < s.MaxRefreshInterval || interval > time.Minute {
		t.Fatalf("next refresh %v after the last fetch, want max-age 3600 s clamped to %v", interval, s.MaxRefreshInterval)
	}

	cancel()
	// After the cancellation a fetch may still be on its way to the
	// issuer, and the loop may start one more before it sees ctx end; a
	// loop still running would fetch every 80 ms, about 12 times in a
	// second.
	n := ti.jwksHits.Load()
	time.Sleep(time.Second)
	if got := ti.jwksHits.Load(); got > n+2 {
		t.Fatalf("%d fetches in the second after ctx was cancelled: the refresh continued", got-n)
	}
}

// TestDefaultKeyCacheAtMostTwoHours: AWS caches an issuer's keys for up
// to two hours, so with the default settings a JWKS served with a longer
// max-age (a day here) is fetched again within two hours: a key the issuer
// withdrew stops being trusted as soon as it would on AWS.
func TestDefaultKeyCacheAtMostTwoHours(t *testing.T) {
	for _, tc := range []struct {
		cacheControl string
		want         time.Duration
	}{
		{"public, max-age=86400", 2 * time.Hour},
		{"public, max-age=7200", 2 * time.Hour},
		{"public, max-age=600", 10 * time.Minute},
		{"", DefaultRefreshInterval},
	} {
		ti := newTestIssuer(t)
		ti.set(func(ti *testIssuer) { ti.cacheControl = tc.cacheControl })
		a := newTestAuthorizer(t, ti.settings(), Options{})
		ctx, cancel := context.WithCancel(context.Background())
		a.Start(ctx)
		waitFor(t, "keys", a.Ready)
		st := a.keys.state
		st.mu.Lock()
		interval := st.nextRefresh.Sub(st.snap.Load().fetched)
		st.mu.Unlock()
		cancel()
		// The schedule is set a moment after the fetch time is taken.
		if interval < tc.want || interval > tc.want+time.Minute {
			t.Errorf("Cache-Control %q: next refresh %v after the fetch, want %v", tc.cacheControl, interval, tc.want)
		}
	}
}

func TestIssuerUpLateBecomesReady(t *testing.T) {
	ti := newTestIssuer(t)
	const outage = 7 // requests refused before the issuer is up
	ti.set(func(ti *testIssuer) { ti.downRequests = outage })
	s := ti.settings()
	s.NoKeysRetryInterval = 10 * time.Millisecond
	a := newTestAuthorizer(t, s, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	// A guard against hanging, not a speed check: the retries need about
	// seven times 10 ms.
	if !eventually(a.Ready) {
		t.Fatalf("not ready after the issuer came up: %d requests refused, %d discovery and %d JWKS requests served",
			ti.refused.Load(), ti.discoveryHits.Load(), ti.jwksHits.Load())
	}
	if got := ti.refused.Load(); got != outage {
		t.Fatalf("%d requests refused, want %d: the retries did not meet the whole outage", got, outage)
	}
	wantOK(t, a, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil))
}

func TestRetryScheduleAfterFailure(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.JWKSURI = ti.JWKSURI()
	s.NoKeysRetryInterval = 10 * time.Millisecond
	a := newTestAuthorizer(t, s, Options{})
	k := a.keys
	// fetch runs one fetch as the background loop does and returns when the
	// next one is due, with the real time before and after it.
	fetch := func() (next, before, after time.Time) {
		before = time.Now()
		<-k.shared(true).done
		after = time.Now()
		k.state.mu.Lock()
		defer k.state.mu.Unlock()
		return k.state.nextRefresh, before, after
	}
	ti.set(func(ti *testIssuer) { ti.status = http.StatusInternalServerError })
	for i := range 5 {
		next, before, after := fetch()
		if next.Before(before.Add(5*time.Millisecond)) || next.After(after.Add(15*time.Millisecond)) {
			t.Fatalf("failure %d without keys: next fetch %v after it began, want 5 ms to 15 ms after it ended (%v)", i+1, next.Sub(before), after.Sub(before))
		}
	}
	ti.set(func(ti *testIssuer) { ti.status = http.StatusOK })
	fetch()
	if !a.Ready() {
		t.Fatal("not ready after a good fetch")
	}
	ti.set(func(ti *testIssuer) { ti.status = http.StatusInternalServerError })
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		next, before, _ := fetch()
		if next.Before(before.Add(want)) {
			t.Fatalf("failure %d holding keys: next fetch %v after it began, want at least %v", i+1, next.Sub(before), want)
		}
	}
	if !a.Ready() {
		t.Fatal("not ready on the last good keys")
	}
}

func TestRetryDelay(t *testing.T) {
	k := &keySource{noKeysRetry: 2 * time.Second}
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {9, 256 * time.Second},
		{10, 5 * time.Minute}, {11, 5 * time.Minute}, {1000, 5 * time.Minute},
	} {
		if got := k.retryDelay(tt.failures, true); got != tt.want {
			t.Errorf("holding keys, failure %d: %v, want %v", tt.failures, got, tt.want)
		}
	}
	seen := map[time.Duration]bool{}
	for _, failures := range []int{1, 2, 10, 11, 1000} {
		for range 200 {
			d := k.retryDelay(failures, false)
			if d < time.Second || d >= 3*time.Second {
				t.Fatalf("no keys, failure %d: %v, want 1 s to 3 s", failures, d)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Fatalf("no keys: %d distinct delays in 1000, want jitter", len(seen))
	}
}

func TestRefreshInterval(t *testing.T) {
	const def, lo, hi = time.Hour, 30 * time.Second, 24 * time.Hour
	tests := []struct {
		cc   string
		want time.Duration
	}{
		{"", def},
		{"public", def},
		{"max-age=600", 10 * time.Minute},
		{"public, max-age=600, must-revalidate", 10 * time.Minute},
		{"MAX-AGE=600", 10 * time.Minute},
		{`max-age="600"`, 10 * time.Minute},
		{"max-age=5", lo},
		{"max-age=0", lo},
		{"max-age=-1", lo},
		{"max-age=999999999", hi},
		{"max-age=99999999999999999999", def}, // unparsable: ignored
		{"max-age=abc", def},
		{"no-store", lo},
		{"no-cache", lo},
		{"max-age=600, no-cache", lo},
		{"private, no-store, max-age=600", lo},
	}
	for _, tt := range tests {
		if got := refreshInterval(tt.cc, def, lo, hi); got != tt.want {
			t.Errorf("refreshInterval(%q) = %v, want %v", tt.cc, got, tt.want)
		}
	}
}

func TestPreviousCarriesKeys(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	a1 := newTestAuthorizer(t, s, Options{})
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	wantOK(t, a1, tok)
	ti.set(func(ti *testIssuer) { ti.status = 500 })

	s.Audience = []string{"api", "other"} // non-key settings may change
	a2 := newTestAuthorizer(t, s, Options{Previous: a1})
	if !a2.Ready() {
		t.Fatal("successor not ready")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a2.Start(ctx) // must not refetch now: the predecessor's schedule holds
	wantOK(t, a2, tok)
	time.Sleep(20 * time.Millisecond)
	if n := ti.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}

	s.JWKSURI = ti.JWKSURI() // different key source: starts empty
	a3 := newTestAuthorizer(t, s, Options{Previous: a1})
	if a3.Ready() {
		t.Fatal("successor with another key source inherited keys")
	}
}

func TestDiscoveryRefusesHTTPSDowngrade(t *testing.T) {
	plain := newTestIssuer(t) // serves a JWKS over plain http
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": plain.JWKSURI()})
	}))
	defer srv.Close()
	s := Settings{Name: "tls", Issuer: srv.URL, Audience: []string{"api"}}
	a := newTestAuthorizer(t, s, Options{HTTPClient: srv.Client()})
	c := plain.claims()
	c["iss"] = srv.URL
	d := wantDenied(t, a, mint(t, jwt.SigningMethodRS256, plain.keys.rsa, "rsa", c, nil), ReasonKeysUnavailable)
	if !strings.Contains(d.Error(), "https") || plain.jwksHits.Load() != 0 {
		t.Fatalf("downgrade not refused: %v (hits %d)", d, plain.jwksHits.Load())
	}
}

func TestMissAfterBackgroundRefresh(t *testing.T) {
	ti := newTestIssuer(t)
	a := newTestAuthorizer(t, ti.settings(), Options{}) // default 30 s limit
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	waitFor(t, "ready", a.Ready)
	if got := ti.jwksHits.Load(); got != 1 {
		t.Fatalf("background fetches = %d, want 1", got)
	}
	unknown := func(i int) string {
		return mint(t, jwt.SigningMethodRS256, ti.keys.rsa, fmt.Sprintf("new-%d", i), ti.claims(), nil)
	}
	wantDenied(t, a, unknown(1), ReasonUnknownKid)
	if got := ti.jwksHits.Load(); got != 2 {
		t.Errorf("after the first miss: %d fetches, want 2 (the miss refetches at once)", got)
	}
	wantDenied(t, a, unknown(2), ReasonUnknownKid)
	if got := ti.jwksHits.Load(); got != 2 {
		t.Errorf("after the second miss: %d fetches, want still 2 (one per 30 s)", got)
	}
}

// TestKeysGoStale: while refreshes fail, the last good keys serve until
// they are older than MaxStale; then every token is denied, the authorizer
// is not ready and says why, until a fetch succeeds again. The keys' age is
// set, not waited for: MaxStale is an hour, and the test dates the held
// keys back past it, so no load can make fresh keys look stale or the
// reverse.
func TestKeysGoStale(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.MinRefreshInterval, s.MaxRefreshInterval, s.RefreshInterval, s.MaxStale = 50*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond, time.Hour
	s.NoKeysRetryInterval = 10 * time.Millisecond
	ti.set(func(ti *testIssuer) { ti.cacheControl = "max-age=0" })
	log, logs := testlog.New()
	a := newTestAuthorizer(t, s, Options{Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.Start(ctx)
	tok := mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)
	waitFor(t, "ready", a.Ready)
	if _, err := a.Verify(ctx, tok); err != nil {
		t.Fatalf("fresh keys: %v", err)
	}

	ti.set(func(ti *testIssuer) { ti.status = http.StatusInternalServerError })
	waitFor(t, "a refresh to fail", func() bool { return a.keys.lastError() != nil })
	if _, err := a.Verify(ctx, tok); err != nil {
		t.Fatalf("within MaxStale: %v", err)
	}
	// The issuer last confirmed the keys longer ago than MaxStale.
	st := a.keys.state
	st.mu.Lock()
	aged := *st.snap.Load()
	aged.fetched = time.Now().Add(-s.MaxStale - time.Minute)
	st.snap.Store(&aged)
	st.mu.Unlock()
	if a.Ready() {
		t.Fatal("ready on keys older than MaxStale")
	}
	wantDenied(t, a, tok, ReasonKeysUnavailable)
	waitFor(t, "a log line saying the keys are stale", func() bool {
		return strings.Contains(logs.String(), "older than jwks_max_stale, so every token is denied")
	})

	ti.set(func(ti *testIssuer) { ti.status = http.StatusOK })
	waitFor(t, "ready again", a.Ready)
	if _, err := a.Verify(ctx, tok); err != nil {
		t.Fatalf("after the issuer came back: %v", err)
	}
}

// waitFor fails the test unless f holds within hangGuard.
func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	if !eventually(f) {
		t.Fatalf("still waiting after %v: %s", hangGuard, what)
	}
}

// missIntervalPassed moves the last miss-triggered fetch back by the miss
// refetch interval: for the rate limit, the interval has passed, without
// the test waiting for it.
func missIntervalPassed(a *Authorizer) {
	st := a.keys.state
	st.mu.Lock()
	defer st.mu.Unlock()
	st.lastMiss = st.lastMiss.Add(-a.keys.missInterval)
}

func TestFetchFailureLogSaysWhetherKeysServe(t *testing.T) {
	ti := newTestIssuer(t)
	s := ti.settings()
	s.JWKSURI = ti.JWKSURI()
	log, logs := testlog.New()
	a := newTestAuthorizer(t, s, Options{Logger: log})
	fetch := func() { <-a.keys.shared(true).done }
	messages := func(level string) []string {
		var out []string
		for _, r := range logs.Records() {
			if r["level"] == level {
				out = append(out, r["msg"].(string))
			}
		}
		return out
	}

	ti.set(func(ti *testIssuer) { ti.status = http.StatusServiceUnavailable })
	for range 40 {
		fetch()
	}
	warns := messages("WARN")
	if len(warns) == 0 {
		t.Fatal("no warning for failed fetches")
	}
	for _, m := range warns {
		if strings.Contains(m, "last good keys") || !strings.Contains(m, "no keys yet") || !strings.Contains(m, "denied") {
			t.Fatalf("failure without keys logged as %q", m)
		}
	}
	if len(warns) > 5 {
		t.Fatalf("%d warnings for 40 failed fetches without keys, want a few", len(warns))
	}

	ti.set(func(ti *testIssuer) { ti.status = http.StatusOK })
	fetch()
	if infos := messages("INFO"); len(infos) != 1 || !strings.Contains(infos[0], "keys") {
		t.Fatalf("recovery logged as %q, want one line", infos)
	}

	ti.set(func(ti *testIssuer) { ti.status = http.StatusServiceUnavailable })
	fetch()
	warns = messages("WARN")
	if last := warns[len(warns)-1]; !strings.Contains(last, "keeping the last good keys") {
		t.Fatalf("failure holding keys logged as %q", last)
	}
	for _, r := range logs.Records() {
		if r["authorizer"] != "test" {
			t.Fatalf("log line without the authorizer: %v", r)
		}
	}
}

// TestKeysFetchedSeries: portcullis_jwt_keys_last_fetch_timestamp_seconds
// has a series only for an authorizer holding keys it fetched, with the
// fetch's time. A key file has none, and neither has an authorizer whose
// issuer never answered: a series at 0 would say "fetched in 1970" and fire
// the "keys getting old" alert of docs/operations.md for keys that are fine.
func TestKeysFetchedSeries(t *testing.T) {
	k := sharedKeys()
	pub, err := x509.MarshalPKIXPublicKey(k.rsa.Public())
	if err != nil {
		t.Fatal(err)
	}
	keyFile := writeFile(t, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	ti := newTestIssuer(t)
	down := newTestIssuer(t)
	down.set(func(ti *testIssuer) { ti.status = 503 })

	reg := newRegistry()
	m := NewMetrics(reg)
	for _, c := range []struct {
		s      Settings
		verify string
	}{
		{fileSettings(keyFile), mint(t, jwt.SigningMethodRS256, k.rsa, "", fileClaims(), nil)},
		{ti.settings(), mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)},
		{Settings{Name: "down", Issuer: down.Issuer(), Audience: []string{"api"}}, mint(t, jwt.SigningMethodRS256, ti.keys.rsa, "rsa", ti.claims(), nil)},
	} {
		a := newTestAuthorizer(t, c.s, Options{Metrics: m})
		_, _ = a.Verify(context.Background(), c.verify)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "portcullis_jwt_keys_last_fetch_timestamp_seconds" {
			continue
		}
		for _, s := range mf.GetMetric() {
			got[s.GetLabel()[0].GetValue()] = s.GetGauge().GetValue()
		}
	}
	if len(got) != 1 || got["test"] < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Fatalf("series %v, want one for \"test\" with the time of its fetch", got)
	}
}
