package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/config"
)

// TestResponsesStream: a backend's response reaches the client as it is
// written, not when it is complete. The backend sends a first line and then
// waits until the client has read it.
func TestResponsesStream(t *testing.T) {
	clientGotFirst := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "first")
		w.(http.Flusher).Flush()
		select {
		case <-clientGotFirst:
		case <-r.Context().Done():
			return
		case <-time.After(time.Minute):
			return // the client never saw the first line: the test fails below
		}
		fmt.Fprintln(w, "second")
	}))
	defer be.Close()
	f, err := config.Parse("s.yaml", []byte(fmt.Sprintf("listen: :0\nroutes:\n  - {route: GET /s, integration: {type: http_proxy, uri: %q}}\n", be.URL+"/s")), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(f, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	g.Start(context.Background())
	srv := httptest.NewServer(g)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	done := make(chan string, 1)
	go func() { l, _ := lines.ReadString('\n'); done <- l }()
	select {
	case l := <-done:
		if l != "first\n" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(30 * time.Second): // the backend holds the rest until the line arrives: no race with speed
		t.Fatal("the first line did not arrive while the backend was still writing: the response is buffered")
	}
	close(clientGotFirst)
	if l, _ := lines.ReadString('\n'); l != "second\n" {
		t.Errorf("second line %q", l)
	}
}
