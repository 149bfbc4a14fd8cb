// Command bench measures Portcullis end to end on loopback and writes a table
// and bench/results/<timestamp>.json. Run it from the repository root:
//
//	go run ./bench            # full run (make bench)
//	go run ./bench -quick     # 3 s runs, fewer tokens (make bench-quick)
//
// It builds portcullis, bench/backend and bench/authorizer, makes keys with
// `portcullis token keygen`, pre-mints tokens (internal/token), writes one
// portcullis configuration per scenario and drives each target with wrk
// (bench/wrk.lua). The server under test (portcullis or nginx, with the backend
// and the Lambda function process) is pinned to one core, wrk to the other.
// docs/benchmarks.md describes the method and the latest results.
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/portcullis/portcullis/internal/token"
)

//go:embed wrk.lua
var wrkLua string

const (
	issuer    = "https://bench.portcullis.local"
	audience  = "bench-api"
	hmacKey   = "bench-only-hmac-secret-0123456789abcdef0123456789"
	tokenTTL  = 48 * time.Hour
	cacheKeep = 24 * time.Hour // reuse cached tokens younger than this
)

var (
	flagRuns     = flag.Int("runs", 3, "runs of 2.peak and of each 3.* (3.*: each with a fresh gateway); the one with the median CPU/request is reported")
	flagQuick    = flag.Bool("quick", false, "smoke test: 3 s runs, fewer tokens, no microbenchmarks or profiles")
	flagDur      = flag.Duration("d", 10*time.Second, "duration of each load run")
	flagConns    = flag.Int("c", 50, "wrk connections (-c)")
	flagSrvCPU   = flag.String("server-cpu", "0", "CPU list for the server under test, its backend and function processes")
	flagLoadCPU  = flag.String("load-cpu", "1", "CPU list for wrk")
	flagBackCPU  = flag.String("backend-cpu", "", "CPU list for the Go backend (default: -server-cpu)")
	flagTokens3  = flag.Int("tokens3", 100000, "distinct tokens per algorithm for scenario 3")
	flagTokens5  = flag.Int("tokens5", 1000000, "distinct tokens for scenario 5")
	flagS5Max    = flag.Duration("s5-max", 300*time.Second, "time limit for scenario 5")
	flagOut      = flag.String("out", "bench/results", "results directory")
	flagCache    = flag.String("cache", "bench/.cache", "directory for keys and pre-minted tokens, reused for 24 h")
	flagMicro    = flag.Bool("micro", true, "also run the Go microbenchmarks")
	flagProfile  = flag.Bool("profile", true, "perf CPU profiles of portcullis under scenarios 2 and 3 (needs perf)")
	flagOnly     = flag.String("only", "", "comma-separated scenario ids to run (baselines always run)")
	flagBasePort = flag.Int("port", 18000, "first loopback port to use")
)

// Result is one load run.
type Result struct {
	ID          string            `json:"id"`
	Scenario    string            `json:"scenario"`
	Target      string            `json:"target"`
	Conns       int               `json:"connections"`
	Rate        float64           `json:"open_loop_rate,omitempty"`
	Requests    int64             `json:"requests"`
	DurationS   float64           `json:"duration_s"`
	RPS         float64           `json:"rps"`
	P50us       float64           `json:"p50_us"`
	P75us       float64           `json:"p75_us"`
	P90us       float64           `json:"p90_us"`
	P99us       float64           `json:"p99_us"`
	P999us      float64           `json:"p999_us"`
	MeanUs      float64           `json:"mean_us"`
	Errors      int64             `json:"errors"`
	ErrDetail   map[string]int64  `json:"error_detail,omitempty"`
	TokenWraps  int64             `json:"token_wraps"`
	Stopped     bool              `json:"stopped_at_limit,omitempty"` // ran until the token file was used up; duration is first request to stop
	CPUSelfS    float64           `json:"server_cpu_s"`               // server process (nginx: master+worker)
	CPUChildS   float64           `json:"function_cpu_s"`             // Lambda function processes
	CPUBackendS float64           `json:"backend_cpu_s"`              // the Go backend
	CPUWrkS     float64           `json:"wrk_cpu_s"`                  // load generator, to spot a saturated load core
	CPUOtherS   float64           `json:"other_cpu_s"`                // CPU used by anything else on the machine during the run (/proc/stat busy minus ours)
	CPUPer10k   float64           `json:"server_cpu_s_per_10k"`       // server process only
	CPUusPerReq float64           `json:"server_cpu_us_per_req"`
	PeakRSSKiB  int64             `json:"peak_rss_kib"` // VmHWM of the server process (nginx: sum)
	FuncRSSKiB  int64             `json:"function_rss_kib,omitempty"`
	VsDirect    float64           `json:"rps_vs_direct"`
	VsNginx     float64           `json:"rps_vs_nginx"`
	Metrics     map[string]string `json:"metrics_delta,omitempty"`
	Note        string            `json:"note,omitempty"`
}

type Report struct {
	Started   time.Time         `json:"started"`
	Machine   map[string]string `json:"machine"`
	Method    map[string]string `json:"method"`
	Results   []*Result         `json:"results"`
	Targets   []Target          `json:"targets"`
	Micro     string            `json:"microbenchmarks,omitempty"`
	Profiles  map[string]string `json:"profiles,omitempty"`
	Scenario5 map[string]any    `json:"scenario5,omitempty"`
}

type Target struct {
	Name   string `json:"name"`
	Goal   string `json:"goal"`
	Actual string `json:"actual"`
	Status string `json:"status"` // PASS, MISS, or N/A (not run, or the run was invalid)
}

type env struct {
	tmp, bin                          string
	portcullis, backend, authorizerBn string
	backendAddr, nginxAddr, gwAddr    string
	adminAddr                         string
	keys                              map[string]string // alg -> key dir
	tokens3                           map[string]string // alg -> token file
	token2                            string
	tokens4                           string
	tokens5                           string
	backendProc                       *proc
	report                            *Report
}

func main() {
	flag.Parse()
	if *flagAttack != "" {
		os.Exit(attack())
	}
	if *flagQuick {
		if !isSet("d") {
			*flagDur = 3 * time.Second
		}
		if !isSet("tokens3") {
			*flagTokens3 = 30000
		}
		if !isSet("tokens5") {
			*flagTokens5 = 200000
		}
		if !isSet("s5-max") {
			*flagS5Max = 20 * time.Second
		}
		if !isSet("micro") {
			*flagMicro = false
		}
		if !isSet("profile") {
			*flagProfile = false
		}
		if !isSet("runs") {
			*flagRuns = 1
		}
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func isSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func want(id string) bool {
	if *flagOnly == "" {
		return true
	}
	for _, s := range strings.Split(*flagOnly, ",") {
		if s == id || strings.HasPrefix(id, s+"-") || strings.HasPrefix(id, s+".") {
			return true
		}
	}
	return false
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
}

func run() error {
	for _, tool := range []string{"wrk", "nginx", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: apt-get install -y nginx wrk (taskset is in util-linux)", tool)
		}
	}
	tmp, err := os.MkdirTemp("", "portcullis-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p := *flagBasePort
	e := &env{
		tmp: tmp, bin: filepath.Join(tmp, "bin"),
		backendAddr: fmt.Sprintf("127.0.0.1:%d", p),
		nginxAddr:   fmt.Sprintf("127.0.0.1:%d", p+1),
		gwAddr:      fmt.Sprintf("127.0.0.1:%d", p+80),
		adminAddr:   fmt.Sprintf("127.0.0.1:%d", p+90),
	}
	e.report = &Report{Started: time.Now().UTC(), Machine: machine(), Method: method()}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		e.report.Machine["loadavg_at_start"] = strings.TrimSpace(string(la))
	}
	logf("machine: %v", e.report.Machine)
	logf("pinning: server under test + function processes on CPU %s, backend on CPU %s, wrk on CPU %s (taskset -c)", *flagSrvCPU, cmp.Or(*flagBackCPU, *flagSrvCPU), *flagLoadCPU)

	if err := e.build(); err != nil {
		return err
	}
	if err := e.makeTokens(); err != nil {
		return err
	}
	e.backendProc, err = start("backend", pin(cmp.Or(*flagBackCPU, *flagSrvCPU), e.backend, "-listen", e.backendAddr), nil)
	if err != nil {
		return err
	}
	defer e.backendProc.stop()
	if err := waitHTTP("http://"+e.backendAddr+"/", 200); err != nil {
		return err
	}

	if err := e.scenarios(); err != nil {
		return err
	}
	e.ratios()
	e.targets()
	if *flagProfile {
		e.profiles()
	}
	if *flagMicro {
		e.micro()
	}
	printTable(os.Stdout, e.report)
	return e.save()
}

// ---------------------------------------------------------------- building

func (e *env) build() error {
	e.portcullis = filepath.Join(e.bin, "portcullis")
	e.backend = filepath.Join(e.bin, "backend")
	e.authorizerBn = filepath.Join(e.bin, "authorizer")
	for _, b := range [][2]string{{e.portcullis, "./cmd/portcullis"}, {e.backend, "./bench/backend"}, {e.authorizerBn, "./bench/authorizer"}} {
		logf("go build -o %s %s", b[0], b[1])
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s (run from the repository root): %w", b[1], err)
		}
	}
	return nil
}

// ---------------------------------------------------------------- tokens

type cacheMeta struct {
	Created time.Time      `json:"created"`
	Counts  map[string]int `json:"counts"`
}

var algs = []struct{ alg, kind, kid string }{
	{"RS256", "rsa", "bench-rs256"},
	{"ES256", "ec", "bench-es256"},
	{"EdDSA", "ed25519", "bench-eddsa"},
}

// makeTokens makes (or reuses, when younger than 24 h) the keys and token
// files. Keys come from `portcullis token keygen`; tokens are minted here with
// internal/token (RS256/ES256/EdDSA) and golang-jwt (HS256, scenario 5).
func (e *env) makeTokens() error {
	dir, err := filepath.Abs(*flagCache) // configs in the temp dir name key files by absolute path
	if err != nil {
		return err
	}
	meta := cacheMeta{Counts: map[string]int{}}
	if b, err := os.ReadFile(filepath.Join(dir, "meta.json")); err == nil && json.Unmarshal(b, &meta) == nil && time.Since(meta.Created) < cacheKeep {
		logf("reusing keys and tokens in %s (made %s)", dir, meta.Created.Format(time.RFC3339))
	} else {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		meta = cacheMeta{Created: time.Now().UTC(), Counts: map[string]int{}}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	e.keys = map[string]string{}
	e.tokens3 = map[string]string{}
	for _, a := range algs {
		kd := filepath.Join(dir, "keys-"+a.alg)
		if _, err := os.Stat(filepath.Join(kd, "jwks.json")); err != nil {
			cmd := exec.Command(e.portcullis, "token", "keygen", "--out", kd, "--type", a.kind, "--kid", a.kid)
			cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("portcullis token keygen: %w", err)
			}
		}
		e.keys[a.alg] = kd
		pem, err := os.ReadFile(filepath.Join(kd, "private.pem"))
		if err != nil {
			return err
		}
		key, alg, err := token.LoadSigningKey(pem)
		if err != nil {
			return err
		}
		if alg != a.alg {
			return fmt.Errorf("key %s is %s, want %s", kd, alg, a.alg)
		}
		mintOne := func(i int) (string, error) {
			return token.Mint(key, a.alg, a.kid, token.Claims{
				Issuer: issuer, Subject: fmt.Sprintf("user-%07d", i), Audience: []string{audience},
				Scope: "orders:read", TTL: tokenTTL, Now: meta.Created,
			})
		}
		if a.alg == "RS256" {
			e.token2 = filepath.Join(dir, "token2-RS256.txt")
			if meta.Counts["token2"] < 1 {
				t, err := mintOne(-1)
				if err != nil {
					return err
				}
				if err := os.WriteFile(e.token2, []byte("Bearer "+t+"\n"), 0o600); err != nil {
					return err
				}
				meta.Counts["token2"] = 1
			}
		}
		e.tokens3[a.alg] = filepath.Join(dir, "tokens3-"+a.alg+".txt")
		if meta.Counts["s3-"+a.alg] < *flagTokens3 {
			start := time.Now()
			if err := mintFile(e.tokens3[a.alg], *flagTokens3, mintOne); err != nil {
				return err
			}
			logf("minted %d %s tokens in %v", *flagTokens3, a.alg, time.Since(start).Round(time.Millisecond))
			meta.Counts["s3-"+a.alg] = *flagTokens3
		}
	}
	// Scenario 5: HS256 with hmac_secret, the cheapest to mint (and to verify,
	// so a million requests fit in a bounded run).
	e.tokens5 = filepath.Join(dir, "tokens5-HS256.txt")
	if meta.Counts["s5"] < *flagTokens5 {
		start := time.Now()
		exp := meta.Created.Add(tokenTTL).Unix()
		err := mintFile(e.tokens5, *flagTokens5, func(i int) (string, error) {
			return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
				"iss": issuer, "aud": audience, "sub": fmt.Sprintf("user-%07d", i), "scope": "orders:read",
				"iat": meta.Created.Unix(), "exp": exp, "jti": strconv.Itoa(i),
			}).SignedString([]byte(hmacKey))
		})
		if err != nil {
			return err
		}
		logf("minted %d HS256 tokens in %v", *flagTokens5, time.Since(start).Round(time.Millisecond))
		meta.Counts["s5"] = *flagTokens5
	}
	// Scenario 4: 1,000 identities for the Lambda authorizer (opaque tokens).
	e.tokens4 = filepath.Join(dir, "tokens4-lambda.txt")
	var sb strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&sb, "Bearer identity-%04d\n", i)
	}
	if err := os.WriteFile(e.tokens4, []byte(sb.String()), 0o600); err != nil {
		return err
	}
	b, _ := json.Marshal(meta)
	return os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o600)
}

// mintFile writes n tokens, one "Bearer TOKEN" per line, minted in parallel.
func mintFile(path string, n int, mint func(int) (string, error)) error {
	out := make([]string, n)
	workers := runtime.NumCPU()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				t, err := mint(i)
				if err != nil {
					mu.Lock()
					firstErr = firstError(firstErr, err)
					mu.Unlock()
					return
				}
				out[i] = t
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for _, t := range out {
		w.WriteString("Bearer ")
		w.WriteString(t)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func firstError(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

var _ crypto.Signer // token.LoadSigningKey returns one

// ---------------------------------------------------------------- processes

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func pin(cpu string, argv ...string) []string {
	return append([]string{"taskset", "-c", cpu}, argv...)
}

// start runs argv (taskset execs the program, so the pid is the program's).
// stderr goes to /dev/null unless given.
func start(name string, argv []string, stderr io.Writer) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if stderr == nil {
		// a real file, so no copying goroutine runs in this process
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		stderr = f
	}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func waitHTTP(url string, status int) error {
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == status {
				return nil
			}
			last = fmt.Errorf("%s: status %d", url, resp.StatusCode)
		} else {
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("waiting for %s: %v", url, last)
}

// cpuTicks is utime+stime of pid, in clock ticks (USER_HZ = 100 on Linux).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

const userHZ = 100.0

// machineBusyTicks is the non-idle time of all CPUs from /proc/stat.
func machineBusyTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		busy += n
	}
	return busy
}

func statusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
				out = append(out, children(n)...)
			}
		}
	}
	return out
}

// ---------------------------------------------------------------- wrk

type load struct {
	path  string
	auth  string // "-", "fixed:VALUE" or a token file
	conns int
	dur   time.Duration
	limit int
	rate  float64 // > 0: open loop at this rate (openloop.go) instead of wrk
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
	sp := filepath.Join(e.tmp, "wrk.lua")
	if err := os.WriteFile(sp, []byte(wrkLua), 0o644); err != nil {
		return nil, err
	}
	secs := int(math.Ceil(l.dur.Seconds()))
	argv := pin(*flagLoadCPU, "wrk", "-t1", fmt.Sprintf("-c%d", l.conns), fmt.Sprintf("-d%ds", secs),
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
	tick := func() (self, child, back int64) {
		self = cpuTicks(server)
		for _, k := range kids {
			if sumTree {
				self += cpuTicks(k)
			} else {
				child += cpuTicks(k)
			}
		}
		if e.backendProc != nil && e.backendProc.pid() != server {
			back = cpuTicks(e.backendProc.pid())
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

// ---------------------------------------------------------------- targets under test

func (e *env) nginx() (*proc, error) {
	dir := filepath.Join(e.tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    keepalive_requests 100000;
    upstream backend {
        server %[2]s;
        keepalive 64;
    }
    server {
        listen %[3]s;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`, dir, e.backendAddr, e.nginxAddr)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := start("nginx", pin(*flagSrvCPU, "nginx", "-c", cf, "-p", dir, "-e", filepath.Join(dir, "error.log")), nil)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP("http://"+e.nginxAddr+"/", 200); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// gateway writes the configuration and starts portcullis serve with its
// access log (JSON on stderr, level info: logging is on) sent to /dev/null.
func (e *env) gateway(name, body string) (*proc, error) {
	conf := fmt.Sprintf("listen: %s\nadmin_listen: %s\n%s", e.gwAddr, e.adminAddr, body)
	cf := filepath.Join(e.tmp, "portcullis-"+name+".yaml")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := start("portcullis", pin(*flagSrvCPU, e.portcullis, "serve", "-c", cf), nil)
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
	a := ""
	if authorizer != "" {
		a = "\n    authorizer: " + authorizer
	}
	return fmt.Sprintf("  - route: %s%s\n    integration: {type: http_proxy, uri: \"http://%s/hello\"}\n", route, a, e.backendAddr)
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
	ng, err := e.nginx()
	if err != nil {
		return err
	}
	warm(e.nginxAddr, "/hello", "-")
	_, err = e.measure("nginx", "baseline: nginx proxy_pass, keepalive upstream", "nginx", e.nginxAddr, ng.pid(), true, load{path: "/hello", auth: "-", conns: c, dur: d})
	ng.stop()
	if err != nil {
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

	// 1: no authorizer.
	s1 := "routes:\n" + e.proxyRoute("GET /proxy", "") + "  - route: GET /mock\n    integration: {type: mock, body: \"hello from the mock\\n\"}\n"
	if err := gwRun("1", "", "s1", s1,
		m("1.proxy", "1: no authorizer, http_proxy", "/proxy", "-", load{conns: c, dur: d}, true),
		m("1.mock", "1: no authorizer, mock integration", "/mock", "-", load{conns: c, dur: d}, true),
		m("1.proxy-c1", "1: no authorizer, http_proxy, 1 connection (reference for 4)", "/proxy", "-", load{conns: 1, dur: d / 2}, true),
	); err != nil {
		return err
	}

	// 2: JWT RS256, one token repeated.
	tok2, err := os.ReadFile(e.token2)
	if err != nil {
		return err
	}
	fixed := "fixed:" + strings.TrimSpace(string(tok2))
	s2 := "authorizers:\n" + e.jwtAuthorizer("rs", "RS256", "") + "routes:\n" + e.proxyRoute("GET /jwt", "rs")
	// The CPU per request moves by up to ±10% from run to run on this VM
	// with nothing else running, so the runs that target 3 compares (2.peak
	// and 3.*) are repeated and the run with the median CPU/request is
	// reported.
	if err := gwRun("2", "", "s2", s2,
		func(p *proc) error {
			var runs []*Result
			for range max(*flagRuns, 1) {
				if err := m("2.peak", "2: JWT RS256, one token (cache warm)", "/jwt", fixed, load{conns: c, dur: d}, true)(p); err != nil {
					return err
				}
				if r := e.take("2.peak"); r != nil {
					runs = append(runs, r)
				}
			}
			e.keepMedian(runs)
			return nil
		},
		func(p *proc) error {
			// Half the peak rate, open loop (openloop.go); the direct
			// backend at the same rate, for the added p99.
			peak := e.find("2.peak")
			if peak == nil || peak.RPS == 0 {
				return nil
			}
			rate := math.Round(peak.RPS / 2)
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
		var each []string
		for _, r := range runs {
			each = append(each, fmt.Sprintf("%.1f", r.CPUusPerReq))
			if r.Errors > 0 && med.Errors == 0 {
				med.Errors, med.ErrDetail = r.Errors, r.ErrDetail // an error in any run invalidates the figure
			}
		}
		med.Note = fmt.Sprintf("median of %d runs, CPU µs/req %s", len(runs), strings.Join(each, " / "))
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
		if r.Rate > 0 || r.Conns != *flagConns {
			continue // open-loop and 1-connection runs are latency runs
		}
		if d != nil && d.RPS > 0 {
			r.VsDirect = r.RPS / d.RPS
		}
		if n != nil && n.RPS > 0 {
			r.VsNginx = r.RPS / n.RPS
		}
	}
}

// ---------------------------------------------------------------- targets

// cryptoNs are the bare signature checks (BenchmarkCrypto* in
// internal/jwtauth), measured by measureCrypto.
var cryptoNs = map[string]float64{}

func (e *env) targets() {
	add := func(name, goal, actual string, pass bool) {
		st := map[bool]string{true: "PASS", false: "MISS"}[pass]
		if actual == "not run" || strings.Contains(actual, " errors") && !strings.Contains(actual, "µs") {
			st = "N/A"
		}
		e.report.Targets = append(e.report.Targets, Target{name, goal, actual, st})
	}
	invalid := func(rs ...*Result) string {
		for _, r := range rs {
			if r == nil {
				return "not run"
			}
			if r.Errors > 0 {
				return fmt.Sprintf("%s had %d errors", r.ID, r.Errors)
			}
		}
		return ""
	}
	n, s2 := e.find("nginx"), e.find("2.peak")
	if why := invalid(n, s2); why != "" {
		add("2 throughput", "≥ 0.8× nginx req/s", why, false)
	} else {
		add("2 throughput", "≥ 0.8× nginx req/s", fmt.Sprintf("%.0f vs %.0f req/s = %.2f×", s2.RPS, n.RPS, s2.RPS/n.RPS), s2.RPS >= 0.8*n.RPS)
	}
	h, dh := e.find("2.half"), e.find("direct.half")
	if why := invalid(h, dh); why != "" {
		add("2 latency", "p99 added over direct ≤ 1 ms at half the peak rate", why, false)
	} else {
		added := (h.P99us - dh.P99us) / 1000
		add("2 latency", "p99 added over direct ≤ 1 ms at half the peak rate",
			fmt.Sprintf("at %.0f req/s: p99 %.2f ms vs direct %.2f ms at %.0f req/s: +%.2f ms", h.RPS, h.P99us/1000, dh.P99us/1000, dh.RPS, added), added <= 1)
	}
	if len(cryptoNs) == 0 {
		e.measureCrypto()
	}
	for _, a := range algs {
		r := e.find("3." + a.alg)
		if why := invalid(r, s2); why != "" {
			add("3 "+a.alg, "CPU/request within 15 µs of the bare signature check", why, false)
			continue
		}
		c := cryptoNs[a.alg] / 1000
		over := r.CPUusPerReq - s2.CPUusPerReq - c
		hits := metricSum(r, "portcullis_jwt_token_cache_total", `result="hit"`)
		add("3 "+a.alg, "CPU/request within 15 µs of the bare signature check",
			fmt.Sprintf("%.1f µs/req cold − %.1f µs/req cached (scenario 2) = %.1f µs for verifying; bare check %.1f µs → +%.1f µs over it (whole request: %.1f µs over the bare check; cache hits during run: %.0f)",
				r.CPUusPerReq, s2.CPUusPerReq, r.CPUusPerReq-s2.CPUusPerReq, c, over, r.CPUusPerReq-c, hits), over <= 15)
	}
	l1, p1 := e.find("4.ttl0-c1"), e.find("1.proxy-c1")
	if why := invalid(l1, p1); why != "" {
		add("4 round trip", "Runtime API round trip adds ≤ 150 µs at p50", why, false)
	} else {
		added := l1.P50us - p1.P50us
		add("4 round trip", "Runtime API round trip adds ≤ 150 µs at p50",
			fmt.Sprintf("1 connection: p50 %.0f µs with result_ttl 0 vs %.0f µs without authorizer: +%.0f µs (includes the function's own work, a string prefix check, and the event/policy handling)", l1.P50us, p1.P50us, added), added <= 150)
	}
	s5 := e.find("5")
	if why := invalid(s5); why != "" {
		add("5 memory", "peak RSS < 300 MiB over 1M distinct tokens", why, false)
	} else {
		mib := float64(s5.PeakRSSKiB) / 1024
		add("5 memory", "peak RSS < 300 MiB over 1M distinct tokens",
			fmt.Sprintf("peak RSS %.1f MiB after %d distinct tokens (%d minted)", mib, s5.Requests, *flagTokens5), mib < 300 && float64(s5.Requests) >= 0.99*float64(*flagTokens5))
	}
}

// measureCrypto runs the bare-crypto baselines for scenario 3 on the
// server's CPU, as the gateway runs, five times each; the median counts.
func (e *env) measureCrypto() {
	out, err := exec.Command("taskset", "-c", *flagSrvCPU, "go", "test", "-run", "^$", "-bench", "^BenchmarkCrypto",
		"-benchtime", "2000x", "-count", "5", "-cpu", "1", "./internal/jwtauth/").CombinedOutput()
	if err != nil {
		logf("crypto baselines: %v", err)
		return
	}
	all := map[string][]float64{}
	parseCrypto(string(out), all)
	for alg, vs := range all {
		slices.Sort(vs)
		cryptoNs[alg] = vs[(len(vs)-1)/2]
	}
	e.report.Machine["bare_checks_ns"] = fmt.Sprint(all)
}

func parseCrypto(out string, into map[string][]float64) {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[3] != "ns/op" {
			continue
		}
		v, _ := strconv.ParseFloat(f[2], 64)
		switch {
		case strings.HasPrefix(f[0], "BenchmarkCryptoRSAPKCS1v15"):
			into["RS256"] = append(into["RS256"], v)
		case f[0] == "BenchmarkCryptoECDSAP256/Verify" || strings.HasPrefix(f[0], "BenchmarkCryptoECDSAP256/Verify-"):
			into["ES256"] = append(into["ES256"], v) // ecdsa.Verify over r, s: a JWS signature is r‖s
		case strings.HasPrefix(f[0], "BenchmarkCryptoEd25519"):
			into["EdDSA"] = append(into["EdDSA"], v)
		}
	}
}

// ---------------------------------------------------------------- profiles, microbenchmarks

// profiles records, in separate runs so the measured runs are not perturbed:
// perf CPU profiles of portcullis under scenarios 1 (http_proxy), 2 and 3
// (RS256, ES256); a syscall census (perf stat tracepoints) per request for
// nginx and portcullis; and pprof CPU profiles of the in-process Go
// benchmarks BenchmarkServe/jwt-cached and BenchmarkVerifyCold.
func (e *env) profiles() {
	if _, err := exec.LookPath("perf"); err != nil {
		logf("perf not found: no perf profiles")
	} else {
		e.perfProfiles()
	}
	e.pprofProfiles()
}

func (e *env) perfProfiles() {
	if e.report.Profiles == nil {
		e.report.Profiles = map[string]string{}
	}
	tok2, _ := os.ReadFile(e.token2)
	fixed := "fixed:" + strings.TrimSpace(string(tok2))
	jwtConf := func(alg string) string {
		return "authorizers:\n" + e.jwtAuthorizer("k", alg, "") + "routes:\n" + e.proxyRoute("GET /jwt", "k")
	}
	s1 := "routes:\n" + e.proxyRoute("GET /proxy", "")

	// Syscall census: perf stat on the server for a whole 4 s wrk run.
	var census strings.Builder
	census.WriteString("| target | requests | write | read | epoll_pwait | futex | context switches | (per request) |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
	events := "syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_read,syscalls:sys_enter_readv,syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,context-switches"
	for _, c := range []struct{ name, conf, path, auth string }{
		{"nginx", "", "/hello", "-"},
		{"portcullis 1.proxy", s1, "/proxy", "-"},
		{"portcullis 2 (JWT cached)", jwtConf("RS256"), "/jwt", fixed},
	} {
		var p *proc
		var err error
		addr := e.gwAddr
		if c.conf == "" {
			p, err = e.nginx()
			addr = e.nginxAddr
		} else {
			p, err = e.gateway("census", c.conf)
		}
		if err != nil {
			logf("census %s: %v", c.name, err)
			continue
		}
		pids := []string{strconv.Itoa(p.pid())}
		for _, k := range children(p.pid()) {
			pids = append(pids, strconv.Itoa(k))
		}
		stat := exec.Command("perf", "stat", "-x", ",", "-e", events, "-p", strings.Join(pids, ","), "--", "sleep", "6")
		var so strings.Builder
		stat.Stderr = &so
		if err := stat.Start(); err != nil {
			logf("perf stat: %v", err)
			p.stop()
			continue
		}
		time.Sleep(300 * time.Millisecond)
		w, err := e.wrk(addr, load{path: c.path, auth: c.auth, conns: *flagConns, dur: 4 * time.Second})
		_ = stat.Wait()
		p.stop()
		if err != nil {
			logf("census %s: %v", c.name, err)
			continue
		}
		cnt := map[string]float64{}
		for _, l := range strings.Split(so.String(), "\n") {
			f := strings.Split(l, ",")
			if len(f) < 3 {
				continue
			}
			v, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				continue
			}
			ev := f[2]
			switch {
			case strings.Contains(ev, "write") || strings.Contains(ev, "sendto"):
				cnt["write"] += v
			case strings.Contains(ev, "read") || strings.Contains(ev, "recvfrom"):
				cnt["read"] += v
			case strings.Contains(ev, "epoll"):
				cnt["epoll"] += v
			case strings.Contains(ev, "futex"):
				cnt["futex"] += v
			case strings.Contains(ev, "context-switches"):
				cnt["cs"] += v
			}
		}
		n := float64(max(w.Requests, 1))
		fmt.Fprintf(&census, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | |\n", c.name, w.Requests, cnt["write"]/n, cnt["read"]/n, cnt["epoll"]/n, cnt["futex"]/n, cnt["cs"]/n)
	}
	e.report.Profiles["syscalls_per_request"] = census.String()
	logf("syscalls per request:\n%s", census.String())

	for _, pc := range []struct{ id, conf, path, auth string }{
		{"1.proxy", s1, "/proxy", "-"},
		{"2", jwtConf("RS256"), "/jwt", fixed},
		{"3.RS256", jwtConf("RS256"), "/jwt", e.tokens3["RS256"]},
		{"3.ES256", jwtConf("ES256"), "/jwt", e.tokens3["ES256"]},
	} {
		p, err := e.gateway("profile", pc.conf)
		if err != nil {
			logf("profile %s: %v", pc.id, err)
			continue
		}
		data := filepath.Join(e.tmp, "perf-"+pc.id+".data")
		limit := 0
		if !strings.HasPrefix(pc.auth, "fixed:") && pc.auth != "-" {
			limit = *flagTokens3
		}
		wd := make(chan error, 1)
		go func() {
			_, err := e.wrk(e.gwAddr, load{path: pc.path, auth: pc.auth, conns: *flagConns, dur: 8 * time.Second, limit: limit})
			wd <- err
		}()
		time.Sleep(2 * time.Second) // skip the token file loading and start-up
		rec := exec.Command("perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o", data, "-p", strconv.Itoa(p.pid()), "--", "sleep", "4")
		if out, err := rec.CombinedOutput(); err != nil {
			logf("perf record: %v %s", err, out)
		}
		<-wd
		p.stop()
		var text strings.Builder
		for _, mode := range [][]string{{"--sort", "dso"}, {"--no-children", "--sort", "symbol", "--percent-limit", "1"}, {"--children", "--sort", "symbol", "--percent-limit", "3"}} {
			args := append([]string{"report", "-i", data, "--stdio", "-g", "none"}, mode...)
			out, err := exec.Command("perf", args...).Output()
			if err != nil {
				logf("perf report: %v", err)
			}
			fmt.Fprintf(&text, "### perf report %s\n", strings.Join(mode, " "))
			for _, l := range strings.Split(string(out), "\n") {
				if l = strings.TrimRight(strings.TrimSuffix(strings.TrimRight(l, " "), "-      -"), " "); l != "" && !strings.HasPrefix(l, "#") {
					text.WriteString(l + "\n")
				}
			}
		}
		e.report.Profiles["perf "+pc.id] = text.String()
		logf("profile %s:\n%s", pc.id, text.String())
	}
}

// pprofProfiles runs two in-process benchmarks with -cpuprofile and keeps
// `go tool pprof -top` of each.
func (e *env) pprofProfiles() {
	if e.report.Profiles == nil {
		e.report.Profiles = map[string]string{}
	}
	for _, b := range []struct{ name, pkg, bench string }{
		{"pprof BenchmarkServe/jwt-cached", "./internal/gateway/", "^BenchmarkServe$/^jwt-cached$"},
		{"pprof BenchmarkVerifyCold/RS256", "./internal/jwtauth/", "^BenchmarkVerifyCold$/^RS256$"},
		{"pprof BenchmarkVerifyCold/ES256", "./internal/jwtauth/", "^BenchmarkVerifyCold$/^ES256$"},
	} {
		prof := filepath.Join(e.tmp, "cpu.pprof")
		testBin := filepath.Join(e.tmp, "bench.test")
		out, err := exec.Command("go", "test", "-run", "^$", "-bench", b.bench, "-benchtime", "3s", "-cpuprofile", prof, "-o", testBin, b.pkg).CombinedOutput()
		if err != nil {
			logf("%s: %v\n%s", b.name, err, out)
			continue
		}
		top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount", "25", testBin, prof).Output()
		if err != nil {
			logf("%s: pprof: %v", b.name, err)
			continue
		}
		e.report.Profiles[b.name] = string(top)
		logf("%s:\n%s", b.name, top)
	}
}

func (e *env) micro() {
	la, _ := os.ReadFile("/proc/loadavg")
	logf("microbenchmarks (go test -bench); load average before: %s", strings.TrimSpace(string(la)))
	e.report.Machine["loadavg_before_micro"] = strings.TrimSpace(string(la))
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem",
		"./internal/jwtauth/", "./internal/route/", "./internal/mapping/", "./internal/lambdaauth/", "./internal/gateway/"}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		logf("microbenchmarks: %v", err)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "cpu:") && len(keep) == 0 {
			keep = append(keep, l)
		}
	}
	e.report.Micro = strings.Join(keep, "\n")
	fmt.Println(e.report.Micro)
}

// ---------------------------------------------------------------- output

func machine() map[string]string {
	m := map[string]string{"nproc": strconv.Itoa(runtime.NumCPU()), "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m["cpu"] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(b))
	}
	for _, t := range [][]string{{"nginx", "-v"}, {"wrk", "-v"}} {
		out, _ := exec.Command(t[0], t[1:]...).CombinedOutput()
		m[t[0]] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return m
}

func method() map[string]string {
	return map[string]string{
		"pinning":   fmt.Sprintf("server under test (portcullis or nginx) + Lambda function process on CPU %s; Go backend on CPU %s; wrk on CPU %s; taskset -c", *flagSrvCPU, cmp.Or(*flagBackCPU, *flagSrvCPU), *flagLoadCPU),
		"wrk":       fmt.Sprintf("wrk -t1 -c%d -d%s --latency --timeout 5s -s bench/wrk.lua (same script for every target)", *flagConns, *flagDur),
		"tokens":    "scenario 3: request i carries token i of a pre-minted file, run stops before the file wraps; scenario 4: 1,000 identities in rotation; scenario 5: HS256 (hmac_secret), one token per request",
		"cpu":       "utime+stime from /proc/PID/stat before and after the run (10 ms ticks), divided by completed requests",
		"rss":       "VmHWM from /proc/PID/status at the end of the run; a fresh portcullis process per scenario",
		"logging":   "portcullis serve at the default level: one JSON access-log line per request, stderr to /dev/null",
		"half_peak": "scenario 2 at half its peak rate: an open-loop constant-rate load (vegeta as a library, in a child process pinned to the load CPU); the direct backend is measured at the same rate",
	}
}

func printTable(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "\n%s\n\n", markdownTable(rep))
	fmt.Fprintln(w, "Targets:")
	for _, t := range rep.Targets {
		fmt.Fprintf(w, "  %-4s %-13s %s: %s\n", t.Status, t.Name, t.Goal, t.Actual)
	}
}

func markdownTable(rep *Report) string {
	var b strings.Builder
	b.WriteString("| run | target | conns | req/s | p50 µs | p90 µs | p99 µs | server CPU s/10k req | CPU µs/req | peak RSS MiB | × direct | × nginx | errors | notes |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rep.Results {
		ratio := func(v float64) string {
			if v == 0 {
				return "—"
			}
			return fmt.Sprintf("%.2f", v)
		}
		var notes []string
		if r.CPUChildS > 0 {
			notes = append(notes, fmt.Sprintf("function CPU %.2f s/10k", r.CPUChildS/float64(max(r.Requests, 1))*1e4))
		}
		if r.Rate > 0 {
			notes = append(notes, fmt.Sprintf("open loop at %.0f req/s", r.Rate))
		}
		if v := metricSum(r, "portcullis_jwt_token_cache_total", `result="hit"`); v > 0 || strings.HasPrefix(r.ID, "3") || r.ID == "5" {
			notes = append(notes, fmt.Sprintf("token cache hits %.0f misses %.0f", v, metricSum(r, "portcullis_jwt_token_cache_total", `result="miss"`)))
		}
		if v := metricSum(r, "portcullis_function_invocations_total", ""); v > 0 {
			notes = append(notes, fmt.Sprintf("%.0f invocations", v))
		}
		if r.CPUOtherS > 0.05*r.DurationS {
			notes = append(notes, fmt.Sprintf("**other processes used %.1f CPU-s during this %.0f s run**", r.CPUOtherS, r.DurationS))
		}
		if r.TokenWraps > 0 {
			notes = append(notes, fmt.Sprintf("token file wrapped %d×", r.TokenWraps))
		}
		if strings.HasPrefix(r.Note, "median") {
			notes = append(notes, r.Note)
		}
		conns := strconv.Itoa(r.Conns)
		if r.Rate > 0 {
			conns = "open loop"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.3f | %.1f | %.1f | %s | %s | %d | %s |\n",
			r.ID, r.Target, conns, r.RPS, r.P50us, r.P90us, r.P99us, r.CPUPer10k, r.CPUusPerReq, float64(r.PeakRSSKiB)/1024,
			ratio(r.VsDirect), ratio(r.VsNginx), r.Errors, strings.Join(notes, "; "))
	}
	return b.String()
}

func (e *env) save() error {
	if err := os.MkdirAll(*flagOut, 0o755); err != nil {
		return err
	}
	name := filepath.Join(*flagOut, e.report.Started.Format("20060102T150405Z")+".json")
	b, err := json.MarshalIndent(e.report, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(name, append(b, '\n'), 0o644); err != nil {
		return err
	}
	md := strings.TrimSuffix(name, ".json") + ".md"
	var sb strings.Builder
	sb.WriteString(markdownTable(e.report))
	sb.WriteString("\n")
	for _, t := range e.report.Targets {
		fmt.Fprintf(&sb, "- %s %s (%s): %s\n", t.Status, t.Name, t.Goal, t.Actual)
	}
	_ = os.WriteFile(md, []byte(sb.String()), 0o644)
	logf("wrote %s and %s", name, md)
	return nil
}
