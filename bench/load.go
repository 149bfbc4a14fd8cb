package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ---------------------------------------------------------------- wrk

type load struct {
	path  string
	auth  string // "-", "fixed:VALUE" or a token file
	conns int
	dur   time.Duration
	limit int
	rate  float64 // > 0: open loop at this rate (openloop.go) instead of wrk
	grpc  bool    // ext_authz Checks on a gRPC address (decisionload.go) instead of wrk
	cpus  string  // CPU list for wrk; "": -load-cpu
	// backend is the backend process whose CPU is reported; nil: the
	// harness's backend.
	backend *proc
}

type wrkOut struct {
	Requests   int64   `json:"requests"`
	DurationUs int64   `json:"duration_us"`
	ErrConnect int64   `json:"err_connect"`
	ErrRead    int64   `json:"err_read"`
	ErrWrite   int64   `json:"err_write"`
	ErrStatus  int64   `json:"err_status"`
	ErrTimeout int64   `json:"err_timeout"`
	Mean       float64 `json:"lat_mean_us"`
	P50        float64 `json:"p50_us"`
	P75        float64 `json:"p75_us"`
	P90        float64 `json:"p90_us"`
	P99        float64 `json:"p99_us"`
	P999       float64 `json:"p999_us"`
	Wraps      int64   `json:"token_wraps"`
	StoppedUs  int64   `json:"stopped_after_us"`
	cpuS       float64
}

func (e *env) wrk(addr string, l load) (*wrkOut, error) {
	if l.rate > 0 {
		return e.openLoop(addr, l)
	}
	if l.grpc {
		return e.grpcLoad(addr, l)
	}
	sp := filepath.Join(e.tmp, "wrk.lua")
	if err := os.WriteFile(sp, []byte(wrkLua), 0o644); err != nil {
		return nil, err
	}
	secs := int(math.Ceil(l.dur.Seconds()))
	argv := pin(cmp.Or(l.cpus, *flagLoadCPU), "wrk", "-t1", fmt.Sprintf("-c%d", l.conns), fmt.Sprintf("-d%ds", secs),
		"--latency", "--timeout", "5s", "-s", sp, "http://"+addr, "--",
		l.path, l.auth, strconv.Itoa(l.limit))
	ctx, cancel := context.WithTimeout(context.Background(), l.dur+90*time.Second) // token files take a while to load
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("wrk: %v\n%s", err, out.String())
	}
	var w wrkOut
	for _, line := range strings.Split(out.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "WRKJSON "); ok {
			if err := json.Unmarshal([]byte(j), &w); err != nil {
				return nil, fmt.Errorf("wrk output %q: %v", j, err)
			}
			if cmd.ProcessState != nil {
				u := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				w.cpuS = tv(u.Utime) + tv(u.Stime)
			}
			return &w, nil
		}
	}
	return nil, fmt.Errorf("no WRKJSON line in wrk output:\n%s", out.String())
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// measure runs one load against a running server and records CPU and RSS.
// server is the pid whose CPU/RSS is reported; sumTree adds its children to
// it (nginx master + worker), otherwise children are function processes.
func (e *env) measure(id, scenario, target, addr string, server int, sumTree bool, l load) (*Result, error) {
	kids := children(server)
	backend := cmp.Or(l.backend, e.backendProc)
	tick := func() (self, child, back int64) {
		self = cpuTicks(server)
		for _, k := range kids {
			if sumTree {
				self += cpuTicks(k)
			} else {
				child += cpuTicks(k)
			}
		}
		if backend != nil && backend.pid() != server {
			back = cpuTicks(backend.pid())
		}
		return
	}
	var m0 map[string]float64
	isGW := target == "portcullis"
	if isGW {
		m0 = scrape(e.adminAddr)
	}
	s0, c0, b0 := tick()
	busy0 := machineBusyTicks()
	w, err := e.wrk(addr, l)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	s1, c1, b1 := tick()
	busy1 := machineBusyTicks()
	r := &Result{
		ID: id, Scenario: scenario, Target: target, Conns: l.conns, Rate: l.rate,
		Requests: w.Requests, DurationS: float64(w.DurationUs) / 1e6,
		Stopped: w.StoppedUs > 0,
		P50us:   w.P50, P75us: w.P75, P90us: w.P90, P99us: w.P99, P999us: w.P999, MeanUs: w.Mean,
		Errors:      w.ErrConnect + w.ErrRead + w.ErrWrite + w.ErrStatus + w.ErrTimeout,
		TokenWraps:  w.Wraps,
		CPUSelfS:    float64(s1-s0) / userHZ,
		CPUChildS:   float64(c1-c0) / userHZ,
		CPUBackendS: float64(b1-b0) / userHZ,
		CPUWrkS:     w.cpuS,
	}
	r.CPUOtherS = math.Max(0, float64(busy1-busy0)/userHZ-r.CPUSelfS-r.CPUChildS-r.CPUBackendS-r.CPUWrkS)
	if strings.HasPrefix(l.auth, "fixed:") || l.auth == "-" {
		r.TokenWraps = 0
	}
	if r.Errors > 0 {
		r.ErrDetail = map[string]int64{"connect": w.ErrConnect, "read": w.ErrRead, "write": w.ErrWrite, "status>399": w.ErrStatus, "timeout": w.ErrTimeout}
	}
	if w.StoppedUs > 0 {
		r.DurationS = float64(w.StoppedUs) / 1e6
	}
	if r.DurationS > 0 {
		r.RPS = float64(r.Requests) / r.DurationS
	}
	if r.Requests > 0 {
		r.CPUPer10k = r.CPUSelfS / float64(r.Requests) * 1e4
		r.CPUusPerReq = r.CPUSelfS / float64(r.Requests) * 1e6
	}
	r.PeakRSSKiB = statusKiB(server, "VmHWM")
	for _, k := range children(server) {
		if sumTree {
			r.PeakRSSKiB += statusKiB(k, "VmHWM")
		} else {
			r.FuncRSSKiB += statusKiB(k, "VmHWM")
		}
	}
	if isGW {
		r.Metrics = delta(m0, scrape(e.adminAddr))
	}
	e.report.Results = append(e.report.Results, r)
	logf("%-14s %-10s c=%-3d %9.0f req/s  p50 %7.0fµs p90 %7.0fµs p99 %7.0fµs  cpu %6.2fs/10k (%.1fµs/req)  rss %6.1f MiB  err %d  wrk cpu %.1fs/%.1fs  other cpu %.1fs",
		id, target, l.conns, r.RPS, r.P50us, r.P90us, r.P99us, r.CPUPer10k, r.CPUusPerReq, float64(r.PeakRSSKiB)/1024, r.Errors, r.CPUWrkS, r.DurationS, r.CPUOtherS)
	return r, nil
}

// scrape reads the portcullis_ counters from /metrics.
func scrape(admin string) map[string]float64 {
	out := map[string]float64{}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "portcullis_") || strings.Contains(l, "_bucket{") || strings.Contains(l, "duration_seconds") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err == nil {
			out[l[:i]] = v
		}
	}
	return out
}

func delta(a, b map[string]float64) map[string]string {
	out := map[string]string{}
	for k, v := range b {
		if strings.HasSuffix(strings.SplitN(k, "{", 2)[0], "_total") {
			if d := v - a[k]; d != 0 {
				out[k] = strconv.FormatFloat(d, 'f', -1, 64)
			}
		} else if strings.HasPrefix(k, "portcullis_jwt_keys") {
			continue
		}
	}
	return out
}

func metricSum(r *Result, name, label string) float64 {
	var s float64
	for k, v := range r.Metrics {
		if strings.HasPrefix(k, name+"{") && strings.Contains(k, label) {
			f, _ := strconv.ParseFloat(v, 64)
			s += f
		}
	}
	return s
}
