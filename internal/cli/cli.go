// Package cli is the portcullis command line: serve, check and token tools.
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/buildinfo"
	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/internal/token"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a runtime failure or an invalid configuration
	exitUsage  = 2
)

const usage = `portcullis: an API gateway that verifies every caller, with AWS API Gateway's authorizer behaviour

Usage:
  portcullis serve -c FILE [--log-level LEVEL] [--watch]
                                   serve the API in FILE (SIGHUP or, with --watch, a change to FILE
                                   reloads; SIGTERM stops; SIGUSR1 rotates the keys of issuers it hosts;
                                   SIGUSR2 and SIGHUP reopen the access log file)
  portcullis check -c FILE         validate FILE without serving
  portcullis build -c FILE         build FILE's Go functions from source (serve does it too)
  portcullis import FILE [-o OUT] [--strict] [--parameter Name=Value]...
                                   turn a SAM/CloudFormation template or an OpenAPI/Swagger file
                                   into a configuration; what cannot be carried over is listed on
                                   stderr and left as comments (--strict: exit 1 instead)
  portcullis export openapi -c FILE [-o OUT]
                                   write FILE as OpenAPI 3 with API Gateway's extensions
  portcullis issuer -c FILE        serve a development OIDC issuer (not for production);
                                   SIGUSR1 rotates its signing key
  portcullis issuer rotate -c FILE add a new signing key (the old one stays published until its tokens expire)
  portcullis issuer hash-password  read a password on stdin, print its bcrypt hash for a users list
  portcullis token mint --key PEM --iss ISSUER --aud AUDIENCE --sub SUBJECT [--scope S]... [--ttl 1h] [--kid KID] [--alg ALG] [--claim name=value]...
                                   print a signed JWT (the key type decides the algorithm)
  portcullis token inspect TOKEN   print a token's header and claims, times as dates (verifies nothing)
  portcullis token verify -c FILE --route 'GET /orders/1' TOKEN
                                   run the route's authorizer on TOKEN and explain the decision
                                   step by step; exit 0 allow, 1 deny
  portcullis explain -c FILE 'GET /orders/1' [-H 'Name: value']... [--query name=value]... [--invoke] [--json]
                                   explain what the gateway would do with a request and why: route,
                                   identity, authorizer checks, Lambda event, answer and policy
                                   (--invoke), cache reuse by other routes, CORS, backend request;
                                   exit 0 allowed, 1 denied, 3 undecided
  portcullis token keygen --out DIR [--type rsa|ec|ed25519] [--kid KID]
                                   write private.pem, public.pem and jwks.json
  portcullis apikey create -c FILE --name NAME --plan PLAN [--disabled]
                                   print a new API key once and add only its hash to api_keys.keys_file
  portcullis cert dev --out DIR    write a development CA, a server certificate for localhost and
                                   127.0.0.1, and a client certificate, for trying TLS and mutual TLS
  portcullis health -c FILE | --url URL [--timeout 2s]
                                   ask a running gateway's /readyz: exit 0 ready, 1 not (for probes)
  portcullis completion bash|zsh|fish
                                   print a shell completion script
  portcullis version               print the version, commit, build date and Go version
`

// Main runs the command in args (without the program name) and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "build":
		return build(args[1:], stdout, stderr)
	case "import":
		return importCmd(args[1:], stdout, stderr)
	case "export":
		return exportCmd(args[1:], stdout, stderr)
	case "issuer":
		return issuerCmd(args[1:], stdin, stdout, stderr)
	case "token":
		if len(args) > 1 {
			switch args[1] {
			case "mint":
				return mint(args[2:], stdout, stderr)
			case "keygen":
				return keygen(args[2:], stdout, stderr)
			case "inspect":
				return inspect(args[2:], stdin, stdout, stderr)
			case "verify":
				return verifyToken(args[2:], stdin, stdout, stderr)
			case "-h", "-help", "--help", "help":
				fmt.Fprint(stdout, usage)
				return exitOK
			}
		}
		fmt.Fprint(stderr, "portcullis token: expected mint, inspect, verify or keygen\n\n", usage)
		return exitUsage
	case "cert":
		if len(args) > 1 && args[1] == "dev" {
			return certDev(args[2:], stdout, stderr)
		}
		if len(args) > 1 && (args[1] == "-h" || args[1] == "--help" || args[1] == "help") {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprint(stderr, "portcullis cert: expected dev\n\n", usage)
		return exitUsage
	case "version", "--version":
		fs := newFlags("version", `

Print the module version, the commit, the build date and the Go version.`, stdout, stderr)
		if code, ok := fs.parse(args[1:], false); !ok {
			return code
		}
		fmt.Fprintln(stdout, buildinfo.Read())
		return exitOK
	case "health":
		return health(args[1:], stdout, stderr)
	case "apikey":
		return apikeyCmd(args[1:], stdout, stderr)
	case "explain":
		return explainCmd(args[1:], stdout, stderr)
	case "completion":
		return completion(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "portcullis: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// commandFlags is one command's flag set. -h or --help prints the command's
// usage on stdout and ends it with exit 0; a flag error prints the problem
// and the usage on stderr and ends it with exit 2.
type commandFlags struct {
	*flag.FlagSet
	stdout, stderr io.Writer
	parsing        bytes.Buffer // what the flag package writes while parsing
}

// newFlags makes the flag set of the command "portcullis name"; synopsis
// follows the command in its usage line and may go on with a description.
func newFlags(name, synopsis string, stdout, stderr io.Writer) *commandFlags {
	c := &commandFlags{FlagSet: flag.NewFlagSet("portcullis "+name, flag.ContinueOnError), stdout: stdout, stderr: stderr}
	c.SetOutput(&c.parsing)
	c.Usage = func() {
		fmt.Fprintf(c.Output(), "Usage: %s %s\n", c.Name(), synopsis)
		hasFlags := false
		c.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(c.Output(), "\nFlags:\n")
			c.PrintDefaults()
		}
	}
	return c
}

// parse parses args. When it reports !ok the command is over, with exit
// code. Arguments after the flags are refused unless positional is set, so a
// typo is never ignored.
func (c *commandFlags) parse(args []string, positional bool) (code int, ok bool) {
	err := c.Parse(args)
	c.SetOutput(c.stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, _ = c.parsing.WriteTo(c.stdout)
		return exitOK, false
	case err != nil:
		_, _ = c.parsing.WriteTo(c.stderr)
		return exitUsage, false
	case !positional && c.NArg() > 0:
		fmt.Fprintf(c.stderr, "%s: unexpected argument %q\n", c.Name(), c.Arg(0))
		return exitUsage, false
	}
	return exitOK, true
}

func serve(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", `-c FILE [--log-level LEVEL] [--watch]

Serve the API in FILE. SIGHUP (or, with --watch, a change to FILE) reloads FILE, SIGTERM or SIGINT stops (in-flight
requests finish), SIGUSR1 rotates the keys of the issuers it hosts, SIGUSR2 (and SIGHUP) reopens the access log
file after log rotation. The access log is written at every --log-level.`, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "configuration `file`")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	watch := fs.Bool("watch", false, "reload when the configuration file changes (as SIGHUP does)")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "portcullis serve: bad --log-level %q\n", *level)
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lv}))

	ctx, hurry, stop := stopSignals()
	defer stop()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	reload, rotate, reopen := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		for sig := range sigs {
			ch := reload
			switch sig {
			case syscall.SIGUSR1:
				ch = rotate
			case syscall.SIGUSR2:
				ch = reopen
			}
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()

	err := server.Run(ctx, server.Options{ConfigPath: *file, Logger: log, Reload: reload, Rotate: rotate, ReopenLogs: reopen,
		Hurry: hurry, Watch: *watch, Stdout: stdout, Stderr: stderr})
	if err != nil {
		var es *config.Errors
		if errors.As(err, &es) {
			fmt.Fprintln(stderr, err)
			fmt.Fprintf(stderr, "portcullis serve: %d %s in %s; not serving\n", len(*es), config.Plural(len(*es), "problem", "problems"), *file)
			return exitFailed
		}
		log.Error("portcullis stopped", "error", err.Error())
		return exitFailed
	}
	return exitOK
}

func check(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", `-c FILE

Validate FILE and everything serve uses before it listens (addresses, ports,
files, key directories) without serving or writing anything. Every problem is
printed as file:line:column: key.path: message. A warning (an admin_listen
the network reaches, a TLS certificate expired or without subject
alternative names) is printed the same way, with "warning:", and does not
fail the check. A file for portcullis issuer is checked as that command
reads it.`, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "configuration `file`")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	f, err := config.Load(*file)
	var warnings config.Errors
	if err == nil {
		// Reads key files and checks every value; starts and writes nothing.
		warnings, err = server.Check(f)
	} else if _, ierr := config.LoadIssuer(*file); issuerKey.MatchString(err.Error()) && (ierr == nil || problems(ierr) < problems(err)) {
		// Not a gateway's file but one for `portcullis issuer -c` (it has
		// an issuer's keys, and fewer problems read as one): check it as
		// that command reads it.
		if ierr != nil {
			err = ierr
		} else if f, _, _, code := loadIssuer(*file, stderr); f == nil {
			return code
		} else {
			fmt.Fprintf(stdout, "%s: OK (a development issuer's file, for portcullis issuer -c)\n", *file)
			return exitOK
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		var es *config.Errors
		if errors.As(err, &es) {
			fmt.Fprintf(stderr, "%s: %d %s\n", *file, len(*es), config.Plural(len(*es), "problem", "problems"))
		}
		return exitFailed
	}
	for _, w := range warnings {
		w.Msg = "warning: " + w.Msg
		fmt.Fprintln(stderr, w.Error())
	}
	routes, authorizers := len(f.Config.Routes), len(f.Config.Authorizers)
	fmt.Fprintf(stdout, "%s: OK (%d %s, %d %s)\n", *file, routes, config.Plural(routes, "route", "routes"),
		authorizers, config.Plural(authorizers, "authorizer", "authorizers"))
	return exitOK
}

// issuerKey finds, in a gateway loader's problems, a top-level key only an
// issuer's file has.
var issuerKey = regexp.MustCompile(`:1: unknown key "(issuer|keys_dir|algorithm|token_ttl|audience|users|clients|users_file|clients_file)"`)

// problems is how many problems err reports.
func problems(err error) int {
	var es *config.Errors
	if errors.As(err, &es) {
		return len(*es)
	}
	return 1
}

func build(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("build", `-c FILE

Build FILE's Go functions from source (runtime provided.* or go1.x with a
go.mod), as serve does before starting them.`, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "configuration `file`")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	f, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	n, err := gateway.BuildGoFunctions(f)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "%s: built %d Go %s\n", *file, n, config.Plural(n, "function", "functions"))
	return exitOK
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func mint(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token mint", `--key PEM --iss ISSUER --aud AUDIENCE --sub SUBJECT [--scope S]... [--ttl 1h] [--kid KID] [--alg ALG] [--claim name=value]...

Print a signed JWT. The key type decides the algorithm unless --alg picks another.`, stdout, stderr)
	keyFile := fs.String("key", "", "PEM private key `file` (RSA, EC or Ed25519)")
	iss := fs.String("iss", "", "issuer (iss)")
	sub := fs.String("sub", "", "subject (sub)")
	var aud, scopes, claims list
	fs.Var(&aud, "aud", "audience (aud); repeat for several")
	fs.Var(&scopes, "scope", "scope; repeat or space-separate for several")
	fs.Var(&claims, "claim", "extra claim `name=value` (value parsed as JSON when it is JSON); repeatable")
	ttl := fs.Duration("ttl", time.Hour, "lifetime (exp = now + ttl)")
	kid := fs.String("kid", "", "key id for the token header")
	alg := fs.String("alg", "", "algorithm (default: from the key: RS256, ES256/384/512, EdDSA)")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	if *keyFile == "" {
		fmt.Fprintln(stderr, "portcullis token mint: --key is required")
		return exitUsage
	}
	data, err := os.ReadFile(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis token mint: %v\n", err)
		return exitFailed
	}
	key, _, err := token.LoadSigningKey(data)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis token mint: %s: %v\n", *keyFile, err)
		return exitFailed
	}
	extra := map[string]any{}
	for _, c := range claims {
		name, value, ok := strings.Cut(c, "=")
		if !ok || name == "" {
			fmt.Fprintf(stderr, "portcullis token mint: --claim %q: expected name=value\n", c)
			return exitUsage
		}
		var v any
		if json.Unmarshal([]byte(value), &v) != nil {
			v = value
		}
		extra[name] = v
	}
	// Such a token is valid JWT, and useful for testing denials, but it is
	// rarely what was meant: say so, on stderr, and mint it all the same.
	if *iss == "" {
		fmt.Fprintln(stderr, "portcullis token mint: warning: no --iss: the token has no iss claim, so a JWT authorizer refuses it (bad_issuer)")
	}
	if _, hasClientID := extra["client_id"]; len(aud) == 0 && !hasClientID {
		fmt.Fprintln(stderr, "portcullis token mint: warning: no --aud: the token has no aud claim (nor client_id), so a JWT authorizer refuses it (bad_audience)")
	}
	tok, err := token.Mint(key, *alg, *kid, token.Claims{
		Issuer: *iss, Subject: *sub, Audience: aud, Scope: strings.Join(scopes, " "), TTL: *ttl, Extra: extra,
	})
	if err != nil {
		fmt.Fprintf(stderr, "portcullis token mint: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, tok)
	return exitOK
}

func keygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("token keygen", `--out DIR [--type rsa|ec|ed25519] [--kid KID]

Write a new key pair as DIR/private.pem, DIR/public.pem and DIR/jwks.json.`, stdout, stderr)
	out := fs.String("out", "", "`dir`ectory for private.pem, public.pem and jwks.json")
	kind := fs.String("type", "rsa", "key type: rsa, ec or ed25519")
	kid := fs.String("kid", "key-1", "key id written into jwks.json")
	if code, ok := fs.parse(args, false); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "portcullis token keygen: --out is required")
		return exitUsage
	}
	key, err := token.GenerateKey(*kind)
	if err == nil {
		err = token.WriteKeyPair(*out, *kid, key)
	}
	if err != nil {
		fmt.Fprintf(stderr, "portcullis token keygen: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "wrote %s, %s and %s (kid %q)\n",
		filepath.Join(*out, "private.pem"), filepath.Join(*out, "public.pem"), filepath.Join(*out, "jwks.json"), *kid)
	fmt.Fprintf(stdout, "as jwks_file: public.pem takes tokens without a kid; jwks.json only tokens minted with --kid %s\n", *kid)
	return exitOK
}
