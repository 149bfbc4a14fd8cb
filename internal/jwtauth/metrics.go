package jwtauth

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/metrics"
)

// Metrics holds the authorizer collectors. Create one per process with
// NewMetrics and share it between all authorizers; series are labelled by
// authorizer name and a small fixed set of results, never by token data.
type Metrics struct {
	keyFetches  *prometheus.CounterVec
	keys        *prometheus.GaugeVec
	keysFetched *prometheus.GaugeVec
	tokenCache  *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg (if not
// nil). If equal collectors are already registered, those are reused, so a
// second call with the same registry is harmless.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		keyFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_jwt_key_fetches_total",
			Help: "JWKS fetches (including OIDC discovery) by result (ok, error).",
		}, []string{"authorizer", "result"}),
		keys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portcullis_jwt_keys",
			Help: "Usable signing keys currently held.",
		}, []string{"authorizer"}),
		keysFetched: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portcullis_jwt_keys_last_fetch_timestamp_seconds",
			Help: "When the keys now held were fetched from the issuer, in seconds since the epoch; their age is time() minus this. No series for key files, nor before the first successful fetch.",
		}, []string{"authorizer"}),
		tokenCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_jwt_token_cache_total",
			Help: "Verified-token cache lookups by result (hit, miss).",
		}, []string{"authorizer", "result"}),
	}
	if reg != nil {
		m.keyFetches = metrics.Register(reg, m.keyFetches)
		m.keys = metrics.Register(reg, m.keys)
		m.keysFetched = metrics.Register(reg, m.keysFetched)
		m.tokenCache = metrics.Register(reg, m.tokenCache)
	}
	return m
}

// authorizerMetrics are one authorizer's series, resolved once so the hot
// path neither hashes labels nor allocates. A nil value records nothing.
type authorizerMetrics struct {
	fetchOK, fetchErr      prometheus.Counter
	cacheHits, cacheMisses prometheus.Counter
	keys                   prometheus.Gauge
	// keysFetched's series is made by the first successful fetch, not
	// here: an authorizer with a key file, or one whose issuer has never
	// answered, holds no fetched keys, and a series at 0 would read as keys
	// fetched in 1970 (and fire every "keys getting old" alert).
	keysFetched *prometheus.GaugeVec
	name        string
}

func (m *Metrics) forAuthorizer(name string) *authorizerMetrics {
	if m == nil {
		return nil
	}
	return &authorizerMetrics{
		fetchOK:     m.keyFetches.WithLabelValues(name, "ok"),
		fetchErr:    m.keyFetches.WithLabelValues(name, "error"),
		cacheHits:   m.tokenCache.WithLabelValues(name, "hit"),
		cacheMisses: m.tokenCache.WithLabelValues(name, "miss"),
		keys:        m.keys.WithLabelValues(name),
		keysFetched: m.keysFetched,
		name:        name,
	}
}

func (m *authorizerMetrics) fetched(ok bool) {
	switch {
	case m == nil:
	case ok:
		m.fetchOK.Inc()
		m.keysFetched.WithLabelValues(m.name).SetToCurrentTime()
	default:
		m.fetchErr.Inc()
	}
}

func (m *authorizerMetrics) setKeys(n int) {
	if m != nil {
		m.keys.Set(float64(n))
	}
}

func (m *authorizerMetrics) cacheHit() {
	if m != nil {
		m.cacheHits.Inc()
	}
}

func (m *authorizerMetrics) cacheMiss() {
	if m != nil {
		m.cacheMisses.Inc()
	}
}
