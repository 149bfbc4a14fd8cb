package state

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// fakeClock is a settable monotonic clock in nanoseconds.
type fakeClock struct{ t int64 }

func (c *fakeClock) now() int64          { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t += int64(d) }

func TestMemoryTokenBucket(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: int64(time.Hour)}
	m := NewMemory(1000, clock.now)
	l := Limit{Rate: 10, Burst: 3}

	// A full bucket lets burst requests through at once, counting down.
	for i := 2; i >= 0; i-- {
		r, err := m.Allow(ctx, "k", l)
		if err != nil || !r.Allowed || r.Remaining != i {
			t.Fatalf("request %d: %+v %v; want allowed with %d remaining", 3-i, r, err, i)
		}
	}
	r, _ := m.Allow(ctx, "k", l)
	if r.Allowed || r.RetryAfter != 100*time.Millisecond {
		t.Fatalf("4th request: %+v; want refused, retry after 100ms", r)
	}
	// Another key has its own bucket.
	if r, _ := m.Allow(ctx, "other", l); !r.Allowed {
		t.Fatalf("other key refused: %+v", r)
	}
	// One token comes back after 1/rate, not before.
	clock.add(99 * time.Millisecond)
	if r, _ := m.Allow(ctx, "k", l); r.Allowed || r.RetryAfter != time.Millisecond {
		t.Fatalf("after 99ms: %+v; want refused, 1ms to wait", r)
	}
	clock.add(time.Millisecond)
	if r, _ := m.Allow(ctx, "k", l); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("after 100ms: %+v; want allowed, 0 remaining", r)
	}
	// The bucket never holds more than burst.
	clock.add(time.Hour)
	n := 0
	for {
		if r, _ := m.Allow(ctx, "k", l); !r.Allowed {
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("after an hour idle %d requests passed; want burst 3", n)
	}
}

func TestMemoryRefusesZeroLimits(t *testing.T) {
	m := NewMemory(10, (&fakeClock{}).now)
	for _, l := range []Limit{{Rate: 0, Burst: 5}, {Rate: 5, Burst: 0}, {Rate: -1, Burst: 1}} {
		if r, err := m.Allow(context.Background(), "k", l); err != nil || r.Allowed {
			t.Errorf("%+v: %+v %v; want refused", l, r, err)
		}
	}
}

// Over an interval T from a full bucket, exactly burst + floor(T*rate)
// requests pass, whatever the request schedule.
func TestMemoryExactOverTime(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		burst int
		step  time.Duration
	}{
		{100, 1, time.Millisecond},
		{100, 20, 3 * time.Millisecond},
		{3, 5, 7 * time.Millisecond},
		{1000, 50, 100 * time.Microsecond},
	} {
		t.Run(fmt.Sprintf("rate%v_burst%d", tc.rate, tc.burst), func(t *testing.T) {
			clock := &fakeClock{t: 1}
			m := NewMemory(10, clock.now)
			l := Limit{Rate: tc.rate, Burst: tc.burst}
			const span = 10 * time.Second
			allowed := 0
			for el := time.Duration(0); el <= span; el += tc.step {
				clock.t = 1 + int64(el)
				for range 3 { // more demand than the rate
					if r, _ := m.Allow(context.Background(), "k", l); r.Allowed {
						allowed++
					}
				}
			}
			last := span - span%tc.step // the last request's time
			want := tc.burst + int(last.Seconds()*tc.rate+1e-9)
			if allowed != want {
				t.Errorf("allowed %d over %s; want %d", allowed, span, want)
			}
		})
	}
}

func TestMemoryLongKeysAreDistinct(t *testing.T) {
	m := NewMemory(100, (&fakeClock{}).now)
	l := Limit{Rate: 1, Burst: 1}
	a := string(make([]byte, 200))
	b := a[:199] + "x"
	for _, k := range []string{a, b, "\xffshort"} {
		if r, _ := m.Allow(context.Background(), k, l); !r.Allowed {
			t.Errorf("first request for key of %d bytes refused", len(k))
		}
	}
	if r, _ := m.Allow(context.Background(), a, l); r.Allowed {
		t.Error("second request for the long key allowed: its bucket was lost")
	}
}
