package function

import (
	"bytes"
	"io"
	"net/http"

	"github.com/portcullis/portcullis/internal/httpheader"
)

// request is one Runtime API request as the handlers see it. Requests in
// the plain shape runtimes send are parsed by parseSimple straight from the
// connection's buffer, body and trailers included; anything else goes
// through http.ReadRequest (h). The fast path exists because net/http's
// parser (header maps, URL parsing, a chunked body reader) was a sizeable
// share of the gateway's CPU per invocation.
type request struct {
	method    string
	path      string // as sent; the fast path accepts only paths needing no unescaping
	close     bool   // the client asked to close (Connection: close, HTTP/1.0)
	errorType string // the Lambda-Runtime-Function-Error-Type header

	// Fast path: the whole body and the trailers aws-lambda-go may send.
	simple      bool
	body        []byte
	trailerType string
	trailerBody string

	h *http.Request // slow path
}

func (r *request) fromHTTP(h *http.Request) {
	*r = request{
		method:    h.Method,
		path:      h.URL.Path,
		close:     h.Close,
		errorType: h.Header.Get(trailerErrorType),
		h:         h,
	}
}

// hasBody reports whether the request may have body bytes left to read.
func (r *request) hasBody() bool {
	return !r.simple && r.h.Body != nil && r.h.Body != http.NoBody
}

// trailer returns one of the error trailers, once the body has been read.
func (r *request) trailer(key string) string {
	if !r.simple {
		return r.h.Trailer.Get(key)
	}
	if key == trailerErrorType {
		return r.trailerType
	}
	return r.trailerBody
}

// readBody returns the body, at most max bytes (more: *http.MaxBytesError).
func (r *request) readBody(max int64) ([]byte, error) {
	if r.simple {
		if int64(len(r.body)) > max {
			return nil, &http.MaxBytesError{Limit: max}
		}
		return r.body, nil
	}
	var buf bytes.Buffer
	if n := r.h.ContentLength; n > 0 && n <= max {
		buf.Grow(int(n))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.h.Body, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	return buf.Bytes(), nil
}

// parseSimple parses one request from buf, the bytes buffered so far, if it
// has the plain shape runtimes send: GET or POST, HTTP/1.1, a path of
// unreserved characters, no Expect, no body or one with Content-Length or
// chunked without extensions, nothing that needs interpreting beyond that.
// It returns the length of the request, or 0 with more set if buf holds a
// plain beginning that is not complete yet. 0 without more leaves the
// request, valid or not, to http.ReadRequest, which reports errors. It
// accepts nothing that net/http would read differently.
func parseSimple(buf []byte, r *request) (n int, more bool) {
	line, rest, st := cutLine(buf)
	if st != lineOK {
		return 0, st == lineShort
	}
	var method string
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		method, line = http.MethodGet, line[4:]
	case bytes.HasPrefix(line, []byte("POST ")):
		method, line = http.MethodPost, line[5:]
	default:
		return 0, false
	}
	path, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok || len(path) == 0 || path[0] != '/' {
		return 0, false
	}
	for _, c := range path {
		if !isPlainPathByte(c) {
			return 0, false
		}
	}

	contentLength := int64(-1)
	var chunked, closeConn, sawErrorType, sawHost bool
	var errorType []byte
	for {
		if line, rest, st = cutLine(rest); st != lineOK {
			return 0, st == lineShort
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := splitField(line)
		if !ok {
			return 0, false
		}
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if contentLength >= 0 || len(value) == 0 || len(value) > 10 {
				return 0, false
			}
			contentLength = 0
			for _, c := range value {
				if c < '0' || c > '9' {
					return 0, false
				}
				contentLength = contentLength*10 + int64(c-'0')
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			if chunked || !asciiEqualFold(value, "chunked") {
				return 0, false
			}
			chunked = true
		case asciiEqualFold(name, "Connection"):
			switch {
			case asciiEqualFold(value, "close"):
				closeConn = true
			case asciiEqualFold(value, "keep-alive"):
			default:
				return 0, false
			}
		case asciiEqualFold(name, "Trailer"):
			// net/http refuses these as trailers; let it say so.
			for t := range bytes.SplitSeq(value, []byte(",")) {
				t = bytes.Trim(t, " \t")
				if asciiEqualFold(t, "Transfer-Encoding") || asciiEqualFold(t, "Trailer") || asciiEqualFold(t, "Content-Length") {
					return 0, false
				}
			}
		case asciiEqualFold(name, trailerErrorType):
			if sawErrorType {
				return 0, false
			}
			sawErrorType, errorType = true, value
		case asciiEqualFold(name, "Expect"):
			return 0, false
		case asciiEqualFold(name, "Host"):
			if sawHost {
				return 0, false // net/http refuses several
			}
			sawHost = true
		}
	}
	if chunked && contentLength >= 0 || method == http.MethodGet && (chunked || contentLength > 0) {
		return 0, false
	}

	var body, trailerType, trailerBody []byte
	var sawType, sawBody bool
	switch {
	case chunked:
		for {
			if line, rest, st = cutLine(rest); st != lineOK {
				return 0, st == lineShort
			}
			if len(line) == 0 || len(line) > 16 {
				return 0, false
			}
			var size uint64
			for _, c := range line {
				d, ok := hexValue(c)
				if !ok {
					return 0, false // chunk extensions and the like
				}
				size = size<<4 | uint64(d)
			}
			if size == 0 {
				break
			}
			if size > uint64(len(rest)) || uint64(len(rest))-size < 2 {
				return 0, true
			}
			if rest[size] != '\r' || rest[size+1] != '\n' {
				return 0, false
			}
			body = append(body, rest[:size]...)
			rest = rest[size+2:]
		}
		for {
			if line, rest, st = cutLine(rest); st != lineOK {
				return 0, st == lineShort
			}
			if len(line) == 0 {
				break
			}
			name, value, ok := splitField(line)
			if !ok {
				return 0, false
			}
			switch {
			case asciiEqualFold(name, trailerErrorType):
				if sawType {
					return 0, false
				}
				sawType, trailerType = true, value
			case asciiEqualFold(name, trailerErrorBody):
				if sawBody {
					return 0, false
				}
				sawBody, trailerBody = true, value
			}
		}
	case contentLength > 0:
		if int64(len(rest)) < contentLength {
			return 0, true
		}
		body = bytes.Clone(rest[:contentLength])
		rest = rest[contentLength:]
	}

	*r = request{
		method:      method,
		path:        string(path),
		close:       closeConn,
		errorType:   string(errorType),
		simple:      true,
		body:        body,
		trailerType: string(trailerType),
		trailerBody: string(trailerBody),
	}
	return len(buf) - len(rest), false
}

const (
	lineOK    = iota
	lineShort // no line end yet
	lineBad   // a bare LF
)

// cutLine splits off one CRLF-terminated line.
func cutLine(b []byte) (line, rest []byte, status int) {
	i := bytes.IndexByte(b, '\n')
	switch {
	case i < 0:
		return nil, nil, lineShort
	case i == 0 || b[i-1] != '\r':
		return nil, nil, lineBad
	}
	return b[:i-1], b[i+1:], lineOK
}

// splitField splits a header or trailer line whose name is a token and
// whose value holds only visible ASCII, spaces and tabs (no obs-fold, no
// obs-text: those go to net/http).
func splitField(line []byte) (name, value []byte, ok bool) {
	name, value, ok = bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 {
		return nil, nil, false
	}
	if !httpheader.ValidName(name) {
		return nil, nil, false
	}
	for _, c := range value {
		if (c < ' ' && c != '\t') || c > '~' {
			return nil, nil, false
		}
	}
	return name, bytes.Trim(value, " \t"), true
}

// isPlainPathByte: unreserved characters and '/', which need no unescaping.
func isPlainPathByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '/' || c == '-' || c == '.' || c == '_' || c == '~'
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}
