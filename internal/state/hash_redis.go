package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hash is a map of strings shared by every replica, with change
// notifications (the revocation list): the interface of MemoryHash and
// RedisHash.
type Hash interface {
	Put(ctx context.Context, field, value string) error
	Delete(ctx context.Context, field string) error
	All(ctx context.Context) (map[string]string, error)
	Watch(ctx context.Context, changed func(field, value string, deleted bool), resync func() error)
}

// NewHash returns the hash name where s keeps its state: a MemoryHash in
// process, else a RedisHash.
func NewHash(s *Store, name string, log *slog.Logger) Hash {
	if !s.Remote() {
		return NewMemoryHash()
	}
	return &RedisHash{store: s, key: s.Key(name), log: orDiscard(log)}
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
type RedisHash struct {
	store *Store
	key   string // the hash, and the channel
	log   *slog.Logger
}

// A published change: "+" field NUL value, or "-" field.
const fieldSep = "\x00"

// Put sets field to value and publishes the change.
func (h *RedisHash) Put(ctx context.Context, field, value string) error {
	return h.write(ctx, func(ctx context.Context, p redis.Pipeliner) {
		p.HSet(ctx, h.key, field, value)
		p.Publish(ctx, h.key, "+"+field+fieldSep+value)
	})
}

// Delete removes field and publishes the change.
func (h *RedisHash) Delete(ctx context.Context, field string) error {
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

// All returns the whole hash.
func (h *RedisHash) All(ctx context.Context) (map[string]string, error) {
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
// confirmed (at the start and after every reconnection) and again every
// second until it succeeds, all from that one goroutine, in order. While
// Redis is unreachable it retries with a backoff of up to a second.
func (h *RedisHash) Watch(ctx context.Context, changed func(field, value string, deleted bool), resync func() error) {
	ps := h.store.Redis().Subscribe(ctx, h.key)
	go func() {
		defer ps.Close()
		const firstBackoff = 50 * time.Millisecond
		backoff, down, pending := firstBackoff, false, false
		for {
			msg, err := ps.ReceiveTimeout(ctx, time.Second)
			if ctx.Err() != nil {
				return
			}
			if timedOut(err) {
				if pending {
					pending = resync() != nil
				}
				continue
			}
			if err != nil {
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
			}
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
				case strings.HasPrefix(m.Payload, "+"):
					field, value, _ := strings.Cut(m.Payload[1:], fieldSep)
					changed(field, value, false)
				case strings.HasPrefix(m.Payload, "-"):
					changed(m.Payload[1:], "", true)
				}
			}
		}
	}()
}
