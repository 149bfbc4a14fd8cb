// Command soak runs Portcullis (the real binary) against a backend and an
// OIDC issuer for a long time at a steady rate, checks every answer against
// the expected decision, and watches the gateway's goroutines, open files and
// resident memory for growth. Run it from the repository root:
//
//	go run ./bench/soak -duration 15m
//	go run ./bench/soak -duration 2m -rate 500
//
// Without -rate it measures the peak for 3 s first and runs at half of it.
// It exits 1 if any decision is wrong or any resource grows beyond its bound;
// docs/reliability.md describes it and records results.
package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/token"
)

var (
	flagDuration = flag.Duration("duration", 15*time.Minute, "how long to drive load")
	flagRate     = flag.Float64("rate", 0, "requests per second; 0: half of a 3 s peak measurement")
	flagSample   = flag.Duration("sample", 10*time.Second, "how often to sample /metrics")
	flagWorkers  = flag.Int("workers", 64, "concurrent client workers")
	flagBin      = flag.String("bin", "", "portcullis binary (default: go build ./cmd/portcullis)")
	flagWarmup   = flag.Int("warmup", 2, "samples ignored at the start for the trend check")
	flagKeep     = flag.Bool("keep", false, "keep the work directory (config, gateway log)")
	flagIdle     = flag.Int("idle", 0, "first open this many keep-alive connections, check a fresh request is still quick and that the gateway closes them after idle_timeout (10s)")
)

const audience = "soak-api"

// kind is a class of request and the answer it must get.
type kind struct {
	name   string
	status int
	body   func(id int, sub string) string
	tokens []string
	subs   []string
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run() error {
	work, err := os.MkdirTemp("", "portcullis-soak-")
	if err != nil {
		return err
	}
	if !*flagKeep {
		defer os.RemoveAll(work)
	} else {
		fmt.Println("work directory:", work)
	}
	bin := *flagBin
	if bin == "" {
		bin = filepath.Join(work, "portcullis")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/portcullis").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}

	// The issuer: OIDC discovery and a JWKS with one RSA key.
	key, err := token.GenerateKey("rsa")
	if err != nil {
		return err
	}
	issURL, stopIss, err := serveIssuer(key)
	if err != nil {
		return err
	}
	defer stopIss()
	// The backend: answers with what it was asked and who the gateway says
	// the caller is.
	beURL, stopBe, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "order "+strings.TrimPrefix(r.URL.Path, "/orders/")+" for "+r.Header.Get("X-User-Id"))
	}))
	if err != nil {
		return err
	}
	defer stopBe()

	listen, admin := freeAddr(), freeAddr()
	cfg := filepath.Join(work, "soak.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: %s
admin_listen: %s
authorizers:
  users: {type: jwt, issuer: %q, audience: [%s]}
server: {idle_timeout: 10s}
routes:
  - route: GET /orders/{id}
    authorizer: users
    authorization_scopes: [orders:read]
    integration:
      type: http_proxy
      uri: %s/orders/{id}
      request_parameters: {"overwrite:header.x-user-id": $context.authorizer.claims.sub}
  - route: GET /status
    integration: {type: mock, body: ok}
`, listen, admin, issURL, audience, beURL)), 0o644)
	logFile, err := os.Create(filepath.Join(work, "gateway.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	gw := exec.Command(bin, "serve", "-c", cfg, "--log-level", "warn")
	gw.Stderr = logFile
	if err := gw.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- gw.Wait() }()
	defer func() {
		gw.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			gw.Process.Kill()
		}
	}()
	base, adminBase := "http://"+listen, "http://"+admin
	if err := waitReady(adminBase + "/readyz"); err != nil {
		return err
	}

	if *flagIdle > 0 {
		if err := idleConnections(base, *flagIdle); err != nil {
			return err
		}
	}
	kinds, err := makeKinds(key, issURL)
	if err != nil {
		return err
	}
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: *flagWorkers, MaxIdleConns: *flagWorkers},
		Timeout:   10 * time.Second,
	}

	rate := *flagRate
	if rate <= 0 {
		peak := measurePeak(client, base, kinds)
		rate = peak / 2
		fmt.Printf("peak %.0f req/s over 3 s; soaking at %.0f req/s\n", peak, rate)
	} else {
		fmt.Printf("soaking at %.0f req/s\n", rate)
	}

	var st stats
	st.byKind = make(map[string]*atomic.Int64)
	for _, k := range kinds {
		st.byKind[k.name] = new(atomic.Int64)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *flagDuration)
	defer cancel()
	jobs := make(chan int, *flagWorkers*4)
	var wg sync.WaitGroup
	for range *flagWorkers {
		wg.Go(func() {
			for n := range jobs {
				check(client, base, kinds, n, &st)
			}
		})
	}
	var samples []sample
	sampleTick := time.NewTicker(*flagSample)
	defer sampleTick.Stop()
	if s, err := scrape(adminBase); err == nil {
		samples = append(samples, s)
		s.print(0, &st)
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	n := 0
drive:
	for {
		select {
		case <-ctx.Done():
			break drive
		case <-sampleTick.C:
			s, err := scrape(adminBase)
			if err != nil {
				st.note("metrics: %v", err)
				st.errors.Add(1)
				continue
			}
			samples = append(samples, s)
			s.print(time.Since(start), &st)
		default:
		}
		// Open loop: requests are due at a fixed rate whatever the
		// answers' latency; a full queue counts as "behind" (the load
		// generator, not the gateway, is short).
		now := time.Now()
		for ; !next.After(now); next = next.Add(interval) {
			select {
			case jobs <- n:
				n++
			default:
				st.behind.Add(1)
			}
		}
		time.Sleep(min(time.Until(next), 5*time.Millisecond))
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	if s, err := scrape(adminBase); err == nil {
		samples = append(samples, s)
		s.print(elapsed, &st)
	}

	// Verdict.
	total := st.total.Load()
	fmt.Printf("\n%d requests in %v (%.0f req/s); wrong %d, errors %d, behind %d\n",
		total, elapsed.Round(time.Second), float64(total)/elapsed.Seconds(), st.wrong.Load(), st.errors.Load(), st.behind.Load())
	for _, k := range kinds {
		fmt.Printf("  %-14s %d (expect %d)\n", k.name, st.byKind[k.name].Load(), k.status)
	}
	fmt.Printf("latency p50 %v p99 %v max %v\n", st.percentile(50), st.percentile(99), st.percentile(100))
	var failures []string
	failures = append(failures, st.failures()...)
	if st.wrong.Load() > 0 {
		failures = append(failures, fmt.Sprintf("%d wrong decisions", st.wrong.Load()))
	}
	if st.errors.Load() > 0 {
		failures = append(failures, fmt.Sprintf("%d failed requests", st.errors.Load()))
	}
	failures = append(failures, trend(samples, *flagWarmup)...)
	select {
	case err := <-exited:
		failures = append(failures, fmt.Sprintf("the gateway exited during the soak: %v", err))
	default:
	}
	if len(failures) > 0 {
		return fmt.Errorf("FAIL:\n  %s", strings.Join(failures, "\n  "))
	}
	fmt.Println("PASS")
	return nil
}

// makeKinds mints the token pools: valid, expired, wrong scope, wrong
// audience, signed by another key, garbage, and none.
func makeKinds(key crypto.Signer, iss string) ([]*kind, error) {
	other, err := token.GenerateKey("rsa")
	if err != nil {
		return nil, err
	}
	mint := func(k crypto.Signer, sub, scope string, aud string, ttl time.Duration) (string, error) {
		return token.Mint(k, "", "k1", token.Claims{Issuer: iss, Subject: sub, Audience: []string{aud}, Scope: scope, TTL: ttl})
	}
	unauthorized := func(int, string) string { return `{"message":"Unauthorized"}` }
	kinds := []*kind{
		{name: "valid", status: 200, body: func(id int, sub string) string { return fmt.Sprintf("order %d for %s", id, sub) }},
		{name: "expired", status: 401, body: unauthorized},
		{name: "wrong-scope", status: 403, body: func(int, string) string { return `{"message":"Forbidden"}` }},
		{name: "wrong-aud", status: 401, body: unauthorized},
		{name: "bad-signature", status: 401, body: unauthorized},
		{name: "garbage", status: 401, body: unauthorized},
		{name: "missing", status: 401, body: unauthorized},
	}
	for i := range 200 {
		sub := fmt.Sprintf("user-%d", i)
		for _, k := range kinds {
			var tok string
			var err error
			switch k.name {
			case "valid":
				tok, err = mint(key, sub, "orders:read", audience, 24*time.Hour)
			case "expired":
				tok, err = mint(key, sub, "orders:read", audience, -time.Minute)
			case "wrong-scope":
				tok, err = mint(key, sub, "orders:write", audience, 24*time.Hour)
			case "wrong-aud":
				tok, err = mint(key, sub, "orders:read", "other-api", 24*time.Hour)
			case "bad-signature":
				tok, err = mint(other, sub, "orders:read", audience, 24*time.Hour)
			case "garbage":
				tok = "not-a-token-" + sub
			}
			if err != nil {
				return nil, err
			}
			k.tokens = append(k.tokens, tok)
			k.subs = append(k.subs, sub)
		}
	}
	return kinds, nil
}

// check sends request n and compares the answer with its kind's.
func check(c *http.Client, base string, kinds []*kind, n int, st *stats) {
	k := kinds[n%len(kinds)]
	i := (n / len(kinds)) % len(k.tokens)
	id := n % 100000
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/orders/%d", base, id), nil)
	if k.name != "missing" {
		req.Header.Set("Authorization", "Bearer "+k.tokens[i])
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		st.errors.Add(1)
		st.note("%s: %v", k.name, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	st.observe(time.Since(start))
	st.total.Add(1)
	st.byKind[k.name].Add(1)
	if err != nil {
		st.errors.Add(1)
		st.note("%s: reading: %v", k.name, err)
		return
	}
	if want := k.body(id, k.subs[i]); resp.StatusCode != k.status || string(body) != want {
		st.wrong.Add(1)
		st.note("%s: got %d %q, want %d %q", k.name, resp.StatusCode, body, k.status, want)
	}
}

func measurePeak(c *http.Client, base string, kinds []*kind) float64 {
	var st stats
	st.byKind = map[string]*atomic.Int64{}
	for _, k := range kinds {
		st.byKind[k.name] = new(atomic.Int64)
	}
	var n atomic.Int64
	end := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for range *flagWorkers {
		wg.Go(func() {
			for time.Now().Before(end) {
				check(c, base, kinds, int(n.Add(1)), &st)
			}
		})
	}
	wg.Wait()
	return float64(st.total.Load()) / 3
}

type stats struct {
	total, wrong, errors, behind atomic.Int64
	byKind                       map[string]*atomic.Int64
	mu                           sync.Mutex
	notes                        []string
	lat                          []time.Duration // a bounded reservoir
	seen                         int64
}

func (s *stats) note(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.notes) < 20 {
		s.notes = append(s.notes, fmt.Sprintf(format, args...))
	}
}

func (s *stats) failures() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.notes)
}

func (s *stats) observe(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen++
	if len(s.lat) < 100000 {
		s.lat = append(s.lat, d)
	} else if j := int(uint64(s.seen*2654435761) % uint64(s.seen)); j < len(s.lat) {
		s.lat[j] = d
	}
}

func (s *stats) percentile(p int) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lat) == 0 {
		return 0
	}
	l := slices.Clone(s.lat)
	slices.Sort(l)
	i := min(len(l)-1, len(l)*p/100)
	return l[i].Round(10 * time.Microsecond)
}

// sample is one reading of the gateway's /metrics.
type sample struct {
	goroutines, fds, rss float64
}

func (s sample) print(at time.Duration, st *stats) {
	fmt.Printf("%6s  goroutines %4.0f  open fds %4.0f  rss %6.1f MiB  requests %d wrong %d errors %d\n",
		at.Round(time.Second), s.goroutines, s.fds, s.rss/(1<<20), st.total.Load(), st.wrong.Load(), st.errors.Load())
}

func scrape(admin string) (sample, error) {
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		return sample{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return sample{}, err
	}
	var s sample
	found := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_goroutines":
			s.goroutines, found = v, found+1
		case "process_open_fds":
			s.fds, found = v, found+1
		case "process_resident_memory_bytes":
			s.rss, found = v, found+1
		}
	}
	if found != 3 {
		return s, fmt.Errorf("metrics lack go_goroutines, process_open_fds or process_resident_memory_bytes")
	}
	return s, nil
}

// trend compares the start of the run (after warmup) with its end: the
// largest of the first three samples against the smallest of the last
// three, so noise does not count as growth but a steady climb does.
func trend(samples []sample, warmup int) []string {
	if len(samples) < warmup+6 {
		return []string{fmt.Sprintf("only %d samples; run longer (at least %d × -sample)", len(samples), warmup+6)}
	}
	s := samples[warmup:]
	first, last := s[:3], s[len(s)-3:]
	var out []string
	for _, m := range []struct {
		name  string
		get   func(sample) float64
		slack func(float64) float64
	}{
		{"goroutines", func(x sample) float64 { return x.goroutines }, func(v float64) float64 { return max(20, v/4) }},
		{"open fds", func(x sample) float64 { return x.fds }, func(v float64) float64 { return max(20, v/4) }},
		{"rss", func(x sample) float64 { return x.rss }, func(v float64) float64 { return max(32<<20, v*0.3) }},
	} {
		early := slices.Max([]float64{m.get(first[0]), m.get(first[1]), m.get(first[2])})
		late := slices.Min([]float64{m.get(last[0]), m.get(last[1]), m.get(last[2])})
		verdict := "ok"
		if late > early+m.slack(early) {
			verdict = "GROWS"
			out = append(out, fmt.Sprintf("%s grew from %.0f to %.0f (bound +%.0f)", m.name, early, late, m.slack(early)))
		}
		fmt.Printf("trend %-10s start %12.0f  end %12.0f  bound +%.0f  %s\n", m.name, early, late, m.slack(early), verdict)
	}
	return out
}

func serveIssuer(key crypto.Signer) (string, func(), error) {
	var url string
	jwk, err := token.PublicJWK(key.Public(), "k1")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"issuer": url, "jwks_uri": url + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=60") // refreshed during the soak
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwk}})
	})
	url, stop, err := serve(mux)
	return url, stop, err
}

func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway not ready at %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// idleConnections opens n connections that each make one keep-alive
// request and then idle, measures fresh requests while they are open, and
// checks that the gateway closes every one of them after its idle_timeout.
func idleConnections(base string, n int) error {
	addr := strings.TrimPrefix(base, "http://")
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 32 {
		wg.Go(func() {
			buf := make([]byte, 4096)
			for i := w; i < n; i += 32 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					failed.Add(1)
					continue
				}
				conns[i] = c
				io.WriteString(c, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if m, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:m]), "HTTP/1.1 200") {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	opened := time.Since(start)
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d idle connections failed to open or answer", f, n)
	}
	var lat []time.Duration
	for range 100 {
		t0 := time.Now()
		resp, err := http.Get(base + "/status") // a new connection each time
		if err != nil {
			return fmt.Errorf("fresh request with %d connections open: %v", n, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		http.DefaultClient.CloseIdleConnections()
	}
	slices.Sort(lat)
	fmt.Printf("idle: opened %d keep-alive connections in %v; fresh request p50 %v max %v\n",
		n, opened.Round(time.Millisecond), lat[50].Round(time.Microsecond), lat[99].Round(time.Microsecond))
	deadline := start.Add(opened + 15*time.Second) // idle_timeout 10s + slack
	open := 0
	for _, c := range conns {
		c.SetReadDeadline(deadline)
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); err != nil && errors.As(err, &ne) && ne.Timeout() {
			open++
		}
	}
	fmt.Printf("idle: %d of %d still open %v after the first was opened\n", open, n, time.Since(start).Round(time.Second))
	if open > 0 {
		return fmt.Errorf("%d idle connections were not closed by the gateway", open)
	}
	return nil
}
