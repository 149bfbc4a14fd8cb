package sam

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
)

// MaxDependencyList bounds the requirements.txt or package.json read to
// see whether a function has dependencies.
const MaxDependencyList = 1 << 20

// notInstalled says what to run when a Python or Node.js function's code
// folder (dir, as the import's command line names it) lists dependencies
// that are not installed where the runtime finds them, and is "" when
// there are none or they are there. `sam build` installs them into the
// package it deploys; Portcullis runs the folder as it is, so without them
// every invocation fails with Runtime.ImportModuleError.
func notInstalled(runtime, dir string) string {
	var list, run string
	var has bool
	var err error
	switch {
	case strings.HasPrefix(runtime, "python"):
		list = filepath.Join(dir, "requirements.txt")
		if has, err = listsRequirements(list); err == nil && (!has || hasDistInfo(dir)) {
			return ""
		}
		run = "`pip install -r " + shellWord(list) + " -t " + shellWord(dir) + "` (as `sam build` does) or install them into the interpreter's environment"
	case strings.HasPrefix(runtime, "nodejs"):
		list = filepath.Join(dir, "package.json")
		if has, err = listsDependencies(list); err == nil && (!has || hasNodeModules(dir)) {
			return ""
		}
		run = "`npm install --omit=dev` in " + shellWord(dir) + " (as `sam build` does)"
	default:
		return ""
	}
	what := list + " lists dependencies that `sam build` would install"
	if err != nil {
		what = list + " could not be read (" + err.Error() + ")"
	}
	return "its dependencies are not installed: " + what + ": run " + run + "; until then every request to the function is a 500 (Runtime.ImportModuleError)"
}

// listsRequirements reports whether the pip requirements file at path
// names at least one requirement: a line that is not blank, a comment or
// an option other than -r or -e (which bring requirements of their own).
// A missing file names none.
func listsRequirements(path string) (bool, error) {
	data, err := readDependencyList(path)
	if err != nil {
		return false, err
	}
	lines := bufio.NewScanner(bytes.NewReader(data))
	lines.Buffer(nil, MaxDependencyList)
	for lines.Scan() {
		words := strings.Fields(lines.Text())
		for i, w := range words {
			if strings.HasPrefix(w, "#") {
				words = words[:i]
				break
			}
		}
		if len(words) == 0 {
			continue
		}
		opt := words[0]
		switch {
		case !strings.HasPrefix(opt, "-"),
			strings.HasPrefix(opt, "--requirement"), strings.HasPrefix(opt, "--editable"),
			!strings.HasPrefix(opt, "--") && (strings.HasPrefix(opt, "-r") || strings.HasPrefix(opt, "-e")):
			return true, nil
		}
	}
	return false, lines.Err()
}

// listsDependencies reports whether the package.json at path has a
// non-empty "dependencies" (devDependencies are not deployed). A missing
// file lists none.
func listsDependencies(path string) (bool, error) {
	data, err := readDependencyList(path)
	if len(data) == 0 || err != nil {
		return false, err
	}
	var manifest struct {
		Dependencies map[string]json.RawMessage `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		return false, err
	}
	return len(manifest.Dependencies) > 0, nil
}

// readDependencyList reads the file at path within MaxDependencyList
// bytes; a file that does not exist is empty.
func readDependencyList(path string) ([]byte, error) {
	data, err := config.ReadLimited(path, MaxDependencyList)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// hasDistInfo reports whether dir holds an installed package's
// NAME-VERSION.dist-info folder, which `pip install -t dir` writes for
// every package it installs.
func hasDistInfo(dir string) bool {
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer d.Close()
	for {
		entries, err := d.ReadDir(256)
		for _, e := range entries {
			if e.IsDir() && strings.HasSuffix(e.Name(), ".dist-info") {
				return true
			}
		}
		if err != nil { // io.EOF at the end
			return false
		}
	}
}

// hasNodeModules reports whether Node.js finds a node_modules folder for
// code in dir: in dir or in one of its parents, as require and import
// look.
func hasNodeModules(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		if info, err := os.Stat(filepath.Join(abs, "node_modules")); err == nil && info.IsDir() {
			return true
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return false
		}
		abs = parent
	}
}

// shellWord quotes p for a POSIX shell when it holds characters the shell
// would split or expand.
func shellWord(p string) string {
	if !strings.ContainsAny(p, " \t\n'\"$`\\*?[]#~;&|<>(){}!") {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}
