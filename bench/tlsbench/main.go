// Command tlsbench measures Portcullis's TLS beside nginx on loopback, with
// the same certificate and the same cipher: full handshakes (ECDSA P-256 and
// RSA-2048 certificates), resumed handshakes (TLS 1.3 tickets), and
// keep-alive requests per second over TLS and over plain HTTP (wrk) through
// a JWT route with a cached token (nginx: proxy_pass, no JWT). The server
// under test is pinned to one CPU, the load and the backend to the other;
// CPU per handshake is the server's utime+stime over the run divided by
// the handshakes it completed. Both servers do the same work per
// connection: TLS 1.3 with X25519, the leaf certificate alone, one session
// ticket, the request proxied to the same backend and an access log line
// to /dev/null (-check prints what each one negotiates and sends).
//
//	go run ./bench/tlsbench -d 6s -rounds 3
//	go run ./bench/tlsbench -check  # what each server negotiates, no load
//
// Run from the repository root; it needs nginx, wrk and taskset.
package main

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/nginxconf"
	"github.com/portcullis/portcullis/internal/tlsconf"
)

var (
	flagDur     = flag.Duration("d", 10*time.Second, "length of each run")
	flagConns   = flag.Int("c", 16, "concurrent clients (handshakes) / wrk connections")
	flagSrvCPU  = flag.String("server-cpu", "0", "CPU for the server under test")
	flagLoadCPU = flag.String("load-cpu", "1", "CPU for the load and the backend")
	flagCheck   = flag.Bool("check", false, "only print what each server negotiates and sends, without load")
	flagRounds  = flag.Int("rounds", 3, "handshake runs per server, alternating between them; the table has the median")
	flagEnv     = flag.String("portcullis-env", "", "space-separated KEY=VALUE settings added to portcullis's environment (e.g. GOGC=400)")
)

type proc struct {
	cmd *exec.Cmd
}

func start(cpu string, argv ...string) *proc {
	cmd := exec.Command("taskset", append([]string{"-c", cpu}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Fatalf("%v: %v", argv, err)
	}
	return &proc{cmd: cmd}
}

func (p *proc) stop() { _ = p.cmd.Process.Signal(syscall.SIGTERM); _ = p.cmd.Wait() }

// cpuTicks is utime+stime of pid and its children (nginx's worker).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	n := u + st
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		c, _ := os.ReadFile(t)
		for _, id := range strings.Fields(string(c)) {
			cid, _ := strconv.Atoi(id)
			n += cpuTicks(cid)
		}
	}
	return n
}

func waitUp(url string, cfg *tls.Config) {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: time.Second}
	for range 150 {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log.Fatalf("%s never answered", url)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func run(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		log.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

type result struct {
	name          string
	perSec        float64
	cpuUsPerUnit  float64
	serverCPUFrac float64
}

// handshakes runs clients that each connect, send one request with
// Connection: close, read the answer and close, for d; resume keeps a
// session cache per client (TLS 1.3 tickets).
func handshakes(addr, host string, roots *x509.CertPool, resume bool, pid int, d time.Duration) result {
	var done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	req := benchRequest(host)
	for range *flagConns {
		wg.Go(func() {
			cfg := benchClientConfig(roots, host)
			buf := make([]byte, 4096)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !resume {
					// Offer resumption as real clients do, with nothing
					// to resume: a full handshake, and the server
					// issues its tickets as it would to a new client.
					cfg = benchClientConfig(roots, host)
				}
				c, err := tls.Dial("tcp", addr, cfg)
				if err != nil {
					continue
				}
				_, _ = c.Write(req)
				var got []byte
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				if bytes.HasPrefix(got, []byte("HTTP/1.1 200")) && (!resume || c.ConnectionState().DidResume) {
					done.Add(1)
				}
				c.Close()
			}
		})
	}
	time.Sleep(time.Second) // warm up (and the first full handshake of each resuming client)
	n0, t0, at := done.Load(), cpuTicks(pid), time.Now()
	time.Sleep(d)
	n1, t1, el := done.Load(), cpuTicks(pid), time.Since(at)
	close(stop)
	wg.Wait()
	cpu := float64(t1-t0) / 100
	return result{perSec: float64(n1-n0) / el.Seconds(), cpuUsPerUnit: cpu * 1e6 / float64(n1-n0), serverCPUFrac: cpu / el.Seconds()}
}

// benchClientConfig is the handshake clients' TLS: 1.3 only, offering
// X25519 alone (Go would otherwise offer and get the hybrid X25519MLKEM768
// from Portcullis, which nginx 1.22 with OpenSSL 3.0 does not have), no ALPN
// (HTTP/1.1 on both), and an empty session cache, so that the client offers
// resumption (psk_key_exchange_modes) as browsers and curl do: without it
// Go's server sends no session ticket while OpenSSL sends its tickets all
// the same, and the two would not do the same work.
func benchClientConfig(roots *x509.CertPool, host string) *tls.Config {
	return &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS13,
		CurvePreferences:   []tls.CurveID{tls.X25519},
		ClientSessionCache: tls.NewLRUClientSessionCache(1)}
}

// benchRequest is the one request of each handshake run's connection.
func benchRequest(host string) []byte {
	return []byte("GET /hello HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
}

// median is the run with the median CPU per handshake.
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return cmp.Compare(a.cpuUsPerUnit, b.cpuUsPerUnit) })
	return s[len(s)/2]
}

// cpuList is each run's CPU per handshake, in run order.
func cpuList(rs []result) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.0f", r.cpuUsPerUnit)
	}
	return b.String()
}

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// keepAlive drives url with wrk for d on persistent connections.
func keepAlive(url, auth string, pid int, d time.Duration) result {
	args := []string{"-c", *flagLoadCPU, "wrk", "-t", "1", "-c", strconv.Itoa(*flagConns), "-d", d.String(), "--latency"}
	if auth != "" {
		args = append(args, "-H", "Authorization: Bearer "+auth)
	}
	t0, at := cpuTicks(pid), time.Now()
	out := run("taskset", append(args, url)...)
	t1, el := cpuTicks(pid), time.Since(at)
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		log.Fatalf("wrk: %s", out)
	}
	rps, _ := strconv.ParseFloat(m[1], 64)
	cpu := float64(t1-t0) / 100
	return result{perSec: rps, cpuUsPerUnit: cpu * 1e6 / (rps * el.Seconds()), serverCPUFrac: cpu / el.Seconds()}
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	if *flagRounds < 1 {
		log.Fatal("-rounds: at least 1")
	}
	tmp, err := os.MkdirTemp("", "tlsbench")
	must(err)
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, "bin")
	run("go", "build", "-o", filepath.Join(bin, "portcullis"), "./cmd/portcullis")
	run("go", "build", "-o", filepath.Join(bin, "backend"), "./bench/backend")
	ca, err := tlsconf.NewDevCA("bench CA", time.Hour)
	must(err)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, kind := range []string{tlsconf.KeyECDSA, tlsconf.KeyRSA} {
		cert, key, err := ca.Issue(tlsconf.Leaf{CommonName: "localhost", DNSNames: []string{"localhost"}, KeyType: kind})
		must(err)
		kp, err := tlsconf.KeyPEM(key)
		must(err)
		must(os.WriteFile(filepath.Join(tmp, kind+".pem"), tlsconf.CertPEM(cert), 0o600))
		must(os.WriteFile(filepath.Join(tmp, kind+"-key.pem"), kp, 0o600))
	}
	keys := filepath.Join(tmp, "keys")
	run(filepath.Join(bin, "portcullis"), "token", "keygen", "--out", keys, "--type", "ec")
	tok := strings.TrimSpace(run(filepath.Join(bin, "portcullis"), "token", "mint", "--key", filepath.Join(keys, "private.pem"),
		"--iss", "https://bench.local", "--aud", "bench", "--sub", "bench", "--ttl", "2h"))

	backend := start(*flagLoadCPU, filepath.Join(bin, "backend"), "-listen", "127.0.0.1:18600")
	defer backend.stop()

	var rows [][]string
	add := func(what, target string, r result, unit string) {
		rows = append(rows, []string{what, target, fmt.Sprintf("%.0f", r.perSec), fmt.Sprintf("%.0f", r.cpuUsPerUnit), unit, fmt.Sprintf("%.2f", r.serverCPUFrac)})
		log.Printf("%-40s %-10s %8.0f/s  %6.0f µs CPU/%s  server CPU %.2f", what, target, r.perSec, r.cpuUsPerUnit, unit, r.serverCPUFrac)
	}

	for _, kind := range []string{tlsconf.KeyECDSA, tlsconf.KeyRSA} {
		cert, key := filepath.Join(tmp, kind+".pem"), filepath.Join(tmp, kind+"-key.pem")
		// nginx
		ndir := filepath.Join(tmp, "nginx-"+kind)
		must(os.MkdirAll(ndir, 0o755))
		nconf, err := nginxconf.Write(ndir, 4096, fmt.Sprintf(`  keepalive_requests 100000;
  upstream backend { server 127.0.0.1:18600; keepalive 64; }
  server {
    listen 127.0.0.1:18643 ssl http2;
    listen 127.0.0.1:18680;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519;
    ssl_session_tickets on;
    # One ticket per handshake as Go's server sends (OpenSSL's default is 2),
    # and the access log line Portcullis writes, to the same /dev/null.
    ssl_conf_command NumTickets 1;
    access_log /dev/null;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
`, cert, key))
		must(err)
		ng := start(*flagSrvCPU, "nginx", "-c", nconf, "-p", ndir, "-e", filepath.Join(ndir, "error.log"))
		waitUp("https://localhost:18643/hello", &tls.Config{RootCAs: roots})
		// portcullis
		cfg := filepath.Join(tmp, "portcullis-"+kind+".yaml")
		must(os.WriteFile(cfg, fmt.Appendf(nil, `listen: 127.0.0.1:18743
tls:
  certificates: [{cert_file: %s, key_file: %s}]
authorizers:
  bench: {type: jwt, issuer: https://bench.local, audience: [bench], jwks_file: %s}
routes:
  - route: GET /hello
    integration: {type: http_proxy, uri: "http://127.0.0.1:18600/hello"}
  - route: GET /jwt
    authorizer: bench
    integration: {type: http_proxy, uri: "http://127.0.0.1:18600/hello"}
`, cert, key, filepath.Join(keys, "jwks.json")), 0o644))
		devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		gw := exec.Command("taskset", "-c", *flagSrvCPU, filepath.Join(bin, "portcullis"), "serve", "-c", cfg)
		gw.Env = append(os.Environ(), strings.Fields(*flagEnv)...)
		gw.Stderr, gw.Stdout = devnull, devnull // the access log, as in bench/
		gw.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		must(gw.Start())
		gp := &proc{cmd: gw}
		waitUp("https://localhost:18743/hello", &tls.Config{RootCAs: roots})

		for _, t := range []struct{ name, addr string }{{"nginx", "127.0.0.1:18643"}, {"portcullis", "127.0.0.1:18743"}} {
			f, err := checkHandshake(t.addr, "localhost", roots)
			must(err)
			log.Printf("%-10s %s %s %s, ALPN %s, certificates sent: %d, session tickets after a full handshake offering resumption: %d, resumed %v with %d more, %d/%d bytes to the client without/with psk_key_exchange_modes, %s, response headers %d bytes",
				t.name, f.version, f.suite, f.curve, f.alpn, f.chain, f.tickets, f.resumed, f.resumedTickets, f.bytesNoPSK, f.bytesPSK, f.status, f.respHeaderBytes)
		}
		if *flagCheck {
			ng.stop()
			gp.stop()
			devnull.Close()
			continue
		}
		label := map[string]string{tlsconf.KeyECDSA: "ECDSA P-256", tlsconf.KeyRSA: "RSA-2048"}[kind]
		// Handshake runs alternate between the two servers, -rounds times,
		// so that both see the same neighbours on a shared machine; the
		// table has each one's median run.
		pair := func(what string, resume bool) {
			var ngx, pc []result
			for range *flagRounds {
				ngx = append(ngx, handshakes("127.0.0.1:18643", "localhost", roots, resume, ng.cmd.Process.Pid, *flagDur))
				pc = append(pc, handshakes("127.0.0.1:18743", "localhost", roots, resume, gw.Process.Pid, *flagDur))
			}
			if *flagRounds > 1 {
				log.Printf("%s: nginx %s µs, portcullis %s µs CPU per handshake", what, cpuList(ngx), cpuList(pc))
			}
			add(what, "nginx", median(ngx), "handshake")
			add(what, "portcullis", median(pc), "handshake")
		}
		pair("full handshake TLS 1.3 X25519, "+label, false)
		if kind == tlsconf.KeyECDSA {
			pair("resumed handshake TLS 1.3 (ticket)", true)
			add("keep-alive HTTPS, nginx proxy / portcullis JWT", "nginx", keepAlive("https://localhost:18643/hello", "", ng.cmd.Process.Pid, *flagDur), "request")
			add("keep-alive HTTPS, nginx proxy / portcullis JWT", "portcullis", keepAlive("https://localhost:18743/jwt", tok, gw.Process.Pid, *flagDur), "request")
			add("keep-alive plain HTTP, nginx proxy", "nginx", keepAlive("http://127.0.0.1:18680/hello", "", ng.cmd.Process.Pid, *flagDur), "request")
		}
		ng.stop()
		gp.stop()
		if kind == tlsconf.KeyECDSA {
			// The same JWT route over plain HTTP, for the ratio.
			plain := filepath.Join(tmp, "portcullis-plain.yaml")
			must(os.WriteFile(plain, fmt.Appendf(nil, `listen: 127.0.0.1:18780
authorizers:
  bench: {type: jwt, issuer: https://bench.local, audience: [bench], jwks_file: %s}
routes:
  - route: GET /jwt
    authorizer: bench
    integration: {type: http_proxy, uri: "http://127.0.0.1:18600/hello"}
`, filepath.Join(keys, "jwks.json")), 0o644))
			pw := exec.Command("taskset", "-c", *flagSrvCPU, filepath.Join(bin, "portcullis"), "serve", "-c", plain)
			pw.Env = gw.Env
			pw.Stderr, pw.Stdout = devnull, devnull
			pw.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			must(pw.Start())
			pp := &proc{cmd: pw}
			waitUp("http://127.0.0.1:18780/jwt", nil)
			add("keep-alive plain HTTP, portcullis JWT", "portcullis", keepAlive("http://127.0.0.1:18780/jwt", tok, pw.Process.Pid, *flagDur), "request")
			pp.stop()
		}
		devnull.Close()
	}
	if len(rows) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("| measurement | target | per second | server CPU µs per unit | unit | server CPU used (of 1 core) |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Println("| " + strings.Join(r, " | ") + " |")
	}
}
