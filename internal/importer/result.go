// Package importer holds what the format packages (sam, openapi) share when
// they turn an AWS definition into a Portcullis configuration: the result and
// its notes about what could not be carried over, and the YAML writer that
// leaves each note as a comment at the place the value would go.
//
// The format packages themselves live beside it: importer/sam reads SAM and
// CloudFormation templates, importer/openapi reads and writes OpenAPI with
// AWS's extensions.
package importer

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
)

// Result is an imported configuration and everything about the source that
// it does not carry over. Notes are in the order they were found.
type Result struct {
	Config config.Config
	Notes  []Note
	// keysAdded: RequireAPIKeys wrote api_keys, NoteAPIKeys has not yet
	// said what it lacks.
	keysAdded bool
}

// Note is one thing the import could not carry over (or carried over only
// as a placeholder the user must fill in). Path is the configuration key
// path where it would go, such as "cors", "routes" or
// "functions.Orders.env.TABLE"; it need not exist in the output. Source says
// where in the input it came from (and Position at which line). Value, when
// set, is what would be written at Path, shown commented out.
type Note struct {
	Path   string
	Source string
	// Position is where Source is in the input file, as FILE:LINE, when
	// the importer knows it.
	Position string
	Reason   string
	Value    any
	// Placeholder marks a value that was carried over as an environment
	// placeholder (${NAME}): the configuration works once NAME is set.
	Placeholder bool
}

// String is the note as one line for stderr.
func (n Note) String() string {
	kind := "not carried over"
	if n.Placeholder {
		kind = "placeholder"
	}
	var b strings.Builder
	b.WriteString(kind)
	if n.Position != "" {
		b.WriteString(": ")
		b.WriteString(n.Position)
	}
	if n.Source != "" {
		b.WriteString(": ")
		b.WriteString(n.Source)
	}
	if n.Path != "" {
		b.WriteString(" (at ")
		b.WriteString(n.Path)
		b.WriteString(")")
	}
	b.WriteString(": ")
	b.WriteString(n.Reason)
	return b.String()
}

// Add records a note.
func (r *Result) Add(n Note) { r.Notes = append(r.Notes, n) }

// Skip records something not carried over.
func (r *Result) Skip(path, source, format string, args ...any) {
	r.Add(Note{Path: path, Source: source, Reason: fmt.Sprintf(format, args...)})
}

// EnvPlaceholder is the configuration text that reads the environment
// variable name when the configuration is loaded (see README, `${NAME}`).
func EnvPlaceholder(name string) string { return "${" + name + "}" }

// EnvName turns any text (a logical id, an SSM parameter name) into a
// name `${...}` expands: letters, digits and '_', not starting with a digit.
func EnvName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" || out[0] >= '0' && out[0] <= '9' {
		out = "V_" + out
	}
	return out
}

// EscapeEnv makes literal text safe in a configuration value: every
// `${NAME}` that loading would expand is written `$${NAME}`, which loads
// as the literal text.
func EscapeEnv(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "${") {
			if end := strings.IndexByte(s[i:], '}'); end > 2 && isEnvName(s[i+2:i+end]) {
				b.WriteByte('$')
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isEnvName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// Rebase rewrites the relative file paths in c, written relative to the
// folder from, so that they mean the same files relative to the folder to.
// Absolute paths and commands looked up in PATH are left alone.
func Rebase(c *config.Config, from, to string) {
	if from == to {
		return
	}
	move := func(p string) string { return RebasePath(p, from, to) }
	for name, f := range c.Functions {
		f.Code = move(f.Code)
		if f.Dir != "" {
			f.Dir = move(f.Dir)
		} else if len(f.Command) > 0 && strings.Contains(f.Command[0], "/") {
			f.Command = append(config.Strings{move(f.Command[0])}, f.Command[1:]...)
		}
		c.Functions[name] = f
	}
	for name, a := range c.Authorizers {
		a.JWKSFile = move(a.JWKSFile)
		c.Authorizers[name] = a
	}
	for name, is := range c.Issuers {
		is.KeysDir = move(is.KeysDir)
		is.UsersFile = move(is.UsersFile)
		is.ClientsFile = move(is.ClientsFile)
		c.Issuers[name] = is
	}
}

// RebasePath is Rebase for one path. The result starts with "./" or "../"
// so that a command stays a path rather than a name looked up in PATH.
func RebasePath(p, from, to string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	absFrom, err1 := filepath.Abs(from)
	absTo, err2 := filepath.Abs(to)
	if err1 != nil || err2 != nil {
		return p
	}
	rel, err := filepath.Rel(absTo, filepath.Join(absFrom, p))
	if err != nil {
		return filepath.Join(absFrom, p)
	}
	rel = filepath.ToSlash(rel)
	if rel == "." {
		return rel
	}
	if !strings.HasPrefix(rel, "../") && rel != ".." {
		rel = "./" + rel
	}
	return rel
}
