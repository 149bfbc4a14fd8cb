package main

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/nginxconf"
)

// ---------------------------------------------------------------- targets under test

func (e *env) nginx() (*proc, error) {
	return e.startNginx(e.backendAddr, 1, pinnedToServer)
}

// launcher turns a program's argv into the argv that starts it where and
// how a run wants it (pinned with taskset, with an environment); the
// program must be exec'd in place, so the started pid is the program's.
type launcher func(argv ...string) []string

// pinnedToServer runs a program on -server-cpu.
func pinnedToServer(argv ...string) []string { return pin(*flagSrvCPU, argv...) }

// startNginx runs nginx with workers worker processes, proxy_pass to
// backend with a keepalive upstream, listening on e.nginxAddr.
func (e *env) startNginx(backend string, workers int, launch launcher) (*proc, error) {
	dir := filepath.Join(e.tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cf, err := nginxconf.Write(dir, 4096, fmt.Sprintf(`  keepalive_requests 100000;
  upstream backend {
    server %s;
    keepalive 64;
  }
  server {
    listen %s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
`, backend, e.nginxAddr))
	if err != nil {
		return nil, err
	}
	if err := setWorkerProcesses(cf, workers); err != nil {
		return nil, err
	}
	p, err := start("nginx", launch("nginx", "-c", cf, "-p", dir, "-e", filepath.Join(dir, "error.log")), nil)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP("http://"+e.nginxAddr+"/", 200); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// setWorkerProcesses rewrites the "worker_processes 1;" nginxconf.Write
// writes to n.
func setWorkerProcesses(conf string, n int) error {
	b, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	const one = "\nworker_processes 1;\n"
	if !strings.Contains(string(b), one) {
		return fmt.Errorf("%s: no %q line to change", conf, strings.TrimSpace(one))
	}
	text := strings.Replace(string(b), one, fmt.Sprintf("\nworker_processes %d;\n", n), 1)
	return os.WriteFile(conf, []byte(text), 0o644)
}

// gateway writes the configuration and starts portcullis serve with its
// access log (JSON on stderr, level info: logging is on) sent to /dev/null.
func (e *env) gateway(name, body string) (*proc, error) {
	return e.startGateway(name, body, pinnedToServer)
}

// startGateway is gateway, started by launch. Its shutdown_delay is 0: no
// load balancer needs telling, and the harness stops a gateway after
// every scenario (each reference-round run: the default 5 s would add up).
func (e *env) startGateway(name, body string, launch launcher) (*proc, error) {
	conf := fmt.Sprintf("listen: %s\nadmin_listen: %s\nserver: {shutdown_delay: 0s}\n%s", e.gwAddr, e.adminAddr, body)
	cf := filepath.Join(e.tmp, "portcullis-"+name+".yaml")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := start("portcullis", launch(e.portcullis, "serve", "-c", cf), nil)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP("http://"+e.adminAddr+"/readyz", 200); err != nil {
		p.stop()
		out, _ := exec.Command(e.portcullis, "check", "-c", cf).CombinedOutput()
		return nil, fmt.Errorf("%w\nportcullis check -c %s:\n%s", err, cf, out)
	}
	return p, nil
}

func (e *env) jwtAuthorizer(name, alg string, extra string) string {
	return fmt.Sprintf("  %s: {type: jwt, issuer: %q, audience: [%s], jwks_file: %s%s}\n",
		name, issuer, audience, filepath.Join(e.keys[alg], "jwks.json"), extra)
}

func (e *env) proxyRoute(route, authorizer string) string {
	return proxyRouteTo(route, authorizer, e.backendAddr)
}

// proxyRouteTo is one routes: entry, an http_proxy integration to
// backend's /hello behind authorizer ("": none).
func proxyRouteTo(route, authorizer, backend string) string {
	a := ""
	if authorizer != "" {
		a = "\n    authorizer: " + authorizer
	}
	return fmt.Sprintf("  - route: %s%s\n    integration: {type: http_proxy, uri: \"http://%s/hello\"}\n", route, a, backend)
}

// ---------------------------------------------------------------- scenarios

func (e *env) scenarios() error {
	d, c := *flagDur, *flagConns
	warm := func(addr, path, auth string) {
		if d >= 5*time.Second {
			_, _ = e.wrk(addr, load{path: path, auth: auth, conns: c, dur: time.Second})
		}
	}
	// Baselines.
	warm(e.backendAddr, "/hello", "-")
	if _, err := e.measure("direct", "baseline: backend directly", "backend", e.backendAddr, e.backendProc.pid(), false, load{path: "/hello", auth: "-", conns: c, dur: d}); err != nil {
		return err
	}
	gwRun := func(id, scenario, name, conf string, loads ...func(p *proc) error) error {
		if !want(id) {
			return nil
		}
		p, err := e.gateway(name, conf)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		defer p.stop()
		for _, l := range loads {
			if err := l(p); err != nil {
				return err
			}
		}
		return nil
	}
	m := func(id, scenario, path, auth string, l load, warmup bool) func(p *proc) error {
		return func(p *proc) error {
			if warmup {
				warm(e.gwAddr, path, auth)
			}
			l.path, l.auth = path, auth
			_, err := e.measure(id, scenario, "portcullis", e.gwAddr, p.pid(), false, l)
			return err
		}
	}

	s1 := "routes:\n" + e.proxyRoute("GET /proxy", "") + "  - route: GET /mock\n    integration: {type: mock, body: \"hello from the mock\\n\"}\n"
	tok2, err := os.ReadFile(e.token2)
	if err != nil {
		return err
	}
	fixed := "fixed:" + strings.TrimSpace(string(tok2))
	s2 := "authorizers:\n" + e.jwtAuthorizer("rs", "RS256", "") + "routes:\n" + e.proxyRoute("GET /jwt", "rs")

	// nginx, the bare-stack reference rows, 1.proxy and 2.peak: the runs
	// the ratios compare, interleaved (stack.go).
	if err := e.referenceRounds(s1, s2, fixed, warm); err != nil {
		return err
	}

	// 1: no authorizer (1.proxy ran in the reference rounds).
	if err := gwRun("1", "", "s1", s1,
		m("1.mock", "1: no authorizer, mock integration", "/mock", "-", load{conns: c, dur: d}, true),
		m("1.proxy-c1", "1: no authorizer, http_proxy, 1 connection (reference for 4)", "/proxy", "-", load{conns: 1, dur: d / 2}, true),
	); err != nil {
		return err
	}

	// 2: JWT RS256, one token repeated (2.peak ran in the reference
	// rounds); half its peak rate here.
	if err := gwRun("2", "", "s2", s2,
		func(p *proc) error {
			// Half the peak rate, open loop (openloop.go); the direct
			// backend at the same rate, for the added p99.
			peak := e.find("2.peak")
			if peak == nil || peak.RPS == 0 {
				return nil
			}
			rate := math.Round(peak.RPS / 2)
			warm(e.gwAddr, "/jwt", fixed) // a fresh gateway: its token cache is empty
			r, err := e.measure("2.half", fmt.Sprintf("2: JWT RS256 cached, open loop at half the peak (%.0f req/s)", rate), "portcullis", e.gwAddr, p.pid(), false,
				load{path: "/jwt", auth: fixed, dur: d, rate: rate})
			if err != nil {
				return err
			}
			r.Note = fmt.Sprintf("open loop: %.0f req/s at a constant rate (vegeta)", rate)
			rd, err := e.measure("direct.half", "baseline: backend directly, same rate as 2.half", "backend", e.backendAddr, e.backendProc.pid(), false,
				load{path: "/hello", auth: "-", dur: d, rate: rate})
			if err != nil {
				return err
			}
			rd.Note = r.Note
			return nil
		},
	); err != nil {
		return err
	}

	// 3: a distinct token on every request (verify path cold). Each
	// algorithm runs -runs times (see 2.peak), each with a fresh gateway:
	// its cache is empty, so the same tokens are misses again.
	for _, a := range algs {
		s3 := "authorizers:\n" + e.jwtAuthorizer("k", a.alg, "") + "routes:\n" + e.proxyRoute("GET /jwt", "k")
		id := "3." + a.alg
		var runs []*Result
		for i := range max(*flagRuns, 1) {
			if err := gwRun(id, "", fmt.Sprintf("s3-%s-%d", a.alg, i), s3,
				m(id, fmt.Sprintf("3: JWT %s, distinct token per request (%d pre-minted)", a.alg, *flagTokens3), "/jwt", e.tokens3[a.alg],
					load{conns: c, dur: d, limit: *flagTokens3}, false),
			); err != nil {
				return err
			}
			if r := e.take(id); r != nil {
				runs = append(runs, r)
			}
		}
		e.keepMedian(runs)
	}

	// 4: Lambda TOKEN authorizer on the process runtime.
	lam := func(ttl string) string {
		return fmt.Sprintf(`functions:
  authz: {runtime: process, command: [%s], concurrency: 1}
authorizers:
  lam: {type: lambda, function: authz, payload_format_version: "1.0", event_type: TOKEN, identity_source: [method.request.header.Authorization], result_ttl: %s}
routes:
%s`, e.authorizerBn, ttl, e.proxyRoute("GET /lam", "lam"))
	}
	if err := gwRun("4.ttl300", "", "s4-ttl300", lam("300s"),
		m("4.ttl300", "4: Lambda TOKEN authorizer, result_ttl 300s, 1,000 identities", "/lam", e.tokens4, load{conns: c, dur: d}, false),
	); err != nil {
		return err
	}
	if err := gwRun("4.ttl0", "", "s4-ttl0", lam("0s"),
		m("4.ttl0", "4: Lambda TOKEN authorizer, result_ttl 0s (one invocation per request)", "/lam", e.tokens4, load{conns: c, dur: d}, true),
		m("4.ttl0-c1", "4: Lambda, result_ttl 0s, 1 connection (Runtime API round trip)", "/lam", e.tokens4, load{conns: 1, dur: d / 2}, true),
	); err != nil {
		return err
	}

	// 5: a million distinct valid tokens; RSS must stay bounded.
	if want("5") {
		s5 := "authorizers:\n" + e.jwtAuthorizer("hs", "EdDSA", fmt.Sprintf(", hmac_secret: %q, algorithms: [HS256]", hmacKey)) + "routes:\n" + e.proxyRoute("GET /jwt", "hs")
		p, err := e.gateway("s5", s5)
		if err != nil {
			return fmt.Errorf("5: %w", err)
		}
		rssStart := statusKiB(p.pid(), "VmRSS")
		// sample RSS while it runs
		stopSampling := make(chan struct{})
		var samples [][2]float64
		var smu sync.Mutex
		t0 := time.Now()
		go func() {
			tk := time.NewTicker(time.Second)
			defer tk.Stop()
			for {
				select {
				case <-stopSampling:
					return
				case <-tk.C:
					smu.Lock()
					samples = append(samples, [2]float64{math.Round(time.Since(t0).Seconds()), float64(statusKiB(p.pid(), "VmRSS")) / 1024})
					smu.Unlock()
				}
			}
		}()
		r, err := e.measure("5", fmt.Sprintf("5: JWT HS256, %d distinct tokens, peak RSS", *flagTokens5), "portcullis", e.gwAddr, p.pid(), false,
			load{path: "/jwt", auth: e.tokens5, conns: c, dur: *flagS5Max, limit: *flagTokens5})
		close(stopSampling)
		rssEnd := statusKiB(p.pid(), "VmRSS")
		p.stop()
		if err != nil {
			return err
		}
		smu.Lock()
		e.report.Scenario5 = map[string]any{
			"tokens_minted": *flagTokens5, "tokens_sent": r.Requests, "algorithm": "HS256 (hmac_secret)",
			"rss_start_mib": float64(rssStart) / 1024, "rss_end_mib": float64(rssEnd) / 1024,
			"peak_rss_mib": float64(r.PeakRSSKiB) / 1024, "rss_mib_every_second": samples,
			"cache_size": 100000,
		}
		smu.Unlock()
	}
	// 7: the decision API: one cached RS256 token decided for a proxy,
	// over HTTP (Envoy's http_service dialect: GET /envoy/jwt) and over
	// gRPC (ext_authz Check), beside 2.peak's served requests.
	s7 := "decision_api: {listen: " + e.decisionAddr + ", grpc_listen: " + e.decisionGRPCAddr + "}\n" + s2
	if err := gwRun("7", "", "s7", s7,
		func(p *proc) error {
			warm(e.decisionAddr, "/envoy/jwt", fixed)
			_, err := e.measure("7.http", "7: decision API over HTTP, JWT RS256, one token (cache warm)", "portcullis", e.decisionAddr, p.pid(), false,
				load{path: "/envoy/jwt", auth: fixed, conns: c, dur: d})
			return err
		},
		func(p *proc) error {
			_, err := e.measure("7.grpc", "7: decision API over gRPC (ext_authz Check), JWT RS256, one token (cache warm)", "portcullis", e.decisionGRPCAddr, p.pid(), false,
				load{path: "/jwt", auth: fixed, conns: c, dur: d, grpc: true})
			return err
		},
	); err != nil {
		return err
	}
	// 8: one per-user rate limit on 2's cached-token route (a limit so
	// high it never refuses, so every request does the whole check): none,
	// buckets in the process, buckets in Redis (one EVALSHA per request;
	// those of concurrent requests go to Redis as one pipeline).
	if want("8") {
		if err := e.limitScenarios(fixed, d, c, gwRun, m); err != nil {
			return err
		}
	}
	// Multi-core scaling (stack.go).
	if err := e.coresRuns(fixed, warm); err != nil {
		return err
	}
	// 6: function round trips per runtime, and cold starts.
	return e.functionScenarios()
}

// limitScenarios runs scenario 8. Redis runs pinned with the server under
// test, like the backend: its CPU is reported as the server's children's
// would not be, so server_cpu_us_per_req is the gateway's alone.
func (e *env) limitScenarios(token string, d time.Duration, c int,
	gwRun func(id, scenario, name, conf string, loads ...func(p *proc) error) error,
	m func(id, scenario, path, auth string, l load, warmup bool) func(p *proc) error) error {
	redisAddr := fmt.Sprintf("127.0.0.1:%d", *flagBasePort+70)
	_, port, _ := strings.Cut(redisAddr, ":")
	rp, err := start("redis-server", pin(*flagSrvCPU, "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"), nil)
	if err != nil {
		return fmt.Errorf("8: redis-server (apt-get install redis-server): %w", err)
	}
	defer rp.stop()
	base := "authorizers:\n" + e.jwtAuthorizer("rs", "RS256", "") + "routes:\n" + e.proxyRoute("GET /jwt", "rs")
	limit := "rate_limits:\n  - {name: per-user, key: $context.authorizer.claims.sub, rate: 1000000000, burst: 1000000000}\n"
	for _, v := range []struct{ id, what, conf string }{
		{"8.none", "8: JWT RS256 cached, no rate limit (reference for 8.*)", base},
		{"8.memory", "8: JWT RS256 cached, one per-user rate limit in the process", base + limit},
		{"8.redis", "8: JWT RS256 cached, one per-user rate limit in Redis", base + limit + "state: {redis: {addresses: [" + redisAddr + "]}}\n"},
	} {
		if err := gwRun("8", "", "s"+v.id, v.conf, m(v.id, v.what, "/jwt", token, load{conns: c, dur: d}, true)); err != nil {
			return err
		}
	}
	return nil
}

// take removes the last result with id from the report and returns it.
func (e *env) take(id string) *Result {
	rs := e.report.Results
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].ID == id {
			r := rs[i]
			e.report.Results = append(rs[:i], rs[i+1:]...)
			return r
		}
	}
	return nil
}

// keepMedian puts back the run with the median server CPU per request,
// noting every run's figure.
func (e *env) keepMedian(runs []*Result) {
	if len(runs) == 0 {
		return
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b *Result) int { return cmp.Compare(a.CPUusPerReq, b.CPUusPerReq) })
	med := sorted[(len(sorted)-1)/2]
	if len(runs) > 1 {
		var each, rps []string
		for _, r := range runs {
			each = append(each, fmt.Sprintf("%.1f", r.CPUusPerReq))
			rps = append(rps, fmt.Sprintf("%.0f", r.RPS))
			if r.Errors > 0 && med.Errors == 0 {
				med.Errors, med.ErrDetail = r.Errors, r.ErrDetail // an error in any run invalidates the figure
			}
		}
		med.Note = fmt.Sprintf("median of %d runs, CPU µs/req %s, req/s %s", len(runs), strings.Join(each, " / "), strings.Join(rps, " / "))
	}
	e.report.Results = append(e.report.Results, med)
}

func (e *env) find(id string) *Result {
	for _, r := range e.report.Results {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (e *env) ratios() {
	d, n := e.find("direct"), e.find("nginx")
	for _, r := range e.report.Results {
		if r.Rate > 0 || r.Conns != *flagConns || strings.HasPrefix(r.ID, "cores.") {
			continue // open-loop and 1-connection runs are latency runs; cores.* are not pinned as the rest
		}
		if d != nil && d.RPS > 0 {
			r.VsDirect = r.RPS / d.RPS
		}
		if n != nil && n.RPS > 0 {
			r.VsNginx = r.RPS / n.RPS
		}
		if r.VsNginxRound > 0 {
			r.VsNginx = r.VsNginxRound
		}
	}
}
