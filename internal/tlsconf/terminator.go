package tlsconf

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Terminator hands the current Bundle to every new TLS handshake. Swap
// replaces the bundle; connections already established keep what they
// negotiated, and session tickets keep working across swaps (the ticket
// keys are the Terminator's own, rotated by crypto/tls). Safe for
// concurrent use.
type Terminator struct {
	current atomic.Pointer[Bundle]
	base    *tls.Config
}

// NewTerminator serves b. When reg is set, it registers
// portcullis_tls_certificate_expiry_seconds there, computed at each scrape
// from the bundle serving then.
func NewTerminator(b *Bundle, reg prometheus.Registerer) *Terminator {
	t := &Terminator{}
	t.current.Store(b)
	t.base = &tls.Config{
		// The base config only dispatches; everything the handshake uses
		// comes from the current bundle. MinVersion and NextProtos are
		// repeated here for net/http, which reads them from the base
		// config to decide on HTTP/2.
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return t.current.Load().config, nil
		},
	}
	if reg != nil {
		reg.MustRegister(&expiryCollector{t: t})
	}
	return t
}

// Swap makes b serve every handshake from now on.
func (t *Terminator) Swap(b *Bundle) { t.current.Store(b) }

// Config is the tls.Config for the listener (http.Server.TLSConfig).
func (t *Terminator) Config() *tls.Config { return t.base }

// expiryCollector exports, for each server certificate and truststore CA
// of the serving bundle, the seconds left until it expires (negative once
// it has).
type expiryCollector struct{ t *Terminator }

var expiryDesc = prometheus.NewDesc(
	"portcullis_tls_certificate_expiry_seconds",
	"Seconds until the certificate expires (negative once it has): role server for the listener's certificates, truststore for the CAs clients' certificates must chain to.",
	[]string{"role", "file", "subject", "serial"}, nil)

func (c *expiryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- expiryDesc }

func (c *expiryCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.t.current.Load()
	now := time.Now()
	for _, lc := range b.certs {
		leaf := lc.cert.Leaf
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, leaf.NotAfter.Sub(now).Seconds(),
			"server", lc.file, leaf.Subject.String(), leaf.SerialNumber.Text(16))
	}
	for _, ca := range b.trusted {
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue, ca.cert.NotAfter.Sub(now).Seconds(),
			"truststore", b.trustFile, ca.cert.Subject.String(), ca.cert.SerialNumber.Text(16))
	}
}

// RedirectHandler answers every request with 308 to the same host, path and
// query over https on httpsPort (left out of the URL when it is 443).
func RedirectHandler(httpsPort int) http.Handler {
	port := ""
	if httpsPort != 443 {
		port = ":" + strconv.Itoa(httpsPort)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		if host == "" || !validHost(host) {
			http.Error(w, "Bad Request", http.StatusBadRequest)
			return
		}
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		w.Header().Set("Location", "https://"+host+port+r.URL.RequestURI())
		w.WriteHeader(http.StatusPermanentRedirect)
	})
}

// validHost keeps a redirect from pointing anywhere but a host name or
// address: no userinfo, path or other characters a Host header could
// smuggle into the Location.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':' || c == '_') {
			return false
		}
	}
	return true
}
