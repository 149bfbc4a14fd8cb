package lambdaauth

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/maypok86/otter/v2"
)

// resultCache maps the identity values to the interpreted answer, as AWS
// does. It stores results, not decisions: an IAM policy is re-evaluated
// against each request's ARN. Failures are never stored.
//
// otter's loader merges concurrent misses for one key into one invocation
// and shares its outcome, failures included, with every waiter.
type resultCache struct {
	c *otter.Cache[[32]byte, *result]
}

// fnClock lets otter expire entries on the authorizer's clock, so tests
// that move Options.Now move the cache's idea of time too.
type fnClock func() time.Time

func (f fnClock) NowNano() int64 { return f().UnixNano() }

// Tick returns nil: no periodic clean-up on an artificial clock. Expired
// entries are still never returned and are evicted on writes.
func (f fnClock) Tick(time.Duration) <-chan time.Time { return nil }

func newResultCache(size int, ttl time.Duration, now func() time.Time) (*resultCache, error) {
	o := &otter.Options[[32]byte, *result]{
		MaximumSize: size,
		// Written once per load and never refreshed: an entry lives exactly
		// ttl after the answer arrived, however often it is read.
		ExpiryCalculator: otter.ExpiryWriting[[32]byte, *result](ttl),
	}
	if now != nil {
		o.Clock = fnClock(now)
	}
	c, err := otter.New(o)
	if err != nil {
		return nil, err
	}
	return &resultCache{c: c}, nil
}

func (rc *resultCache) lookup(key [32]byte) (*result, bool) {
	return rc.c.GetIfPresent(key)
}

// get returns the cached result for key or runs load once for all concurrent
// callers. A load that returns an error leaves nothing in the cache.
func (rc *resultCache) get(ctx context.Context, key [32]byte, load func(context.Context) (*result, error)) (*result, error) {
	return rc.c.Get(ctx, key, otter.LoaderFunc[[32]byte, *result](func(ctx context.Context, _ [32]byte) (*result, error) {
		return load(ctx)
	}))
}

// cacheKey hashes the identity values unambiguously: the count, then each
// value's length before its bytes, so ("a,b","c") and ("a","b,c") differ.
// Hashing keeps credentials out of the cache's memory and bounds key size.
func cacheKey(values []string) [32]byte {
	n := 8
	for _, v := range values {
		n += 8 + len(v)
	}
	var stack [256]byte
	buf := stack[:0]
	if n > len(stack) {
		buf = make([]byte, 0, n)
	}
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(values)))
	for _, v := range values {
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(v)))
		buf = append(buf, v...)
	}
	return sha256.Sum256(buf)
}
