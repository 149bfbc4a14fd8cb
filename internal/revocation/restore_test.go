package revocation

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/state"
	"github.com/portcullis/portcullis/internal/testlog"
	"github.com/portcullis/portcullis/internal/testredis"
)

// hashKey is where the replicas of these tests keep the list in Redis.
const hashKey = "portcullis:revocations"

// replica is one gateway's share of the list: its own Store (its own
// connections and subscription) on the shared Redis, its own List, metrics
// and log.
type replica struct {
	list  *List
	reg   *prometheus.Registry
	log   *testlog.Buffer
	reads atomic.Int64 // full reads of the list (Store.All) answered
}

// countingStore counts a real Store's full reads, once they answered.
type countingStore struct {
	Store
	reads *atomic.Int64
}

func (c countingStore) All(ctx context.Context) (map[string]string, error) {
	m, err := c.Store.All(ctx)
	c.reads.Add(1)
	return m, err
}

// startReplica starts a List on its own Store on addr and waits until it
// has read the list.
func startReplica(t *testing.T, addr string) *replica {
	t.Helper()
	log, buf := testlog.New()
	r := &replica{reg: prometheus.NewRegistry(), log: buf}
	st, err := state.Open(state.Settings{Redis: &state.RedisSettings{Addresses: []string{addr}, Timeout: 5 * time.Second}},
		state.Options{Metrics: state.NewMetrics(r.reg), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.list = New(countingStore{state.NewHash(st, "revocations", log), &r.reads}, log)
	r.list.Start()
	t.Cleanup(r.list.Stop)
	testredis.WaitFor(t, "the list read", r.list.Loaded)
	return r
}

// restores is what portcullis_state_hash_restores_total says for the
// revocation hash.
func (r *replica) restores(t *testing.T) float64 {
	t.Helper()
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "portcullis_state_hash_restores_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "hash" && l.GetValue() == "revocations" {
					total += m.GetCounter().GetValue()
				}
			}
		}
	}
	return total
}

// warnings returns the replica's warnings about the hash (attribute
// hash).
func (r *replica) warnings() []string {
	var out []string
	for line := range strings.SplitSeq(r.log.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, `"hash":"`+hashKey+`"`) {
			out = append(out, line)
		}
	}
	return out
}

// TestListSurvivesRedisLosingIt: Redis loses the revocation hash while
// replicas hold the list: restarted without persistence, flushed, or the
// key evicted (allkeys-lru), the last with connections and subscriptions
// intact. Every replica keeps refusing the revoked tokens, one of them
// writes the list back (one warning naming the hash, one count), a replica
// started meanwhile gets it too, and so does one started later. A
// revocation made right after the loss, before any replica noticed, does
// not stand for the whole list. A reinstatement after the restore reaches
// every replica and stays: a later full read restores nothing. Before, a
// hash lost while the subscriptions held was never written back, so a
// replica started later passed every revoked token, and a revocation made
// after the loss marked the hash as complete, so the next full read of
// every replica forgot the rest.
func TestListSurvivesRedisLosingIt(t *testing.T) {
	ctx := context.Background()
	cut := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name string
		lose func(t *testing.T, srv *testredis.Server)
		// revokeAfter revokes another token at once after the loss.
		revokeAfter bool
	}{
		{"restart without persistence", func(t *testing.T, srv *testredis.Server) { srv.Restart(t) }, false},
		{"restart, then a revocation", func(t *testing.T, srv *testredis.Server) { srv.Restart(t) }, true},
		{"FLUSHALL while running", func(t *testing.T, srv *testredis.Server) { srv.Command(t, "FLUSHALL") }, false},
		{"key evicted, then a revocation", func(t *testing.T, srv *testredis.Server) { srv.Command(t, "DEL", hashKey) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testredis.Start(t)
			a, b := startReplica(t, srv.Addr), startReplica(t, srv.Addr)
			for _, e := range []Entry{{JTI: "leaked-jti-1"}, {Sub: "alice-sub", Before: cut}} {
				if err := a.list.Revoke(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			revoked := func(r *replica) bool {
				return r.list.Revoked("leaked-jti-1", "", "") && r.list.Revoked("", "alice-sub", "1") &&
					(!tc.revokeAfter || r.list.Revoked("leaked-jti-2", "", ""))
			}
			testredis.WaitFor(t, "b refusing what a revoked", func() bool { return b.list.Revoked("", "alice-sub", "1") })

			tc.lose(t, srv)
			if tc.revokeAfter {
				testredis.WaitFor(t, "the revocation after the loss taken", func() bool {
					return a.list.Revoke(ctx, Entry{JTI: "leaked-jti-2"}) == nil // Redis may refuse the first try after a restart
				})
			}
			c := startReplica(t, srv.Addr) // started while the list may still be lost
			testredis.WaitFor(t, "the list back in Redis", func() bool {
				return srv.Command(t, "HEXISTS", hashKey, "jti:leaked-jti-1") == ":1" && srv.Command(t, "HEXISTS", hashKey, "sub:alice-sub") == ":1"
			})
			for name, r := range map[string]*replica{"a": a, "b": b, "c": c} {
				testredis.WaitFor(t, name+" refusing every revoked token", func() bool { return revoked(r) })
			}
			if d := startReplica(t, srv.Addr); !revoked(d) {
				t.Error("a replica started after the restore passes a revoked token")
			}
			if got := a.restores(t) + b.restores(t) + c.restores(t); got != 1 {
				t.Errorf("portcullis_state_hash_restores_total{hash=\"revocations\"} = %v over the replicas; want 1 (one replica writes the list back)", got)
			}
			var warned []string
			for _, r := range []*replica{a, b, c} {
				warned = append(warned, r.warnings()...)
				if s := r.log.String(); strings.Contains(s, "leaked-jti") || strings.Contains(s, "alice-sub") {
					t.Errorf("a log names a revoked token or subject:\n%s", s)
				}
			}
			if len(warned) != 1 {
				t.Errorf("%d warnings name %s; want 1, from the replica that wrote it back:\n%s", len(warned), hashKey, strings.Join(warned, "\n"))
			}

			// Reinstated after the restore: every replica lets the token
			// through, and a later full read (subscriptions cut: every
			// replica reads the list again) brings nothing back.
			if err := b.list.Reinstate(ctx, Entry{JTI: "leaked-jti-1"}); err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string]*replica{"a": a, "b": b, "c": c} {
				testredis.WaitFor(t, name+" letting the reinstated token through", func() bool { return !r.list.Revoked("leaked-jti-1", "", "") })
			}
			readsBefore := []int64{a.reads.Load(), b.reads.Load(), c.reads.Load()}
			srv.Command(t, "CLIENT", "KILL", "TYPE", "pubsub")
			for i, r := range []*replica{a, b, c} {
				testredis.WaitFor(t, "a full read after the subscription was cut", func() bool { return r.reads.Load() > readsBefore[i] })
				if r.list.Revoked("leaked-jti-1", "", "") || !r.list.Revoked("", "alice-sub", "1") {
					t.Errorf("replica %d after a full read: reinstated token refused %v, revoked subject refused %v; want false, true", i, r.list.Revoked("leaked-jti-1", "", ""), r.list.Revoked("", "alice-sub", "1"))
				}
			}
			if got := srv.Command(t, "HEXISTS", hashKey, "jti:leaked-jti-1"); got != ":0" {
				t.Errorf("the reinstated jti is in Redis again (HEXISTS %s)", got)
			}
		})
	}
}

// TestFirstStartWithEmptyRedis: replicas started on an empty Redis write
// nothing (an absent hash they hold nothing of is no loss), pass every
// token, and the first revocation is no restore: nothing is counted or
// warned, and the hash ends up marked as complete, so that a later loss is
// noticed.
func TestFirstStartWithEmptyRedis(t *testing.T) {
	srv := testredis.Start(t)
	a, b := startReplica(t, srv.Addr), startReplica(t, srv.Addr)
	if a.list.Revoked("any", "anyone", "1") || b.list.Revoked("any", "anyone", "1") {
		t.Fatal("a token is refused by a list nobody revoked anything in")
	}
	if got := srv.Command(t, "EXISTS", hashKey); got != ":0" {
		t.Errorf("starting replicas wrote the hash (EXISTS %s); want nothing written", got)
	}
	if err := b.list.Revoke(context.Background(), Entry{JTI: "first"}); err != nil {
		t.Fatal(err)
	}
	testredis.WaitFor(t, "the first revocation on both", func() bool { return a.list.Revoked("first", "", "") && b.list.Revoked("first", "", "") })
	testredis.WaitFor(t, "the hash marked", func() bool { return srv.Command(t, "HEXISTS", hashKey, "meta:created") == ":1" })
	if got := a.restores(t) + b.restores(t); got != 0 {
		t.Errorf("portcullis_state_hash_restores_total = %v after a first revocation; want 0", got)
	}
	if w := append(a.warnings(), b.warnings()...); len(w) != 0 {
		t.Errorf("warnings after a first revocation:\n%s", strings.Join(w, "\n"))
	}
}

// TestIDWithNULReachesEveryReplica: a jti or sub may hold any character a
// JSON string can, NUL too; its revocation reaches the other replicas as
// that ID. Before, the change message was split at the ID's NUL, so the
// other replicas revoked its first part instead until their next full read.
func TestIDWithNULReachesEveryReplica(t *testing.T) {
	srv := testredis.Start(t)
	a, b := startReplica(t, srv.Addr), startReplica(t, srv.Addr)
	before := time.Now().Add(time.Hour)
	for _, e := range []Entry{{JTI: "x\x00y"}, {Sub: "alice\x00bob", Before: before}} {
		if err := a.list.Revoke(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	iat := strconv.FormatInt(time.Now().Unix(), 10)
	testredis.WaitFor(t, "both revocations on the other replica", func() bool {
		return b.list.Revoked("x\x00y", "", "") && b.list.Revoked("", "alice\x00bob", iat)
	})
	if b.list.Revoked("x", "", "") || b.list.Revoked("", "alice", iat) {
		t.Error("the other replica revoked the part of an ID before its NUL")
	}
	if got := b.list.Entries(); len(got) != 2 {
		t.Errorf("the other replica's entries: %+v; want the two revoked", got)
	}
}
