// Command bench measures Portcullis end to end on loopback and writes a table
// and bench/results/<timestamp>.json. Run it from the repository root:
//
//	go run ./bench            # full run (make bench)
//	go run ./bench -quick     # 3 s runs, fewer tokens (make bench-quick)
//
// It builds portcullis, bench/backend, bench/barestack and bench/authorizer, makes keys with
// `portcullis token keygen`, pre-mints tokens (internal/token), writes one
// portcullis configuration per scenario and drives each target with wrk
// (bench/wrk.lua). The server under test (portcullis, nginx or a bare stack,
// with the backend and the Lambda function process) is pinned to one core, wrk
// to the other; nginx, the bare stacks and the gateway's two main routes run
// in interleaved rounds so their ratios come from one run (stack.go).
// docs/benchmarks.md describes the method and the latest results.
package main

import (
	"cmp"
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
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
	flagRuns     = flag.Int("runs", 3, "reference rounds (nginx, stack.*, 1.proxy, 2.peak) and runs of each 3.* (each with a fresh gateway); the run with the median CPU/request is reported")
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
	flagOnly     = flag.String("only", "", "comma-separated scenario ids to run, e.g. 2,3.RS256 or stack,cores,1.proxy,2.peak (baselines always run)")
	flagBasePort = flag.Int("port", 18000, "first loopback port to use")
)

// Result is one load run.
type Result struct {
	ID          string           `json:"id"`
	Scenario    string           `json:"scenario"`
	Target      string           `json:"target"`
	Conns       int              `json:"connections"`
	Rate        float64          `json:"open_loop_rate,omitempty"`
	Requests    int64            `json:"requests"`
	DurationS   float64          `json:"duration_s"`
	RPS         float64          `json:"rps"`
	P50us       float64          `json:"p50_us"`
	P75us       float64          `json:"p75_us"`
	P90us       float64          `json:"p90_us"`
	P99us       float64          `json:"p99_us"`
	P999us      float64          `json:"p999_us"`
	MeanUs      float64          `json:"mean_us"`
	Errors      int64            `json:"errors"`
	ErrDetail   map[string]int64 `json:"error_detail,omitempty"`
	TokenWraps  int64            `json:"token_wraps"`
	Stopped     bool             `json:"stopped_at_limit,omitempty"` // ran until the token file was used up; duration is first request to stop
	CPUSelfS    float64          `json:"server_cpu_s"`               // server process (nginx: master+worker)
	CPUChildS   float64          `json:"function_cpu_s"`             // Lambda function processes
	CPUBackendS float64          `json:"backend_cpu_s"`              // the Go backend
	CPUWrkS     float64          `json:"wrk_cpu_s"`                  // load generator, to spot a saturated load core
	CPUOtherS   float64          `json:"other_cpu_s"`                // CPU used by anything else on the machine during the run (/proc/stat busy minus ours)
	CPUPer10k   float64          `json:"server_cpu_s_per_10k"`       // server process only
	CPUusPerReq float64          `json:"server_cpu_us_per_req"`
	PeakRSSKiB  int64            `json:"peak_rss_kib"` // VmHWM of the server process (nginx: sum)
	FuncRSSKiB  int64            `json:"function_rss_kib,omitempty"`
	VsDirect    float64          `json:"rps_vs_direct"`
	VsNginx     float64          `json:"rps_vs_nginx"`
	// VsNginxRound is set for the reference rounds' rows: the median over
	// rounds of req/s ÷ nginx's req/s in the same round; VsNginx is then it.
	VsNginxRound float64           `json:"rps_vs_nginx_same_round,omitempty"`
	Metrics      map[string]string `json:"metrics_delta,omitempty"`
	Note         string            `json:"note,omitempty"`
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
	// ColdStarts are scenario 6's first invocations of new processes.
	ColdStarts []ColdStart `json:"cold_starts,omitempty"`
	// Scaling is req/s on two cores over one (cores.*).
	Scaling []Scaling `json:"scaling,omitempty"`
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
	barestackBn                       string // bench/barestack, for the stack.* rows
	emptyFn                           string // bench/emptyfn, for scenario 6
	backendAddr, nginxAddr, gwAddr    string
	decisionAddr, decisionGRPCAddr    string // scenario 7: decision_api's listen and grpc_listen
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
	if *flagCheck != "" {
		os.Exit(checkLoad())
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
		backendAddr:      fmt.Sprintf("127.0.0.1:%d", p),
		nginxAddr:        fmt.Sprintf("127.0.0.1:%d", p+1),
		gwAddr:           fmt.Sprintf("127.0.0.1:%d", p+80),
		decisionAddr:     fmt.Sprintf("127.0.0.1:%d", p+81),
		decisionGRPCAddr: fmt.Sprintf("127.0.0.1:%d", p+82),
		adminAddr:        fmt.Sprintf("127.0.0.1:%d", p+90),
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
