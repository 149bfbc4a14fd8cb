package accesslog

import (
	"io"
	"sync"
)

// Logger writes access log lines in a compiled Format to a writer, one
// Write per line. It is safe for concurrent use.
type Logger struct {
	format *Format
	w      io.Writer
	bufs   sync.Pool // *lineBuf
	size   int       // initial capacity of a line buffer
}

// lineBuf is one line being rendered and the scratch space for a value.
type lineBuf struct {
	line, scratch []byte
}

// valueGuess is the bytes reserved per variable when sizing a buffer; a
// larger value only costs a regrow.
const valueGuess = 32

// maxPooled keeps buffers grown by an unusually long line out of the pool.
const maxPooled = 64 << 10

// NewLogger returns a Logger writing f's lines to w.
func NewLogger(f *Format, w io.Writer) *Logger {
	return &Logger{format: f, w: w, size: f.litLen + valueGuess*len(f.segs) + 1}
}

// Format returns the compiled format.
func (l *Logger) Format() *Format { return l.format }

// Log renders src's line and writes it with a newline. A write error is
// returned; the caller decides whether it matters (the request is served
// either way).
func (l *Logger) Log(src Source) error {
	b, _ := l.bufs.Get().(*lineBuf)
	if b == nil {
		b = &lineBuf{line: make([]byte, 0, l.size), scratch: make([]byte, 0, valueGuess*2)}
	}
	b.line, b.scratch = l.format.Append(b.line[:0], b.scratch[:0], src)
	b.line = append(b.line, '\n')
	_, err := l.w.Write(b.line)
	if cap(b.line) <= maxPooled && cap(b.scratch) <= maxPooled {
		l.bufs.Put(b)
	}
	return err
}
