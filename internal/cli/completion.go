package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// commandSpec is one command as shell completion offers it: its words, its
// subcommands and its flags. commands is the one list the bash, zsh and fish
// scripts are made from; TestCompletionFlags checks it against the flags the
// commands really define.
type commandSpec struct {
	path  string   // "token mint"
	subs  []string // words that may follow
	flags []string // without dashes
	files []string // flags whose value is a file name
	bools []string // flags that take no value
}

var commands = []commandSpec{
	{path: "serve", flags: []string{"c", "log-level", "watch"}, files: []string{"c"}, bools: []string{"watch"}},
	{path: "check", flags: []string{"c"}, files: []string{"c"}},
	{path: "build", flags: []string{"c"}, files: []string{"c"}},
	{path: "import", flags: []string{"o", "strict", "parameter"}, files: []string{"o"}, bools: []string{"strict"}},
	{path: "export", subs: []string{"openapi"}},
	{path: "export openapi", flags: []string{"c", "o"}, files: []string{"c", "o"}},
	{path: "health", flags: []string{"c", "url", "timeout"}, files: []string{"c"}},
	{path: "issuer", subs: []string{"rotate", "hash-password"}, flags: []string{"c"}, files: []string{"c"}},
	{path: "issuer rotate", flags: []string{"c"}, files: []string{"c"}},
	{path: "issuer hash-password"},
	{path: "token", subs: []string{"mint", "inspect", "verify", "keygen"}},
	{path: "token mint", flags: []string{"key", "iss", "aud", "sub", "scope", "claim", "ttl", "kid", "alg"}, files: []string{"key"}},
	{path: "token inspect"},
	{path: "token verify", flags: []string{"c", "route"}, files: []string{"c"}},
	{path: "explain", flags: []string{"c", "H", "query", "invoke", "json"}, files: []string{"c"}, bools: []string{"invoke", "json"}},
	{path: "token keygen", flags: []string{"out", "type", "kid"}, files: []string{"out"}},
	{path: "apikey", subs: []string{"create"}},
	{path: "apikey create", flags: []string{"c", "name", "plan", "disabled"}, files: []string{"c"}, bools: []string{"disabled"}},
	{path: "cert", subs: []string{"dev"}},
	{path: "cert dev", flags: []string{"out"}, files: []string{"out"}},
	{path: "version"},
	{path: "completion", subs: []string{"bash", "zsh", "fish"}},
	{path: "help"},
}

func topLevel() []string {
	var out []string
	for _, c := range commands {
		if !strings.Contains(c.path, " ") {
			out = append(out, c.path)
		}
	}
	return out
}

// completion is `portcullis completion bash|zsh|fish`: prints a script that
// completes portcullis's commands and flags in that shell.
func completion(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "Usage: portcullis completion bash|zsh|fish")
		return exitUsage
	}
	switch args[0] {
	case "bash":
		writeBash(stdout)
	case "zsh":
		fmt.Fprintln(stdout, "#compdef portcullis")
		fmt.Fprintln(stdout, "autoload -U +X bashcompinit && bashcompinit")
		writeBash(stdout)
	case "fish":
		writeFish(stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, "Usage: portcullis completion bash|zsh|fish\n\nPrint a shell completion script:\n  bash: source <(portcullis completion bash)\n  zsh:  source <(portcullis completion zsh)\n  fish: portcullis completion fish | source")
	default:
		fmt.Fprintf(stderr, "portcullis completion: unknown shell %q (bash, zsh or fish)\n", args[0])
		return exitUsage
	}
	return exitOK
}

// writeBash prints a bash completion function; zsh runs it through
// bashcompinit.
func writeBash(w io.Writer) {
	fmt.Fprintln(w, `# portcullis completion for bash: source <(portcullis completion bash)
_portcullis() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
  local path="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      -*) ;;
      *) case "${COMP_WORDS[i-1]}" in -*) [[ " $_portcullis_valued " == *" ${COMP_WORDS[i-1]} "* ]] && continue ;; esac
         [[ " $(_portcullis_words "$path") " == *" ${COMP_WORDS[i]} "* ]] && path="${path:+$path }${COMP_WORDS[i]}" ;;
    esac
  done
  if [[ " $(_portcullis_files "$path") " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_portcullis_flags "$path")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_portcullis_words "$path")" -- "$cur"))
  fi
}`)
	var valued []string
	words := map[string][]string{"": topLevel()}
	flags, files := map[string][]string{}, map[string][]string{}
	for _, c := range commands {
		words[c.path] = c.subs
		for _, f := range c.flags {
			flags[c.path] = append(flags[c.path], dashed(f))
			if !slices.Contains(c.bools, f) {
				valued = append(valued, "-"+f, "--"+f)
			}
		}
		for _, f := range c.files {
			files[c.path] = append(files[c.path], "-"+f, "--"+f)
		}
	}
	fmt.Fprintf(w, "_portcullis_valued=%q\n", strings.Join(valued, " "))
	writeCase(w, "_portcullis_words", words)
	writeCase(w, "_portcullis_flags", flags)
	writeCase(w, "_portcullis_files", files)
	fmt.Fprintln(w, "complete -F _portcullis portcullis")
}

// dashed is how the README writes a flag: -c, but --log-level (Go's flag
// package takes either).
func dashed(f string) string {
	if len(f) == 1 {
		return "-" + f
	}
	return "--" + f
}

func writeCase(w io.Writer, name string, m map[string][]string) {
	fmt.Fprintf(w, "%s() {\n  case \"$1\" in\n", name)
	for _, c := range append([]commandSpec{{path: ""}}, commands...) {
		if v := m[c.path]; len(v) > 0 {
			fmt.Fprintf(w, "    %q) echo %q ;;\n", c.path, strings.Join(v, " "))
		}
	}
	fmt.Fprintln(w, "  esac\n}")
}

// writeFish prints fish completions: one `complete` line per word and flag.
func writeFish(w io.Writer) {
	fmt.Fprintln(w, "# portcullis completion for fish: portcullis completion fish | source")
	fmt.Fprintln(w, "complete -c portcullis -f")
	fmt.Fprintf(w, "complete -c portcullis -n __fish_use_subcommand -a %q\n", strings.Join(topLevel(), " "))
	for _, c := range commands {
		parts := strings.Fields(c.path)
		cond := "__fish_seen_subcommand_from " + parts[0]
		if len(parts) > 1 {
			cond += "; and __fish_seen_subcommand_from " + parts[1]
		}
		if len(c.subs) > 0 {
			fmt.Fprintf(w, "complete -c portcullis -n %q -a %q\n", cond+"; and not __fish_seen_subcommand_from "+strings.Join(c.subs, " "), strings.Join(c.subs, " "))
		}
		for _, f := range c.flags {
			opt := "-o " + f
			if len(f) > 1 {
				opt = "-l " + f
			}
			extra := ""
			for _, file := range c.files {
				if file == f {
					extra = " -r -F"
				}
			}
			fmt.Fprintf(w, "complete -c portcullis -n %q %s%s\n", cond, opt, extra)
		}
	}
}
