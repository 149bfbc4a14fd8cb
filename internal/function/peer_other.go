//go:build !linux

package function

import "net"

// peerInGroup cannot tell, off Linux, which process holds the other end of
// a loopback connection: every connection is taken, as before the check
// existed (see the package README, "Runtime API").
func peerInGroup(net.Conn, int) bool { return true }
