// Package buildinfo says which build of Portcullis is running: the module
// version, the commit, the build date and the Go version. A release sets
// Version, Commit and Date with -ldflags (see the Makefile's build target);
// otherwise they come from what the Go toolchain recorded in the binary
// (runtime/debug.ReadBuildInfo): the module version for `go install
// ...@v1.2.3`, the VCS revision and time for a build from a checkout.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by -ldflags "-X github.com/portcullis/portcullis/internal/buildinfo.Version=v1.2.3"
// (and Commit, Date). The linker can set only package variables, so these
// are the one place the build writes into the program.
var (
	Version string
	Commit  string
	Date    string
)

// Info describes one build. Fields the build did not record are "unknown"
// (Version is "devel" for a build from a checkout without -ldflags).
type Info struct {
	Version   string
	Commit    string
	Date      string
	GoVersion string
	Modified  bool // built from a checkout with uncommitted changes
}

// Read returns the running binary's build information.
func Read() Info {
	in := Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		fill(&in, bi)
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	if in.Date == "" {
		in.Date = "unknown"
	}
	return in
}

// fill takes what -ldflags left unset from bi.
func fill(in *Info, bi *debug.BuildInfo) {
	if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		in.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		in.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if in.Commit == "" {
				in.Commit = s.Value
			}
		case "vcs.time":
			if in.Date == "" {
				in.Date = s.Value
			}
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
}

// String is the one-line form `portcullis version` prints.
func (in Info) String() string {
	var b strings.Builder
	b.WriteString("portcullis ")
	b.WriteString(in.Version)
	b.WriteString(" (commit ")
	b.WriteString(in.Commit)
	if in.Modified {
		b.WriteString(", modified")
	}
	b.WriteString(", built ")
	b.WriteString(in.Date)
	b.WriteString(", ")
	b.WriteString(in.GoVersion)
	b.WriteString(")")
	return b.String()
}
