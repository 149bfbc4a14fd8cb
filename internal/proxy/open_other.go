//go:build !unix

package proxy

// open cannot check an idle connection cheaply here; a closed one fails its
// next exchange, which RoundTrip retries when that is safe.
func (c *upstreamConn) open() bool { return true }
