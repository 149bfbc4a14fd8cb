package main

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The reference rounds and the multi-core runs: what makes the report's
// ratios. nginx, the bare stack (bench/barestack: net/http and the backend
// clients portcullis could use, without portcullis's code), the gateway's
// public http_proxy route (1.proxy) and its cached-JWT route (2.peak) run in
// rounds, one run of each per round, so that a slow moment of the machine
// falls on every target alike; each keeps the run with its median CPU per
// request. Then nginx and the cached-JWT route run unpinned on two cores
// with one and with two of them in use.

var (
	flagStack     = flag.Bool("stack", true, "run the bare-stack reference rows (stack.*) in the reference rounds")
	flagCores     = flag.Bool("cores", true, "run the multi-core scaling rows (cores.*)")
	flagCoresCPUs = flag.String("cores-cpus", "0,1", "CPU list shared by server, backend and wrk in the multi-core runs (two CPUs)")
)

// stackRows are the bare-stack reference rows, one per bench/barestack
// -mode, listening on consecutive ports from -port+2.
var stackRows = []struct{ mode, what string }{
	{"floor", "net/http server floor: the backend's answer from memory, no backend call"},
	{"http-transport", "net/http server + httputil.ReverseProxy + net/http.Transport tuned for keep-alive"},
	{"proxy-transport", "net/http server + httputil.ReverseProxy + internal/proxy's Transport"},
	{"proxy-serve", "net/http server + internal/proxy's Proxy.Serve (relay and Transport), as http_proxy runs"},
	{"fasthttp-client", "net/http server + fasthttp HostClient as the backend client"},
	{"fasthttp", "fasthttp server and HostClient end to end"},
}

// ownWorkStack is the bare-stack row that runs what portcullis's http_proxy
// runs (internal/proxy's Proxy.Serve: its relay and Transport) under
// net/http's server: what the gateway costs over it is its own work.
// Change it with the gateway's proxy.
const ownWorkStack = "stack.proxy-serve"

// roundTarget is one target of the reference rounds.
type roundTarget struct {
	id, scenario, target string
	addr, path, auth     string
	sumTree              bool // nginx: master and worker are the server
	// start starts the target; a kept target runs through every round,
	// the others (portcullis) are started fresh for each run.
	start func() (*proc, error)
	keep  bool
}

// referenceRounds runs nginx, the bare-stack rows (unless -stack=false or
// -only leaves them out), 1.proxy (config s1) and 2.peak (config s2, token
// fixed) in -runs interleaved rounds and keeps each one's median run.
func (e *env) referenceRounds(s1, s2, fixed string, warm func(addr, path, auth string)) error {
	var targets []roundTarget
	targets = append(targets, roundTarget{id: "nginx", scenario: "baseline: nginx proxy_pass, keepalive upstream", target: "nginx",
		addr: e.nginxAddr, path: "/hello", auth: "-", sumTree: true, start: e.nginx, keep: true})
	if *flagStack {
		for i, row := range stackRows {
			if !want("stack." + row.mode) {
				continue
			}
			addr := fmt.Sprintf("127.0.0.1:%d", *flagBasePort+2+i)
			targets = append(targets, roundTarget{id: "stack." + row.mode, scenario: "bare stack: " + row.what, target: "barestack",
				addr: addr, path: "/hello", auth: "-", start: func() (*proc, error) { return e.barestack(row.mode, addr) }, keep: true})
		}
	}
	if want("1.proxy") {
		targets = append(targets, roundTarget{id: "1.proxy", scenario: "1: no authorizer, http_proxy", target: "portcullis",
			addr: e.gwAddr, path: "/proxy", auth: "-", start: func() (*proc, error) { return e.gateway("s1", s1) }})
	}
	if want("2.peak") {
		targets = append(targets, roundTarget{id: "2.peak", scenario: "2: JWT RS256, one token (cache warm)", target: "portcullis",
			addr: e.gwAddr, path: "/jwt", auth: fixed, start: func() (*proc, error) { return e.gateway("s2", s2) }})
	}
	kept := map[string]*proc{}
	defer func() {
		for _, p := range kept {
			p.stop()
		}
	}()
	runs := map[string][]*Result{}
	rps := map[string][]float64{} // per round
	for round := range max(*flagRuns, 1) {
		for _, t := range targets {
			p := kept[t.id]
			if p == nil {
				var err error
				if p, err = t.start(); err != nil {
					return fmt.Errorf("%s: %w", t.id, err)
				}
				if t.keep {
					kept[t.id] = p
				}
			}
			if round == 0 || !t.keep {
				warm(t.addr, t.path, t.auth)
			}
			_, err := e.measure(t.id, t.scenario, t.target, t.addr, p.pid(), t.sumTree, load{path: t.path, auth: t.auth, conns: *flagConns, dur: *flagDur})
			if !t.keep {
				p.stop()
			}
			if err != nil {
				return err
			}
			if r := e.take(t.id); r != nil {
				runs[t.id] = append(runs[t.id], r)
				rps[t.id] = append(rps[t.id], r.RPS)
			}
		}
	}
	for _, t := range targets {
		e.keepMedian(runs[t.id])
		if r := e.find(t.id); r != nil && t.id != "nginx" {
			r.VsNginxRound = sameRoundRatio(r, rps[t.id], rps["nginx"])
		}
	}
	return nil
}

// sameRoundRatio is the median over rounds of req/s ÷ nginx's req/s in the
// same round (0 when nginx has none), noted on r: a slow moment of a shared
// machine slows the runs of one round alike, so the ratio varies less than
// either rate.
func sameRoundRatio(r *Result, rps, nginx []float64) float64 {
	var ratios []float64
	for i := range min(len(rps), len(nginx)) {
		if nginx[i] > 0 {
			ratios = append(ratios, rps[i]/nginx[i])
		}
	}
	if len(ratios) == 0 {
		return 0
	}
	each := make([]string, len(ratios))
	for i, v := range ratios {
		each[i] = fmt.Sprintf("%.2f", v)
	}
	slices.Sort(ratios)
	if len(ratios) > 1 {
		r.Note += "; × nginx per round " + strings.Join(each, " / ")
	}
	return ratios[(len(ratios)-1)/2]
}

// barestack starts bench/barestack in mode on addr, pinned like the server
// under test.
func (e *env) barestack(mode, addr string) (*proc, error) {
	p, err := start("barestack", pin(*flagSrvCPU, e.barestackBn, "-mode", mode, "-listen", addr, "-backend", e.backendAddr,
		"-idle", strconv.Itoa(max(256, *flagConns))), nil)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP("http://"+addr+"/hello", 200); err != nil {
		p.stop()
		return nil, fmt.Errorf("barestack -mode %s: %w", mode, err)
	}
	return p, nil
}

// Scaling is one target's req/s on one core and on two (cores.*).
type Scaling struct {
	Target  string  `json:"target"`
	OneRPS  float64 `json:"rps_1"`
	TwoRPS  float64 `json:"rps_2"`
	Ratio   float64 `json:"ratio"`
	Setting string  `json:"setting"` // what 1 and 2 are: GOMAXPROCS, worker_processes
}

// coresRuns measures nginx (worker_processes 1 and 2) and the cached-JWT
// route (GOMAXPROCS 1 and 2) with the server, a backend of their own and wrk
// all sharing -cores-cpus, and reports each one's scaling.
func (e *env) coresRuns(fixed string, warm func(addr, path, auth string)) error {
	if !*flagCores || !want("cores") {
		return nil
	}
	cpus := *flagCoresCPUs
	shared := func(argv ...string) []string { return pin(cpus, argv...) }
	backendAddr := fmt.Sprintf("127.0.0.1:%d", *flagBasePort+7)
	// A backend of its own, on the shared CPUs: the pinned one would be
	// the bottleneck, and Go sizes GOMAXPROCS from the affinity at start.
	backend, err := start("backend", shared(e.backend, "-listen", backendAddr), nil)
	if err != nil {
		return err
	}
	defer backend.stop()
	if err := waitHTTP("http://"+backendAddr+"/", 200); err != nil {
		return err
	}
	s2 := "authorizers:\n" + e.jwtAuthorizer("rs", "RS256", "") + "routes:\n" + proxyRouteTo("GET /jwt", "rs", backendAddr)
	l := load{conns: *flagConns, dur: *flagDur, cpus: cpus, backend: backend}
	rps := map[string]float64{}
	for _, n := range []int{1, 2} {
		for _, t := range []struct {
			id, scenario, target, addr, path, auth string
			sumTree                                bool
			start                                  func() (*proc, error)
		}{
			{fmt.Sprintf("cores.nginx-%d", n), fmt.Sprintf("cores: nginx, worker_processes %d, unpinned on CPUs %s", n, cpus), "nginx",
				e.nginxAddr, "/hello", "-", true, func() (*proc, error) { return e.startNginx(backendAddr, n, shared) }},
			{fmt.Sprintf("cores.2.peak-%d", n), fmt.Sprintf("cores: 2.peak (JWT RS256 cached), GOMAXPROCS %d, unpinned on CPUs %s", n, cpus), "portcullis",
				e.gwAddr, "/jwt", fixed, false, func() (*proc, error) {
					return e.startGateway("cores", s2, func(argv ...string) []string {
						return shared(append([]string{"env", "GOMAXPROCS=" + strconv.Itoa(n)}, argv...)...)
					})
				}},
		} {
			p, err := t.start()
			if err != nil {
				return fmt.Errorf("%s: %w", t.id, err)
			}
			if *flagDur >= 5*time.Second {
				_, _ = e.wrk(t.addr, load{path: t.path, auth: t.auth, conns: *flagConns, dur: time.Second, cpus: cpus})
			}
			l.path, l.auth = t.path, t.auth
			r, err := e.measure(t.id, t.scenario, t.target, t.addr, p.pid(), t.sumTree, l)
			p.stop()
			if err != nil {
				return err
			}
			r.Note = fmt.Sprintf("unpinned: server, its backend and wrk share CPUs %s", cpus)
			rps[t.id] = r.RPS
		}
	}
	for _, s := range []struct{ target, id, setting string }{
		{"nginx", "cores.nginx-", "worker_processes"},
		{"portcullis 2.peak (JWT cached)", "cores.2.peak-", "GOMAXPROCS"},
	} {
		one, two := rps[s.id+"1"], rps[s.id+"2"]
		sc := Scaling{Target: s.target, OneRPS: one, TwoRPS: two, Setting: s.setting}
		if one > 0 {
			sc.Ratio = two / one
		}
		e.report.Scaling = append(e.report.Scaling, sc)
	}
	return nil
}

// scalingLines lists the multi-core scaling ratios, if they were measured.
func scalingLines(rep *Report) string {
	if len(rep.Scaling) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nMulti-core scaling (server, backend and wrk unpinned on CPUs %s; 2-core req/s ÷ 1-core req/s):\n", *flagCoresCPUs)
	for _, s := range rep.Scaling {
		fmt.Fprintf(&b, "- %s: %s 1 %.0f req/s, %s 2 %.0f req/s: %.2f×\n", s.Target, s.Setting, s.OneRPS, s.Setting, s.TwoRPS, s.Ratio)
	}
	return b.String()
}

// ratioTable is the run seen as ratios: nginx, the bare-stack rows and the
// gateway's routes as × nginx req/s and server CPU µs per request, then the
// gateway's own work over its stack. Empty when nothing beside nginx ran.
// The req/s and CPU are the run kept (median CPU/request); × nginx is the
// median same-round ratio for the reference rounds' rows (3.RS256: the
// kept runs' ratio).
func ratioTable(rep *Report) string {
	byID := map[string]*Result{}
	for _, r := range rep.Results {
		byID[r.ID] = r
	}
	ids := []string{"nginx"}
	for _, row := range stackRows {
		ids = append(ids, "stack."+row.mode)
	}
	ids = append(ids, "1.proxy", "2.peak", "3.RS256")
	var b strings.Builder
	b.WriteString("| row | what | req/s (run kept) | × nginx req/s (median same-round ratio) | server CPU µs/request (run kept) | errors |\n|---|---|---:|---:|---:|---:|\n")
	rows := 0
	for _, id := range ids {
		r := byID[id]
		if r == nil {
			continue
		}
		ratio := "—"
		if r.VsNginx > 0 {
			ratio = fmt.Sprintf("%.2f", r.VsNginx)
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %.1f | %d |\n", id, r.Scenario, r.RPS, ratio, r.CPUusPerReq, r.Errors)
		rows++
	}
	if rows < 2 {
		return ""
	}
	if p1, st := byID["1.proxy"], byID[ownWorkStack]; p1 != nil && st != nil {
		fmt.Fprintf(&b, "\nThe gateway's own work over its stack: %.1f µs/request (1.proxy %.1f − %s %.1f, the bare stack running the proxy code portcullis runs)\n",
			p1.CPUusPerReq-st.CPUusPerReq, p1.CPUusPerReq, ownWorkStack, st.CPUusPerReq)
	}
	return b.String()
}
