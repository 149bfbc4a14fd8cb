package state

import (
	"context"
	"maps"
	"sync"
)

// MemoryHash is a map of strings with change notifications, in process (one
// replica): the in-process form of RedisHash. Watchers are called in the
// order of changes, synchronously, before Put or Delete returns. Safe for
// concurrent use.
type MemoryHash struct {
	mu       sync.Mutex // held while watchers run, so they see changes in order
	m        map[string]string
	watchers []hashWatcher
}

type hashWatcher struct {
	ctx     context.Context
	changed func(field, value string, deleted bool)
}

// NewMemoryHash returns an empty hash.
func NewMemoryHash() *MemoryHash { return &MemoryHash{m: map[string]string{}} }

// Put sets field to value and tells every watcher.
func (h *MemoryHash) Put(_ context.Context, field, value string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m[field] = value
	h.notify(field, value, false)
	return nil
}

// Delete removes field and tells every watcher.
func (h *MemoryHash) Delete(_ context.Context, field string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, field)
	h.notify(field, "", true)
	return nil
}

func (h *MemoryHash) notify(field, value string, deleted bool) {
	live := h.watchers[:0]
	for _, w := range h.watchers {
		if w.ctx.Err() != nil {
			continue
		}
		w.changed(field, value, deleted)
		live = append(live, w)
	}
	clear(h.watchers[len(live):])
	h.watchers = live
}

// All returns a copy of the hash.
func (h *MemoryHash) All(context.Context) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.m), nil
}

// Watch calls changed for each change until ctx is done, and resync once
// after it starts to watch. Nothing is ever missed or lost in process, so
// resync is not called again and held is not needed.
func (h *MemoryHash) Watch(ctx context.Context, changed func(field, value string, deleted bool), resync func() error, _ func() map[string]string) {
	h.mu.Lock()
	h.watchers = append(h.watchers, hashWatcher{ctx: ctx, changed: changed})
	h.mu.Unlock()
	_ = resync() // All never fails in process
}
