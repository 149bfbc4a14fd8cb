package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Open-loop load for the latency target: requests are sent at a constant
// rate whether or not earlier ones have been answered (vegeta as a library),
// so a slow answer cannot hold back the requests behind it, as it does in a
// closed loop, and the connections do not fall into step and arrive in
// bursts, as wrk's delay() pacing made them do. The attack runs in a child
// process (this binary with -attack) so that it can be pinned to the load
// core like wrk.

var (
	flagAttack     = flag.String("attack", "", "internal: run an open-loop attack on this URL and print WRKJSON")
	flagAttackRate = flag.Float64("attack-rate", 0, "internal: requests per second for -attack")
	flagAttackDur  = flag.Duration("attack-dur", 0, "internal: duration of -attack")
	flagAttackAuth = flag.String("attack-auth", "", "internal: Authorization header value for -attack")
	flagAttackDump = flag.String("attack-dump", "", "with -attack: write each request's start (µs after the first) and latency (µs) to this file")
)

// openLoop runs the attack in a pinned child process and returns its
// figures in wrk's shape.
func (e *env) openLoop(addr string, l load) (*wrkOut, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	auth := ""
	if v, ok := strings.CutPrefix(l.auth, "fixed:"); ok {
		auth = v
	} else if l.auth != "-" {
		return nil, fmt.Errorf("open-loop runs take no token file")
	}
	return runChild(l.dur, "open-loop attack", self, "-attack", "http://"+addr+l.path,
		"-attack-rate", strconv.FormatFloat(l.rate, 'f', 1, 64), "-attack-dur", l.dur.String(), "-attack-auth", auth)
}

// runChild runs this binary (self) with args, pinned to the load core, for
// a load of duration dur, and returns the figures of its WRKJSON line with
// the child's CPU time. what names the load in errors.
func runChild(dur time.Duration, what, self string, args ...string) (*wrkOut, error) {
	argv := pin(*flagLoadCPU, append([]string{self}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), dur+60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", what, err, out.String())
	}
	for line := range strings.SplitSeq(out.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "WRKJSON "); ok {
			var w wrkOut
			if err := json.Unmarshal([]byte(j), &w); err != nil {
				return nil, fmt.Errorf("%s output %q: %v", what, j, err)
			}
			u := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			w.cpuS = tv(u.Utime) + tv(u.Stime)
			return &w, nil
		}
	}
	return nil, fmt.Errorf("no WRKJSON line in %s output:\n%s", what, out.String())
}

// attack is the child's side: a constant-rate attack, exact percentiles.
func attack() int {
	hdr := http.Header{}
	if *flagAttackAuth != "" {
		hdr.Set("Authorization", *flagAttackAuth)
	}
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: *flagAttack, Header: hdr})
	// Enough workers and connections that the rate holds even when answers
	// slow down (open loop); keep-alive as wrk.
	a := vegeta.NewAttacker(vegeta.Workers(64), vegeta.MaxWorkers(1024), vegeta.Connections(1024),
		vegeta.Timeout(5*time.Second), vegeta.KeepAlive(true))
	rate := vegeta.Rate{Freq: int(*flagAttackRate), Per: time.Second}
	var lat []time.Duration
	var w wrkOut
	start := time.Now()
	var dump *bufio.Writer
	if *flagAttackDump != "" {
		f, err := os.Create(*flagAttackDump)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		dump = bufio.NewWriter(f)
		defer dump.Flush()
	}
	for res := range a.Attack(targeter, rate, *flagAttackDur, "open-loop") {
		switch {
		case res.Error != "" && res.Code == 0:
			w.ErrRead++
		case res.Code >= 400:
			w.ErrStatus++
		}
		lat = append(lat, res.Latency)
		if dump != nil {
			fmt.Fprintf(dump, "%d %d\n", res.Timestamp.Sub(start).Microseconds(), res.Latency.Microseconds())
		}
	}
	w.report(time.Since(start), lat)
	return 0
}

// report fills w's request count, duration and latency figures (exact
// percentiles of lat, which it sorts) and prints w as the WRKJSON line
// runChild reads.
func (w *wrkOut) report(elapsed time.Duration, lat []time.Duration) {
	w.DurationUs = elapsed.Microseconds()
	w.Requests = int64(len(lat))
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
		}
		var sum time.Duration
		for _, d := range lat {
			sum += d
		}
		w.Mean = float64(sum.Nanoseconds()) / float64(len(lat)) / 1e3
		w.P50, w.P75, w.P90, w.P99, w.P999 = q(0.50), q(0.75), q(0.90), q(0.99), q(0.999)
	}
	j, _ := json.Marshal(w)
	fmt.Println("WRKJSON " + string(j))
}
