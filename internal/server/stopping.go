package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// stopListener is the gateway's listener as the stop sequence needs it:
// Close may be called twice (by stopAccepting, then by http.Server's
// Shutdown), and only the first one closes.
type stopListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *stopListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

// freshConns tracks the connections that have not sent their first
// request yet (http.StateNew). net/http's Shutdown drops a request it
// reads after Shutdown began, closing the connection without an answer
// (conn.serve checks shuttingDown after readRequest), and a client sees
// EOF on a fresh connection, which its transport does not retry. So the
// stop sequence stops accepting first, then waits for the fresh
// connections to send their request (or go), and only then shuts down.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// track is the http.Server's ConnState hook.
func (f *freshConns) track(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st == http.StateNew {
		if f.conns == nil {
			f.conns = map[net.Conn]struct{}{}
		}
		f.conns[c] = struct{}{}
		return
	}
	delete(f.conns, c)
}

// wait returns once no connection is fresh, or after limit (a client that
// connects and sends nothing is closed by ReadHeaderTimeout anyway).
func (f *freshConns) wait(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		f.mu.Lock()
		n := len(f.conns)
		f.mu.Unlock()
		if n == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
