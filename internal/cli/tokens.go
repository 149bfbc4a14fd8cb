package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/identity"
)

// readToken takes the token from the one argument, or from stdin for "-".
func readToken(fs *flag.FlagSet, stdin io.Reader) (string, error) {
	if fs.NArg() != 1 {
		return "", fmt.Errorf("expected one TOKEN argument (or - to read it from stdin)")
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

// recorder stands in for every backend: it keeps the request the gateway
// would have sent and answers 200 without sending anything anywhere.
type recorder struct{ req *http.Request }

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	rec.req = r
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// verifyToken runs the configured authorizer of a route on a token and
// explains the decision. Exit 0 allow, 1 deny.
func verifyToken(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("token verify", `-c FILE --route 'METHOD /path' TOKEN|-

Run the route's authorizer on TOKEN and explain the decision step by step;
exit 0 allow, 1 deny.`, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "configuration `file`")
	rt := fs.String("route", "", "the request to decide, `METHOD /path[?query]`, e.g. 'GET /orders/1'")
	if code, ok := fs.parse(args, true); !ok {
		return code
	}
	tok, err := readToken(fs.FlagSet, stdin)
	method, target, ok := strings.Cut(*rt, " ")
	if err != nil || !ok || !strings.HasPrefix(target, "/") {
		if err == nil {
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
	rec := &recorder{}
	g, err := gateway.Build(f, gateway.Deps{Transport: rec})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g.Start(ctx)

	u, err := url.Parse(target)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis token verify: bad path: %v\n", err)
		return exitUsage
	}
	line := func(step, mark, detail string) { fmt.Fprintf(stdout, "%-10s %s %s\n", step, mark, detail) }
	info, found := g.RouteFor(method, u.Path)
	if !found {
		line("route", "✗", fmt.Sprintf("%s %s matches no route: 404", method, u.Path))
		return exitFailed
	}
	if info.Authorizer == "" {
		line("route", "✓", fmt.Sprintf("%s %s → %s, a public route: no authorizer runs", method, u.Path, info.Key))
	} else {
		line("route", "✓", fmt.Sprintf("%s %s → %s (authorizer %s, token from %s)", method, u.Path, info.Key, info.Authorizer, info.Source.Expr))
		id, steps, err := g.ExplainToken(ctx, info.Authorizer, tok)
		for _, s := range steps {
			mark := "✓"
			if !s.OK {
				mark = "✗"
			}
			line(s.Check, mark, s.Detail)
		}
		if err != nil {
			line("decision", "✗", "DENY: 401 {\"message\":\"Unauthorized\"}")
			return exitFailed
		}
		if len(info.Scopes) > 0 {
			if !id.HasAnyScope(info.Scopes) {
				line("scopes", "✗", fmt.Sprintf("the route needs one of %v; the token has %v", info.Scopes, id.Scopes))
				line("decision", "✗", "DENY: 403 {\"message\":\"Forbidden\"}")
				return exitFailed
			}
			line("scopes", "✓", fmt.Sprintf("the route needs one of %v; the token has %v", info.Scopes, id.Scopes))
		}
		line("identity", "✓", fmt.Sprintf("principal %q", id.Subject))
	}

	// Run the real request path, with the recorder in place of the backend.
	req := httptest.NewRequest(method, target, nil)
	switch info.Source.Kind {
	case identity.Header:
		req.Header.Set(info.Source.Name, "Bearer "+tok)
	case identity.Query:
		q := req.URL.Query()
		q.Set(info.Source.Name, tok)
		req.URL.RawQuery = q.Encode()
	case identity.Cookie:
		req.AddCookie(&http.Cookie{Name: info.Source.Name, Value: tok})
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, req)
	if w.Code >= 400 {
		line("decision", "✗", fmt.Sprintf("DENY: %d %s", w.Code, strings.TrimSpace(w.Body.String())))
		return exitFailed
	}
	line("decision", "✓", "ALLOW")
	if rec.req == nil {
		line("backend", "·", fmt.Sprintf("mock integration answers %d %s", w.Code, w.Body.String()))
		return exitOK
	}
	out := rec.req
	line("backend", "·", fmt.Sprintf("would receive %s %s", out.Method, out.URL))
	names := make([]string, 0, len(out.Header))
	for k := range out.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := strings.Join(out.Header.Values(k), ", ")
		if k == info.Source.Name && info.Source.Kind == identity.Header {
			v = "(the token, unchanged, so the backend can verify it again)"
		}
		fmt.Fprintf(stdout, "%-10s   %s: %s\n", "", k, v)
	}
	return exitOK
}
