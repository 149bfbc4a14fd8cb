// Package testbin builds a test's helper programs (aws-lambda-go functions
// under testdata/) once per test run, with one go build, and cleans them up;
// it finds the external tools tests need (Tool) and runs nginx (Nginx).
// It is test support, used from _test.go files only.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Set is a group of programs under one directory, built together on first use.
type Set struct {
	dir   string // source directory, e.g. "./testdata"
	names []string

	once sync.Once
	out  string
	err  error
}

// New describes the programs dir/NAME for each name.
func New(dir string, names ...string) *Set {
	return &Set{dir: dir, names: names}
}

// Path returns the built program name, building the whole set the first time.
func (s *Set) Path(t testing.TB, name string) string {
	t.Helper()
	s.once.Do(s.build)
	if s.err != nil {
		t.Fatal(s.err)
	}
	return filepath.Join(s.out, name)
}

// Dir returns the directory holding the built programs.
func (s *Set) Dir(t testing.TB) string {
	t.Helper()
	return filepath.Dir(s.Path(t, s.names[0]))
}

func (s *Set) build() {
	s.out, s.err = os.MkdirTemp("", "portcullis-testbin-")
	if s.err != nil {
		return
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	args := []string{"build", "-o", s.out + string(filepath.Separator)}
	for _, n := range s.names {
		args = append(args, "./"+filepath.Join(s.dir, n))
	}
	if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		s.err = fmt.Errorf("building %v: %v\n%s", s.names, err, out)
	}
}

// Remove deletes the built programs; call it from TestMain after m.Run.
func (s *Set) Remove() {
	if s.out != "" {
		os.RemoveAll(s.out)
	}
}
