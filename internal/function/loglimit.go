package function

import (
	"sync"
	"time"
)

// refusalLogInterval is the least time between two log lines about
// refused Runtime API connections of one function.
const refusalLogInterval = time.Minute

// logLimiter bounds a log line that others can make the gateway write at
// will (one per refused connection): the first occurrence is logged, then
// at most one per interval, which carries the number of occurrences not
// logged since the line before. The zero value logs every occurrence
// (interval 0). Safe for concurrent use.
type logLimiter struct {
	interval time.Duration

	mu      sync.Mutex
	next    time.Time // before it, occurrences are counted, not logged (zero: none logged yet)
	skipped int       // occurrences not logged since the last logged one
}

// allow records one occurrence at time t and reports whether to log it
// and, if so, how many occurrences since the last logged one were not.
func (l *logLimiter) allow(t time.Time) (log bool, skipped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.Before(l.next) {
		l.skipped++
		return false, 0
	}
	skipped = l.skipped
	l.next, l.skipped = t.Add(l.interval), 0
	return true, skipped
}
