package revocation

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/state"
	"github.com/portcullis/portcullis/internal/testredis"
)

func started(t *testing.T, store Store) *List {
	t.Helper()
	l := New(store, nil)
	l.Start()
	t.Cleanup(l.Stop)
	return l
}

func TestRevoked(t *testing.T) {
	ctx := context.Background()
	l := started(t, state.NewMemoryHash())
	cut := time.Unix(1_800_000_000, 0)
	if err := l.Revoke(ctx, Entry{JTI: "t1"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Revoke(ctx, Entry{Sub: "alice", Before: cut}); err != nil {
		t.Fatal(err)
	}
	iat := func(sec int64) string { return strconv.FormatInt(sec, 10) }
	cases := []struct {
		name          string
		jti, sub, iat string
		want          bool
	}{
		{"revoked jti", "t1", "bob", iat(1), true},
		{"other jti", "t2", "bob", iat(1), false},
		{"no jti", "", "bob", iat(1), false},
		{"sub issued before", "t3", "alice", iat(1_799_999_999), true},
		{"sub issued at the cut", "t3", "alice", iat(1_800_000_000), false},
		{"sub issued after", "t3", "alice", iat(1_800_000_001), false},
		{"sub with a fractional iat before", "", "alice", "1799999999.5", true},
		{"sub without iat", "t3", "alice", "", true},
		{"sub with an unreadable iat", "t3", "alice", "soon", true},
		{"sub is case-sensitive", "t3", "Alice", iat(1), false},
	}
	for _, c := range cases {
		if got := l.Revoked(c.jti, c.sub, c.iat); got != c.want {
			t.Errorf("%s: Revoked = %v, want %v", c.name, got, c.want)
		}
	}
	if err := l.Reinstate(ctx, Entry{JTI: "t1"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Reinstate(ctx, Entry{Sub: "alice"}); err != nil {
		t.Fatal(err)
	}
	if l.Revoked("t1", "alice", "") {
		t.Error("still revoked after reinstating")
	}
	if e := l.Entries(); len(e) != 0 {
		t.Errorf("entries %v", e)
	}
}

// TestReplicasShareOneStore: every List over one store sees a change at
// once, and a List started later reads what was revoked before it.
func TestReplicasShareOneStore(t *testing.T) {
	store := state.NewMemoryHash()
	a, b := started(t, store), started(t, store)
	if err := a.Revoke(context.Background(), Entry{JTI: "x"}); err != nil {
		t.Fatal(err)
	}
	if !b.Revoked("x", "", "") {
		t.Error("b does not see a's revocation")
	}
	c := started(t, store)
	if !c.Revoked("x", "", "") {
		t.Error("a list started later does not see the revocation")
	}
	if got := c.Entries(); len(got) != 1 || got[0].JTI != "x" {
		t.Errorf("entries %+v", got)
	}
}

func TestValidate(t *testing.T) {
	now := time.Now()
	cases := []struct {
		e    Entry
		want string
	}{
		{Entry{}, "give jti, or sub with before"},
		{Entry{JTI: "a", Sub: "b"}, "not both"},
		{Entry{Sub: "b"}, "sub needs before"},
		{Entry{JTI: "a", Before: now}, "before goes with sub"},
		{Entry{JTI: strings.Repeat("a", MaxIDLength+1)}, "at most"},
		{Entry{JTI: "a"}, ""},
		{Entry{Sub: "b", Before: now}, ""},
	}
	for _, c := range cases {
		err := c.e.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.e, err, c.want)
		}
	}
}

// TestReinstateWhileChecking: reinstating a jti copies only the jti part of
// the list; the subject part stays shared with the copy that requests are
// reading, so it must not be written (a write there races with Revoked and
// can stop the process: concurrent map read and map write). Run with -race.
func TestReinstateWhileChecking(t *testing.T) {
	ctx := context.Background()
	l := started(t, state.NewMemoryHash())
	if err := l.Revoke(ctx, Entry{Sub: "alice", Before: time.Unix(1_800_000_000, 0)}); err != nil {
		t.Fatal(err)
	}
	done, running := make(chan struct{}), make(chan struct{})
	checked := make(chan bool)
	go func() {
		revoked := l.Revoked("", "alice", "1")
		close(running)
		for {
			select {
			case <-done:
				checked <- revoked
				return
			default:
				revoked = revoked && l.Revoked("", "alice", "1")
			}
		}
	}()
	<-running
	for i := range 1000 {
		jti := "t" + strconv.Itoa(i)
		if err := l.Revoke(ctx, Entry{JTI: jti}); err != nil {
			t.Fatal(err)
		}
		if err := l.Reinstate(ctx, Entry{JTI: jti}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if !<-checked {
		t.Error("alice's token passed while jtis were revoked and reinstated")
	}
}

// TestRefusesUntilRead: a replica whose list was never read (it started
// while Redis was down) has no copy to go by, so it refuses every token;
// once Redis answers, the list is read and only revoked tokens are refused.
func TestRefusesUntilRead(t *testing.T) {
	srv := testredis.Start(t)
	writer, err := state.Open(state.Settings{Redis: &state.RedisSettings{Addresses: []string{srv.Addr}, Timeout: 5 * time.Second}}, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writer.Close() })
	if err := started(t, state.NewHash(writer, "revocations", nil)).Revoke(context.Background(), Entry{JTI: "gone"}); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	st, err := state.Open(state.Settings{Redis: &state.RedisSettings{Addresses: []string{srv.Addr}, Timeout: 5 * time.Second}}, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l := started(t, state.NewHash(st, "revocations", nil))
	if l.Loaded() || !l.Revoked("gone", "", "") || !l.Revoked("fine", "", "") {
		t.Fatalf("before the list was read: loaded %v, revoked %v and %v; want not loaded, both refused", l.Loaded(), l.Revoked("gone", "", ""), l.Revoked("fine", "", ""))
	}
	srv.Restart(t)
	if err := started(t, state.NewHash(writer, "revocations", nil)).Revoke(context.Background(), Entry{JTI: "gone"}); err != nil {
		t.Fatal(err) // Redis came back empty (no persistence): write the entry again
	}
	for !l.Loaded() {
		time.Sleep(10 * time.Millisecond) // the watch retries with a backoff of up to a second
	}
	// The watch may have read the list in the moment before the entry was
	// written again; the entry then arrives as a change, so wait for it.
	for !l.Revoked("gone", "", "") {
		time.Sleep(10 * time.Millisecond)
	}
	if l.Revoked("fine", "", "") {
		t.Error("after the list was read a token never revoked is refused; want only the revoked token refused")
	}
}
