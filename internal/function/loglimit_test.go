package function

import (
	"testing"
	"time"
)

// TestLogLimiter: the first occurrence is logged, then at most one per
// interval, and each logged one carries the number not logged since the
// one before.
func TestLogLimiter(t *testing.T) {
	t.Parallel()
	type step struct {
		at      time.Duration // since the first occurrence
		log     bool
		skipped int
	}
	for _, tc := range []struct {
		name     string
		interval time.Duration
		steps    []step
	}{
		{"a flood: one line per interval with the count", time.Minute, []step{
			{0, true, 0}, {0, false, 0}, {time.Second, false, 0}, {time.Minute - 1, false, 0},
			{time.Minute, true, 3}, {time.Minute, false, 0},
			{2*time.Minute + time.Second, true, 1}, {2*time.Minute + 2*time.Second, false, 0},
		}},
		{"occurrences far apart: each logged, none skipped", time.Minute, []step{
			{0, true, 0}, {time.Hour, true, 0}, {2 * time.Hour, true, 0},
		}},
		{"no interval: each logged", 0, []step{{0, true, 0}, {0, true, 0}, {time.Second, true, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := logLimiter{interval: tc.interval}
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, s := range tc.steps {
				log, skipped := l.allow(t0.Add(s.at))
				if log != s.log || skipped != s.skipped {
					t.Fatalf("step %d (at %v): log %v, skipped %d; want %v, %d", i, s.at, log, skipped, s.log, s.skipped)
				}
			}
		})
	}
}
