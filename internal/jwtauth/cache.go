package jwtauth

import (
	"crypto/sha256"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"
)

// cacheEntry is what a verified token leaves behind. Only successes are
// cached: a denial must be re-judged each time (keys and clocks change).
// The Identity is embedded and handed out by address, so a verification
// allocates one object for both; its KeyID is the kid that verified it.
type cacheEntry struct {
	id      Identity
	alg     algID
	expNano int64 // exp claim, Unix nanoseconds
}

// tokenCache maps SHA-256(token) to its verified identity, so repeat
// requests skip parsing and signature math. Hashing rather than storing the
// token keeps bearer credentials out of memory dumps of the cache and bounds
// key size.
type tokenCache struct {
	c   *otter.Cache[[32]byte, *cacheEntry]
	now func() time.Time
}

// fnClock lets otter expire entries on the authorizer's clock, so a test's
// Now and the cache agree on when exp has passed.
type fnClock func() time.Time

func (f fnClock) NowNano() int64 { return f().UnixNano() }

// Tick returns nil: no periodic clean-up on an artificial clock; expired
// entries are still never returned and are evicted on writes.
func (f fnClock) Tick(time.Duration) <-chan time.Time { return nil }

func newTokenCache(size int, now func() time.Time) *tokenCache {
	tc := &tokenCache{now: now}
	if tc.now == nil {
		tc.now = time.Now
	}
	o := &otter.Options[[32]byte, *cacheEntry]{
		MaximumSize: size,
		// Entries live no longer than their token's exp.
		ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[[32]byte, *cacheEntry]) time.Duration {
			return time.Duration(e.Value.expNano - tc.now().UnixNano())
		}),
	}
	if now != nil {
		o.Clock = fnClock(now)
	}
	tc.c = otter.Must(o)
	return tc
}

// hashToken hashes the token's bytes in place. The conversion avoids copying
// up to 16 KiB per request on the hot path; it is safe because sha256 only
// reads the slice and the string outlives the call.
func hashToken(token string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// lookup returns a cached identity if the token has not expired and the key
// that verified it is still in the current key set: rotation that removes a
// key also ends its cached tokens.
func (tc *tokenCache) lookup(key [32]byte, now time.Time, keys *keySource) (*Identity, bool) {
	e, ok := tc.c.GetIfPresent(key)
	if !ok || now.UnixNano() >= e.expNano {
		return nil, false
	}
	if !e.alg.isHMAC() && keys.current().lookup(e.id.KeyID, e.alg) == nil {
		return nil, false
	}
	return &e.id, true
}

// store caches a verified token unless it expires before the next instant.
func (tc *tokenCache) store(key [32]byte, e *cacheEntry, now time.Time) {
	if e.expNano <= now.UnixNano() {
		return
	}
	tc.c.Set(key, e)
}
