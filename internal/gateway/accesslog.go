package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/accesslog"
	"github.com/portcullis/portcullis/internal/config"
)

// timing is what a configured access log format may ask about a request
// beyond what the exchange holds anyway. It is measured only when a format
// is configured, so that the default line costs nothing more.
type timing struct {
	auth, integration time.Duration
	integrated        bool // the integration ran
	authStatus        int  // the status the authorizer's decision led to (200: allowed); 0: no authorizer ran
	status            int  // the response status, as counted
	elapsed           time.Duration
}

// buildAccessLog checks `access_log:` and sets where request lines go: to
// d.AccessLog, in the configured format or as the default JSON line; with
// no d.AccessLog, nowhere.
func (g *Gateway) buildAccessLog(f *config.File, d Deps) error {
	format, _, err := accesslog.Setup(f, func(name string) error { return checkLogName(f, name) })
	if err != nil {
		return err
	}
	if d.AccessLog == nil {
		return nil
	}
	if format != nil {
		g.access = accesslog.NewLogger(format, d.AccessLog)
		return nil
	}
	g.accessDefault = d.AccessLog
	return nil
}

// logNames are the $context variables an access log may use beyond those a
// mapping may (contextNames): values known once the response is written.
var logNames = []string{
	"status", "responseLength", "responseLatency",
	"integrationLatency", "integration.latency",
	"integrationStatus", "integration.status", "integration.integrationStatus",
	"integration.error", "integrationErrorMessage",
	"error.message", "error.messageString", "error.responseType",
	"tlsVersion", "cipherSuite",
	"extendedRequestId", "domainPrefix", "resourcePath",
	"authorizer.error", "authorizer.latency", "authorizer.status", "authorizer.principalId",
}

// checkLogName accepts the $context variables the access log can fill in
// for this configuration: authorizer.claims.NAME needs a jwt authorizer,
// authorizer.KEY a lambda authorizer, somewhere in the API.
func checkLogName(f *config.File, name string) error {
	if name == "identity.apiKey" {
		// AWS logs the key itself; a log is no place for a secret.
		return fmt.Errorf("$context.identity.apiKey is the caller's API key, a secret, and is never logged: use $context.identity.apiKeyId")
	}
	if slices.Contains(contextNames, name) || slices.Contains(logNames, name) {
		return nil
	}
	has := func(typ string) bool {
		for _, a := range f.Config.Authorizers {
			if a.Type == typ {
				return true
			}
		}
		return false
	}
	if claim, ok := strings.CutPrefix(name, "authorizer.claims."); ok && claim != "" {
		if !has("jwt") {
			return fmt.Errorf("$context.%s needs a jwt authorizer", name)
		}
		return nil
	}
	if key, ok := strings.CutPrefix(name, "authorizer."); ok && key != "" && !strings.Contains(key, ".") {
		if !has("lambda") {
			return fmt.Errorf("$context.%s needs a lambda authorizer (a jwt authorizer's values are $context.authorizer.claims.NAME)", name)
		}
		return nil
	}
	return fmt.Errorf("$context.%s is not a variable Portcullis provides (known: %s, %s, authorizer.claims.NAME, authorizer.KEY)",
		name, strings.Join(contextNames, ", "), strings.Join(logNames, ", "))
}

// timedAuthorize runs the route's authorizer, measuring it when the access
// log may ask.
func (ex *exchange) timedAuthorize(rt *Route) bool {
	if ex.g.access == nil {
		return ex.authorize(rt)
	}
	start := time.Now()
	allow := ex.authorize(rt)
	ex.timing.auth = time.Since(start)
	ex.timing.authStatus = ex.w.status // a denial is written, so never 0
	if allow {
		ex.timing.authStatus = http.StatusOK
	}
	return allow
}

// timedIntegrate runs the integration, measuring it when the access log may
// ask.
func (ex *exchange) timedIntegrate(rt *Route) {
	if ex.g.access == nil {
		ex.integrate(rt)
		return
	}
	start := time.Now()
	ex.integrate(rt)
	ex.timing.integration, ex.timing.integrated = time.Since(start), true
}

// logAccess reports err, the failure to write the request's line, in the
// process log.
func (ex *exchange) logAccess(err error) {
	if err != nil {
		ex.g.log.LogAttrs(context.Background(), slog.LevelError, "access log write failed", slog.String("error", err.Error()))
	}
}

var _ accesslog.Source = (*exchange)(nil)

// clfTime is $context.requestTime's layout (CLF).
const clfTime = "02/Jan/2006:15:04:05 -0700"

// AppendContext implements accesslog.Source: $context.NAME once the
// response is written, appended without allocating for the numbers and
// times. Nothing appended means no value ("-" in the line).
func (ex *exchange) AppendContext(dst []byte, name string) []byte {
	t := &ex.timing
	switch name {
	case "status":
		return strconv.AppendInt(dst, int64(t.status), 10)
	case "responseLength":
		return strconv.AppendInt(dst, ex.w.bytes, 10)
	case "responseLatency":
		return strconv.AppendInt(dst, t.elapsed.Milliseconds(), 10)
	case "integrationLatency", "integration.latency":
		if !t.integrated {
			return dst
		}
		return strconv.AppendInt(dst, t.integration.Milliseconds(), 10)
	case "integrationStatus", "integration.status", "integration.integrationStatus":
		// The status the backend or function answered with; none when the
		// gateway answered in its place.
		if !t.integrated || ex.backendErr != nil || ex.w.answer != "" || ex.w.status == 0 {
			return dst
		}
		return strconv.AppendInt(dst, int64(ex.w.status), 10)
	case "integration.error", "integrationErrorMessage":
		if ex.backendErr == nil {
			return dst
		}
		return append(dst, ex.backendErr.Error()...)
	case "tlsVersion":
		if ex.r.TLS == nil {
			return dst
		}
		// AWS's spelling (TLSv1.2), not Go's (TLS 1.2).
		return append(append(dst, "TLSv"...), strings.TrimPrefix(tls.VersionName(ex.r.TLS.Version), "TLS ")...)
	case "cipherSuite":
		if ex.r.TLS == nil {
			return dst
		}
		return append(dst, tls.CipherSuiteName(ex.r.TLS.CipherSuite)...) // the IANA name; AWS writes OpenSSL's
	case "error.responseType":
		if ex.respType == 0 {
			return dst
		}
		return append(dst, ex.respType.String()...)
	case "error.message", "error.messageString": // the format quotes messageString
		msg, _ := answerMessage(ex.w.answer)
		return append(dst, msg...)
	case "requestTime":
		return ex.start.UTC().AppendFormat(dst, clfTime)
	case "requestTimeEpoch":
		return strconv.AppendInt(dst, ex.start.UnixMilli(), 10)
	case "requestId", "extendedRequestId":
		return append(dst, ex.id...)
	case "domainPrefix":
		host := ex.r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if i := strings.IndexByte(host, '.'); i >= 0 && net.ParseIP(host) == nil {
			host = host[:i]
		}
		return append(dst, host...)
	case "routeKey":
		if ex.route == nil || ex.route == ex.g.unmatched {
			return dst
		}
		return append(dst, ex.route.label...)
	case "resourcePath":
		switch {
		case ex.route == nil || ex.route == ex.g.unmatched:
			return dst
		case ex.route.key.IsDefault():
			return append(dst, "$default"...)
		}
		return append(dst, ex.route.key.Path...)
	case "authorizer.latency":
		if t.authStatus == 0 {
			return dst
		}
		return strconv.AppendInt(dst, t.auth.Milliseconds(), 10)
	case "authorizer.status":
		if t.authStatus == 0 {
			return dst
		}
		return strconv.AppendInt(dst, int64(t.authStatus), 10)
	case "authorizer.error":
		if t.authStatus == 0 || t.authStatus == 200 {
			return dst
		}
		return append(dst, ex.reason...)
	case "authorizer.principalId":
		if ex.ident != nil {
			return append(dst, ex.ident.Subject...)
		}
	}
	return append(dst, ex.Context(name)...)
}

// answerMessage returns the message of one of the gateway's own answers,
// all of the form {"message":"..."} but a Lambda authorizer's two IAM
// denials, which AWS spells {"Message":"..."}; ok is false when there is
// none ({"message":null}).
func answerMessage(body string) (msg string, ok bool) {
	m, ok := strings.CutPrefix(body, `{"message":"`)
	if !ok {
		if m, ok = strings.CutPrefix(body, `{"Message":"`); !ok {
			return "", false
		}
	}
	m, ok = strings.CutSuffix(m, `"}`)
	if !ok || strings.ContainsAny(m, `"\`) {
		return "", false
	}
	return m, true
}
