package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/portcullis/portcullis/internal/apigwevent"
)

// The rules a reverse proxy applies between the client's request and the
// backend's, and back, as net/http/httputil.ReverseProxy applies them
// (RFC 9110 section 7.6): hop-by-hop fields and the fields the Connection
// header names are not passed on, either way; TE is passed on only as
// "trailers"; an upgrade is asked for as the client asked, and refused if
// the backend switches; informational (1xx) answers are relayed; trailers
// are relayed, announced or not; bodies of unknown length and event streams
// are flushed to the client as they arrive. TestServeRelayRules and
// TestServeFlushes hold Serve to each.

// hopHeaders are removed both ways whatever Connection says (RFC 7230 and,
// for the non-standard ones, what proxies have always removed).
var hopHeaders = []string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// removeHopByHop deletes from h the fields its Connection header names, then
// the hop-by-hop fields.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, f := range hopHeaders {
		delete(h, f)
	}
}

// copyHeader adds src's values to dst. A value slice dst lacks is shared,
// not copied: header values are replaced or appended to (which copies a
// slice that is full), never changed in place.
func copyHeader(dst, src http.Header) {
	for k, vv := range src {
		if old, ok := dst[k]; ok {
			dst[k] = append(old[:len(old):len(old)], vv...)
		} else {
			dst[k] = vv
		}
	}
}

// Shared header values; never changed in place (see copyHeader).
var (
	teTrailers  = []string{"trailers"}
	connUpgrade = []string{"Upgrade"}
	protoHTTP   = []string{"http"}
	protoHTTPS  = []string{"https"}
)

var errBadUpgrade = errors.New("client asked to switch to an invalid protocol")

// outbound builds the backend's request from the client's: the integration
// URI with the client's query appended, the client's headers without the
// hop-by-hop ones and those the gateway sets, then the gateway's own
// headers and the route's parameter mapping, which a client's Connection
// header therefore cannot remove.
func (p *Proxy) outbound(r *http.Request, c *Call) (*http.Request, error) {
	u := p.uri.ExpandURL(c.Params)
	if q := r.URL.RawQuery; q != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&" + q
		} else {
			u.RawQuery = q
		}
	}
	// Room for the client's fields and the six the gateway usually adds
	// (forwarding, request id, User-Agent): up to eight fields a map is one
	// group, whose lookups and deletes (removeHopByHop's nine, Remove's)
	// cost a tenth of a table's; a hint above eight makes it a table from
	// the start, as len+8 did for a request with just an Authorization.
	h := make(http.Header, len(r.Header)+6)
	for k, v := range r.Header {
		h[k] = v
	}
	removeHopByHop(h)
	if httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers") {
		h["Te"] = teTrailers // the backend may then send trailers, which are relayed
	}
	if up := upgradeType(r.Header); up != "" {
		if !printable(up) {
			return nil, fmt.Errorf("%w: %q", errBadUpgrade, up)
		}
		// Asked for as the client asked; a backend that switches is
		// answered 502 (upgrades are not proxied, as on AWS HTTP APIs).
		h["Connection"] = connUpgrade
		h["Upgrade"] = []string{up}
	}
	p.strip.Remove(h)

	// One allocation for the gateway's values: each is its own full
	// slice, so appending to one copies it.
	vals := make([]string, 3)
	vals[0], vals[1], vals[2] = c.ClientIP, r.Host, c.RequestID
	h["X-Forwarded-For"] = vals[0:1:1]
	h[RealIPHeader] = vals[0:1:1]
	h["X-Forwarded-Host"] = vals[1:2:2]
	h[RequestIDHeader] = vals[2:3:3]
	if r.TLS != nil {
		h["X-Forwarded-Proto"] = protoHTTPS
	} else {
		h["X-Forwarded-Proto"] = protoHTTP
	}
	if cert := apigwevent.VerifiedClientCert(r.TLS); cert != nil {
		h[ClientCertHeader] = []string{forwardedClientCert(cert)}
	}
	out := &http.Request{
		Method:           r.Method,
		URL:              u,
		Proto:            "HTTP/1.1",
		ProtoMajor:       1,
		ProtoMinor:       1,
		Header:           h,
		ContentLength:    r.ContentLength,
		TransferEncoding: r.TransferEncoding,
		// Host stays empty: the backend sees its own host name, as with AWS.
	}
	if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		// Closing the outbound body (the transport does, when it is
		// written or the exchange fails) must not close the client's:
		// net/http's server would then read the rest of it first.
		out.Body = &noCloseBody{r.Body}
	}
	if c.Trace != nil {
		c.Trace.Inject(r.Context(), h)
	}
	p.mapping.Apply(out, c.Source)
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = nil // don't let Go add its own
	}
	return out, nil
}

// noCloseBody is the client's body as the backend's request reads it:
// closing it does nothing.
type noCloseBody struct{ r io.Reader }

func (b *noCloseBody) Read(p []byte) (int, error) { return b.r.Read(p) }
func (b *noCloseBody) Close() error               { return nil }

// upgradeType is the protocol the client asks to switch to, "" when none.
func upgradeType(h http.Header) string {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// printable reports whether s is printable ASCII.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// isEventStream reports whether a Content-Type is text/event-stream,
// parameters aside: server-sent events are flushed as they arrive.
func isEventStream(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
}

// relay writes the backend's response to the client: headers without the
// hop-by-hop ones, the body (flushed as it arrives when its length is
// unknown or it is an event stream), then the trailers. err is nil when
// the whole response was relayed; otherwise the response was cut short
// after its headers were sent, and readErr is the backend body's read
// error, if that is what ended it.
func relay(w http.ResponseWriter, rc *http.ResponseController, resp *http.Response) (readErr, err error) {
	defer resp.Body.Close()
	removeHopByHop(resp.Header)
	dst := w.Header()
	copyHeader(dst, resp.Header)
	announced := len(resp.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range resp.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	flush := resp.ContentLength == -1
	if ct := resp.Header["Content-Type"]; len(ct) > 0 && isEventStream(ct[0]) {
		flush = true
	}
	w.WriteHeader(resp.StatusCode)

	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			if werr == nil && m != n {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				if rerr != nil && rerr != io.EOF {
					readErr = rerr
				}
				return readErr, werr
			}
			if flush {
				_ = rc.Flush() // as ReverseProxy, a failed flush shows in the next write
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr, rerr
		}
	}
	resp.Body.Close() // now, not deferred: it completes resp.Trailer
	if len(resp.Trailer) == 0 {
		return nil, nil
	}
	_ = rc.Flush() // forces chunking, so that net/http does not send a Content-Length instead of trailers
	if len(resp.Trailer) == announced {
		copyHeader(dst, resp.Trailer)
		return nil, nil
	}
	for k, vv := range resp.Trailer {
		for _, v := range vv {
			dst.Add(http.TrailerPrefix+k, v)
		}
	}
	return nil, nil
}
