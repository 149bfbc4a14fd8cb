// Package registry maps a function's `runtime:` name to the code that
// validates its configuration block and builds it, so the gateway's setup
// knows no runtime's details. Each Runtime checks the fields of its own
// block and reports problems as config errors with their place in the file
// (as CoreDNS plugins parse their own blocks); Registry only picks the
// runtime. The gateway makes one Registry with every runtime it offers.
package registry

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/function"
)

// Runtime builds the functions of one family of `runtime:` names.
// Implementations are stateless and safe for concurrent use.
type Runtime interface {
	// Serves reports whether the `runtime:` value belongs to this runtime.
	Serves(runtime string) bool
	// Names describes the values served, for error messages
	// (for example "pythonX.Y (python3.12, ...)").
	Names() string
	// Build validates b's block and builds the function, starting
	// nothing. Configuration problems come back as *config.Errors (or
	// *config.Error) with positions. A function that runs processes is a
	// *function.Process, which the caller starts and closes.
	Build(b *Block) (function.Function, error)
}

// Block is one `functions:` entry being set up: its configuration, where it
// was written and what the gateway gives every function.
type Block struct {
	File *config.File
	At   string // the key path, "functions.NAME"
	Name string
	Conf config.Function
	// Dir is the configuration file's folder, which relative paths follow.
	Dir               string
	Region, AccountID string
	Logger            *slog.Logger
	Metrics           *function.Metrics // may be nil
	// GoBuilt says that functions whose code is Go source were built
	// (BuildGoSources) and are to be run; without it (check) only the
	// source folder and the go command are checked.
	GoBuilt bool
}

// Errorf is an error at field of the block ("" for the block itself).
func (b *Block) Errorf(field, format string, args ...any) *config.Error {
	at := b.At
	if field != "" {
		at += "." + field
	}
	return b.File.Errorf(at, format, args...)
}

// Path resolves p (relative to the configuration file's folder) to an
// absolute path; "" stays "".
func (b *Block) Path(p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(b.Dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// Only reports every field that is set in the block but not named in
// allowed (YAML names), as "does not apply to runtime R".
func (b *Block) Only(allowed ...string) config.Errors {
	var errs config.Errors
	v := reflect.ValueOf(b.Conf)
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "runtime" || v.Field(i).IsZero() {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			errs = append(errs, *b.Errorf(name, "%s does not apply to runtime %s", name, b.Conf.Runtime))
		}
	}
	return errs
}

// ProcessSettings are the settings every process-based runtime shares,
// taken from the block: name, env, timeout, concurrency, queue size,
// memory, region, account, logger and metrics. The caller sets Command and
// Dir.
func (b *Block) ProcessSettings() function.ProcessSettings {
	return function.ProcessSettings{
		Name: b.Name, Env: b.Conf.Env, Timeout: b.Conf.Timeout.Std(),
		Concurrency: b.Conf.Concurrency, QueueSize: b.Conf.QueueSize, MemoryMB: b.Conf.MemoryMB,
		Region: b.Region, AccountID: b.AccountID,
		Logger: b.Logger, Metrics: b.Metrics, // the runtime labels its lines with the function
	}
}

// NewProcess builds the process s describes (function.NewProcess), each
// problem at its field of the block: the folder at code when the block
// gives no dir (it is code's, or the configuration's folder), the command
// at the block when the block gives none (the runtime chose it).
func (b *Block) NewProcess(s function.ProcessSettings) (*function.Process, error) {
	if ps := s.Problems(); len(ps) > 0 {
		for i := range ps {
			switch {
			case ps[i].Field == "dir" && b.Conf.Dir == "":
				ps[i].Field = "code"
			case ps[i].Field == "command" && len(b.Conf.Command) == 0:
				ps[i].Field = ""
			}
		}
		errs := b.File.Place(b.At, ps)
		return nil, &errs
	}
	p, err := function.NewProcess(s)
	if err != nil { // a file changed since Problems looked
		return nil, b.Errorf("", "%v", err)
	}
	return p, nil
}

// Executable reports a command that cannot be run, so that a typo is a
// configuration error rather than a function that never starts. A name
// without a slash is looked up in PATH; install says what to install when
// it is missing there.
func Executable(path, install string) error {
	if !strings.Contains(path, "/") {
		if _, err := exec.LookPath(path); err != nil {
			if install != "" {
				return fmt.Errorf("%q is not in PATH: %s", path, install)
			}
			return fmt.Errorf("command %q is not in PATH", path)
		}
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		if install != "" {
			return fmt.Errorf("%s: %w (%s)", path, unwrapPathError(err), install)
		}
		return fmt.Errorf("command %s: %w (build it first?)", path, unwrapPathError(err))
	}
	if info.IsDir() || info.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// Registry picks the Runtime for a `runtime:` name. Safe for concurrent use.
type Registry struct {
	runtimes []Runtime
}

// New returns a registry of rs; the first that serves a name builds it.
func New(rs ...Runtime) *Registry { return &Registry{runtimes: rs} }

// Build finds b's runtime and builds the function with it.
func (r *Registry) Build(b *Block) (function.Function, error) {
	name := b.Conf.Runtime
	if name == "" {
		return nil, b.Errorf("", "runtime is required (%s)", r.names())
	}
	for _, rt := range r.runtimes {
		if rt.Serves(name) {
			return rt.Build(b)
		}
	}
	return nil, b.Errorf("runtime", "unknown runtime %q (supported: %s)", name, r.names())
}

func (r *Registry) names() string {
	out := make([]string, len(r.runtimes))
	for i, rt := range r.runtimes {
		out[i] = rt.Names()
	}
	return strings.Join(out, ", ")
}
