package throttle

import (
	"context"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/state"
)

type vars map[string]string

func (v vars) Context(name string) string { return v[name] }

func setup(t *testing.T, yaml string, routes ...RouteInfo) *Throttle {
	t.Helper()
	f, err := config.Parse("t.yaml", []byte(yaml), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	clock := int64(time.Hour)
	th, err := Setup(f, routes, Options{Store: state.NewMemory(1000, func() int64 { return clock })})
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestUnconfiguredIsNil(t *testing.T) {
	th := setup(t, "listen: x\n", RouteInfo{Key: "GET /a"})
	if th != nil || th.Route("GET /a") != nil {
		t.Fatalf("no throttling and no rate_limits gave %+v", th)
	}
}

// Each route has its own bucket; an override's missing field comes from
// the default; routes named nowhere keep the default.
func TestThrottlingBuckets(t *testing.T) {
	th := setup(t, `throttling:
  default: {rate: 0.001, burst: 2}
  routes:
    "GET /b": {burst: 1}
`, RouteInfo{Key: "GET /a"}, RouteInfo{Key: "GET /b"}, RouteInfo{Key: "GET /c"})
	ctx := context.Background()
	count := func(key string) int {
		n := 0
		for range 5 {
			if th.Route(key).Throttle(ctx).Allowed {
				n++
			}
		}
		return n
	}
	for key, want := range map[string]int{"GET /a": 2, "GET /b": 1, "GET /c": 2} {
		if got := count(key); got != want {
			t.Errorf("%s let %d of 5 through; want %d", key, got, want)
		}
	}
	d := th.Route("GET /a").Throttle(ctx)
	if d.Allowed || d.Rule != RuleThrottling || d.RetryAfter <= 0 || d.Err != nil {
		t.Errorf("refusal: %+v", d)
	}
}

// Rules apply in order to the routes they name; a rule whose key is empty
// does not apply; the first refusal answers.
func TestRateLimitRules(t *testing.T) {
	th := setup(t, `rate_limits:
  - {name: per-user, routes: ["GET /a"], key: $context.authorizer.claims.sub, rate: 0.001, burst: 2}
  - {name: per-ip, key: $context.identity.sourceIp, rate: 0.001, burst: 3}
`, RouteInfo{Key: "GET /a", AuthType: "jwt"}, RouteInfo{Key: "GET /b"})
	ctx := context.Background()
	if th.Route("GET /a").Throttle(ctx).Allowed != true {
		t.Fatal("no throttling: configured, so Throttle must allow")
	}
	alice := vars{"authorizer.claims.sub": "alice", "identity.sourceIp": "10.0.0.1"}
	var got []string
	for range 4 {
		d := th.Route("GET /a").Limit(ctx, alice)
		got = append(got, map[bool]string{true: "ok", false: d.Rule}[d.Allowed])
	}
	// per-user refuses the third; the per-ip bucket was spent twice (a
	// refused request stops at the first rule that refuses).
	if want := []string{"ok", "ok", "per-user", "per-user"}; !slices.Equal(got, want) {
		t.Errorf("alice on GET /a: %v; want %v", got, want)
	}
	anon := vars{"identity.sourceIp": "10.0.0.1"} // no sub: per-user does not apply
	if d := th.Route("GET /a").Limit(ctx, anon); !d.Allowed {
		t.Errorf("no sub, third from the IP: %+v; want allowed (per-ip burst 3)", d)
	}
	if d := th.Route("GET /b").Limit(ctx, anon); d.Allowed || d.Rule != "per-ip" {
		t.Errorf("GET /b, fourth from the IP: %+v; want refused by per-ip (its buckets are per rule, not per route)", d)
	}
}

// A refusal because the state store failed (Redis down, fail_open: false)
// is not counted as throttling: portcullis_throttled_total would otherwise
// fire a throttling alert for an outage, which
// portcullis_state_fallbacks_total counts. A real refusal still is.
func TestStoreFailureIsNotThrottling(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String() // nothing listens here once closed
	l.Close()
	closed := false
	downStore, err := state.Open(state.Settings{Redis: &state.RedisSettings{Addresses: []string{down}, FailOpen: &closed, Timeout: 5 * time.Second}}, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { downStore.Close() })
	clock := int64(time.Hour)
	const yaml = `throttling:
  default: {rate: 0.001, burst: 1}
rate_limits:
  - {name: per-ip, key: $context.identity.sourceIp, rate: 0.001, burst: 1}
`
	for _, tc := range []struct {
		name    string
		store   Limiter
		counted float64 // per rule, after two requests
	}{
		{"store down", downStore, 0},
		{"bucket spent", state.NewMemory(1000, func() int64 { return clock }), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse("t.yaml", []byte(yaml), os.LookupEnv)
			if err != nil {
				t.Fatal(err)
			}
			m := NewMetrics(prometheus.NewRegistry())
			th, err := Setup(f, []RouteInfo{{Key: "GET /a"}}, Options{Store: tc.store, Metrics: m})
			if err != nil {
				t.Fatal(err)
			}
			ctx, src := context.Background(), vars{"identity.sourceIp": "10.0.0.1"}
			var throttle, limit Decision
			for range 2 {
				throttle = th.Route("GET /a").Throttle(ctx)
			}
			for range 2 {
				limit = th.Route("GET /a").Limit(ctx, src)
			}
			if throttle.Allowed || limit.Allowed {
				t.Fatalf("second request allowed: throttle %+v, limit %+v", throttle, limit)
			}
			for _, rule := range []string{RuleThrottling, "per-ip"} {
				if got := testutil.ToFloat64(m.throttledTotal.WithLabelValues("GET /a", rule)); got != tc.counted {
					t.Errorf("portcullis_throttled_total{rule=%q} = %v; want %v", rule, got, tc.counted)
				}
			}
		})
	}
}
