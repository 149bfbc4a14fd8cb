package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/function/node"
	"github.com/portcullis/portcullis/internal/function/python"
	"github.com/portcullis/portcullis/internal/function/registry"
)

// Scenario 6: a function invocation's round trip through each runtime, one
// connection, lambda_proxy with an empty function: the Go function
// (aws-lambda-go), and for Python and Node.js Portcullis's runtime client
// with an empty handler beside the interpreter's own minimum (bare.py,
// bare.js: the Runtime API spoken with nothing else). Cold starts are
// measured apart, with function.Process directly.

var (
	flagPython    = flag.String("python", "python3", "Python interpreter for scenario 6 (a pyenv shim is resolved to the real executable)")
	flagNode      = flag.String("node", "node", "Node.js interpreter for scenario 6")
	flagColdRuns  = flag.Int("cold-runs", 9, "cold starts measured per function (the median is reported)")
	runtimeBudget = 100.0 // µs a runtime client may add over its interpreter's minimum at p50
)

// ColdStart is the time from launching a function's process to the answer
// of its first invocation.
type ColdStart struct {
	Function string    `json:"function"`
	MedianMs float64   `json:"median_ms"`
	MinMs    float64   `json:"min_ms"`
	MaxMs    float64   `json:"max_ms"`
	RunsMs   []float64 `json:"runs_ms"`
}

// interpreter resolves name to the executable that runs (a pyenv shim
// starts a second interpreter after a bash script).
func interpreter(name, probe string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found (scenario 6 needs python3 and node; -only to skip it)", name)
	}
	if probe == "" {
		return path, nil
	}
	out, err := exec.Command(path, "-c", probe).Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// functionsConfig is the functions: block of scenario 6.
func (e *env) functionsConfig(py, nd string) string {
	dir, _ := filepath.Abs("bench/functions")
	return fmt.Sprintf(`functions:
  go: {runtime: process, command: [%[1]s]}
  python-bare: {runtime: process, command: [%[2]s, %[4]s/bare.py]}
  python: {runtime: python3.12, handler: empty.handler, code: %[4]s, interpreter: %[2]s}
  node-bare: {runtime: process, command: [%[3]s, %[4]s/bare.js]}
  node: {runtime: nodejs20.x, handler: empty.handler, code: %[4]s, interpreter: %[3]s}
`, e.emptyFn, py, nd, dir)
}

var scenario6 = []string{"go", "python-bare", "python", "node-bare", "node"}

func (e *env) functionScenarios() error {
	if !want("6") {
		return nil
	}
	py, err := interpreter(*flagPython, "import sys; print(sys.executable)")
	if err != nil {
		return err
	}
	nd, err := interpreter(*flagNode, "")
	if err != nil {
		return err
	}
	conf := e.functionsConfig(py, nd) + "routes:\n"
	for _, fn := range scenario6 {
		conf += fmt.Sprintf("  - {route: GET /fn/%[1]s, integration: {type: lambda_proxy, function: %[1]s}}\n", fn)
	}
	p, err := e.gateway("s6", conf)
	if err != nil {
		return fmt.Errorf("6: %w", err)
	}
	defer p.stop()
	// The runs alternate between the functions, so that a change in what
	// else the machine does hits them alike; each function's run with the
	// median p50 is reported.
	d := *flagDur / 2
	runs := map[string][]*Result{}
	for round := range max(*flagRuns, 3) {
		for _, fn := range scenario6 {
			path := "/fn/" + fn
			if round == 0 && *flagDur >= 5*time.Second {
				_, _ = e.wrk(e.gwAddr, load{path: path, auth: "-", conns: 1, dur: time.Second})
			}
			id := "6." + fn
			if _, err := e.measure(id, "6: lambda_proxy, empty function, "+fn+", 1 connection", "portcullis", e.gwAddr, p.pid(), false,
				load{path: path, auth: "-", conns: 1, dur: d}); err != nil {
				return err
			}
			if r := e.take(id); r != nil {
				runs[fn] = append(runs[fn], r)
			}
		}
	}
	for _, fn := range scenario6 {
		e.keepMedianP50(runs[fn])
	}
	p.stop()
	return e.coldStarts(py, nd)
}

// coldStarts launches each function -cold-runs times and times its first
// invocation from the launch.
func (e *env) coldStarts(py, nd string) error {
	f, err := config.Parse(filepath.Join(e.tmp, "cold.yaml"), []byte(e.functionsConfig(py, nd)), os.LookupEnv)
	if err != nil {
		return err
	}
	runtimes := registry.New(registry.Process{}, python.Runtime{}, node.Runtime{})
	for _, name := range scenario6 {
		var runs []float64
		for range max(*flagColdRuns, 1) {
			fn, err := runtimes.Build(&registry.Block{File: f, At: "functions." + name, Name: name, Conf: f.Config.Functions[name], Dir: e.tmp})
			if err != nil {
				return err
			}
			proc := fn.(*function.Process)
			start := time.Now()
			if err := proc.Start(context.Background()); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err = proc.Invoke(ctx, []byte(`{}`))
			took := time.Since(start)
			cancel()
			proc.Close()
			if err != nil {
				return fmt.Errorf("cold start of %s: %w", name, err)
			}
			runs = append(runs, float64(took.Microseconds())/1000)
		}
		sorted := slices.Clone(runs)
		slices.Sort(sorted)
		c := ColdStart{Function: name, MedianMs: sorted[len(sorted)/2], MinMs: sorted[0], MaxMs: sorted[len(sorted)-1], RunsMs: runs}
		e.report.ColdStarts = append(e.report.ColdStarts, c)
		logf("cold start %s: median %.1f ms (min %.1f, max %.1f, %d runs)", name, c.MedianMs, c.MinMs, c.MaxMs, len(runs))
	}
	return nil
}

// functionTargets: each runtime client adds at most runtimeBudget µs over
// its interpreter's own minimum at p50.
func (e *env) functionTargets(add func(name, goal, actual string, pass bool), invalid func(rs ...*Result) string) {
	goal := fmt.Sprintf("runtime client adds ≤ %.0f µs over the interpreter's minimum at p50", runtimeBudget)
	for _, lang := range []string{"python", "node"} {
		c, bare, gor := e.find("6."+lang), e.find("6."+lang+"-bare"), e.find("6.go")
		if why := invalid(c, bare); why != "" {
			add("6 "+lang, goal, why, false)
			continue
		}
		added := c.P50us - bare.P50us
		goNote := ""
		if gor != nil {
			goNote = fmt.Sprintf("; Go (aws-lambda-go) %.0f µs", gor.P50us)
		}
		add("6 "+lang, goal, fmt.Sprintf("p50 %.0f µs with the client and an empty handler vs %.0f µs bare: +%.0f µs%s", c.P50us, bare.P50us, added, goNote), added <= runtimeBudget)
	}
}

// keepMedianP50 reports the run with the median p50 of runs.
func (e *env) keepMedianP50(runs []*Result) {
	if len(runs) == 0 {
		return
	}
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b *Result) int { return cmp.Compare(a.P50us, b.P50us) })
	med := sorted[(len(sorted)-1)/2]
	var each []string
	for _, r := range runs {
		each = append(each, fmt.Sprintf("%.0f", r.P50us))
		if r.Errors > 0 && med.Errors == 0 {
			med.Errors, med.ErrDetail = r.Errors, r.ErrDetail
		}
	}
	med.Note = fmt.Sprintf("median of %d runs, p50 µs %s", len(runs), strings.Join(each, " / "))
	e.report.Results = append(e.report.Results, med)
}
