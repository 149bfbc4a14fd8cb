package apikey

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/state"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		k := Generate()
		if len(k) != GeneratedLength {
			t.Fatalf("len %d", len(k))
		}
		if strings.Trim(k, alphabet) != "" {
			t.Fatalf("%q has characters AWS does not allow", k)
		}
		if seen[k] {
			t.Fatalf("%q twice", k)
		}
		seen[k] = true
	}
	h := Hash("abc")
	if h != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Hash = %s", h)
	}
	if _, err := parseHash(h); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"ba7816bf", "sha256:zz", "sha256:ba7816bf", "md5:" + h[7:]} {
		if _, err := parseHash(bad); err == nil {
			t.Errorf("parseHash(%q) accepted", bad)
		}
	}
}

func TestPeriod(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct{ period, now, start, end string }{
		{PeriodDay, "2026-12-06T11:40:00Z", "2026-12-06T00:00:00Z", "2026-12-07T00:00:00Z"},
		{PeriodDay, "2026-12-06T23:30:00-02:00", "2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"}, // UTC
		{PeriodWeek, "2026-12-06T11:40:00Z", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"},     // a Sunday
		{PeriodWeek, "2026-11-30T00:00:00Z", "2026-11-30T00:00:00Z", "2026-12-07T00:00:00Z"},     // a Monday
		{PeriodMonth, "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"},
		{PeriodMonth, "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"},
	}
	for _, c := range cases {
		s, e := Period(c.period, at(c.now))
		if !s.Equal(at(c.start)) || !e.Equal(at(c.end)) {
			t.Errorf("%s at %s: %s..%s, want %s..%s", c.period, c.now, s, e, c.start, c.end)
		}
	}
}

const stageConfig = `listen: 127.0.0.1:0
api_keys:
  source: HEADER
  keys_file: keys.yaml
usage_plans:
  bronze: {quota: {limit: 2, period: DAY}}
  silver: {quota: {limit: 1000, period: MONTH}}
  gold: {throttle: {rate: 0.001, burst: 1}, quota: {limit: 1000, period: WEEK}}
routes:
  - {route: GET /x, api_key_required: true, integration: {type: mock}}
`

// writeConfig writes the configuration and returns it loaded, with the
// keys file beside it.
func writeConfig(t testing.TB, cfg string) *config.File {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// memoryDeps are in-process counters and limiter on one state.Store, as
// the gateway builds them.
func memoryDeps(t testing.TB) Deps {
	t.Helper()
	st, err := state.Open(state.Settings{}, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return Deps{Counter: state.NewCounters(st), Limiter: st}
}

func keysPath(f *config.File) string { return filepath.Join(filepath.Dir(f.Path), "keys.yaml") }

func TestAppend(t *testing.T) {
	f := writeConfig(t, stageConfig)
	path := keysPath(f)
	yes, no := true, false
	if err := Append(path, FileEntry{Name: "alice", Hash: Hash("alice-key-0123456789abcdef"), Plan: "bronze", Enabled: &yes}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	// A comment and the first entry survive the second append.
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, append([]byte("# issued keys\n"), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Append(path, FileEntry{Name: "bob", Hash: Hash("bob-key-0123456789abcdefgh"), Plan: "silver", Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	if err := Append(path, FileEntry{Name: "bob", Hash: Hash("other"), Plan: "silver", Enabled: &yes}); err == nil || !strings.Contains(err.Error(), "exists already") {
		t.Errorf("duplicate name: %v", err)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), "# issued keys") {
		t.Errorf("comment lost:\n%s", data)
	}
	if strings.Contains(string(data), "alice-key") {
		t.Errorf("the key value is in the file:\n%s", data)
	}
	s, err := Setup(f, memoryDeps(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.keys) != 2 || s.keys[0].Name != "alice" || !s.keys[0].Enabled || s.keys[1].Name != "bob" || s.keys[1].Enabled {
		t.Errorf("keys %+v %+v", s.keys[0], s.keys[1])
	}
}

func TestCheck(t *testing.T) {
	f := writeConfig(t, stageConfig)
	yes, no := true, false
	alice, bob, carol, dave := "alice-key-0123456789abcdef", "bob-key-0123456789abcdefgh", "carol-key-0123456789abcdef", "dave-key-0123456789abcdefg"
	for _, e := range []FileEntry{
		{Name: "alice", Hash: Hash(alice), Plan: "bronze", Enabled: &yes},
		{Name: "bob", Hash: Hash(bob), Plan: "silver", Enabled: &no},
		{Name: "carol", Hash: Hash(carol), Plan: "silver", Enabled: &yes},
		{Name: "dave", Hash: Hash(dave), Plan: "gold", Enabled: &yes},
	} {
		if err := Append(keysPath(f), e); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Setup(f, memoryDeps(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, value string
		status      int
		body, typ   string
		reason, key string
	}{
		{"missing", "", 403, BodyForbidden, ResponseInvalidAPIKey, ReasonMissing, ""},
		{"unknown", "not-a-key-0123456789abcdef", 403, BodyForbidden, ResponseInvalidAPIKey, ReasonInvalid, ""},
		{"hash given as the key", Hash(alice), 403, BodyForbidden, ResponseInvalidAPIKey, ReasonInvalid, ""},
		{"too long", strings.Repeat("a", MaxValueLength+1), 403, BodyForbidden, ResponseInvalidAPIKey, ReasonInvalid, ""},
		{"disabled", bob, 403, BodyForbidden, ResponseInvalidAPIKey, ReasonDisabled, "bob"},
		{"first", alice, 0, "", "", "", "alice"},
		{"second", alice, 0, "", "", "", "alice"},
		{"over the quota", alice, http.StatusTooManyRequests, BodyLimitExceeded, ResponseQuotaExceeded, ReasonQuotaExceeded, "alice"},
		{"another key's quota is its own", carol, 0, "", "", "", "carol"},
		{"within the plan's burst", dave, 0, "", "", "", "dave"},
		{"past the plan's burst", dave, http.StatusTooManyRequests, BodyTooMany, ResponseThrottled, ReasonThrottled, "dave"},
	}
	for _, c := range cases {
		v := s.Check(context.Background(), c.value)
		if v.Status != c.status || v.Body != c.body || v.ResponseType != c.typ || v.Reason != c.reason {
			t.Errorf("%s: %+v", c.name, v)
		}
		name := ""
		if v.Key != nil {
			name = v.Key.Name
		}
		if name != c.key {
			t.Errorf("%s: key %q, want %q", c.name, name, c.key)
		}
		if (v.RetryAfter > 0) != (v.Status == http.StatusTooManyRequests) {
			t.Errorf("%s: Retry-After %v with status %d", c.name, v.RetryAfter, v.Status)
		}
	}
	usage := s.Usage(context.Background())
	if len(usage) != 4 || usage[3].Limit == nil || usage[3].Quota.Used != 1 || usage[0].Quota == nil || usage[0].Quota.Used != 3 || usage[0].Quota.Remaining != 0 || usage[2].Quota.Used != 1 {
		t.Errorf("usage %+v", usage)
	}
}

func TestSetupErrors(t *testing.T) {
	cases := []struct{ name, cfg, keys, want string }{
		{"key required without api_keys", "routes:\n  - {route: GET /x, api_key_required: true, integration: {type: mock}}\n", "", "test.yaml:2:39: routes[0].api_key_required: api_key_required needs an api_keys block"},
		{"plans without api_keys", "usage_plans:\n  a: {quota: {limit: 1, period: DAY}}\n", "", "usage_plans: usage_plans apply to API keys"},
		{"bad source", "api_keys: {source: QUERY, keys_file: keys.yaml}\n", "keys: []\n", `api_keys.source: source "QUERY"`},
		{"no keys file", "api_keys: {source: HEADER}\n", "", "keys_file is required"},
		{"missing keys file", "api_keys: {keys_file: nope.yaml}\n", "", "no such file or directory (`portcullis apikey create -c "},
		{"empty plan", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {}\n", "keys: []\n", "a usage plan needs a throttle, a quota or both"},
		{"bad period", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {quota: {limit: 5, period: YEAR}}\n", "keys: []\n", `test.yaml:3:33: usage_plans.a.quota.period: period "YEAR"`},
		{"zero limit", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {quota: {limit: 0, period: DAY}}\n", "keys: []\n", "limit must be at least 1"},
		{"unknown plan in keys", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {quota: {limit: 5, period: DAY}}\n", "keys:\n  - {name: k, hash: " + Hash("x") + ", plan: b, enabled: true}\n", `plan "b" is not in usage_plans (defined: a)`},
		{"bad hash", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {quota: {limit: 5, period: DAY}}\n", "keys:\n  - {name: k, hash: plain-value, plan: a, enabled: true}\n", `hash must start with "sha256:"`},
		{"enabled missing", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {quota: {limit: 5, period: DAY}}\n", "keys:\n  - {name: k, hash: " + Hash("x") + ", plan: a}\n", "enabled is required"},
		{"same value twice", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {quota: {limit: 5, period: DAY}}\n", "keys:\n  - {name: k, hash: " + Hash("x") + ", plan: a, enabled: true}\n  - {name: l, hash: " + Hash("x") + ", plan: a, enabled: true}\n", `the same key as "k"`},
		{"same name twice", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {quota: {limit: 5, period: DAY}}\n", "keys:\n  - {name: k, hash: " + Hash("x") + ", plan: a, enabled: true}\n  - {name: k, hash: " + Hash("y") + ", plan: a, enabled: true}\n", `name "k" is used twice`},
		{"unknown field in keys", "api_keys: {keys_file: keys.yaml}\nusage_plans:\n  a: {quota: {limit: 5, period: DAY}}\n", "keys:\n  - {name: k, value: x, plan: a, enabled: true}\n", "field value not found"},
		{"authorizer source needs a lambda authorizer", "api_keys: {source: AUTHORIZER, keys_file: keys.yaml}\nroutes:\n  - {route: GET /x, api_key_required: true, integration: {type: mock}}\n", "keys: []\n", "the route needs one"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.keys != "" {
				if err := os.WriteFile(filepath.Join(dir, "keys.yaml"), []byte(c.keys), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f, err := config.Parse(filepath.Join(dir, "test.yaml"), []byte(c.cfg), os.LookupEnv)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Setup(f, Deps{Counter: memoryDeps(t).Counter})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %q", err, c.want)
			}
		})
	}
}
