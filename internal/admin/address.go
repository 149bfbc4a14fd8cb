package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// UnixPrefix marks an admin_listen value that is a Unix socket path
// ("unix:/run/portcullis/admin.sock") rather than a TCP host:port.
const UnixPrefix = "unix:"

// Listen opens the admin listener at addr: a Unix socket for "unix:PATH"
// (a stale socket left by a process that died is replaced; the socket is
// made 0660, so only the owner and its group reach /reload and /metrics),
// else TCP. Closing the listener removes the socket file.
func Listen(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, UnixPrefix)
	if !ok {
		return net.Listen("tcp", addr)
	}
	if path == "" {
		return nil, errors.New("unix: needs a socket path")
	}
	if info, err := os.Lstat(path); err == nil {
		if info.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another process is listening on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("removing stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return ln, nil
}

// Client returns a client and base URL that reach the admin listener
// configured as addr: through the socket for "unix:PATH"; for a TCP address
// that listens on every interface (":9901", "0.0.0.0:9901", "[::]:9901"),
// through loopback.
func Client(addr string, timeout time.Duration) (*http.Client, string, error) {
	if path, ok := strings.CutPrefix(addr, UnixPrefix); ok {
		var d net.Dialer
		tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}}
		return &http.Client{Transport: tr, Timeout: timeout}, "http://admin", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("admin_listen %q: %w", addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return &http.Client{Timeout: timeout}, "http://" + net.JoinHostPort(host, port), nil
}
