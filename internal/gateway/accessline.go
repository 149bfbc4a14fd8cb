package gateway

import (
	"strconv"
	"time"

	"github.com/portcullis/portcullis/internal/escape"
)

// The default access log line (no `access_log.format`) is the JSON line
// log/slog's JSONHandler wrote for the gateway before, field for field and
// in the same order: time, level, msg, request_id, mode, method, path,
// route, status, latency_ms, client_ip, bytes, then authorizer, principal,
// api_key, reason and backend_error when they apply. It is rendered
// straight into the exchange's buffer, values escaped with escape.AppendJSON,
// and written with one Write: no slog.Attr, no reflection, no allocation
// once the buffer has grown to the usual line.

// lineCap is the capacity a line buffer starts with: a usual line is 250
// to 400 bytes.
const lineCap = 512

// maxLineCap keeps a buffer that an unusually long line grew (a long path or
// backend error) from staying with a pooled exchange.
const maxLineCap = 16 << 10

// routeLine is a route's constant part of the default line, escaped once
// when the route is built.
type routeLine struct {
	route      string // `,"route":"KEY"`
	authorizer string // `,"authorizer":"NAME"`; "" for a route without one
}

// prepareLine sets rt's constant part of the default line.
func (rt *Route) prepareLine() {
	rt.line.route = string(escape.AppendJSON([]byte(`,"route":"`), rt.label, false)) + `"`
	if rt.auth != nil {
		rt.line.authorizer = string(escape.AppendJSON([]byte(`,"authorizer":"`), rt.auth.name(), false)) + `"`
	}
}

// appendLine appends ex's default access log line, newline included, for a
// request on rt answered with status after elapsed, logged at now.
func (ex *exchange) appendLine(dst []byte, rt *Route, now time.Time, status int, elapsed time.Duration) []byte {
	dst = append(dst, `{"time":"`...)
	dst = now.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","level":"INFO","msg":"request","request_id":"`...)
	dst = escape.AppendJSON(dst, ex.id, false)
	dst = append(dst, `","mode":"`...)
	dst = append(dst, ex.mode.String()...)
	dst = append(dst, `","method":"`...)
	dst = escape.AppendJSON(dst, ex.r.Method, false)
	dst = append(dst, `","path":"`...)
	dst = escape.AppendJSON(dst, ex.r.URL.Path, false)
	dst = append(dst, '"')
	dst = append(dst, rt.line.route...)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	dst = append(dst, `,"latency_ms":`...)
	dst = appendMillis(dst, elapsed.Microseconds())
	dst = append(dst, `,"client_ip":"`...)
	dst = escape.AppendJSON(dst, ex.clientIP, false)
	dst = append(dst, `","bytes":`...)
	dst = strconv.AppendInt(dst, ex.w.bytes, 10)
	dst = append(dst, rt.line.authorizer...)
	if ex.ident != nil && ex.ident.Subject != "" {
		dst = appendField(dst, "principal", ex.ident.Subject)
	} else if ex.lambda != nil && ex.lambda.PrincipalID != "" {
		dst = appendField(dst, "principal", ex.lambda.PrincipalID)
	}
	if ex.apiKey != nil {
		dst = appendField(dst, "api_key", ex.apiKey.Name) // its name, never its value
	}
	if ex.reason != "" {
		dst = appendField(dst, "reason", ex.reason)
	}
	if ex.backendErr != nil {
		dst = appendField(dst, "backend_error", ex.backendErr.Error())
	}
	return append(dst, "}\n"...)
}

// appendField appends `,"name":"value"`, value escaped; name must need no
// escaping.
func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, `,"`...)
	dst = append(dst, name...)
	dst = append(dst, `":"`...)
	dst = escape.AppendJSON(dst, value, false)
	return append(dst, '"')
}

// appendMillis appends us microseconds as milliseconds, the shortest
// decimal that encoding/json writes for float64(us)/1000 (what the slog
// line held): "0", "12", "1.5", "0.042".
func appendMillis(dst []byte, us int64) []byte {
	if us < 0 {
		dst = append(dst, '-')
		us = -us
	}
	dst = strconv.AppendInt(dst, us/1000, 10)
	frac := us % 1000
	if frac == 0 {
		return dst
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}
