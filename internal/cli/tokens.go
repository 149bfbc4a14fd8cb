package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/explain"
	"github.com/portcullis/portcullis/internal/identity"
	"github.com/portcullis/portcullis/internal/state"
)

// readToken takes the token from the one argument, or from stdin for "-".
func readToken(fs *flag.FlagSet, stdin io.Reader) (string, error) {
	if fs.NArg() != 1 {
		return "", fmt.Errorf("expected one TOKEN argument (or - to read it from stdin), got %d; flags go before TOKEN", fs.NArg())
	}
	tok := fs.Arg(0)
	if tok == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
		if err != nil {
			return "", err
		}
		tok = string(b)
	}
	return identity.BearerToken(tok), nil
}

// inspect prints a token's header and claims. It verifies nothing and says so.
func inspect(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("token inspect", `TOKEN|-

Print a token's header and claims, times as dates. It verifies nothing.`, stdout, stderr)
	if code, ok := fs.parse(args, true); !ok {
		return code
	}
	tok, err := readToken(fs.FlagSet, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis token inspect: %v\n", err)
		return exitUsage
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		fmt.Fprintf(stderr, "portcullis token inspect: not a JWS compact token (%d parts, want 3)\n", len(parts))
		return exitFailed
	}
	fmt.Fprintln(stdout, "NOT VERIFIED: this only decodes the token. Use `portcullis token verify` to check it.")
	now := time.Now()
	for i, name := range []string{"header", "claims"} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			fmt.Fprintf(stderr, "portcullis token inspect: %s is not base64url: %v\n", name, err)
			return exitFailed
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			fmt.Fprintf(stderr, "portcullis token inspect: %s is not a JSON object: %v\n", name, err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "\n%s:\n", name)
		pretty, _ := json.MarshalIndent(m, "  ", "  ")
		fmt.Fprintf(stdout, "  %s\n", pretty)
		if name == "claims" {
			for _, c := range []string{"iat", "nbf", "exp", "auth_time"} {
				if n, ok := m[c].(json.Number); ok {
					if sec, err := n.Float64(); err == nil {
						t := time.Unix(int64(sec), 0)
						fmt.Fprintf(stdout, "  %-9s %s (%s)\n", c, t.UTC().Format(time.RFC3339), relative(t, now))
					}
				}
			}
		}
	}
	fmt.Fprintf(stdout, "\nsignature: %d bytes (not checked)\n", base64.RawURLEncoding.DecodedLen(len(parts[2])))
	return exitOK
}

func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	switch {
	case d > 0:
		return "in " + d.String()
	case d < 0:
		return (-d).String() + " ago"
	}
	return "now"
}

// verifyToken runs the configured authorizer of a route on a token and
// explains the decision: `portcullis explain` for a bearer token, in the
// shorter form of a token check. Exit 0 allow, 1 deny.
func verifyToken(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("token verify", `-c FILE --route 'METHOD /path' TOKEN|-

Run the route's authorizer on TOKEN and explain the decision step by step;
exit 0 allow, 1 deny, 3 undecided (revocation is on and the list could not
be read: it lives in the running gateway's memory without state.redis).
(portcullis explain explains any request.)`, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "configuration `file`")
	rt := fs.String("route", "", "the request to decide, `METHOD /path[?query]`, e.g. 'GET /orders/1'")
	if code, ok := fs.parse(args, true); !ok {
		return code
	}
	tok, err := readToken(fs.FlagSet, stdin)
	method, target, ok := strings.Cut(*rt, " ")
	if err != nil || !ok || !strings.HasPrefix(target, "/") {
		switch {
		case *rt == "" && fs.NArg() == 2 && strings.Contains(fs.Arg(0), " /"):
			err = fmt.Errorf("--route is required, such as --route '%s', before TOKEN", fs.Arg(0))
		case err != nil:
		case *rt == "":
			err = fmt.Errorf("--route is required, such as --route 'GET /orders/1'")
		default:
			err = fmt.Errorf("--route must be METHOD /path, such as 'GET /orders/1'")
		}
		fmt.Fprintf(stderr, "portcullis token verify: %v\n", err)
		return exitUsage
	}
	f, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	state.SendRedisLogsTo(slog.New(slog.DiscardHandler)) // the revocation line says when Redis does not answer
	rep, err := explain.Run(ctx, f, explain.Options{Method: method, Target: target, Token: tok})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	return writeVerify(stdout, method, target, rep)
}

// writeVerify prints an explanation as token verify's lines.
func writeVerify(w io.Writer, method, target string, rep *explain.Report) int {
	line := func(step, mark, detail string) { fmt.Fprintf(w, "%-10s %s %s\n", step, mark, detail) }
	path, _, _ := strings.Cut(target, "?")
	deny := func() int {
		line("decision", "✗", fmt.Sprintf("DENY: %d %s", rep.Response.Status, strings.TrimSpace(rep.Response.Body)))
		return exitFailed
	}
	switch {
	case !rep.Route.Matched:
		line("route", "✗", fmt.Sprintf("%s %s matches no route: %d", method, path, rep.Response.Status))
		return exitFailed
	case rep.Authorizer == nil:
		line("route", "✓", fmt.Sprintf("%s %s → %s, a public route: no authorizer runs", method, path, rep.Route.Key))
	case rep.JWT == nil:
		line("route", "✗", fmt.Sprintf("%s %s → %s, whose authorizer %s is a %s authorizer: token verify checks jwt authorizers; `portcullis explain` explains this one (-H for its identity sources, --invoke to call it)",
			method, path, rep.Route.Key, rep.Authorizer.Name, rep.Authorizer.Type))
		return exitFailed
	default:
		src := ""
		if len(rep.Identity) > 0 {
			src = rep.Identity[0].Source
		}
		line("route", "✓", fmt.Sprintf("%s %s → %s (authorizer %s, token from %s)", method, path, rep.Route.Key, rep.Authorizer.Name, src))
		j := rep.JWT
		for _, s := range j.Steps {
			line(s.Check, mark(s.OK), s.Detail)
		}
		if !j.VerifiedClaims {
			return deny()
		}
		if len(j.RouteScopes) > 0 {
			line("scopes", mark(j.ScopesOK), fmt.Sprintf("the route needs one of %v; the token has %v", j.RouteScopes, j.TokenScopes))
		}
		line("identity", "✓", fmt.Sprintf("principal %q", j.Principal))
		if rv := rep.Revocation; rv != nil {
			m := "·"
			if rv.Checked {
				m = mark(!rv.Revoked)
			}
			line("revocation", m, rv.Detail)
		}
	}
	switch rep.Outcome {
	case explain.Allowed:
	case explain.Undecided:
		line("decision", "·", rep.Decision)
		return exitUndecided
	default: // Denied, or an outcome this does not know: no pass
		return deny()
	}
	line("decision", "✓", "ALLOW")
	b := rep.Backend
	switch {
	case b == nil:
	case b.Integration == "http_proxy" && b.URL != "":
		line("backend", "·", fmt.Sprintf("would receive %s %s", b.Method, b.URL))
		for _, h := range b.Headers {
			fmt.Fprintf(w, "%-10s   %s: %s\n", "", h.Name, h.Value)
		}
	default:
		line("backend", "·", b.Detail)
	}
	return exitOK
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}
