package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

// countingCache is a client session cache that counts the session tickets
// the server sends (crypto/tls calls Put once per NewSessionTicket).
type countingCache struct {
	tls.ClientSessionCache
	puts atomic.Int64
}

func (c *countingCache) Put(key string, cs *tls.ClientSessionState) {
	c.puts.Add(1)
	c.ClientSessionCache.Put(key, cs)
}

// countingConn counts the bytes the server sends.
type countingConn struct {
	net.Conn
	read atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// handshakeFacts is what one benchmark connection negotiated and cost on
// the wire, for checking that both servers do the same work.
type handshakeFacts struct {
	version, suite, curve, alpn string
	chain                       int
	tickets                     int64 // NewSessionTicket messages after a full handshake
	resumed                     bool  // a second connection resumed with one of them
	resumedTickets              int64 // NewSessionTicket messages after the resumed handshake
	bytesNoPSK, bytesPSK        int64 // server→client bytes of a full handshake without / with psk_key_exchange_modes
	status                      string
	respHeaderBytes             int
}

// checkHandshake makes the benchmark's request three times: without a
// session cache (so without psk_key_exchange_modes), with an empty one (a
// full handshake offering resumption, as the benchmark's clients make), and
// resuming with what that one received; it reports what was negotiated.
func checkHandshake(addr, host string, roots *x509.CertPool) (handshakeFacts, error) {
	var f handshakeFacts
	cache := &countingCache{ClientSessionCache: tls.NewLRUClientSessionCache(1)}
	for i, psk := range []bool{false, true, true} {
		cfg := benchClientConfig(roots, host)
		cfg.ClientSessionCache = nil
		if psk {
			cfg.ClientSessionCache = cache
		}
		raw, err := net.Dial("tcp", addr)
		if err != nil {
			return f, err
		}
		cc := &countingConn{Conn: raw}
		c := tls.Client(cc, cfg)
		if err := c.Handshake(); err != nil {
			raw.Close()
			return f, fmt.Errorf("%s: %w", addr, err)
		}
		st := c.ConnectionState()
		if i == 2 {
			f.resumed = st.DidResume
		}
		if i == 1 {
			f.version, f.suite, f.curve, f.alpn, f.chain = tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite), st.CurveID.String(), st.NegotiatedProtocol, len(st.PeerCertificates)
			if f.alpn == "" {
				f.alpn = "none"
			}
		}
		_, _ = c.Write(benchRequest(host))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			c.Close()
			return f, fmt.Errorf("%s: %w", addr, err)
		}
		f.status = resp.Status
		var hb strings.Builder
		_ = resp.Header.Write(&hb)
		f.respHeaderBytes = hb.Len()
		for { // read to the server's close, so every ticket is counted
			if _, err := br.ReadByte(); err != nil {
				break
			}
		}
		c.Close()
		switch i {
		case 0:
			f.bytesNoPSK = cc.read.Load()
		case 1:
			f.bytesPSK, f.tickets = cc.read.Load(), cache.puts.Load()
		case 2:
			f.resumedTickets = cache.puts.Load() - f.tickets
		}
	}
	return f, nil
}
