package config

import (
	"net"
	"testing"
)

func TestParseListenAddress(t *testing.T) {
	for _, tt := range []struct {
		in   string
		ok   bool
		host string
		port int
	}{
		{"127.0.0.1:8080", true, "127.0.0.1", 8080},
		{":8080", true, "", 8080},
		{"[::1]:8080", true, "::1", 8080},
		{"[fe80::1%eth0]:8080", true, "fe80::1%eth0", 8080},
		{"localhost:0", true, "localhost", 0},
		{"gw.example.com:443", true, "gw.example.com", 443},
		{"127.0.0.1:65535", true, "127.0.0.1", 65535},
		{"8080", false, "", 0},
		{"localhost", false, "", 0},
		{"127.0.0.1:", false, "", 0},
		{"127.0.0.1:65536", false, "", 0},
		{"127.0.0.1:-1", false, "", 0},
		{"127.0.0.1:no-such-service-name", false, "", 0},
		{"::1:8080", false, "", 0},
		{"bad host!:8080", false, "", 0},
		{"-bad.example:8080", false, "", 0},
		{"", false, "", 0},
	} {
		a, err := ParseListenAddress(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (a.Host != tt.host || a.Port != tt.port)) {
			t.Errorf("%q: %+v, %v", tt.in, a, err)
		}
		// What it accepts, net.Listen's parser accepts (no DNS here).
		if err == nil && tt.host != "gw.example.com" {
			if _, err := net.ResolveTCPAddr("tcp", tt.in); err != nil {
				t.Errorf("%q accepted, but net: %v", tt.in, err)
			}
		}
	}
}

func TestListenAddressConflicts(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"127.0.0.1:80", "127.0.0.1:80", true},
		{"127.0.0.1:80", "127.0.0.1:81", false},
		{"127.0.0.1:80", "127.0.0.2:80", false},
		{":80", "127.0.0.1:80", true},
		{":80", "[::1]:80", true},
		{"[::]:80", "127.0.0.1:80", true},
		{"0.0.0.0:80", "127.0.0.1:80", true},
		{"0.0.0.0:80", "[::1]:80", false},
		{"localhost:80", "127.0.0.1:80", true},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1:80", true},
		{"127.0.0.1:0", "127.0.0.1:0", false},
		{"a.example:80", "A.example:80", true},
		{"a.example:80", "b.example:80", false},
	} {
		a, err1 := ParseListenAddress(tt.a)
		b, err2 := ParseListenAddress(tt.b)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if a.Conflicts(b) != tt.want || b.Conflicts(a) != tt.want {
			t.Errorf("%s and %s: conflict %v, want %v", tt.a, tt.b, a.Conflicts(b), tt.want)
		}
	}
}
