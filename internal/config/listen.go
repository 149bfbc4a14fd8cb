package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ListenAddress is a listen address as net.Listen("tcp", ...) reads it.
type ListenAddress struct {
	Host string // "" for every interface
	Port int    // 0: any free port
}

// ParseListenAddress checks a configured listen address (listen,
// admin_listen, an issuer's listen) the way serve will use it, and says
// what is wrong in words: host:port with an IP address, a host name or
// nothing (every interface) as the host, and a port from 0 (any free port)
// to 65535 or a service name. Whether the address is this machine's, the
// name resolves or the port is free shows only when serve listens.
func ParseListenAddress(addr string) (ListenAddress, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		switch {
		case !strings.Contains(addr, ":") && isDigits(addr):
			return ListenAddress{}, fmt.Errorf("%q has no host: write 127.0.0.1:%s to listen on this machine only, or :%s for every interface", addr, addr, addr)
		case !strings.Contains(addr, ":"):
			return ListenAddress{}, fmt.Errorf("%q has no port: write host:port, such as %s:8080", addr, addr)
		case strings.Count(addr, ":") > 1 && !strings.HasPrefix(addr, "["):
			i := strings.LastIndex(addr, ":")
			return ListenAddress{}, fmt.Errorf("%q: an IPv6 address goes in brackets before the port, such as [%s]:%s", addr, addr[:i], addr[i+1:])
		}
		return ListenAddress{}, fmt.Errorf("%q is not host:port, such as 127.0.0.1:8080", addr)
	}
	out := ListenAddress{Host: host}
	switch n, err := strconv.Atoi(port); {
	case port == "":
		return ListenAddress{}, fmt.Errorf("%q has no port: write a port number after the ':' (0 picks any free port)", addr)
	case err == nil:
		if n < 0 || n > 65535 {
			return ListenAddress{}, fmt.Errorf("%q: port %s is out of range; a port is a number from 1 to 65535 (0 picks any free port)", addr, port)
		}
		out.Port = n
	default:
		n, err := net.LookupPort("tcp", port)
		if err != nil {
			return ListenAddress{}, fmt.Errorf("%q: %q is neither a port number nor a known service name; write a number from 1 to 65535", addr, port)
		}
		out.Port = n
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && !isHostName(host) {
			return ListenAddress{}, fmt.Errorf("%q: host %q is neither an IP address nor a host name", addr, host)
		}
	}
	return out, nil
}

// Conflicts reports whether serve could not listen on both a and b: the
// same port (not 0) on the same address, or on every address of a family
// that includes the other.
func (a ListenAddress) Conflicts(b ListenAddress) bool {
	if a.Port == 0 || a.Port != b.Port {
		return false
	}
	ka, kb := a.kind(), b.kind()
	switch {
	case ka == "all" || kb == "all": // "" and "::" listen on IPv4 and IPv6
		return true
	case ka == "all4":
		return kb == "all4" || kb == "4"
	case kb == "all4":
		return ka == "4"
	}
	return a.canonicalHost() == b.canonicalHost()
}

func (a ListenAddress) kind() string {
	switch ip, err := netip.ParseAddr(a.canonicalHost()); {
	case a.Host == "" || (err == nil && ip == netip.IPv6Unspecified()):
		return "all"
	case err == nil && ip == netip.IPv4Unspecified():
		return "all4"
	case err == nil && ip.Is4():
		return "4"
	case err == nil:
		return "6"
	}
	return "name"
}

// Loopback reports whether a listens on a loopback address only (127.0.0.0/8,
// ::1, localhost), so that nothing outside the machine reaches it. Every
// interface ("", 0.0.0.0, ::), another address or another host name is not
// (a name is not resolved: it may name any interface).
func (a ListenAddress) Loopback() bool {
	ip, err := netip.ParseAddr(a.canonicalHost())
	return err == nil && ip.Unmap().IsLoopback()
}

// canonicalHost writes IP addresses one way and reads localhost as
// 127.0.0.1, where Go's listener puts it.
func (a ListenAddress) canonicalHost() string {
	if strings.EqualFold(a.Host, "localhost") {
		return "127.0.0.1"
	}
	if ip, err := netip.ParseAddr(a.Host); err == nil {
		return ip.Unmap().String()
	}
	return strings.ToLower(a.Host)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// isHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits and inner hyphens, 63 bytes each, 253 in all.
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}
