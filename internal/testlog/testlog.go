// Package testlog captures a component's logs in tests. Background goroutines
// (key refreshes, function supervisors, fetches that outlive a request) may
// still be writing while a test reads, so the buffer locks both sides.
package testlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
)

// Buffer is an io.Writer safe for concurrent writes and reads.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// New returns a JSON logger at debug level writing to a new Buffer.
func New() (*slog.Logger, *Buffer) {
	b := &Buffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Records returns the JSON records written so far, skipping other lines.
func (b *Buffer) Records() []map[string]any {
	var out []map[string]any
	for line := range strings.SplitSeq(b.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// RepeatedKeys returns the JSON lines written so far in which an object
// names one key twice (slog writes a key given twice, such as an attribute
// that a logger's With already added, twice; most log pipelines keep one).
func (b *Buffer) RepeatedKeys() []string {
	var out []string
	for line := range strings.SplitSeq(b.String(), "\n") {
		if !json.Valid([]byte(line)) {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		if repeatsKey(dec) {
			out = append(out, line)
		}
	}
	return out
}

// repeatsKey reads one JSON value from dec and reports whether any object
// in it repeats a key.
func repeatsKey(dec *json.Decoder) bool {
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		repeated := false
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return repeated
			}
			name, _ := k.(string)
			repeated = repeated || seen[name]
			seen[name] = true
			repeated = repeatsKey(dec) || repeated
		}
		_, _ = dec.Token() // '}'
		return repeated
	case json.Delim('['):
		repeated := false
		for dec.More() {
			repeated = repeatsKey(dec) || repeated
		}
		_, _ = dec.Token() // ']'
		return repeated
	}
	return false
}
