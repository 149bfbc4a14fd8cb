package server

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/testissuer"
	"github.com/portcullis/portcullis/internal/testredis"
)

// adminDo sends method url with the admin token and a JSON body.
func adminDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const replicaConfig = `listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
admin_token: %[1]s
state:
  redis: {addresses: [%[2]s], timeout: 5s} # the test is about sharing, not timeouts: a loaded machine may take longer than the 50 ms default
revocation: {enabled: true}
api_keys: {source: HEADER, keys_file: %[4]q}
usage_plans:
  bronze: {quota: {limit: 5, period: DAY}}
authorizers:
  users: {type: jwt, issuer: %[3]q, audience: [test-api]}
routes:
  - {route: GET /me, authorizer: users, integration: {type: mock, body: me}}
  - {route: GET /keyed, api_key_required: true, integration: {type: mock, body: keyed}}
`

// startReplicas runs n gateways sharing one Redis, each ready.
func startReplicas(t *testing.T, n int, redisAddr, issuer, keys string) []*running {
	t.Helper()
	var rs []*running
	for range n {
		r := start(t, fmt.Sprintf(replicaConfig, adminToken, redisAddr, issuer, keys))
		eventually(t, "ready", func() bool { code, _ := get(t, r.admin+"/readyz"); return code == 200 })
		rs = append(rs, r)
	}
	return rs
}

// revoke posts body to /revocations until it is taken (201): a loaded
// machine may let the first call to Redis outlast the state timeout.
func revoke(t *testing.T, adminURL, body string) {
	t.Helper()
	eventually(t, "POST /revocations "+body+" taken", func() bool {
		code, _ := adminDo(t, "POST", adminURL+"/revocations", body)
		return code == http.StatusCreated
	})
}

// refusedEverywhere waits until every replica refuses tok (hang guard, not
// a speed limit) and returns how long the last one took after since.
func refusedEverywhere(t *testing.T, rs []*running, tok string, since time.Time) time.Duration {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last time.Duration
	for i, r := range rs {
		wg.Go(func() {
			deadline := time.Now().Add(hangGuard)
			for {
				code, _ := get(t, r.base+"/me", "Authorization", "Bearer "+tok)
				if code == http.StatusUnauthorized {
					mu.Lock()
					last = max(last, time.Since(since))
					mu.Unlock()
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("replica %d still answers %d for a revoked token", i, code)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	return last
}

// TestReplicasShareRevocationsAndQuotas: three gateways sharing one real
// Redis. A token revoked through one replica's admin API is refused by all
// three (pushed by pub/sub, not polled: the lists are read once, at the
// start); a key's quota is one count across them; with Redis killed each
// replica keeps its copy of the list, and once Redis is back (empty) the
// copy is written back and new revocations reach every replica again.
func TestReplicasShareRevocationsAndQuotas(t *testing.T) {
	redis := testredis.Start(t)
	iss := testissuer.New(t)
	keys := filepath.Join(t.TempDir(), "keys.yaml")
	value := apikey.Generate()
	yes := true
	if err := apikey.Append(keys, apikey.FileEntry{Name: "client", Hash: apikey.Hash(value), Plan: "bronze", Enabled: &yes}); err != nil {
		t.Fatal(err)
	}
	rs := startReplicas(t, 3, redis.Addr, iss.URL, keys)
	leaked := iss.Mint(t, "k1", map[string]any{"jti": "leaked-1"})
	other := iss.Mint(t, "k1", map[string]any{"jti": "fine-1"})
	for i, r := range rs {
		if code, body := get(t, r.base+"/me", "Authorization", "Bearer "+leaked); code != 200 {
			t.Fatalf("replica %d before the revocation: %d %s", i, code, body)
		}
	}

	// Revoke through replica 0; all three refuse.
	at := time.Now()
	revoke(t, rs[0].admin, `{"jti":"leaked-1"}`)
	took := refusedEverywhere(t, rs, leaked, at)
	t.Logf("the revoked token was refused by all three replicas %v after the revoke", took)
	for i, r := range rs {
		if code, _ := get(t, r.base+"/me", "Authorization", "Bearer "+other); code != 200 {
			t.Errorf("replica %d refuses a token that was not revoked: %d", i, code)
		}
		code, body := adminDo(t, "GET", r.admin+"/revocations", "")
		if code != 200 || !strings.Contains(body, `"jti":"leaked-1"`) {
			t.Errorf("replica %d GET /revocations: %d %s", i, code, body)
		}
	}

	// One quota across the replicas: 5 of 9 requests pass.
	passed, limited := 0, 0
	for i := range 9 {
		code, body := get(t, rs[i%3].base+"/keyed", "X-Api-Key", value)
		switch code {
		case 200:
			passed++
		case 429:
			limited++
			if body != apikey.BodyLimitExceeded {
				t.Errorf("429 body %s", body)
			}
		default:
			t.Errorf("request %d: %d %s", i, code, body)
		}
	}
	if passed != 5 || limited != 4 {
		t.Errorf("%d passed and %d were limited; want 5 and 4 (one quota of 5 across the replicas)", passed, limited)
	}
	if code, body := adminDo(t, "GET", rs[2].admin+"/apikeys", ""); code != 200 || !strings.Contains(body, `"used":9`) || !strings.Contains(body, `"name":"client"`) || strings.Contains(body, value) {
		t.Errorf("GET /apikeys: %d %s", code, body)
	}

	// Redis down: the copy stays in force, and revocation needs no Redis.
	redis.Kill()
	for i, r := range rs {
		if code, _ := get(t, r.base+"/me", "Authorization", "Bearer "+leaked); code != http.StatusUnauthorized {
			t.Errorf("replica %d with Redis down lets the revoked token through: %d", i, code)
		}
		if code, _ := get(t, r.base+"/me", "Authorization", "Bearer "+other); code != 200 {
			t.Errorf("replica %d with Redis down refuses a good token: %d", i, code)
		}
	}
	if code, body := adminDo(t, "POST", rs[1].admin+"/revocations", `{"jti":"during-outage"}`); code != http.StatusServiceUnavailable {
		t.Errorf("POST /revocations with Redis down: %d %s, want 503", code, body)
	}

	// Redis back, empty: the list is written back, and a new revocation
	// reaches every replica.
	redis.Restart(t)
	eventually(t, "the list written back to Redis", func() bool {
		return redis.Command(t, "HEXISTS", "portcullis:revocations", "jti:leaked-1") == ":1"
	})
	second := iss.Mint(t, "k1", map[string]any{"jti": "leaked-2"})
	at = time.Now()
	revoke(t, rs[1].admin, `{"jti":"leaked-2"}`)
	refusedEverywhere(t, rs, second, at)
	for i, r := range rs {
		if code, _ := get(t, r.base+"/me", "Authorization", "Bearer "+leaked); code != http.StatusUnauthorized {
			t.Errorf("replica %d forgot the first revocation after Redis came back: %d", i, code)
		}
	}

	// Reinstating through one replica reaches all.
	if code, body := adminDo(t, "DELETE", rs[2].admin+"/revocations?jti=leaked-1", ""); code != 200 {
		t.Fatalf("DELETE /revocations: %d %s", code, body)
	}
	for i, r := range rs {
		eventually(t, fmt.Sprintf("replica %d letting the reinstated token through", i), func() bool {
			code, _ := get(t, r.base+"/me", "Authorization", "Bearer "+leaked)
			return code == 200
		})
	}
}
