package importer

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/config"
)

// TestRenderRefusesWhatConfigCannotRead: an import whose configuration
// would be larger than a configuration file may be (config.MaxFileSize)
// is an error, not a file that check and serve then refuse to read.
func TestRenderRefusesWhatConfigCannotRead(t *testing.T) {
	for _, c := range []struct {
		name string
		body int
		ok   bool
	}{
		{"small", 1 << 10, true},
		{"past the limit", config.MaxFileSize, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &Result{Config: config.Config{Listen: "127.0.0.1:3000", Routes: []config.Route{
				{Route: "GET /", Integration: config.Integration{Type: "mock", Body: strings.Repeat("a", c.body)}},
			}}}
			text, err := Render(r, "")
			if c.ok && (err != nil || len(text) < c.body) {
				t.Fatalf("err %v, %d bytes", err, len(text))
			}
			if !c.ok && (err == nil || !strings.Contains(err.Error(), "larger than")) {
				t.Fatalf("err %v, %d bytes; want the size refused", err, len(text))
			}
		})
	}
}
