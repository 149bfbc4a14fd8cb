package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/function"
	"github.com/portcullis/portcullis/internal/function/gobuild"
)

// goRuntime reports the runtimes whose code folder may be Go source that
// is built as `sam build` does.
func goRuntime(name string) bool {
	switch name {
	case "provided", "provided.al2", "provided.al2023", "go1.x":
		return true
	}
	return false
}

// goSource reports whether the function's code folder (absolute: code) is
// Go source in a module, and the build target for it.
func goSource(code, handler string) (gobuild.Target, bool) {
	if handler == "" {
		handler = gobuild.DefaultHandler
	}
	info, err := os.Stat(code)
	if err != nil || !info.IsDir() {
		return gobuild.Target{}, false
	}
	matches, _ := filepath.Glob(filepath.Join(code, "*.go"))
	if len(matches) == 0 || gobuild.Module(code) == "" {
		return gobuild.Target{}, false
	}
	return gobuild.Target{Code: code, Handler: handler}, true
}

// BuildGoSources builds the functions among names whose code is Go source
// (runtime provided.* or go1.x), several at a time, each target once, and
// returns how many executables it built. Build then runs what was built
// when the Block says GoBuilt.
func BuildGoSources(f *config.File, names []string) (int, error) {
	type job struct {
		t     gobuild.Target
		names []string
	}
	var jobs []*job
	byTarget := map[gobuild.Target]*job{}
	dir := filepath.Dir(f.Path)
	for _, name := range names {
		c := f.Config.Functions[name]
		if !goRuntime(c.Runtime) || c.Code == "" || len(c.Command) > 0 {
			continue
		}
		b := Block{Dir: dir}
		t, isGo := goSource(b.Path(c.Code), c.Handler)
		if !isGo {
			continue // Build reports what is wrong with it
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

// unbuilt stands for a Go function that check did not build; a gateway
// built for checking is never served, so it is never invoked.
type unbuilt struct{ name string }

func (u unbuilt) Invoke(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("function " + u.name + " was not built")
}

var _ function.Function = unbuilt{}
