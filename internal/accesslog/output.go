package accesslog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Output is where access log lines go: a stream (stderr, stdout) or a
// file opened for appending. A file is opened again (Open) after log
// rotation renamed it, so lines go to a new file of the same name. Output
// is safe for concurrent use; each Write is one line and is written whole.
type Output struct {
	dest string // the path, or "stderr" / "stdout"

	mu sync.Mutex
	w  io.Writer
	f  *os.File // nil for a stream
}

// Stream names accepted by Open besides a file path.
const (
	Stderr = "stderr"
	Stdout = "stdout"
)

// IsStream reports whether dest names a stream rather than a file; ""
// is stderr.
func IsStream(dest string) bool { return dest == "" || dest == Stderr || dest == Stdout }

// NewOutput returns the output for dest without opening anything: "" or
// "stderr" is stderr, "stdout" is stdout, anything else a file path,
// opened by Open.
func NewOutput(dest string, stdout, stderr io.Writer) *Output {
	switch dest {
	case "", Stderr:
		return &Output{dest: Stderr, w: stderr}
	case Stdout:
		return &Output{dest: Stdout, w: stdout}
	}
	return &Output{dest: dest, w: unopened{}}
}

// unopened refuses writes to a file output before Open.
type unopened struct{}

func (unopened) Write([]byte) (int, error) { return 0, errors.New("access log: the file is not open") }

func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	return f, nil
}

// Dest returns what was opened: "stderr", "stdout" or the file path.
func (o *Output) Dest() string { return o.dest }

// Write writes p, one whole line.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Write(p)
}

// Open opens the file path (created if missing, mode 0640, appended to),
// and, when it was open already, closes the file it wrote to: after a
// rotation tool renamed the file, lines go to a new file of the old name.
// If the path cannot be opened, lines keep going where they went and the
// error is returned. A stream is left as it is.
func (o *Output) Open() error {
	if IsStream(o.dest) {
		return nil
	}
	f, err := openFile(o.dest)
	if err != nil {
		return err
	}
	o.mu.Lock()
	old := o.f
	o.f, o.w = f, f
	o.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// Close closes the file; a stream is left open.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	o.w = unopened{}
	err := o.f.Close()
	o.f = nil
	return err
}
