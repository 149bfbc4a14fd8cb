package proxy

// Desynchronisation: a backend that sends more than it was asked for (bytes
// after a response's end, a body on a HEAD, 204 or 304 answer, a second
// answer on an idle connection), or frames a response ambiguously, must
// never make one request get the answer meant for another. Every case sends
// a first request that meets the hostile answer and then a second one that
// must get its own answer (the backend echoes the request id in the body)
// or a failure, never the planted one.

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/internal/route"
	"github.com/portcullis/portcullis/internal/testbackend"
)

// planted is the answer a hostile backend slips in; no request may get it.
const planted = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nplanted"

// echo is the backend's honest answer to a request with id: the id as body.
func echo(id string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(id), id)
}

// testRoundTripper is the backend client the desync tests hold to their
// rules.
func testRoundTripper(t *testing.T) http.RoundTripper {
	tr := NewTransport()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// serveOnce runs one request with id through p as a client of a net/http
// server would, and returns the status and body the recorder got.
func serveOnce(t *testing.T, p *Proxy, method, id string) (int, string, *Call) {
	t.Helper()
	w := httptest.NewRecorder()
	c := &Call{Params: &route.Params{}, RequestID: id, ClientIP: "192.0.2.1"}
	mustReturn(t, "Serve", func() { p.Serve(w, httptest.NewRequest(method, "/x", nil), c) })
	return w.Code, w.Body.String(), c
}

// TestDesyncExtraBytes: bytes after the end of a response, or arriving on a
// connection while it is idle, are never read as the next request's answer.
func TestDesyncExtraBytes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string // of the first request
		first  string // the answer to the first request; {id} is its id
		late   bool   // planted is written once the first exchange is over, while the connection is idle
	}{
		{"answer after the body, same write", "GET", echo("first") + planted, false},
		{"more body than Content-Length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst" + planted, false},
		{"answer after a chunked body", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n0\r\n\r\n" + planted, false},
		{"answer after the trailers", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n0\r\nX-T: 1\r\n\r\n" + planted, false},
		{"body on a HEAD answer", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n" + planted, false},
		{"body on a 204", "GET", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n" + planted, false},
		{"body on a 304", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n" + planted, false},
		{"answer while idle", "GET", echo("first"), true},
		{"answer after an informational one", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + echo("first") + planted, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lateGo, lateDone := make(chan struct{}), make(chan struct{})
			be := testbackend.NewRaw(t, testbackend.EachRequest(func(c net.Conn, req *http.Request) bool {
				if id := req.Header.Get(RequestIDHeader); id != "first" {
					io.WriteString(c, echo(id))
					return true
				}
				io.WriteString(c, tc.first)
				if tc.late {
					<-lateGo
					io.WriteString(c, planted)
					close(lateDone)
				}
				return true
			}))
			tpl, err := route.ParseTemplate("http://" + be.Addr + "/x")
			if err != nil {
				t.Fatal(err)
			}
			p := New(Options{URI: tpl, Transport: testRoundTripper(t)})
			status, body, _ := serveOnce(t, p, tc.method, "first")
			if body == "planted" {
				t.Fatalf("the first request got the planted answer (status %d)", status)
			}
			if tc.late {
				close(lateGo)
				<-lateDone // the planted bytes are on their way: a loopback write has been made
			}
			for _, id := range []string{"second", "third"} {
				status, body, c := serveOnce(t, p, "GET", id)
				if status != 200 || body != id {
					t.Errorf("request %s: status %d, body %q, err %v; want its own answer", id, status, body, c.Err)
				}
			}
		})
	}
}

// TestDesyncAmbiguousFraming: a response whose length could be read two
// ways is refused or read one way, and the connection is not used again
// where a reader taking the other way would find the rest of it: the next
// request still gets its own answer.
func TestDesyncAmbiguousFraming(t *testing.T) {
	tail := "2\r\nok\r\n0\r\n\r\n" + planted
	for _, tc := range []struct{ name, first string }{
		{"two different Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\nok" + planted},
		{"Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 30\r\n\r\nok" + planted},
		{"Content-Length with a sign", "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok" + planted},
		{"Content-Length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n" + tail},
		{"chunked and Content-Length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + tail},
		{"chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + tail},
		{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + tail},
		{"Transfer-Encoding with a space before the colon", "HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\nContent-Length: 2\r\n\r\nok" + planted},
		{"folded Transfer-Encoding", "HTTP/1.1 200 OK\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nok" + planted},
		{"chunk size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff2\r\nok\r\n0\r\n\r\n" + planted},
		{"chunk size with junk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 ;x=\"\r\n\"\r\nok\r\n0\r\n\r\n" + planted},
		{"NUL in a header", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok" + planted},
		{"HTTP/1.0 keep-alive without a length", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\nok" + planted},
		{"bare CR", "HTTP/1.1 200 OK\r\nX-A: a\rContent-Length: 30\r\nContent-Length: 2\r\n\r\nok" + planted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := testbackend.NewRaw(t, testbackend.EachRequest(func(c net.Conn, req *http.Request) bool {
				if id := req.Header.Get(RequestIDHeader); id != "first" {
					io.WriteString(c, echo(id))
					return true
				}
				io.WriteString(c, tc.first)
				return !strings.HasPrefix(tc.first, "HTTP/1.0") // its body ends at the close
			}))
			tpl, err := route.ParseTemplate("http://" + be.Addr + "/x")
			if err != nil {
				t.Fatal(err)
			}
			p := New(Options{URI: tpl, Transport: testRoundTripper(t)})
			serveOnce(t, p, "GET", "first") // refused (502), cut, or read one way: any of them
			for _, id := range []string{"second", "third"} {
				status, body, c := serveOnce(t, p, "GET", id)
				if status != 200 || body != id {
					t.Errorf("request %s: status %d, body %q, err %v; want its own answer", id, status, body, c.Err)
				}
			}
		})
	}
}

// TestDesyncStorm: many clients at once through a net/http server, over a
// shared pool of backend connections, while the backend misbehaves on some
// requests (bytes after the body, a close mid-body, an informational answer
// first, a framing it should not use). Each client gets its own answer or a
// failure, never another client's, and every request the backend answered
// honestly gets its answer.
func TestDesyncStorm(t *testing.T) {
	be := testbackend.NewRaw(t, testbackend.EachRequest(func(c net.Conn, req *http.Request) bool {
		id := req.Header.Get(RequestIDHeader)
		var n int
		fmt.Sscanf(id, "c%d-", &n)
		switch n % 6 {
		case 0, 1:
			io.WriteString(c, echo(id))
		case 2: // another answer right behind the honest one, in the same write
			io.WriteString(c, echo(id)+echo("planted-after-"+id))
		case 3: // the body is cut and the connection closed
			io.WriteString(c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(id)+10, id))
			return false
		case 4: // an informational answer first
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"+echo(id))
		case 5: // Content-Length and chunked: the chunked reading is the honest one
			io.WriteString(c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(id), id)+echo("planted-cl-"+id))
		}
		return true
	}))
	tpl, err := route.ParseTemplate("http://" + be.Addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{URI: tpl, Transport: testRoundTripper(t)})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &Call{Params: &route.Params{}, RequestID: r.Header.Get("X-Client-Id"), ClientIP: "192.0.2.1"}
		p.Serve(w, r, c)
		if c.Abort {
			panic(http.ErrAbortHandler)
		}
	}))
	defer srv.Close()

	const clients, each = 12, 40
	var wg sync.WaitGroup
	errs := make(chan string, clients*each)
	for ci := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.Transport.(*http.Transport).CloseIdleConnections()
			for i := range each {
				n := ci*each + i
				id := fmt.Sprintf("c%d-%d", n, ci)
				req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
				req.Header.Set("X-Client-Id", id)
				honest := n%6 != 3
				resp, err := client.Do(req)
				if err != nil {
					if honest {
						errs <- fmt.Sprintf("%s: %v", id, err)
					}
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case strings.Contains(string(body), "planted") || (len(body) > 0 && !strings.HasPrefix(id, string(body)) && string(body) != `{"message":"Bad Gateway"}`):
					errs <- fmt.Sprintf("%s: got another answer: status %d body %q", id, resp.StatusCode, body)
				case honest && (err != nil || resp.StatusCode != 200 || string(body) != id):
					errs <- fmt.Sprintf("%s: honest answer not relayed: status %d body %q err %v", id, resp.StatusCode, body, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
