//go:build unix

package proxy

import (
	"crypto/tls"
	"syscall"
)

// open reports whether an idle connection is still usable: the backend has
// neither closed it nor sent anything unasked. net/http's Transport learns
// this from a reader goroutine parked on every idle connection; one
// non-blocking peek when the connection is taken costs less.
func (c *upstreamConn) open() bool {
	if c.raw == nil {
		nc := c.nc
		if tc, ok := nc.(*tls.Conn); ok {
			nc = tc.NetConn()
		}
		sc, ok := nc.(syscall.Conn)
		if !ok {
			return true
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			return false
		}
		c.raw, c.peekFn = raw, c.peek // once per connection: both allocate
	}
	c.alive = false
	return c.raw.Read(c.peekFn) == nil && c.alive
}

func (c *upstreamConn) peek(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.alive = err == syscall.EAGAIN
	return true
}
