package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Conn is a raw HTTP/2 client connection to the gateway: frames written
// and read one by one, as an attacker would.
type h2Conn struct {
	c  *tls.Conn
	fr *http2.Framer
	mu sync.Mutex // writes: the framer is not safe for concurrent writers
}

// write runs one frame write under the lock.
func (h *h2Conn) write(f func(*http2.Framer) error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return f(h.fr)
}

func dialH2(t *testing.T, p *testPKI, port string) *h2Conn {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	c, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{RootCAs: roots, ServerName: "api.test", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
		t.Fatalf("ALPN negotiated %q", got)
	}
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return &h2Conn{c: c, fr: fr}
}

func headerBlock(fields ...string) []byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return buf.Bytes()
}

// readUntil reads frames until stop says so or the connection ends; it
// returns whether the server sent GOAWAY and the error that ended reading
// (nil when stop ended it).
func (h *h2Conn) readUntil(stop func(http2.Frame) bool) (goAway bool, err error) {
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return goAway, err
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			goAway = true
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = h.write((*http2.Framer).WriteSettingsAck)
			}
		}
		if stop(f) {
			return goAway, nil
		}
	}
}

const floodConfig = `listen: 127.0.0.1:0
tls:
  certificates: [{cert_file: %[1]s/api.pem, key_file: %[1]s/api-key.pem}]
routes:
  - route: GET /slow
    integration: {type: http_proxy, uri: %[2]q}
  - route: GET /ok
    integration: {type: mock, body: ok}
`

// TestHTTP2RapidReset opens and at once cancels thousands of streams whose
// requests go to a backend that holds every request until it is cancelled.
// Go's server (CVE-2023-44487 fix) runs at most MaxConcurrentStreams
// handlers per connection and queues or refuses the rest, so the backend
// never holds more than HTTP2MaxConcurrentStreams requests from the one
// connection, however fast the client resets; the gateway serves other
// clients afterwards.
func TestHTTP2RapidReset(t *testing.T) {
	p := newTestPKI(t)
	var mu sync.Mutex
	inflight, peak, seen := 0, 0, 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		seen++
		peak = max(peak, inflight)
		mu.Unlock()
		<-r.Context().Done() // held until the gateway gives up on it
		mu.Lock()
		inflight--
		mu.Unlock()
	}))
	t.Cleanup(backend.Close)
	r := start(t, fmt.Sprintf(floodConfig, p.dir, backend.URL+"/slow"))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.base, "http://"))

	h := dialH2(t, p, port)
	const streams = 5000
	block := headerBlock(":method", "GET", ":scheme", "https", ":authority", "api.test", ":path", "/slow")
	writeErr := make(chan error, 1)
	go func() {
		for i := range streams {
			id := uint32(2*i + 1)
			if err := h.write(func(fr *http2.Framer) error {
				return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true})
			}); err != nil {
				writeErr <- err
				return
			}
			if err := h.write(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, http2.ErrCodeCancel) }); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- h.write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{'d', 'o', 'n', 'e'}) })
	}()
	// The PING's answer comes after the server has read every frame
	// before it (or the server ends the connection first).
	goAway, err := h.readUntil(func(f http2.Frame) bool {
		pf, ok := f.(*http2.PingFrame)
		return ok && pf.IsAck() && pf.Data == [8]byte{'d', 'o', 'n', 'e'}
	})
	t.Logf("PING answered: %v (GOAWAY %v); write: %v", err == nil, goAway, <-writeErr)
	// Either the server read the flood through (and answered the PING),
	// or it ended the connection with GOAWAY; either way it kept control.
	if err != nil && !goAway && !errors.Is(err, io.EOF) && !isClosed(err) {
		t.Fatalf("reading: %v", err)
	}
	h.c.Close()
	mu.Lock()
	t.Logf("backend: %d requests, at most %d at once", seen, peak)
	if peak > HTTP2MaxConcurrentStreams {
		t.Errorf("the backend held %d requests from one connection at once, more than the %d streams allowed", peak, HTTP2MaxConcurrentStreams)
	}
	mu.Unlock()

	// Other clients are served.
	c := p.client(nil, true, port)
	resp, err := c.Get("https://api.test:" + port + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" || resp.ProtoMajor != 2 {
		t.Errorf("after the flood: %s %d %q", resp.Proto, resp.StatusCode, body)
	}
}

// TestHTTP2ContinuationFlood sends one request's headers as an endless run
// of CONTINUATION frames (CVE-2023-45288). Go's server stops reading once
// the header list passes max_header_bytes and closes the connection,
// instead of decoding and buffering without end.
func TestHTTP2ContinuationFlood(t *testing.T) {
	p := newTestPKI(t)
	r := start(t, fmt.Sprintf(floodConfig, p.dir, "http://127.0.0.1:1/"))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(r.base, "http://"))

	h := dialH2(t, p, port)
	first := headerBlock(":method", "GET", ":scheme", "https", ":authority", "api.test", ":path", "/ok")
	// Each fragment is a complete header field (literal, never indexed),
	// so the decoder has work to do for every frame.
	junk := headerBlock("x-junk", strings.Repeat("a", 8000))
	const total = 256 << 20 // far beyond any buffer between us and the server
	written := make(chan int, 1)
	go func() {
		n := 0
		if err := h.write(func(fr *http2.Framer) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true})
		}); err == nil {
			for n < total {
				if err := h.write(func(fr *http2.Framer) error { return fr.WriteContinuation(1, false, junk) }); err != nil {
					break
				}
				n += len(junk)
			}
		}
		written <- n
	}()
	goAway, err := h.readUntil(func(f http2.Frame) bool {
		_, isHeaders := f.(*http2.HeadersFrame)
		return isHeaders // a response: the server accepted the flood
	})
	h.c.Close()
	n := <-written
	t.Logf("server ended the connection (GOAWAY %v, %v) after %d bytes of CONTINUATION were written", goAway, err, n)
	if err == nil {
		t.Fatal("the server answered a request whose headers never ended")
	}
	if n >= total {
		t.Errorf("the server read all %d bytes of CONTINUATION frames", total)
	}

	c := p.client(nil, true, port)
	resp, err := c.Get("https://api.test:" + port + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after the flood: %d", resp.StatusCode)
	}
}

func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "connection reset")
}
