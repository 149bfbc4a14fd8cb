package gateway

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/function/gobuild"
)

// providedCommand resolves a function on an AWS provided runtime
// (provided.al2023, provided.al2) or go1.x to the command that runs it,
// as Lambda does: the executable named by handler (default bootstrap) in
// the code folder. When the code folder is Go source in a module, the
// executable is the one gobuild makes from it; check then says whether it
// must exist already (it must once built).
func providedCommand(f *config.File, at string, c config.Function, built bool) (cmd []string, dir string, check bool, e *config.Error) {
	t, isGo, err := goTarget(f, c)
	if err != nil {
		return nil, "", false, f.Errorf(at+".code", "%v", err)
	}
	if !isGo {
		return []string{filepath.Join(t.Code, handlerName(c))}, t.Code, true, nil
	}
	out, err := t.Output()
	if err != nil {
		return nil, "", false, f.Errorf(at+".code", "%v", err)
	}
	if !built {
		if _, err := gobuild.GoTool(); err != nil {
			return nil, "", false, f.Errorf(at+".code", "%s holds Go source: %v", c.Code, err)
		}
	}
	return []string{out}, t.Code, built, nil
}

func handlerName(c config.Function) string {
	if c.Handler == "" {
		return gobuild.DefaultHandler
	}
	return c.Handler
}

// goTarget is the function's code folder as a build target; isGo says
// whether it is Go source in a module (else it holds the executable).
func goTarget(f *config.File, c config.Function) (t gobuild.Target, isGo bool, err error) {
	if c.Code == "" {
		return t, false, errRequired("code is required for runtime " + c.Runtime + " (the folder holding the function: Go source with a go.mod, or the executable)")
	}
	code := c.Code
	if !filepath.IsAbs(code) {
		code = filepath.Join(filepath.Dir(f.Path), code)
	}
	if abs, err := filepath.Abs(code); err == nil {
		code = abs
	}
	info, err := os.Stat(code)
	if err != nil {
		return t, false, err
	}
	if !info.IsDir() {
		return t, false, errRequired("code " + c.Code + " is not a folder")
	}
	t = gobuild.Target{Code: code, Handler: handlerName(c)}
	matches, _ := filepath.Glob(filepath.Join(code, "*.go"))
	return t, len(matches) > 0 && gobuild.Module(code) != "", nil
}

// unbuilt stands for a Go function that check did not build; a gateway
// built for checking is never served, so it is never invoked.
type unbuilt struct{ name string }

func (u unbuilt) Invoke(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("function " + u.name + " was not built")
}

type errRequired string

func (e errRequired) Error() string { return string(e) }

// BuildGoFunctions builds every Go function of f from source, as serve does
// before starting them (`portcullis build`), and returns how many
// executables it built.
func BuildGoFunctions(f *config.File) (int, error) {
	return buildGoFunctions(f, sortedKeys(f.Config.Functions))
}

// buildGoFunctions builds the Go functions among names from source, several
// at a time; each target (code folder and handler) once.
func buildGoFunctions(f *config.File, names []string) (int, error) {
	type job struct {
		t     gobuild.Target
		names []string
	}
	var jobs []*job
	byTarget := map[gobuild.Target]*job{}
	for _, name := range names {
		c := f.Config.Functions[name]
		switch c.Runtime {
		case "provided.al2023", "provided.al2", "go1.x":
		default:
			continue
		}
		t, isGo, err := goTarget(f, c)
		if err != nil || !isGo {
			continue // buildFunction reports it
		}
		if j := byTarget[t]; j != nil {
			j.names = append(j.names, name)
			continue
		}
		j := &job{t: t, names: []string{name}}
		byTarget[t] = j
		jobs = append(jobs, j)
	}
	var (
		mu   sync.Mutex
		errs config.Errors
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(1, runtime.NumCPU()))
	)
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := gobuild.Build(context.Background(), j.t); err != nil {
				mu.Lock()
				for _, name := range j.names {
					errs = append(errs, f.Lines("functions."+name+".code", err)...)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(jobs), errs.Err()
}
