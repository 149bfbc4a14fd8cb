package cli

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/explain"
	"github.com/portcullis/portcullis/internal/state"
)

// explainCmd is `portcullis explain`: what the gateway would do with one
// request, and why. Exit 0 allowed, 1 denied, 3 undecided (a Lambda
// authorizer not invoked, a revocation list that could not be read).
func explainCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("explain", `-c FILE 'METHOD /path[?query]' [-H 'Name: value']... [--query name=value]... [--invoke] [--json]

Explain what the gateway would do with one request, step by step: the route
selected and why, the identity found, the authorizer's checks (a jwt
authorizer's verification; a Lambda authorizer's event, and with --invoke its
answer, the policy evaluated statement by statement, what the cache would
keep and which other routes that cached answer would deny), CORS, the
gateway's own answer, and what the backend would receive. Backends are never
called. Credentials are shown as their length and a SHA-256 prefix, never in
full. Exit 0 allowed, 1 denied, 3 undecided (a Lambda authorizer is invoked
only with --invoke; with revocation on, the list is read from state.redis,
and without Redis, or when it does not answer, the token is not checked).`, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "configuration `file`")
	var headers, query list
	fs.Var(&headers, "H", "request header `'Name: value'`; repeatable")
	fs.Var(&query, "query", "query parameter `name=value` added to the path; repeatable")
	invoke := fs.Bool("invoke", false, "start Lambda authorizer functions as serve does and call them")
	asJSON := fs.Bool("json", false, "print the explanation as JSON")
	pos, code, ok := fs.parseInterspersed(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "portcullis explain: expected one request argument, such as 'GET /orders/1'")
		return exitUsage
	}
	method, target, ok := strings.Cut(strings.TrimSpace(pos[0]), " ")
	if !ok || !strings.HasPrefix(target, "/") {
		fmt.Fprintf(stderr, "portcullis explain: the request must be METHOD /path, such as 'GET /orders/1' (got %q)\n", pos[0])
		return exitUsage
	}
	o := explain.Options{Method: method, Target: target, Header: http.Header{}, Query: url.Values{}, Invoke: *invoke}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			fmt.Fprintf(stderr, "portcullis explain: -H %q: expected 'Name: value'\n", h)
			return exitUsage
		}
		o.Header.Add(textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)), strings.TrimSpace(value))
	}
	for _, q := range query {
		name, value, ok := strings.Cut(q, "=")
		if !ok || name == "" {
			fmt.Fprintf(stderr, "portcullis explain: --query %q: expected name=value\n", q)
			return exitUsage
		}
		o.Query.Add(name, value)
	}
	f, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	ctx, _, stop := stopSignals()
	defer stop()
	// A Redis that does not answer is said in the explanation; go-redis's
	// own dial errors would only repeat it on stderr.
	state.SendRedisLogsTo(slog.New(slog.DiscardHandler))
	rep, err := explain.Run(ctx, f, o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "portcullis explain: %v\n", err)
		return exitFailed
	}
	switch rep.Outcome {
	case explain.Allowed:
		return exitOK
	case explain.Undecided:
		return exitUndecided
	}
	return exitFailed
}

// exitUndecided is explain's exit code when nothing was decided.
const exitUndecided = 3
