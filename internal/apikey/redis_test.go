package apikey

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/state"
	"github.com/portcullis/portcullis/internal/testredis"
)

// planConfig's plan has a throttle and a quota: three tokens (one back
// every 1000 s, so none during the test) and two requests a day.
const planConfig = `listen: 127.0.0.1:0
api_keys: {source: HEADER, keys_file: keys.yaml}
usage_plans:
  both: {throttle: {rate: 0.001, burst: 3}, quota: {limit: 2, period: DAY}}
routes:
  - {route: GET /x, api_key_required: true, integration: {type: mock}}
`

// TestCheckPlanBothLimits: a plan with a throttle and a quota answers the
// same in process and in
// Redis (one server and a Cluster): the quota refuses the third request (which spent a token), the
// throttle the fourth and fifth, which are not counted; each has its
// Retry-After. In Redis every check is one command: N checks, N commands.
func TestCheckPlanBothLimits(t *testing.T) {
	for _, backend := range []string{"memory", "redis", "cluster"} {
		t.Run(backend, func(t *testing.T) {
			f := writeConfig(t, planConfig)
			yes := true
			value, warm := "erin-key-0123456789abcdefg", "warm-key-0123456789abcdefg"
			for _, e := range []FileEntry{{Name: "erin", Hash: Hash(value), Plan: "both", Enabled: &yes}, {Name: "warm", Hash: Hash(warm), Plan: "both", Enabled: &yes}} {
				if err := Append(keysPath(f), e); err != nil {
					t.Fatal(err)
				}
			}
			var settings state.Settings
			switch backend {
			case "redis":
				settings.Redis = &state.RedisSettings{Addresses: []string{testredis.Start(t).Addr}, Timeout: 5 * time.Second}
			case "cluster": // the key's bucket and counter share a slot
				settings.Redis = &state.RedisSettings{Addresses: []string{testredis.StartCluster(t).Addr}, Cluster: true, Timeout: 5 * time.Second}
			}
			st, err := state.Open(settings, state.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			counters := state.NewCounters(st)
			s, err := Setup(f, Deps{Counter: counters, Limiter: st})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var commands testredis.Traffic
			if st.Remote() {
				if v := s.Check(ctx, warm); v.Status != 0 || v.Err != nil { // loads the script
					t.Fatalf("warm-up: %+v", v)
				}
				st.Redis().AddHook(&commands)
			}
			want := []string{"", "", ResponseQuotaExceeded, ResponseThrottled, ResponseThrottled}
			for i, typ := range want {
				v := s.Check(ctx, value)
				if v.ResponseType != typ || v.Err != nil || v.Key == nil || v.Key.Name != "erin" {
					t.Fatalf("check %d: %+v; want %q", i+1, v, typ)
				}
				switch typ {
				case "":
					if v.Status != 0 || v.RetryAfter != 0 {
						t.Fatalf("check %d: %+v; want allowed", i+1, v)
					}
				case ResponseQuotaExceeded:
					if v.Status != http.StatusTooManyRequests || v.Body != BodyLimitExceeded || v.RetryAfter <= 0 || v.RetryAfter > 24*time.Hour {
						t.Fatalf("check %d: %+v; want Limit Exceeded until the end of the day", i+1, v)
					}
				case ResponseThrottled:
					if v.Status != http.StatusTooManyRequests || v.Body != BodyTooMany || v.RetryAfter <= 990*time.Second || v.RetryAfter > 1000*time.Second {
						t.Fatalf("check %d: %+v; want Too Many Requests, about 1000 s to wait", i+1, v)
					}
				}
			}
			if st.Remote() {
				if n := commands.Commands.Load(); n != int64(len(want)) {
					t.Errorf("%d plan checks sent %d Redis commands; want %d (one round trip each)", len(want), n, len(want))
				}
			}
			found := false
			for _, u := range s.Usage(ctx) {
				if u.Name == "erin" {
					found = true
					if u.Quota == nil || u.Quota.Used != 3 || u.Quota.Error != "" {
						t.Errorf("erin's quota use %+v; want 3 (the throttled checks are not counted)", u.Quota)
					}
				}
			}
			if !found {
				t.Error("erin is not in Usage")
			}
		})
	}
}
