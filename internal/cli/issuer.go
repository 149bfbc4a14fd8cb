package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/issuer"
)

// issuerCmd is `portcullis issuer`: serve a development issuer, rotate its
// keys, or hash a password for its users file.
func issuerCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "rotate":
			return issuerRotate(args[1:], stdout, stderr)
		case "hash-password":
			return hashPassword(args[1:], stdin, stdout, stderr)
		}
	}
	fs := newFlags("issuer", `-c FILE
       portcullis issuer rotate -c FILE
       portcullis issuer hash-password < PASSWORD

Serve a development OIDC issuer (not for production); SIGUSR1 rotates its
signing key. rotate adds a new signing key; hash-password prints the bcrypt
hash of the password on stdin, for a users list.`, stdout, stderr)
	file := fs.String("c", "issuer.yaml", "issuer configuration `file`")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	f, s, listen, code := loadIssuer(*file, stderr)
	if f == nil {
		return code
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	iss, err := issuer.New(s, issuer.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "portcullis issuer: %v\n", err)
		return exitFailed
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis issuer: %v\n", err)
		return exitFailed
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go iss.Run(ctx)
	srv := &http.Server{Handler: iss, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-sigs:
				if sig == syscall.SIGUSR1 {
					if kid, err := iss.Rotate(); err != nil {
						log.Error("key rotation failed", "error", err.Error())
					} else {
						log.Info("issuer key rotated", "kid", kid)
					}
				} else if err := iss.Reload(); err != nil {
					log.Error("key reload failed; keeping the current keys", "error", err.Error())
				}
			}
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("development issuer (not for production)", "url", s.Issuer, "listen", ln.Addr().String(), "config", f.Path)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Error("issuer stopped", "error", err.Error())
		return exitFailed
	}
	log.Info("stopped")
	return exitOK
}

func loadIssuer(path string, stderr io.Writer) (*config.IssuerFile, issuer.Settings, string, int) {
	f, err := config.LoadIssuer(path)
	if err == nil {
		var s issuer.Settings
		var listen string
		s, listen, err = issuer.FromConfig(&f.File, "", f.Issuer)
		if err == nil {
			return f, s, listen, exitOK
		}
	}
	fmt.Fprintln(stderr, err)
	return nil, issuer.Settings{}, "", exitFailed
}

// issuerRotate adds a new signing key to the issuer's key directory. A
// running issuer picks it up within seconds (it watches the directory); the
// old key stays published until the tokens it signed have expired.
func issuerRotate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("issuer rotate", `-c FILE

Add a new signing key to the issuer's keys_dir; the old one stays published
until the tokens it signed have expired.`, stdout, stderr)
	file := fs.String("c", "issuer.yaml", "issuer configuration `file`")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	f, s, _, code := loadIssuer(*file, stderr)
	if f == nil {
		return code
	}
	kid, err := issuer.Rotate(s, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "portcullis issuer rotate: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "new signing key %s in %s; the previous key stays published until its tokens expire\n", kid, s.KeysDir)
	return exitOK
}

// hashPassword reads a password from stdin (one line) and prints its bcrypt
// hash for a users file. It never takes the password as an argument, which
// would leave it in shell history and process lists.
func hashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("issuer hash-password", `< PASSWORD

Read a password on stdin (one line) and print its bcrypt hash for a users list.`, stdout, stderr)
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "portcullis issuer hash-password: %v\n", err)
		return exitFailed
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		fmt.Fprintln(stderr, "portcullis issuer hash-password: give the password on stdin, e.g. `read -rs PW; echo \"$PW\" | portcullis issuer hash-password`")
		return exitUsage
	}
	h, err := issuer.HashPassword(pw)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis issuer hash-password: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, h)
	return exitOK
}
