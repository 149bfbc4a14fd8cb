package cli

import (
	"fmt"
	"io"

	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/config"
)

func apikeyCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprint(stderr, "portcullis apikey: expected create\n\n", usage)
		return exitUsage
	}
	fs := newFlags("apikey create", `-c FILE --name NAME --plan PLAN [--disabled]

Make a new random API key for usage plan PLAN, print it once on stdout, and
add only its SHA-256 hash to FILE's api_keys.keys_file (made, mode 0600, if
missing). A running gateway takes the key on its next reload (SIGHUP,
POST /reload, --watch does not see the keys file).`, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "configuration `file`")
	name := fs.String("name", "", "the key's `name` (unique in the keys file; logs and the admin API show it)")
	plan := fs.String("plan", "", "the usage `plan` (one of the configuration's usage_plans)")
	disabled := fs.Bool("disabled", false, "add the key disabled (enabled: false)")
	if code, ok := fs.parse(args[1:], false); !ok {
		return code
	}
	if *name == "" || *plan == "" {
		fmt.Fprintln(stderr, "portcullis apikey create: --name and --plan are required")
		return exitUsage
	}
	if len(*name) > 1024 {
		fmt.Fprintln(stderr, "portcullis apikey create: --name is at most 1024 characters")
		return exitUsage
	}
	f, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailed
	}
	path := apikey.KeysFilePath(f)
	if path == "" {
		fmt.Fprintf(stderr, "portcullis apikey create: %s has no api_keys.keys_file to add the key to\n", *file)
		return exitFailed
	}
	if err := apikey.PlanExists(f, *plan); err != nil {
		fmt.Fprintf(stderr, "portcullis apikey create: %v\n", err)
		return exitFailed
	}
	value := apikey.Generate()
	enabled := !*disabled
	if err := apikey.Append(path, apikey.FileEntry{Name: *name, Hash: apikey.Hash(value), Plan: *plan, Enabled: &enabled}); err != nil {
		fmt.Fprintf(stderr, "portcullis apikey create: %v\n", err)
		return exitFailed
	}
	fmt.Fprintln(stdout, value)
	fmt.Fprintf(stderr, "key %q (plan %s) added to %s; this is the only time its value is shown. Reload the gateway to use it.\n", *name, *plan, path)
	return exitOK
}
