// Package revocation lets an operator cut off JWTs before they expire: by
// token id (jti) or by subject (sub) for tokens issued before a time. The
// list lives in a shared store (internal/state: in process, or Redis with
// pub/sub to every replica), and each replica keeps its own copy, so the
// check on the request path is two map lookups and never waits on Redis.
// When the store is unreachable the last copy stays in force; the copy is
// read again in full whenever the store's subscription (re)starts, and a
// store that lost the list (Redis restarted without persistence, flushed,
// evicted it) gets a replica's copy back from the store itself. Until the
// list was read in full once, no copy exists and every token counts as
// revoked (fail closed: a replica started while Redis is down, or in the
// moment before its first read, refuses tokens rather than pass revoked
// ones).
package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxEntries bounds the list: each replica holds all of it in memory.
const MaxEntries = 100_000

// MaxIDLength bounds a jti or sub.
const MaxIDLength = 1024

// Store is a map of strings shared by every replica, with change
// notifications; internal/state implements it in process and in Redis.
type Store interface {
	// Put sets field to value and tells every watcher.
	Put(ctx context.Context, field, value string) error
	// Delete removes field and tells every watcher.
	Delete(ctx context.Context, field string) error
	// All returns the whole map.
	All(ctx context.Context) (map[string]string, error)
	// Watch calls changed for each change (deleted: value is "") and
	// resync whenever changes may have been missed (first at the start,
	// then after a lost connection, and again while resync fails), until
	// ctx is done, from one goroutine in order. It returns at once. held
	// returns the watcher's copy as fields and values: a store that lost
	// the map writes it back before All reads it.
	Watch(ctx context.Context, changed func(field, value string, deleted bool), resync func() error, held func() map[string]string)
}

// Entry is one revocation: a token id, or a subject with the time before
// which its tokens were issued.
type Entry struct {
	JTI    string    `json:"jti,omitempty"`
	Sub    string    `json:"sub,omitempty"`
	Before time.Time `json:"before,omitzero"`
}

// field and value are an Entry's form in the Store.
func (e Entry) field() string {
	if e.JTI != "" {
		return "jti:" + e.JTI
	}
	return "sub:" + e.Sub
}

func (e Entry) value() string {
	if e.JTI != "" {
		return "1"
	}
	return strconv.FormatInt(e.Before.UnixNano(), 10)
}

// Validate reports what is wrong with e as a request: exactly one of jti
// and sub, sub with before.
func (e Entry) Validate() error {
	switch {
	case e.JTI != "" && e.Sub != "":
		return errors.New("give jti or sub, not both")
	case e.JTI == "" && e.Sub == "":
		return errors.New("give jti, or sub with before")
	case len(e.JTI) > MaxIDLength || len(e.Sub) > MaxIDLength:
		return fmt.Errorf("jti and sub are at most %d bytes", MaxIDLength)
	case e.JTI != "" && !e.Before.IsZero():
		return errors.New("before goes with sub, not jti")
	case e.Sub != "" && e.Before.IsZero():
		return errors.New("sub needs before (RFC 3339): tokens issued before it are refused")
	}
	return nil
}

// snapshot is an immutable copy of the list.
type snapshot struct {
	jti map[string]struct{}
	sub map[string]int64 // sub -> before, Unix nanoseconds
}

// List is a replica's copy of the revocation list and the way to change
// it. Safe for concurrent use; Revoked never blocks.
type List struct {
	store Store
	log   *slog.Logger
	snap  atomic.Pointer[snapshot]
	mu    sync.Mutex // serializes writers of snap and version
	// version counts the changes applied, so that a resync whose read
	// raced with a change starts again rather than store a list older
	// than the change.
	version uint64
	// loaded is set once the list was read in full; until then Revoked
	// refuses every token.
	loaded atomic.Bool
	once   sync.Once
	stop   context.CancelFunc // ends Start's watch; nil before Start
}

// New returns a List over store, empty until Start.
func New(store Store, log *slog.Logger) *List {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &List{store: store, log: log}
	l.snap.Store(&snapshot{jti: map[string]struct{}{}, sub: map[string]int64{}})
	return l
}

// Start reads the list and follows its changes until Stop; it starts once,
// however often it is called (a reload keeps the list of the gateway it
// replaces).
func (l *List) Start() {
	l.once.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		l.mu.Lock()
		l.stop = cancel
		l.mu.Unlock()
		l.store.Watch(ctx, l.apply, func() error { return l.resync(ctx) }, l.fields)
	})
}

// Stop stops following the store; the copy stays as it is.
func (l *List) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop != nil {
		l.stop()
	}
}

// resync replaces the copy with the store's list; on failure the last copy
// stays and the error says to try again. (A store that lost the list wrote
// the copy back before All answers: see Store.Watch.)
func (l *List) resync(ctx context.Context) error {
	for range 5 {
		l.mu.Lock()
		v := l.version
		l.mu.Unlock()
		all, err := l.store.All(ctx)
		if err != nil {
			l.log.Warn("revocation: list not read; the last copy stays in force", "error", err.Error())
			return err
		}
		s := &snapshot{jti: map[string]struct{}{}, sub: map[string]int64{}}
		for f, v := range all {
			add(s, f, v)
		}
		l.mu.Lock()
		stored := l.version == v
		if stored {
			l.snap.Store(s)
			l.loaded.Store(true)
		}
		l.mu.Unlock()
		if stored {
			return nil
		}
	}
	l.log.Warn("revocation: the list kept changing during a full read; the copy follows the changes, and the read is tried again")
	return errors.New("revocation: the list kept changing during a full read")
}

// Load reads the list in full once, without following its changes (Start
// follows them): for a tool that needs the list as it is now (`portcullis
// explain`). On failure the copy stays as it was and the error says why. A
// List that never held an entry writes nothing to the store.
func (l *List) Load(ctx context.Context) error { return l.resync(ctx) }

// Loaded reports whether the list was read in full at least once. Until
// then Revoked reports every token revoked.
func (l *List) Loaded() bool { return l.loaded.Load() }

// fields returns the copy in the store's form, for a store that lost it.
func (l *List) fields() map[string]string {
	entries := l.Entries()
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		m[e.field()] = e.value()
	}
	return m
}

// apply makes one change to the copy.
func (l *List) apply(field, value string, deleted bool) {
	if !strings.HasPrefix(field, "jti:") && !strings.HasPrefix(field, "sub:") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.version++
	// Only the part that changes is copied; the other stays shared with
	// the snapshot requests read, so it is never written here.
	old := l.snap.Load()
	s := &snapshot{jti: old.jti, sub: old.sub}
	if jti, ok := strings.CutPrefix(field, "jti:"); ok {
		s.jti = maps.Clone(old.jti)
		if deleted {
			delete(s.jti, jti)
		}
	} else {
		s.sub = maps.Clone(old.sub)
		if deleted {
			delete(s.sub, strings.TrimPrefix(field, "sub:"))
		}
	}
	if !deleted {
		add(s, field, value)
	}
	l.snap.Store(s)
}

func add(s *snapshot, field, value string) {
	if jti, ok := strings.CutPrefix(field, "jti:"); ok {
		s.jti[jti] = struct{}{}
		return
	}
	if sub, ok := strings.CutPrefix(field, "sub:"); ok {
		before, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			before = math.MaxInt64 // unreadable: refuse every token of sub (fail closed)
		}
		s.sub[sub] = before
	}
}

// Revoked reports whether a token with id jti and subject sub, issued at
// iat (Unix seconds as its JSON text, "" when absent) is revoked. A
// subject's revocation also refuses its tokens without a readable iat.
// Before the list was read in full (Loaded) every token is revoked.
func (l *List) Revoked(jti, sub, iat string) bool {
	if !l.loaded.Load() {
		return true
	}
	s := l.snap.Load()
	if jti != "" && len(s.jti) > 0 {
		if _, ok := s.jti[jti]; ok {
			return true
		}
	}
	if sub == "" || len(s.sub) == 0 {
		return false
	}
	before, ok := s.sub[sub]
	if !ok {
		return false
	}
	issued, err := strconv.ParseFloat(iat, 64)
	if err != nil || math.IsNaN(issued) {
		return true
	}
	return issued*1e9 < float64(before)
}

// Revoke adds e to the shared list. The local copy changes when the
// store's notification arrives (at once in process).
func (l *List) Revoke(ctx context.Context, e Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if s := l.snap.Load(); len(s.jti)+len(s.sub) >= MaxEntries {
		return &FullError{}
	}
	if err := l.store.Put(ctx, e.field(), e.value()); err != nil {
		return fmt.Errorf("revocation: storing: %w", err)
	}
	return nil
}

// FullError is Revoke's answer when the list holds MaxEntries.
type FullError struct{}

func (*FullError) Error() string {
	return fmt.Sprintf("the list holds %d entries, its limit; reinstate some first", MaxEntries)
}

// Reinstate removes e (by jti, or by sub whatever its before) from the
// shared list.
func (l *List) Reinstate(ctx context.Context, e Entry) error {
	if (e.JTI == "") == (e.Sub == "") {
		return errors.New("give jti or sub")
	}
	if err := l.store.Delete(ctx, e.field()); err != nil {
		return fmt.Errorf("revocation: removing: %w", err)
	}
	return nil
}

// Entries returns the local copy, jtis first, each part sorted.
func (l *List) Entries() []Entry {
	s := l.snap.Load()
	out := make([]Entry, 0, len(s.jti)+len(s.sub))
	for j := range s.jti {
		out = append(out, Entry{JTI: j})
	}
	for sub, before := range s.sub {
		out = append(out, Entry{Sub: sub, Before: time.Unix(0, before).UTC()})
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := strings.Compare(a.Sub, b.Sub); c != 0 {
			return c
		}
		return strings.Compare(a.JTI, b.JTI)
	})
	return out
}
