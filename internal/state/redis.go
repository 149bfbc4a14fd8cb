package state

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/redis/go-redis/v9"
)

// RedisSettings say how to reach Redis: one server (one address), a Cluster
// (several addresses, or Cluster with one seed) or the primary that Sentinel
// servers name (SentinelMaster and SentinelAddresses).
type RedisSettings struct {
	Addresses []string
	Cluster   bool

	SentinelMaster    string
	SentinelAddresses []string
	SentinelUsername  string
	SentinelPassword  string

	Username string
	Password string
	DB       int

	// TLS is nil for plain TCP. CAFile (PEM) replaces the system roots;
	// CertFile and KeyFile present a client certificate.
	TLS *RedisTLS

	// KeyPrefix goes before every key; nil means DefaultKeyPrefix.
	KeyPrefix *string
	// Timeout bounds every call, dial included; 0 means DefaultTimeout.
	Timeout time.Duration
	// FailOpen (nil: true) lets limited requests through while Redis is
	// down; false refuses them.
	FailOpen *bool
}

// RedisTLS is TLS to Redis.
type RedisTLS struct {
	CAFile, CertFile, KeyFile, ServerName string
}

// Validate reports every problem, one sentence per line (errors.Join).
func (r *RedisSettings) Validate() error { return r.Problems().Err() }

// Problems is what Validate reports, each at the field of the `redis:`
// configuration block it is about ("db", "sentinel.addresses[1]"), so that
// the gateway reports it at its place.
func (r *RedisSettings) Problems() config.Problems {
	var ps config.Problems
	sentinel := r.SentinelMaster != "" || len(r.SentinelAddresses) > 0
	switch {
	case sentinel && len(r.Addresses) > 0:
		ps.Addf("sentinel", "give either addresses or sentinel, not both")
	case sentinel && r.SentinelMaster == "":
		ps.Addf("sentinel.master", "sentinel.master is required: the name the Sentinel servers know the primary by")
	case sentinel && len(r.SentinelAddresses) == 0:
		ps.Addf("sentinel.addresses", "sentinel.addresses is required: the Sentinel servers' host:port")
	case !sentinel && len(r.Addresses) == 0:
		ps.Addf("addresses", "addresses is required (host:port; several for a Redis Cluster) unless sentinel is given")
	}
	for _, list := range []struct {
		field string
		addrs []string
	}{{"addresses", r.Addresses}, {"sentinel.addresses", r.SentinelAddresses}} {
		for i, a := range list.addrs {
			if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
				ps.Addf(list.field+"["+strconv.Itoa(i)+"]", "address %q is not host:port", a)
			}
		}
	}
	if r.Cluster && sentinel {
		ps.Addf("cluster", "cluster and sentinel cannot be combined")
	}
	if r.DB < 0 {
		ps.Addf("db", "db must not be negative")
	}
	if r.DB != 0 && (r.Cluster || len(r.Addresses) > 1) {
		ps.Addf("db", "db is not available with a Redis Cluster (it has only database 0)")
	}
	if r.Timeout < 0 || r.Timeout > 10*time.Second {
		ps.Addf("timeout", "timeout %s must be at most 10s: every limited request may wait that long while Redis is slow", r.Timeout)
	}
	if r.TLS != nil && (r.TLS.CertFile == "") != (r.TLS.KeyFile == "") {
		field := "tls.cert_file" // the one given
		if r.TLS.CertFile == "" {
			field = "tls.key_file"
		}
		ps.Addf(field, "tls.cert_file and tls.key_file go together")
	}
	if r.KeyPrefix != nil && strings.ContainsAny(*r.KeyPrefix, "{}") {
		ps.Addf("key_prefix", "key_prefix must not hold '{' or '}': they would choose the Cluster slot of every key")
	}
	return ps
}

func (r *RedisSettings) prefix() string {
	if r.KeyPrefix == nil {
		return DefaultKeyPrefix
	}
	return *r.KeyPrefix
}

func (r *RedisSettings) timeout() time.Duration {
	if r.Timeout == 0 {
		return DefaultTimeout
	}
	return r.Timeout
}

// Options returns the go-redis options: every timeout is the Redis
// timeout, the caller's context deadline is honoured, and there are no
// retries (one decision, one round trip; a failed call falls back).
func (r *RedisSettings) Options() (*redis.UniversalOptions, error) {
	t := r.timeout()
	o := &redis.UniversalOptions{
		Addrs:                 r.Addresses,
		IsClusterMode:         r.Cluster,
		Username:              r.Username,
		Password:              r.Password,
		DB:                    r.DB,
		MasterName:            r.SentinelMaster,
		SentinelUsername:      r.SentinelUsername,
		SentinelPassword:      r.SentinelPassword,
		MaxRetries:            -1,
		DialerRetries:         1,
		DialTimeout:           t,
		ReadTimeout:           t,
		WriteTimeout:          t,
		PoolTimeout:           t,
		ContextTimeoutEnabled: true,
		DisableIdentity:       true, // no CLIENT SETINFO round trip on connect
		Protocol:              2,    // RESP2: no push-notification read before each command
	}
	if r.SentinelMaster != "" {
		o.Addrs = r.SentinelAddresses
	}
	if r.TLS != nil {
		c, err := r.TLS.config()
		if err != nil {
			return nil, err
		}
		o.TLSConfig = c
	}
	return o, nil
}

func (r *RedisSettings) client() (redis.UniversalClient, error) {
	o, err := r.Options()
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(o), nil
}

func (t *RedisTLS) config() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
