package registry

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/function/gobuild"
)

// Process is the runtime of unchanged Lambda binaries that speak the
// Runtime API themselves (aws-lambda-go's lambda.Start, custom runtimes):
// `runtime: process`, and AWS's names for such functions, provided.al2023,
// provided.al2, provided and go1.x. With AWS's names, `code` (the folder,
// as SAM's CodeUri) and `handler` may replace command: provided.* runs
// CODE/bootstrap, go1.x runs CODE/HANDLER, as Lambda does.
type Process struct{}

// Serves implements Runtime.
func (Process) Serves(runtime string) bool {
	switch runtime {
	case "process", "provided", "provided.al2", "provided.al2023", "go1.x":
		return true
	}
	return false
}

// Names implements Runtime.
func (Process) Names() string { return "process (or provided.al2023, provided.al2, go1.x)" }

// Build implements Runtime.
func (Process) Build(b *Block) (function.Function, error) {
	c := b.Conf
	aws := c.Runtime != "process"
	allowed := []string{"command", "dir", "env", "concurrency", "queue_size", "memory_mb", "timeout"}
	if aws {
		allowed = append(allowed, "code", "handler")
	}
	errs := b.Only(allowed...)
	if c.Code != "" && c.Dir != "" {
		errs = append(errs, *b.Errorf("code", "code and dir are the same setting (the function's folder); give one"))
	}
	// Absolute paths: the process runs with its folder as working
	// directory, whatever ours is.
	dir := b.Path(c.Dir)
	if c.Code != "" {
		dir = b.Path(c.Code)
	}
	if dir == "" {
		dir = b.Path(".")
	}
	cmd := append([]string(nil), c.Command...)
	if len(cmd) == 0 && c.Code != "" {
		if t, isGo := goSource(dir, c.Handler); isGo {
			return goFunction(b, t, errs)
		}
	}
	if len(cmd) == 0 {
		switch {
		case c.Runtime == "go1.x" && c.Handler != "":
			cmd = []string{filepath.Join(dir, c.Handler)}
		case strings.HasPrefix(c.Runtime, "provided") && c.Code != "":
			cmd = []string{filepath.Join(dir, "bootstrap")}
		case aws:
			errs = append(errs, *b.Errorf("", "command (or code with a bootstrap, for provided.*; code and handler, for go1.x) is required for runtime %s", c.Runtime))
			return nil, errs.Err()
		default:
			errs = append(errs, *b.Errorf("", "command is required for runtime process"))
			return nil, errs.Err()
		}
	} else if strings.Contains(cmd[0], "/") && !filepath.IsAbs(cmd[0]) {
		cmd[0] = filepath.Join(dir, cmd[0])
	}
	field := "command"
	if len(c.Command) == 0 {
		field = "code"
	}
	if err := Executable(cmd[0], ""); err != nil {
		errs = append(errs, *b.Errorf(field, "%v", err))
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	s := b.ProcessSettings()
	s.Command, s.Dir = cmd, dir
	if aws && c.Handler != "" {
		s.Env = withHandler(c.Env, c.Handler)
	}
	p, err := b.NewProcess(s)
	if err != nil {
		return nil, err // not a nil *Process in a non-nil Function
	}
	return p, nil
}

// goFunction runs the executable built from Go source (BuildGoSources), or
// when nothing was built (check) stands for it after checking that the go
// command is there.
func goFunction(b *Block, t gobuild.Target, errs config.Errors) (function.Function, error) {
	out, err := t.Output()
	if err != nil {
		errs = append(errs, *b.Errorf("code", "%v", err))
	}
	if !b.GoBuilt {
		if _, err := gobuild.GoTool(); err != nil {
			errs = append(errs, *b.Errorf("code", "%s holds Go source: %v", b.Conf.Code, err))
		}
		if err := errs.Err(); err != nil {
			return nil, err
		}
		return unbuilt{b.Name}, nil
	}
	if err == nil {
		if err := Executable(out, ""); err != nil {
			errs = append(errs, *b.Errorf("code", "%v", err))
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	s := b.ProcessSettings()
	s.Command, s.Dir = []string{out}, t.Code
	if b.Conf.Handler != "" {
		s.Env = withHandler(b.Conf.Env, b.Conf.Handler)
	}
	p, err := b.NewProcess(s)
	if err != nil {
		return nil, err // not a nil *Process in a non-nil Function
	}
	return p, nil
}

// withHandler is env with _HANDLER set, as Lambda sets it.
func withHandler(env map[string]string, handler string) map[string]string {
	out := map[string]string{"_HANDLER": handler}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// Invoke is `runtime: invoke`: the Lambda Invoke API (AWS, LocalStack, the
// Runtime Interface Emulator).
type Invoke struct{}

// Serves implements Runtime.
func (Invoke) Serves(runtime string) bool { return runtime == "invoke" }

// Names implements Runtime.
func (Invoke) Names() string { return "invoke" }

// Build implements Runtime.
func (Invoke) Build(b *Block) (function.Function, error) {
	c := b.Conf
	errs := b.Only("endpoint", "function_name", "region", "qualifier", "timeout")
	if c.FunctionName == "" {
		errs = append(errs, *b.Errorf("", "function_name is required for runtime invoke"))
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	region := c.Region
	if region == "" {
		region = b.Region
	}
	inv, err := function.NewInvoke(context.Background(), function.InvokeSettings{
		Name: b.Name, FunctionName: c.FunctionName, Region: region, Endpoint: c.Endpoint,
		Qualifier: c.Qualifier, Timeout: c.Timeout.Std(),
	})
	if err != nil {
		return nil, b.Errorf("", "%v", err)
	}
	return inv, nil
}

// HTTP is `runtime: http`: the event is POSTed to a URL.
type HTTP struct{}

// Serves implements Runtime.
func (HTTP) Serves(runtime string) bool { return runtime == "http" }

// Names implements Runtime.
func (HTTP) Names() string { return "http" }

// Build implements Runtime.
func (HTTP) Build(b *Block) (function.Function, error) {
	errs := b.Only("url", "timeout")
	if b.Conf.URL == "" {
		errs = append(errs, *b.Errorf("", "url is required for runtime http"))
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	h, err := function.NewHTTP(function.HTTPSettings{Name: b.Name, URL: b.Conf.URL, Timeout: b.Conf.Timeout.Std()})
	if err != nil {
		return nil, b.Errorf("url", "%v", err)
	}
	return h, nil
}

var (
	_ Runtime = Process{}
	_ Runtime = Invoke{}
	_ Runtime = HTTP{}
)
