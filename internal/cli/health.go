package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/admin"
	"github.com/portcullis/portcullis/internal/config"
)

// health is `portcullis health`: asks a running gateway's /readyz, for
// container HEALTHCHECKs and exec probes. Exit 0 when ready, 1 otherwise
// (not ready, unreachable, or no admin listener configured).
func health(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("health", `-c FILE | --url URL [--timeout 2s]

Ask a running gateway's /readyz (for container HEALTHCHECKs and exec probes):
exit 0 when it is ready, 1 otherwise.`, stdout, stderr)
	file := fs.String("c", "", "configuration `file`: ask the admin_listen it names")
	rawURL := fs.String("url", "", "the admin listener's `URL` (http://127.0.0.1:9901), instead of -c")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	if (*file == "") == (*rawURL == "") {
		fmt.Fprintln(stderr, "portcullis health: give either -c FILE or --url URL")
		return exitUsage
	}
	var client *http.Client
	var target string
	if *file != "" {
		f, err := config.Load(*file)
		if err != nil {
			fmt.Fprintf(stderr, "portcullis health: %v\n", err)
			return exitFailed
		}
		if f.Config.AdminListen == "" {
			fmt.Fprintf(stderr, "portcullis health: %s has no admin_listen to ask\n", *file)
			return exitFailed
		}
		var base string
		client, base, err = admin.Client(f.Config.AdminListen, *timeout)
		if err != nil {
			fmt.Fprintf(stderr, "portcullis health: %v\n", err)
			return exitFailed
		}
		target = base + "/readyz"
	} else {
		u, err := url.Parse(*rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fmt.Fprintf(stderr, "portcullis health: --url %q: expected http://HOST:PORT\n", *rawURL)
			return exitUsage
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/readyz"
		}
		client, target = &http.Client{Timeout: *timeout}, u.String()
	}
	resp, err := client.Get(target)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis health: %v\n", err)
		return exitFailed
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stdout, "not ready: %d %s\n", resp.StatusCode, strings.TrimSpace(string(body)))
		return exitFailed
	}
	fmt.Fprintln(stdout, "ready")
	return exitOK
}
