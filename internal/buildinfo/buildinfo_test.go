package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFill(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/portcullis/portcullis", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2026-11-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	cases := []struct {
		name string
		in   Info // what -ldflags set
		want Info
	}{
		{"from the toolchain", Info{}, Info{Version: "v1.4.0", Commit: "abc123", Date: "2026-11-01T10:00:00Z", GoVersion: "go1.26.8", Modified: true}},
		{"ldflags win", Info{Version: "v2.0.0", Commit: "fff", Date: "2026-12-01"}, Info{Version: "v2.0.0", Commit: "fff", Date: "2026-12-01", GoVersion: "go1.26.8", Modified: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.in
			fill(&got, bi)
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
	devel := Info{}
	fill(&devel, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}})
	if devel.Version != "" {
		t.Errorf("(devel) taken as a version: %q", devel.Version)
	}
}

func TestString(t *testing.T) {
	got := Info{Version: "v1.4.0", Commit: "abc123", Date: "2026-11-01", GoVersion: "go1.26.8"}.String()
	if want := "portcullis v1.4.0 (commit abc123, built 2026-11-01, go1.26.8)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
