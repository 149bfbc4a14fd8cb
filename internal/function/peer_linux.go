package function

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// peerInGroup reports whether the other end of c, a loopback TCP
// connection accepted by a Runtime API listener, is a socket held by a
// process of process group pgid (the function's process and its
// children). The kernel says which socket that is (/proc/net/tcp: the
// connection's two ends and the inode of each) and which processes hold it
// (/proc/PID/fd). Any failure to tell is false: the connection is refused.
func peerInGroup(c net.Conn, pgid int) bool {
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return false
	}
	inode, err := socketInode(remote, local)
	if err != nil || inode == "" {
		return false
	}
	link := "socket:[" + inode + "]"
	if holdsSocket(pgid, link) { // the usual case: the process itself
		return true
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == pgid || processGroup(pid) != pgid {
			continue
		}
		if holdsSocket(pid, link) {
			return true
		}
	}
	return false
}

// socketInode is the inode of the IPv4 TCP socket whose local end is from
// and whose remote end is to, from /proc/net/tcp ("" when none is listed).
func socketInode(from, to *net.TCPAddr) (string, error) {
	f4, t4 := from.IP.To4(), to.IP.To4()
	if f4 == nil || t4 == nil {
		return "", fmt.Errorf("not IPv4: %s, %s", from, to)
	}
	// Addresses as the kernel prints them: the 32-bit address in host
	// (little-endian) order, then the port, in hex.
	want := func(ip net.IP, port int) string {
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], port)
	}
	fromS, toS := want(f4, from.Port), want(t4, to.Port)
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) > 9 && fields[1] == fromS && fields[2] == toS {
			return fields[9], nil
		}
	}
	return "", sc.Err()
}

// holdsSocket reports whether process pid has a descriptor open on the
// socket named link ("socket:[INODE]").
func holdsSocket(pid int, link string) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(dir + fd.Name()); err == nil && l == link {
			return true
		}
	}
	return false
}

// processGroup is the process group of pid, -1 when it cannot be read.
func processGroup(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 3 {
		return -1
	}
	g, err := strconv.Atoi(fields[2])
	if err != nil {
		return -1
	}
	return g
}
