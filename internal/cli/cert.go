package cli

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/portcullis/portcullis/internal/tlsconf"
)

// certDev is `portcullis cert dev`: development certificates for TLS and
// mutual TLS, as `token keygen` is for tokens.
func certDev(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cert dev", `--out DIR

Write a development CA, a server certificate for localhost, 127.0.0.1 and ::1,
and a client certificate (CN=dev-client) into DIR, valid for 90 days. For
development only: the CA's key is written beside its certificate.`, stdout, stderr)
	out := fs.String("out", "", "`dir`ectory for the PEM files (created if missing; existing files are not replaced)")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "portcullis cert dev: --out is required")
		return exitUsage
	}
	if err := tlsconf.WriteDev(*out); err != nil {
		fmt.Fprintf(stderr, "portcullis cert dev: %v\n", err)
		return exitFailed
	}
	for _, f := range tlsconf.DevFiles {
		fmt.Fprintf(stdout, "wrote %-40s %s\n", filepath.Join(*out, f.Name), f.Role)
	}
	d := *out
	fmt.Fprintf(stdout, `
In the configuration:
  tls:
    certificates: [{cert_file: %[1]s, key_file: %[2]s}]
    client_auth: {truststore: %[3]s, mode: require}
Then:
  curl --cacert %[3]s --cert %[4]s --key %[5]s https://localhost:PORT/...
`, filepath.Join(d, "server.pem"), filepath.Join(d, "server-key.pem"), filepath.Join(d, "ca.pem"),
		filepath.Join(d, "client.pem"), filepath.Join(d, "client-key.pem"))
	return exitOK
}
