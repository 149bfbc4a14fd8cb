package gateway

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/state"
	"github.com/portcullis/portcullis/internal/testredis"
)

// replicas builds n gateways from one configuration sharing the Redis at
// addr, as n processes would: each with its own store and connections.
func replicas(t *testing.T, n int, addr, extra string) []*Gateway {
	t.Helper()
	src := fmt.Sprintf(`listen: 127.0.0.1:0
state:
  redis:
    addresses: [%s]
    timeout: 5s   # generous: a loaded machine must not turn decisions into fallbacks
%s
throttling:
  default: {rate: 100, burst: 10}
routes:
  - route: GET /limited
    integration: {type: mock, body: ok}
`, addr, extra)
	f, err := config.Parse("replicas.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	var gs []*Gateway
	for range n {
		g, err := Build(f, Deps{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close(nil) })
		gs = append(gs, g)
	}
	return gs
}

func status(g *Gateway, path string) int {
	w := httptest.NewRecorder()
	g.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w.Code
}

// Three replicas sharing one Redis hold one 100 req/s limit between them.
// Demand is far above the limit; the count allowed is compared with what
// a token bucket allows for the very instants the test sent its requests
// (so a machine that stalls changes both sides alike), within 5% and the
// requests in flight; and never more than the bucket allows over the
// whole run.
func TestReplicasShareOneLimit(t *testing.T) {
	srv := testredis.Start(t)
	gs := replicas(t, 3, srv.Addr, "")
	const rate, burst = 100.0, 10
	const run = 2 * time.Second // ~200 GCRA periods of 10 ms

	var mu sync.Mutex
	var sent []time.Time // when each request was sent
	allowed, refused := 0, 0
	start := time.Now()
	var wg sync.WaitGroup
	const clients = 6 // two per replica
	for i := range clients {
		g := gs[i%3]
		wg.Go(func() {
			for time.Since(start) < run {
				at := time.Now()
				code := status(g, "/limited")
				mu.Lock()
				sent = append(sent, at)
				switch code {
				case 200:
					allowed++
				case 429:
					refused++
				default:
					t.Errorf("status %d", code)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.SortFunc(sent, func(a, b time.Time) int { return a.Compare(b) })
	clock := &struct{ t int64 }{}
	sim := state.NewMemory(10, func() int64 { return clock.t })
	want := 0
	for _, at := range sent {
		clock.t = int64(at.Sub(start)) + 1
		if r, _ := sim.Allow(context.Background(), "k", state.Limit{Rate: rate, Burst: burst}); r.Allowed {
			want++
		}
	}
	ceiling := burst + int(elapsed.Seconds()*rate) + 1
	t.Logf("%d requests in %s: %d allowed, %d refused; a bucket allows %d for these instants, at most %d for the run",
		len(sent), elapsed.Round(time.Millisecond), allowed, refused, want, ceiling)
	if refused == 0 {
		t.Fatal("nothing was refused: demand did not exceed the limit, so the test shows nothing")
	}
	// Redis decides each request on its own clock, a moment after the
	// instant recorded here: each client's request in flight can be
	// decided at another instant than the one the bucket above was given,
	// so their number is allowed besides the 5%.
	if diff := math.Abs(float64(allowed - want)); diff > 0.05*float64(want)+clients {
		t.Errorf("allowed %d, a shared bucket allows %d: off by %.1f%% (more than 5%% and the %d requests in flight)", allowed, want, 100*diff/float64(want), clients)
	}
	if allowed > ceiling {
		t.Errorf("allowed %d; a 100/s bucket of 10 allows at most %d in %s", allowed, ceiling, elapsed)
	}
}

// Redis killed mid-run: requests keep being served (fail open), the
// gateway reports itself degraded; Redis restarted: limits hold again and
// the degradation clears, with no restart or reload.
func TestReplicasRedisKilledAndRestarted(t *testing.T) {
	srv := testredis.Start(t)
	gs := replicas(t, 3, srv.Addr, "")
	ctx := context.Background()
	spend := func() (ok, throttled int) {
		for i := range 30 {
			switch status(gs[i%3], "/limited") {
			case 200:
				ok++
			case 429:
				throttled++
			}
		}
		return
	}
	if _, throttled := spend(); throttled == 0 {
		t.Fatal("30 requests at once were not throttled by a bucket of 10 with Redis up")
	}
	for _, g := range gs {
		if d := g.Degraded(ctx); len(d) != 0 {
			t.Fatalf("degraded while Redis is up: %v", d)
		}
	}

	srv.Kill()
	if ok, _ := spend(); ok != 30 {
		t.Fatalf("with Redis down %d of 30 requests passed; want all (fail_open)", ok)
	}
	for i, g := range gs {
		d := g.Degraded(ctx)
		if d["redis"] == "" {
			t.Fatalf("replica %d not degraded with Redis down: %v", i, d)
		}
		if strings.Contains(d["redis"], "password") {
			t.Errorf("degradation message %q", d["redis"])
		}
	}

	srv.Restart(t)
	deadline := time.Now().Add(30 * time.Second) // hang guard: a probe is due every second
	for _, g := range gs {
		for len(g.Degraded(ctx)) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("still degraded 30 s after Redis came back")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if _, throttled := spend(); throttled == 0 {
		t.Fatal("after Redis came back, 30 requests at once were not throttled")
	}
}

// fail_open: false refuses limited requests while Redis is down.
func TestReplicasFailClosed(t *testing.T) {
	srv := testredis.Start(t)
	gs := replicas(t, 1, srv.Addr, "    fail_open: false")
	if code := status(gs[0], "/limited"); code != 200 {
		t.Fatalf("Redis up: %d", code)
	}
	srv.Kill()
	w := httptest.NewRecorder()
	gs[0].ServeHTTP(w, httptest.NewRequest("GET", "/limited", nil))
	if w.Code != http.StatusTooManyRequests || w.Body.String() != `{"message":"Too Many Requests"}` || w.Header().Get("Retry-After") != "" {
		t.Fatalf("Redis down, fail closed: %d %q Retry-After %q", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}

// fail_open: false refuses a keyed request whose usage plan cannot be read
// while Redis is down: 500 as a DEFAULT_5XX gateway response, never a pass.
func TestAPIKeyFailClosed(t *testing.T) {
	srv := testredis.Start(t)
	keys, v := writeKeys(t, "alice:limited")
	f, err := config.Parse("keys.yaml", []byte(fmt.Sprintf(`listen: 127.0.0.1:0
state:
  redis: {addresses: [%s], timeout: 5s, fail_open: false}
api_keys: {source: HEADER, keys_file: %q}
usage_plans:
  limited: {throttle: {rate: 100, burst: 10}, quota: {limit: 1000, period: DAY}}
gateway_responses:
  DEFAULT_5XX: {status: 503, body: '{"down":"$context.error.message","type":"$context.error.responseType"}'}
routes:
  - {route: GET /keyed, api_key_required: true, integration: {type: mock, body: ok}}
`, srv.Addr, keys)), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(f, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(nil) })
	keyed := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/keyed", nil)
		r.Header.Set("X-Api-Key", v["alice"])
		g.ServeHTTP(w, r)
		return w
	}
	if w := keyed(); w.Code != 200 {
		t.Fatalf("Redis up: %d %q", w.Code, w.Body)
	}
	srv.Kill()
	if w := keyed(); w.Code != http.StatusServiceUnavailable || w.Body.String() != `{"down":"Internal server error","type":"DEFAULT_5XX"}` {
		t.Fatalf("Redis down, fail closed: %d %q; want DEFAULT_5XX's 503", w.Code, w.Body)
	}
}
