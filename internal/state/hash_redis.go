package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hash is a map of strings shared by every replica, with change
// notifications (the revocation list): the interface of MemoryHash and
// RedisHash. The field "meta:created" is RedisHash's own marker: it
// refuses to Put or Delete it and never shows it.
type Hash interface {
	Put(ctx context.Context, field, value string) error
	Delete(ctx context.Context, field string) error
	All(ctx context.Context) (map[string]string, error)
	// Watch calls changed for each change and resync whenever changes may
	// have been missed; held returns what the watcher holds now (its copy,
	// as fields and values), written back should the hash be lost (nil:
	// nothing).
	Watch(ctx context.Context, changed func(field, value string, deleted bool), resync func() error, held func() map[string]string)
}

// NewHash returns the hash name where s keeps its state: a MemoryHash in
// process, else a RedisHash.
func NewHash(s *Store, name string, log *slog.Logger) Hash {
	if !s.Remote() {
		return NewMemoryHash()
	}
	return &RedisHash{store: s, name: name, key: s.Key(name), log: orDiscard(log)}
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// RedisHash is a map of strings in one Redis hash, shared by every
// replica: each change is written and published (PUBLISH on a channel of
// the hash's name) in one MULTI/EXEC, and Watch follows the channel.
// Whenever the subscription (re)starts, Watch asks for a resync, so changes
// missed while Redis was unreachable are read in full once it is back.
// Its calls are off the request path (the admin API, the watch), so they
// do not go through Store.Do: each is tried up to three times (the client's
// timeout bounds each try) and a failure here never marks the Store down
// for the requests' limits. The subscription is one long-lived connection
// of the Store's client.
//
// Redis may lose the hash while replicas hold it (a restart without
// persistence, FLUSHALL, a key evicted under an allkeys-* policy); an empty
// hash must not then read as "every entry removed". The field hashMarker
// tells them apart: a replica that holds entries (Watch's held) writes it,
// with what it holds, when it finds the hash without it. Put and Delete do
// not write it: a write made after a loss would mark an incomplete hash as
// complete. The write back is restoreScript (see there): atomic, merged
// under what was written since the loss, done by one replica when several
// try at once; it tells every watcher to read the hash again, is logged
// once (the hash's name and how many fields, never their names) and counted
// (portcullis_state_hash_restores_total). A watching replica looks for the
// marker once a second (HEXISTS) besides at every resync, so a loss that
// cuts no connection is found too.
type RedisHash struct {
	store *Store
	name  string // the metric's label
	key   string // the hash, and the channel
	log   *slog.Logger
	held  atomic.Pointer[func() map[string]string] // the latest Watch's held
}

// hashMarker is the field that marks a hash as complete (see RedisHash): a
// hash that lacks it while a replica holds entries was lost. No
// revocation's field (jti:ID, sub:ID) can take its name, which is the one
// internal/revocation wrote before the marker moved here, so hashes written
// by earlier versions count as complete.
const hashMarker = "meta:created"

// Published messages: "+" field NUL value, "-" field, or hashRestored
// (also sent for a field that holds a NUL itself).
const (
	fieldSep     = "\x00"
	hashRestored = "!" // written back after a loss: read the hash in full
)

// lossCheckInterval is how often Watch looks for the marker.
const lossCheckInterval = time.Second

// restoreScript writes a replica's copy back into a hash that lacks its
// marker, in one atomic step: -1, writing nothing, when the marker is
// there (the hash is complete, or another replica restored it first);
// else each field that is missing (HSETNX: a field written since the
// loss keeps its newer value), the marker, and, when a field was missing,
// hashRestored published; it answers how many fields were missing. A field
// removed since the loss by a replica that had not told this one yet comes
// back (fail closed: it can be removed again). KEYS[1] the hash; ARGV[1]
// the marker, ARGV[2] the message, then field, value pairs.
var restoreScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
local missing = 0
for i = 3, #ARGV, 2 do
  missing = missing + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[1], ARGV[1], '1')
if missing > 0 then redis.call('PUBLISH', KEYS[1], ARGV[2]) end
return missing
`)

// Put sets field to value and publishes the change.
func (h *RedisHash) Put(ctx context.Context, field, value string) error {
	if field == hashMarker {
		return errReserved
	}
	msg := "+" + field + fieldSep + value
	if strings.Contains(field, fieldSep) {
		// The message could not be split where the field ends: the
		// watchers read the hash in full instead.
		msg = hashRestored
	}
	return h.write(ctx, func(ctx context.Context, p redis.Pipeliner) {
		p.HSet(ctx, h.key, field, value)
		p.Publish(ctx, h.key, msg)
	})
}

// Delete removes field and publishes the change.
func (h *RedisHash) Delete(ctx context.Context, field string) error {
	if field == hashMarker {
		return errReserved
	}
	return h.write(ctx, func(ctx context.Context, p redis.Pipeliner) {
		p.HDel(ctx, h.key, field)
		p.Publish(ctx, h.key, "-"+field)
	})
}

func (h *RedisHash) write(ctx context.Context, cmds func(context.Context, redis.Pipeliner)) error {
	err := h.try(ctx, func() error {
		_, err := h.store.Redis().TxPipelined(ctx, func(p redis.Pipeliner) error {
			cmds(ctx, p)
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("state: writing %s: %w", h.key, err)
	}
	return nil
}

var errReserved = fmt.Errorf("state: the field %q is the hash's own", hashMarker)

// All returns the whole hash. A hash without its marker while the watcher
// holds entries was lost: they are written back first (restore) and the
// hash read again, so a full read never takes a lost hash for an empty
// list.
func (h *RedisHash) All(ctx context.Context) (map[string]string, error) {
	m, err := h.read(ctx)
	if err != nil {
		return nil, err
	}
	if _, marked := m[hashMarker]; !marked {
		if held := h.heldNow(); len(held) > 0 {
			if err := h.restore(ctx, held); err != nil {
				return nil, err
			}
			if m, err = h.read(ctx); err != nil {
				return nil, err
			}
		}
	}
	delete(m, hashMarker)
	return m, nil
}

func (h *RedisHash) read(ctx context.Context) (map[string]string, error) {
	var m map[string]string
	err := h.try(ctx, func() error {
		var err error
		m, err = h.store.Redis().HGetAll(ctx, h.key).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("state: reading %s: %w", h.key, err)
	}
	return m, nil
}

// heldNow returns what the latest watcher holds (nil without one).
func (h *RedisHash) heldNow() map[string]string {
	if held := h.held.Load(); held != nil {
		return (*held)()
	}
	return nil
}

// restore runs restoreScript with held.
func (h *RedisHash) restore(ctx context.Context, held map[string]string) error {
	args := make([]any, 0, 2+2*len(held))
	args = append(args, hashMarker, hashRestored)
	for f, v := range held {
		if f != hashMarker {
			args = append(args, f, v)
		}
	}
	var missing int64
	err := h.try(ctx, func() error {
		var err error
		missing, err = restoreScript.Run(ctx, h.store.Redis(), []string{h.key}, args...).Int64()
		return err
	})
	if err != nil {
		return fmt.Errorf("state: writing %s back: %w", h.key, err)
	}
	if missing > 0 {
		h.log.Warn("state: Redis had lost a shared hash (restarted without persistence, flushed, or the key evicted); wrote this replica's copy back",
			"hash", h.key, "fields", missing)
		h.store.metrics.restored(h.name)
	}
	return nil
}

// marked reports whether the hash holds its marker; a failed look counts
// as marked (the subscription notices Redis going away).
func (h *RedisHash) marked(ctx context.Context) bool {
	ok, err := h.store.Redis().HExists(ctx, h.key, hashMarker).Result()
	return ok || err != nil
}

// try runs call up to three times, 20 ms then 40 ms apart, until ctx ends.
func (h *RedisHash) try(ctx context.Context, call func() error) error {
	var err error
	for i := range 3 {
		if i > 0 {
			t := time.NewTimer(time.Duration(10<<i) * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return errors.Join(err, ctx.Err())
			case <-t.C:
			}
		}
		if err = call(); err == nil {
			return nil
		}
	}
	return err
}

// Watch follows the hash's channel in a goroutine until ctx is done:
// changed for each published change, resync each time the subscription is
// confirmed (at the start and after every reconnection), when another
// replica wrote the hash back after a loss, when the hash has lost its
// marker while held returns entries (looked for once a second), and again
// every second until it succeeds, all from that one goroutine, in order.
// While Redis is unreachable it retries with a backoff of up to a second.
// held is what All writes back to a lost hash, until ctx is done.
func (h *RedisHash) Watch(ctx context.Context, changed func(field, value string, deleted bool), resync func() error, held func() map[string]string) {
	if held != nil {
		h.held.Store(&held)
	}
	ps := h.store.Redis().Subscribe(ctx, h.key)
	go func() {
		defer ps.Close()
		defer h.held.CompareAndSwap(&held, nil)
		const firstBackoff = 50 * time.Millisecond
		backoff, down, pending := firstBackoff, false, false
		checked := time.Now()
		for {
			msg, err := ps.ReceiveTimeout(ctx, time.Second)
			if ctx.Err() != nil {
				return
			}
			switch {
			case timedOut(err):
				if pending {
					pending = resync() != nil
				}
			case err != nil:
				if !down {
					h.log.Warn("state: subscription to Redis lost; retrying", "channel", h.key, "error", err.Error())
					down = true
				}
				t := time.NewTimer(backoff)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				backoff = min(2*backoff, time.Second)
				continue
			default:
				backoff = firstBackoff
				switch m := msg.(type) {
				case *redis.Subscription:
					if m.Kind == "subscribe" {
						if down {
							h.log.Info("state: subscription to Redis back", "channel", h.key)
							down = false
						}
						pending = resync() != nil
					}
				case *redis.Message:
					switch {
					case m.Payload == hashRestored:
						pending = resync() != nil
					case strings.HasPrefix(m.Payload, "+"):
						field, value, _ := strings.Cut(m.Payload[1:], fieldSep)
						if field != hashMarker { // earlier versions published it
							changed(field, value, false)
						}
					case strings.HasPrefix(m.Payload, "-"):
						changed(m.Payload[1:], "", true)
					}
				}
			}
			if !pending && time.Since(checked) >= lossCheckInterval {
				checked = time.Now()
				if !h.marked(ctx) && held != nil && len(held()) > 0 {
					pending = resync() != nil
				}
			}
		}
	}()
}
