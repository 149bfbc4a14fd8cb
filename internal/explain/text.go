package explain

import (
	"fmt"
	"io"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
)

// WriteText writes r for people: one section per stage, "✓" for a check
// that passed, "✗" for one that failed, "·" for information.
func (r *Report) WriteText(w io.Writer) error {
	tw := &textWriter{w: w}
	tw.line("request", "·", r.Request.Method+" "+r.Request.Target+" (host "+r.Request.Host+")")
	for _, h := range r.Request.Headers {
		tw.more(h.Name + ": " + h.Value)
	}

	if !r.Route.Matched {
		m := "✗"
		if r.Outcome == Allowed { // answered by a stage, such as a CORS preflight
			m = "·"
		}
		tw.line("route", m, r.Route.Why)
	} else {
		tw.line("route", "✓", r.Route.Key+": "+r.Route.Why)
		for _, p := range r.Route.Params {
			tw.more(fmt.Sprintf("path parameter %s = %q", p.Name, p.Value))
		}
		if len(r.Route.AlsoMatching) > 0 {
			tw.more("also matching, and beaten: " + strings.Join(r.Route.AlsoMatching, ", "))
		}
	}

	switch {
	case r.Route.Matched && r.Authorizer == nil:
		tw.line("authorizer", "·", "none: a public route")
	case r.Authorizer != nil:
		tw.line("authorizer", "·", r.Authorizer.Name+" ("+r.Authorizer.Type+")")
	}
	for _, s := range r.Identity {
		if s.Found {
			tw.line("identity", "✓", s.Source+" = "+s.Value)
		} else {
			tw.line("identity", "✗", s.Source+" is missing or empty: 401 without calling the authorizer")
		}
	}
	if j := r.JWT; j != nil {
		for _, s := range j.Steps {
			tw.line(s.Check, mark(s.OK), s.Detail)
		}
		if j.VerifiedClaims {
			if len(j.RouteScopes) > 0 {
				tw.line("scopes", mark(j.ScopesOK), fmt.Sprintf("the route needs one of %v; the token has %v", j.RouteScopes, j.TokenScopes))
			} else {
				tw.line("scopes", "·", "the route requires no scope")
			}
			tw.line("principal", "·", fmt.Sprintf("%q", j.Principal))
		}
	}
	if l := r.Lambda; l != nil {
		r.writeLambda(tw, l)
	}
	if rv := r.Revocation; rv != nil {
		m := "·"
		if rv.Checked {
			m = mark(!rv.Revoked)
		}
		tw.line("revocation", m, rv.Detail)
	}

	ok := "✓"
	if r.Outcome != Allowed {
		ok = "✗"
	}
	tw.line("decision", ok, r.Decision)
	if r.Reason != "" {
		tw.more("reason: " + r.Reason)
	}
	tw.line("cors", "·", r.CORS.Detail)
	for _, h := range r.CORS.Headers {
		tw.more(h.Name + ": " + h.Value)
	}
	if gr := r.GatewayResponse; gr != nil {
		tw.line("gw response", "·", gr.Detail)
	}
	for _, n := range r.Notes {
		tw.line(n.Stage, "·", n.Detail)
	}
	if b := r.Backend; b != nil {
		switch b.Integration {
		case "http_proxy":
			tw.line("backend", "·", b.Detail)
			if b.URL != "" {
				tw.more(b.Method + " " + b.URL)
			}
			for _, h := range b.Headers {
				tw.more(h.Name + ": " + h.Value)
			}
		case "lambda_proxy":
			tw.line("backend", "·", "function "+b.Function+": "+b.Detail)
			tw.block(string(b.Event))
		default:
			tw.line("backend", "·", b.Detail)
		}
	}
	if r.Outcome == Undecided && r.Response.Status == 0 {
		tw.line("response", "·", "not decided")
	} else {
		tw.line("response", "·", fmt.Sprintf("%d %s", r.Response.Status, r.Response.Body))
		for _, h := range r.Response.Headers {
			tw.more(h.Name + ": " + h.Value)
		}
	}
	return tw.err
}

func (r *Report) writeLambda(tw *textWriter, l *LambdaPart) {
	kind := l.Event + " event, payload " + l.Payload
	if l.Simple {
		kind += ", simple responses"
	}
	if l.Validation != "" && l.MethodARN != "" {
		tw.line("validation", "✓", fmt.Sprintf("the token matches %q", l.Validation))
	} else if l.Validation != "" && len(r.Identity) > 0 && r.Identity[0].Found {
		tw.line("validation", "✗", fmt.Sprintf("the token does not match %q: 401 without calling the authorizer", l.Validation))
	}
	if l.MethodARN == "" {
		return
	}
	tw.line("method arn", "·", l.MethodARN)
	if l.EventJSON != nil {
		tw.line("event", "·", kind+", as the function receives it:")
		tw.block(string(l.EventJSON))
	}
	if !l.Invoked {
		if l.EventJSON != nil {
			tw.line("invoke", "·", "not invoked: run with --invoke to call the function and see its answer, the policy evaluation and the cache")
		}
		return
	}
	switch {
	case l.FunctionError != "":
		tw.line("invoke", "✗", fmt.Sprintf("the function failed with %q", l.FunctionError))
	case l.Failure != "":
		tw.line("invoke", "✗", l.Failure)
	default:
		tw.line("invoke", "✓", "the function answered:")
	}
	if l.Answer != nil && l.FunctionError == "" {
		tw.block(string(l.Answer))
	}
	if l.Failure != "" && l.FunctionError == "" && l.Answer != nil {
		tw.line("answer", "✗", l.Failure)
	}
	if len(l.Statements) > 0 {
		tw.line("policy", "·", fmt.Sprintf("principal %q; statements against %s:", l.Principal, l.MethodARN))
		for _, s := range l.Statements {
			head := fmt.Sprintf("%d. %s %s on %s", s.Number, s.Effect, strings.Join(s.Actions, ","), strings.Join(s.Resources, ", "))
			switch {
			case !s.Counts:
				tw.more(head + ": ignored, no action covers execute-api:Invoke")
			case len(s.Matching) > 0:
				tw.more(head + ": MATCHES (" + strings.Join(s.Matching, ", ") + ")")
			default:
				tw.more(head + ": no match")
			}
		}
	}
	if l.Verdict != "" {
		tw.line("evaluation", mark(strings.HasPrefix(l.Verdict, "allow")), l.Verdict)
	}
	if c := l.Cache; c != nil {
		detail := "stores " + c.Stores
		if c.Key != "" {
			detail += " (key " + c.Key + ", from the identity values)"
		}
		tw.line("cache", "·", detail)
		if len(c.Routes) > 0 {
			tw.more("a request with the same identity within the TTL, decided by this entry without invoking:")
		}
		for _, u := range c.Routes {
			switch {
			case u.Method == "":
				tw.more(fmt.Sprintf("  · %s: %s", u.Route, u.Body))
			case u.Allow:
				tw.more(fmt.Sprintf("  ✓ %s %s: allowed", u.Method, u.Path))
			default:
				tw.more(fmt.Sprintf("  ✗ %s %s: DENIED %d %s", u.Method, u.Path, u.Status, u.Body))
			}
		}
		if len(c.Routes) > 0 {
			tw.more("({name} stands for a parameter value the policy does not name)")
		}
		if c.OtherAuthorizers > 0 && c.TTLSeconds > 0 {
			n := c.OtherAuthorizers
			tw.more(fmt.Sprintf("%d %s with another authorizer or none %s not affected", n, config.Plural(n, "route", "routes"), config.Plural(n, "is", "are")))
		}
	}
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// textWriter writes aligned lines and keeps the first error.
type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

func (t *textWriter) line(step, mark, detail string) { t.printf("%-11s %s %s\n", step, mark, detail) }
func (t *textWriter) more(detail string)             { t.printf("%-11s   %s\n", "", detail) }

// block writes an indented multi-line text (an event, an answer).
func (t *textWriter) block(text string) {
	for l := range strings.SplitSeq(text, "\n") {
		t.more("  " + l)
	}
}
