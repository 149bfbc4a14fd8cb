package cors

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// pattern is one allowOrigins entry with a `*` host: `https://*` (any host
// of the scheme, any port) or `https://*.example.com[:port]` (any name
// under example.com, on that port or on none).
type pattern struct {
	scheme string // "https"
	suffix string // ".example.com"; "" for any host
	port   string // "" for the scheme's default port (no port in the Origin)
}

// matches reports whether origin, as a browser sends it
// (scheme://host[:port], lower case), is one the pattern allows.
func (p pattern) matches(origin string) bool {
	rest, ok := strings.CutPrefix(origin, p.scheme)
	if !ok {
		return false
	}
	hostport, ok := strings.CutPrefix(rest, "://")
	if !ok || hostport == "" || strings.ContainsAny(hostport, "/?#@") {
		return false
	}
	if p.suffix == "" {
		return true
	}
	host, port := splitHostPort(hostport)
	return port == p.port && len(host) > len(p.suffix) && strings.HasSuffix(host, p.suffix)
}

// splitHostPort splits an Origin's host[:port] without allocating; an IPv6
// literal keeps its brackets.
func splitHostPort(hp string) (host, port string) {
	i := strings.LastIndexByte(hp, ':')
	if i < 0 || strings.IndexByte(hp[i:], ']') >= 0 {
		return hp, ""
	}
	return hp[:i], hp[i+1:]
}

// parseOrigin checks one allowOrigins entry and returns it in the form a
// browser sends (lower case, no default port), or the pattern it stands
// for. An entry is `*`, an origin (scheme://host[:port]), `scheme://*` or
// `scheme://*.domain[:port]`.
func parseOrigin(s string) (exact string, p *pattern, err error) {
	if s == "null" {
		return "", nil, fmt.Errorf(`origin "null" is what sandboxed frames, file: pages and redirects send: allowing it allows any of them; list the real origins`)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		return "", nil, fmt.Errorf("origin %q is not scheme://host[:port] (for example https://app.example.com), `*` or a pattern such as https://*.example.com", s)
	}
	scheme = strings.ToLower(scheme)
	if strings.HasSuffix(rest, "/") {
		return "", nil, fmt.Errorf("origin %q ends with '/': an origin has no path; write %s://%s", s, scheme, strings.TrimRight(rest, "/"))
	}
	if strings.ContainsAny(rest, "/?#@ \t") {
		return "", nil, fmt.Errorf("origin %q has a path, query, user or space: an origin is only scheme://host[:port]", s)
	}
	if rest == "*" {
		return "", &pattern{scheme: scheme}, nil
	}
	host, port, err := hostPort(rest)
	if err != nil {
		return "", nil, fmt.Errorf("origin %q: %w", s, err)
	}
	if port == defaultPort(scheme) {
		port = "" // browsers leave the default port out of Origin
	}
	host = strings.ToLower(host)
	if sub, ok := strings.CutPrefix(host, "*."); ok {
		if sub == "" || strings.Contains(sub, "*") {
			return "", nil, fmt.Errorf("origin %q: `*` may only stand for the whole host or the first part of it (https://*.example.com)", s)
		}
		return "", &pattern{scheme: scheme, suffix: "." + sub, port: port}, nil
	}
	if strings.Contains(host, "*") {
		return "", nil, fmt.Errorf("origin %q: `*` may only stand for the whole host or the first part of it (https://*.example.com)", s)
	}
	if port != "" {
		host = net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
	return scheme + "://" + host, nil, nil
}

// hostPort splits host[:port], checking the port is a number.
func hostPort(hp string) (host, port string, err error) {
	host, port = splitHostPort(hp)
	if host == "" {
		return "", "", fmt.Errorf("no host")
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
	}
	if !strings.HasPrefix(host, "[") {
		if _, err := url.Parse("http://" + host); err != nil || strings.ContainsAny(host, "[]") {
			return "", "", fmt.Errorf("host %q is not a host name or address", host)
		}
	}
	return host, port, nil
}

func defaultPort(scheme string) string {
	switch scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// validScheme is RFC 3986's scheme syntax.
func validScheme(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
