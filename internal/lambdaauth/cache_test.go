package lambdaauth

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func cached(ttl time.Duration) func(*Settings) {
	return func(s *Settings) { s.ResultTTL = ttl }
}

func TestCacheTTL(t *testing.T) {
	const ttl = 300 * time.Second
	clock := newFakeClock()
	inv := newInvoker(tokenHandler)
	a := mustNew(t, with(baseSettings(), cached(ttl)), inv, Options{Now: clock.Now})
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		calls   int64
		cached  bool
	}{
		{0, 1, false},
		{ttl - time.Nanosecond, 1, true}, // still within the TTL
		{time.Nanosecond, 2, false},      // exactly TTL after the answer: expired
		{ttl / 2, 2, true},
		{ttl / 2, 3, false},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		d := a.Authorize(ctx, get("/pets/1", "Authorization", "Bearer allow"))
		if !d.Allow || d.Cached != s.cached || inv.calls.Load() != s.calls {
			t.Fatalf("step %d: allow=%v cached=%v calls=%d, want cached=%v calls=%d",
				i, d.Allow, d.Cached, inv.calls.Load(), s.cached, s.calls)
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	inv := newInvoker(tokenHandler)
	a := mustNew(t, baseSettings(), inv, Options{})
	for range 3 {
		if d := a.Authorize(context.Background(), get("/", "Authorization", "Bearer allow")); !d.Allow || d.Cached {
			t.Fatalf("%+v", d)
		}
	}
	if n := inv.calls.Load(); n != 3 {
		t.Errorf("invocations %d, want 3 without a cache", n)
	}
}

// TestCachePolicyPerARN: a cached policy is evaluated again for every
// request, so allowing /GET/pets/1 says nothing about /GET/pets/2.
func TestCachePolicyPerARN(t *testing.T) {
	inv := newInvoker(func(_ context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return policy("u", "Allow", e.MethodArn), nil // only the first request's ARN
	})
	a := mustNew(t, with(baseSettings(), cached(time.Minute)), inv, Options{})
	ctx := context.Background()
	steps := []struct {
		path   string
		allow  bool
		status int
		cached bool
	}{
		{"/pets/1", true, 0, false},
		{"/pets/2", false, 403, true},
		{"/pets/1", true, 0, true},
	}
	for _, s := range steps {
		d := a.Authorize(ctx, get(s.path, "Authorization", "tok"))
		if d.Allow != s.allow || d.Status != s.status || d.Cached != s.cached {
			t.Errorf("%s: %+v", s.path, d)
		}
		if !s.allow && d.Body != bodyNoAllow {
			t.Errorf("%s: body %s", s.path, d.Body)
		}
	}
	if n := inv.calls.Load(); n != 1 {
		t.Errorf("invocations %d, want 1", n)
	}
}

// TestCacheSimplePerIdentity: a cached simple answer decides every request
// with the same identity, whatever its path; another identity invokes again.
func TestCacheSimplePerIdentity(t *testing.T) {
	inv := newInvoker(func(_ context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: e.RawPath == "/yes"}, nil
	})
	s := with(baseSettings(), func(s *Settings) {
		s.PayloadFormatVersion, s.EventType, s.EnableSimpleResponses = "2.0", "", true
		s.IdentitySources, s.ResultTTL = []string{"$request.header.Authorization"}, time.Minute
	})
	a := mustNew(t, s, inv, Options{})
	ctx := context.Background()
	for _, p := range []string{"/yes", "/no", "/other"} {
		if d := a.Authorize(ctx, get(p, "Authorization", "one")); !d.Allow {
			t.Errorf("%s: %+v", p, d)
		}
	}
	if d := a.Authorize(ctx, get("/no", "Authorization", "two")); d.Allow || d.Status != 403 || d.Body != bodyForbidden {
		t.Errorf("second identity: %+v", d)
	}
	if d := a.Authorize(ctx, get("/yes", "Authorization", "two")); d.Allow || !d.Cached {
		t.Errorf("cached false answer: %+v", d)
	}
	if n := inv.calls.Load(); n != 2 {
		t.Errorf("invocations %d, want 2", n)
	}
}

func TestCacheSingleFlight(t *testing.T) {
	inv := newInvoker(tokenHandler)
	inv.gate = make(chan struct{})
	a := mustNew(t, with(baseSettings(), cached(time.Minute)), inv, Options{})
	const n = 50
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for i := range n {
		wg.Go(func() {
			// Different paths: one identity, one invocation, per-ARN answers.
			d := a.Authorize(context.Background(), get("/pets/"+strconv.Itoa(i), "Authorization", "Bearer allow"))
			if d.Allow {
				allowed.Add(1)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for inv.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the others pile up behind the load
	close(inv.gate)
	wg.Wait()
	if c := inv.calls.Load(); c != 1 {
		t.Errorf("invocations %d, want 1", c)
	}
	// The policy allows only the first request's ARN; every request was
	// judged against its own.
	if got := allowed.Load(); got != 1 {
		t.Errorf("%d requests allowed, want 1 (per-ARN evaluation)", got)
	}
}

// TestCacheSingleFlightCallerGone: a waiter whose own request ends does
// not disturb the shared invocation.
func TestCacheSingleFlightCallerGone(t *testing.T) {
	inv := newInvoker(tokenHandler)
	inv.gate = make(chan struct{})
	a := mustNew(t, with(baseSettings(), cached(time.Minute)), inv, Options{})
	done := make(chan Decision)
	go func() { done <- a.Authorize(context.Background(), get("/a", "Authorization", "Bearer allow")) }()
	for inv.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if d := a.Authorize(ctx, get("/a", "Authorization", "Bearer allow")); d.Allow || d.Status != 500 {
		t.Errorf("waiter whose context ended: %+v", d)
	}
	close(inv.gate)
	if d := <-done; !d.Allow {
		t.Errorf("owner: %+v", d)
	}
	if c := inv.calls.Load(); c != 1 {
		t.Errorf("invocations %d, want 1", c)
	}
}

func TestCacheSkipsFailures(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	answers := map[string]func() ([]byte, error){
		"Unauthorized":   func() ([]byte, error) { return nil, &funcError{msg: "Unauthorized"} },
		"function error": func() ([]byte, error) { return nil, &funcError{msg: "boom"} },
		"technical":      func() ([]byte, error) { return nil, errors.New("dial: refused") },
		"malformed":      func() ([]byte, error) { return []byte(`{"principalId":"u"}`), nil },
		"object context": func() ([]byte, error) {
			return []byte(`{"principalId":"u","policyDocument":{"Statement":[]},"context":{"o":{}}}`), nil
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int64
			inv := invokerFunc(func(context.Context, []byte) ([]byte, error) {
				if calls.Add(1) <= 2 {
					return answer()
				}
				return []byte(`{"principalId":"u","policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}}`), nil
			})
			a := mustNew(t, with(baseSettings(), cached(time.Hour)), inv, Options{})
			for i, wantAllow := range []bool{false, false, true, true} {
				d := a.Authorize(context.Background(), get("/", "Authorization", "t"))
				if d.Allow != wantAllow {
					t.Fatalf("request %d: %+v", i, d)
				}
			}
			if n := calls.Load(); n != 3 {
				t.Errorf("invocations %d, want 3 (failures not cached, success cached)", n)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		var calls atomic.Int64
		inv := invokerFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
			if calls.Add(1) == 1 {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return []byte(`{"isAuthorized":true}`), nil
		})
		s := with(baseSettings(), func(s *Settings) {
			s.PayloadFormatVersion, s.EventType, s.EnableSimpleResponses = "2.0", "", true
			s.IdentitySources, s.ResultTTL, s.Timeout = []string{"$request.header.Authorization"}, time.Hour, 10*time.Millisecond
		})
		a := mustNew(t, s, inv, Options{})
		if d := a.Authorize(context.Background(), get("/", "Authorization", "t")); d.Reason != ReasonTimeout {
			t.Fatalf("first: %+v", d)
		}
		// The second invocation answers at once, but a loaded machine can
		// hold even that past 10 ms: its timeout is far away.
		a.timeout = time.Minute
		if d := a.Authorize(context.Background(), get("/", "Authorization", "t")); !d.Allow || d.Cached {
			t.Fatalf("second: %+v", d)
		}
	})
}

func TestCacheKey(t *testing.T) {
	distinct := [][]string{
		{"a,b", "c"}, {"a", "b,c"}, {"abc"}, {"ab", "c"}, {"a", "bc"},
		{"a", "b", "c"}, {"", "abc"}, {"abc", ""}, {}, {""},
		{"\x00\x00\x00\x00\x00\x00\x00\x01a"}, {"a\x00\x00\x00\x00\x00\x00\x00\x01b"},
		{"a\x00", "b"}, {"a", "\x00b"}, // defeats any separator byte
		{"a\x00\x00\x00\x00\x00\x00\x00\x01b", "c"},
	}
	seen := map[[32]byte][]string{}
	for _, v := range distinct {
		k := cacheKey(v)
		if prev, ok := seen[k]; ok {
			t.Errorf("cacheKey(%q) == cacheKey(%q)", v, prev)
		}
		seen[k] = v
	}
	long := string(make([]byte, 1000))
	if cacheKey([]string{long}) == cacheKey([]string{long + "x"}) || cacheKey([]string{"x"}) != cacheKey([]string{"x"}) {
		t.Error("cacheKey is not a function of the values")
	}

	// End to end: two sources whose values concatenate alike must not share
	// a cached answer.
	inv := newInvoker(func(_ context.Context, e events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		if e.Headers["x-a"] == "a,b" {
			return policy("u", "Allow", "*"), nil
		}
		return policy("u", "Deny", "*"), nil
	})
	s := with(baseSettings(), func(s *Settings) {
		s.EventType, s.IdentitySources, s.ResultTTL = "REQUEST", []string{"method.request.header.X-A", "method.request.header.X-B"}, time.Hour
	})
	a := mustNew(t, s, inv, Options{})
	if d := a.Authorize(context.Background(), get("/", "X-A", "a,b", "X-B", "c")); !d.Allow {
		t.Fatalf("first: %+v", d)
	}
	if d := a.Authorize(context.Background(), get("/", "X-A", "a", "X-B", "b,c")); d.Allow || d.Cached || d.Body != bodyExplicitDeny {
		t.Fatalf("second identity served from the first's entry: %+v", d)
	}
	if n := inv.calls.Load(); n != 2 {
		t.Errorf("invocations %d, want 2", n)
	}
}

func TestCacheBounded(t *testing.T) {
	const size = 16
	inv := newInvoker(func(_ context.Context, e events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		return policy("u", "Allow", "*"), nil
	})
	a := mustNew(t, with(baseSettings(), func(s *Settings) { s.ResultTTL, s.CacheSize = time.Hour, size }), inv, Options{})
	for i := range 50 * size {
		if d := a.Authorize(context.Background(), get("/", "Authorization", "t"+strconv.Itoa(i))); !d.Allow {
			t.Fatalf("%+v", d)
		}
	}
	a.cache.c.CleanUp()
	if n := a.cache.c.EstimatedSize(); n > size {
		t.Errorf("cache holds %d entries, bound %d", n, size)
	}
}
