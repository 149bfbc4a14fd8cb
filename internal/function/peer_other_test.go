//go:build !linux

package function

import (
	"net"
	"testing"
)

// dialFromGroup connects to the Runtime API at addr: off Linux every local
// connection is served (peer_other.go), so from the test's own process,
// and there is nothing to release.
func dialFromGroup(t *testing.T, addr *net.TCPAddr, _ int) (net.Conn, func()) {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	return c, func() {}
}
