package proxy

// What Serve passes between client and backend, header by header: the rules
// of a reverse proxy (RFC 9110 section 7.6: hop-by-hop fields, Connection,
// TE, trailers, informational answers, flushing) that Serve applies itself.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/route"
	"github.com/portcullis/portcullis/internal/testbackend"
)

// relayServer serves p under a net/http server, as the gateway does.
func relayServer(t *testing.T, p *Proxy) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &Call{Params: &route.Params{}, RequestID: "req-1", ClientIP: "192.0.2.1"}
		w.Header().Set("Access-Control-Allow-Origin", "https://app.example") // set before Serve, as the gateway's CORS stage does
		p.Serve(w, r, c)
		if c.Abort {
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// rawExchange sends request (a raw HTTP/1.1 request head) to addr and reads
// the answers up to the final one, whose body it reads whole (trailers
// included).
func rawExchange(t *testing.T, addr, request string) (interim []*http.Response, final *http.Response, body string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode >= 200 {
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return interim, resp, string(b)
		}
		interim = append(interim, resp)
	}
}

// relayCase is one rule of TestServeRelayRules.
type relayCase struct {
	name string
	// request is sent as is after "GET /x HTTP/1.1\r\nHost: gw\r\n".
	request string
	// answer is the backend's whole answer.
	answer string
	// The backend's view of the request: headers it must see with these
	// values, and headers it must not see.
	sent   map[string]string
	unsent []string
	// The client's view of the answer: status, headers, trailers,
	// informational answers.
	status   int
	got      map[string]string
	notGot   []string
	trailers map[string]string
	interim  []string // "code Link-value" of each 1xx
}

// TestServeRelayRules: each rule a reverse proxy applies between the
// client's request and the backend's, and between the backend's answer
// and the client's, with each backend client Serve may be given.
func TestServeRelayRules(t *testing.T) {
	for _, tc := range []relayCase{
		{
			name:    "hop-by-hop request headers are not sent",
			request: "Connection: keep-alive, X-Conn-Named\r\nX-Conn-Named: 1\r\nKeep-Alive: 300\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\nTe: gzip\r\nTrailer: X-T\r\nUpgrade: h2c\r\nX-Kept: yes\r\n",
			answer:  ok2,
			sent:    map[string]string{"X-Kept": "yes"},
			unsent:  []string{"X-Conn-Named", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Trailer", "Upgrade", "Connection"},
			status:  200,
		},
		{
			name:    "headers named in Connection are not sent, in any case",
			request: "Connection: x-lower, X-UPPER\r\nX-Lower: 1\r\nX-Upper: 1\r\nX-Kept: yes\r\n",
			answer:  ok2,
			sent:    map[string]string{"X-Kept": "yes"},
			unsent:  []string{"X-Lower", "X-Upper"},
			status:  200,
		},
		{
			name:    "TE: trailers is passed on, alone",
			request: "Te: deflate, trailers\r\n",
			answer:  ok2,
			sent:    map[string]string{"Te": "trailers"},
			status:  200,
		},
		{
			name:    "the client's forwarding headers are replaced",
			request: "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\nX-Request-Id: forged\r\n",
			answer:  ok2,
			sent:    map[string]string{"X-Forwarded-For": "192.0.2.1", "X-Real-Ip": "192.0.2.1", "X-Forwarded-Host": "gw", "X-Forwarded-Proto": "http", "X-Request-Id": "req-1"},
			unsent:  []string{"Forwarded"},
			status:  200,
		},
		{
			name:   "no User-Agent is added",
			answer: ok2,
			unsent: []string{"User-Agent"},
			status: 200,
		},
		{
			name:    "the client's User-Agent is passed on",
			request: "User-Agent: curl/8\r\n",
			answer:  ok2,
			sent:    map[string]string{"User-Agent": "curl/8"},
			status:  200,
		},
		{
			name:   "hop-by-hop response headers are not relayed",
			answer: "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Kept: yes\r\nContent-Length: 2\r\n\r\nok",
			status: 200,
			got:    map[string]string{"X-Kept": "yes"},
			notGot: []string{"X-Secret", "Keep-Alive", "Proxy-Authenticate", "Proxy-Connection", "Upgrade"},
		},
		{
			name:     "announced trailers are relayed",
			answer:   "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n",
			status:   200,
			trailers: map[string]string{"X-Sum": "42"},
		},
		{
			name:     "unannounced trailers are relayed",
			answer:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Late: 7\r\n\r\n",
			status:   200,
			trailers: map[string]string{"X-Late": "7"},
		},
		{
			name:    "informational answers are relayed, and keep what the gateway set for the final one",
			answer:  "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + ok2,
			status:  200,
			got:     map[string]string{"Access-Control-Allow-Origin": "https://app.example"},
			notGot:  []string{"Link"},
			interim: []string{"103 </a.css>; rel=preload"},
		},
		{
			name:    "an upgrade is not proxied",
			request: "Connection: Upgrade\r\nUpgrade: websocket\r\n",
			answer:  "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			status:  502,
		},
	} {
		for _, client := range relayClients {
			t.Run(tc.name+"/"+client.name, func(t *testing.T) {
				relayRuleCase(t, client.new(t), tc)
			})
		}
	}
}

// relayClients are the backend clients Serve is held to the rules with: the
// project's Transport, which reports informational answers to Serve
// directly, and net/http's, which reports them through httptrace and hands
// a protocol switch to the caller.
var relayClients = []struct {
	name string
	new  func(t *testing.T) http.RoundTripper
}{
	{"Transport", func(t *testing.T) http.RoundTripper {
		tr := NewTransport()
		t.Cleanup(tr.CloseIdleConnections)
		return tr
	}},
	{"net/http", func(t *testing.T) http.RoundTripper {
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		return tr
	}},
}

func relayRuleCase(t *testing.T, tr http.RoundTripper, tc relayCase) {
	heads := make(chan http.Header, 1)
	be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		heads <- req.Header
		io.WriteString(c, tc.answer)
	})
	tpl, err := route.ParseTemplate("http://" + be.Addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	addr := relayServer(t, New(Options{URI: tpl, Transport: tr}))
	interim, resp, body := rawExchange(t, addr, "GET /x HTTP/1.1\r\nHost: gw\r\n"+tc.request+"\r\n")

	sent := <-heads
	for k, v := range tc.sent {
		if got := strings.Join(sent.Values(k), ", "); got != v {
			t.Errorf("backend got %s %q, want %q", k, got, v)
		}
	}
	for _, k := range tc.unsent {
		if v, ok := sent[http.CanonicalHeaderKey(k)]; ok {
			t.Errorf("backend got %s %q, want none", k, v)
		}
	}
	if resp.StatusCode != tc.status {
		t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.status, body)
	}
	for k, v := range tc.got {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("client got %s %q, want %q", k, got, v)
		}
	}
	for _, k := range tc.notGot {
		if v, ok := resp.Header[http.CanonicalHeaderKey(k)]; ok {
			t.Errorf("client got %s %q, want none", k, v)
		}
	}
	for k, v := range tc.trailers {
		if got := resp.Trailer.Get(k); got != v {
			t.Errorf("client got trailer %s %q, want %q (trailers %v)", k, got, v, resp.Trailer)
		}
	}
	var hints []string
	for _, r := range interim {
		hints = append(hints, fmt.Sprint(r.StatusCode, " ", r.Header.Get("Link")))
	}
	if strings.Join(hints, "|") != strings.Join(tc.interim, "|") {
		t.Errorf("informational answers %q, want %q", hints, tc.interim)
	}
}

// TestServeFlushes: a response whose end the backend does not announce
// (no Content-Length) or that is an event stream reaches the client as the
// backend writes it: the backend sends its first part and waits until the
// client has it before sending the rest.
func TestServeFlushes(t *testing.T) {
	for _, tc := range []struct{ name, head, first, rest string }{
		{"unknown length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "6\r\nfirst\n\r\n", "5\r\nrest\n\r\n0\r\n\r\n"},
		{"event stream with a length", "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\nContent-Length: 11\r\n\r\n", "first\n", "rest\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clientHasFirst := make(chan struct{})
			be := testbackend.NewRaw(t, func(c net.Conn, r *bufio.Reader) {
				if _, err := http.ReadRequest(r); err != nil {
					return
				}
				io.WriteString(c, tc.head+tc.first)
				select {
				case <-clientHasFirst:
				case <-time.After(hangGuard): // the test has failed; let it end
				}
				io.WriteString(c, tc.rest)
			})
			tpl, err := route.ParseTemplate("http://" + be.Addr + "/x")
			if err != nil {
				t.Fatal(err)
			}
			tr := NewTransport()
			t.Cleanup(tr.CloseIdleConnections)
			addr := relayServer(t, New(Options{URI: tpl, Transport: tr}))
			resp, err := http.Get("http://" + addr + "/x")
			if err != nil {
				close(clientHasFirst)
				t.Fatal(err)
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			var line string
			mustReturn(t, "reading the first part while the backend holds the rest", func() { line, _ = br.ReadString('\n') })
			close(clientHasFirst)
			if line != "first\n" {
				t.Fatalf("first line %q", line)
			}
			if rest, _ := io.ReadAll(br); string(rest) != "rest\n" {
				t.Errorf("rest %q", rest)
			}
		})
	}
}
