package proxy

import (
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/internal/route"
)

// The backend request's header map for a client that sends few fields (a
// load tester with just an Authorization) must be created as one map group,
// not as a table: a table costs more allocations and every lookup and delete
// on it hashes.
func TestOutboundSmallHeaderAllocations(t *testing.T) {
	tpl, err := route.ParseTemplate("http://127.0.0.1:1/x")
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{URI: tpl})
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
	c := &Call{Params: &route.Params{}, ClientIP: "192.0.2.1", RequestID: "id-1"}
	var n int
	allocs := testing.AllocsPerRun(100, func() {
		out, err := p.outbound(r, c)
		if err != nil {
			t.Fatal(err)
		}
		n = len(out.Header)
	})
	if n != 7 { // Authorization, four forwarding fields, X-Request-Id, User-Agent
		t.Fatalf("backend request has %d header fields, want 7", n)
	}
	// Six with the map as one group; eight when a size hint above eight
	// made it a table.
	if allocs > 6 {
		t.Fatalf("outbound allocates %v times, want at most 6", allocs)
	}
}
