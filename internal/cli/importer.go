package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/importer/openapi"
	"github.com/portcullis/portcullis/internal/importer/sam"
)

// DefaultImportListen is where an imported configuration serves: the
// address `sam local start-api` uses.
const DefaultImportListen = "127.0.0.1:3000"

// parseInterspersed parses flags that may come before or after the
// positional arguments (`import FILE -o OUT`) and returns those arguments.
// When it reports !ok the command is over, with exit code (as parse).
func (c *commandFlags) parseInterspersed(args []string) (pos []string, code int, ok bool) {
	for {
		if code, ok := c.parse(args, true); !ok {
			return nil, code, false
		}
		args = c.Args()
		if len(args) == 0 {
			return pos, exitOK, true
		}
		pos = append(pos, args[0])
		args = args[1:]
		c.SetOutput(&c.parsing)
	}
}

func importCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("import", `FILE [-o OUT] [--strict] [--parameter Name=Value]...

Write a configuration from a SAM/CloudFormation template or an OpenAPI 3 /
Swagger 2 definition. What cannot be carried over is listed on stderr and left
in the output as a comment.`, stdout, stderr)
	out := fs.String("o", "", "write the configuration to `file` (default stdout)")
	strict := fs.Bool("strict", false, "fail (exit 1) if anything cannot be carried over")
	var params list
	fs.Var(&params, "parameter", "template parameter `Name=Value` (repeatable)")
	pos, code, ok := fs.parseInterspersed(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "portcullis import: expected one FILE (a SAM/CloudFormation template or an OpenAPI/Swagger file)")
		return exitUsage
	}
	values := map[string]string{}
	for _, p := range params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			fmt.Fprintf(stderr, "portcullis import: --parameter %q: expected Name=Value\n", p)
			return exitUsage
		}
		values[name] = value
	}
	file := pos[0]
	data, err := config.ReadLimited(file, sam.MaxSize+openapi.MaxSize)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis import: %v\n", err)
		return exitFailed
	}
	var res *importer.Result
	switch {
	case openapi.Detect(data):
		if len(values) > 0 {
			fmt.Fprintln(stderr, "portcullis import: --parameter applies to templates, not OpenAPI files")
			return exitUsage
		}
		res, err = openapi.Import(data, openapi.Options{Source: filepath.Base(file)})
	case sam.Detect(data):
		res, err = sam.Import(data, sam.Options{Source: filepath.Base(file), Dir: filepath.Dir(file), Parameters: values})
	default:
		if syntax := config.CheckSyntax(file, data); syntax != nil {
			fmt.Fprintln(stderr, syntax)
			fmt.Fprintf(stderr, "portcullis import: %s is not valid YAML or JSON; nothing written\n", file)
			return exitFailed
		}
		err = errors.New(file + " is neither a SAM/CloudFormation template (Resources) nor an OpenAPI/Swagger file (openapi, swagger)")
	}
	if err != nil {
		fmt.Fprintf(stderr, "portcullis import: %v\n", err)
		return exitFailed
	}
	outDir := "."
	if *out != "" {
		outDir = filepath.Dir(*out)
	}
	importer.Rebase(&res.Config, filepath.Dir(file), outDir)
	if res.Config.Listen == "" {
		res.Config.Listen = DefaultImportListen
	}
	for _, n := range res.Notes {
		fmt.Fprintf(stderr, "portcullis import: %s\n", n)
	}
	if *strict && len(res.Notes) > 0 {
		fmt.Fprintf(stderr, "portcullis import: --strict: %d %s not carried over; nothing written\n", len(res.Notes), config.Plural(len(res.Notes), "item", "items"))
		return exitFailed
	}
	header := "Imported from " + filepath.Base(file) + " by portcullis import."
	if len(res.Notes) > 0 {
		header += fmt.Sprintf("\n%d %s attention: see the NOT CARRIED OVER and PLACEHOLDER comments.", len(res.Notes), config.Plural(len(res.Notes), "item needs", "items need"))
	}
	text, err := importer.Render(res, header)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis import: %v\n", err)
		return exitFailed
	}
	return writeOut(*out, text, stdout, stderr, "import")
}

func exportCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "openapi" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, "Usage: portcullis export openapi -c FILE [-o OUT]\n\nWrite a configuration in another format; openapi is the one there is\n(portcullis export openapi --help).")
			return exitOK
		}
		fmt.Fprintln(stderr, "portcullis export: expected `export openapi -c FILE [-o OUT]`")
		return exitUsage
	}
	fs := newFlags("export openapi", `-c FILE [-o OUT]

Write the configuration in FILE as OpenAPI 3 with API Gateway's extensions.`, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "configuration `file`")
	out := fs.String("o", "", "write the definition to `file` (default stdout)")
	if code, ok := fs.parse(args[1:], false); !ok {
		return code
	}
	data, err := config.ReadLimited(*file, config.MaxFileSize)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis export: %v\n", err)
		return exitFailed
	}
	// ${NAME} stays as written: an export never carries a secret's value.
	f, err := config.Parse(*file, data, func(name string) (string, bool) { return "${" + name + "}", true })
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	outDir := "."
	if *out != "" {
		outDir = filepath.Dir(*out)
	}
	importer.Rebase(&f.Config, filepath.Dir(*file), outDir)
	text, err := openapi.Export(&f.Config)
	if err != nil {
		fmt.Fprintf(stderr, "portcullis export: %v\n", err)
		return exitFailed
	}
	return writeOut(*out, text, stdout, stderr, "export")
}

func writeOut(path string, data []byte, stdout, stderr io.Writer, cmd string) int {
	if path == "" {
		stdout.Write(data)
		return exitOK
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fmt.Fprintf(stderr, "portcullis %s: %v\n", cmd, err)
		return exitFailed
	}
	return exitOK
}
